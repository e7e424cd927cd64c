#pragma once

// One vCPU's thread: KVM_RUN, then one switch over the exit kinds. Port and
// MMIO accesses go to the buses; everything that ends the VM goes to
// VmControl. Another thread interrupts a running vCPU with Kick(), which is
// race-free: immediate_exit is set before the signal, so a vCPU about to
// enter the guest returns at once and one already inside is interrupted.

#include <pthread.h>

#include <atomic>
#include <cstddef>

#include "hull/common/result.h"
#include "hull/vmm/core/bus.h"
#include "hull/vmm/core/metrics.h"
#include "hull/vmm/kvm/vcpu.h"
#include "hull/vmm/kvm/vcpu_kick.h"
#include "vm_control.h"

namespace hull::vmm {

class VcpuRunner {
 public:
  VcpuRunner(kvm::Vcpu vcpu, Bus& pio, Bus& mmio, VmmMetrics& metrics, VmControl& vm)
      : vcpu_(std::move(vcpu)), pio_(pio), mmio_(mmio), metrics_(metrics), vm_(vm) {}
  VcpuRunner(const VcpuRunner&) = delete;
  VcpuRunner& operator=(const VcpuRunner&) = delete;
  ~VcpuRunner() { Join(); }

  kvm::Vcpu& vcpu() { return vcpu_; }

  void Start();
  // Makes the vCPU leave KVM_RUN soon (from any thread but its own).
  void Kick();
  void Join();

  // The signal used for kicks; InstallKickHandler() once per process.
  static int KickSignal();
  static Result<void> InstallKickHandler();

 private:
  void Loop();
  // Returns false when the vCPU must stop.
  bool HandleExit(const kvm::VcpuExit& exit);

  kvm::Vcpu vcpu_;
  Bus& pio_;
  Bus& mmio_;
  VmmMetrics& metrics_;
  VmControl& vm_;
  // A pthread rather than std::thread, for a small stack (kStackBytes): the
  // default 8 MiB stack can be backed by a 2 MiB transparent huge page on
  // hosts with THP "always", which would triple hull-vmm's own memory.
  static constexpr size_t kStackBytes = size_t{512} << 10;
  pthread_t thread_{};
  bool started_ = false;
};

}  // namespace hull::vmm
