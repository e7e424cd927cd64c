#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "hull/common/memory_mapping.h"
#include "hull/common/result.h"
#include "hull/common/unique_fd.h"
#include "hull/vmm/kvm/kvm_types.h"
#include "hull/vmm/kvm/run_page.h"
#include "hull/vmm/kvm/vcpu_exit.h"
#include "hull/vmm/kvm/vcpu_kick.h"
#include "hull/vmm/kvm/vm.h"

namespace hull::kvm {

// One virtual CPU (KVM_CREATE_VCPU) and its mapped kvm_run page. A Vcpu is
// driven by one thread at a time.
class Vcpu {
 public:
  static Result<Vcpu> Create(const Vm& vm, uint32_t id);

  Result<Regs> GetRegs() const;
  Result<void> SetRegs(const Regs& regs);
  Result<Sregs> GetSregs() const;
  Result<void> SetSregs(const Sregs& sregs);
  // KVM_SET_CPUID2, typically with (an edited copy of) GetSupportedCpuid().
  Result<void> SetCpuid(std::span<const CpuidEntry> entries);

  // KVM_SET_MSRS. KVM stops at the first MSR it refuses and reports how many
  // it set; anything short of all of them is an error naming that MSR.
  Result<void> SetMsrs(std::span<const Msr> msrs);
  // KVM_GET_MSRS of `indices` (at most 256), in the same order; an MSR KVM
  // cannot read is an error naming it.
  Result<std::vector<Msr>> GetMsrs(std::span<const uint32_t> indices) const;

  // KVM_GET_FPU / KVM_SET_FPU: x87 and SSE state.
  Result<Fpu> GetFpu() const;
  Result<void> SetFpu(const Fpu& fpu);

  // KVM_GET_LAPIC / KVM_SET_LAPIC (needs the in-kernel irqchip).
  Result<LapicRegisters> GetLapic() const;
  Result<void> SetLapic(const LapicRegisters& registers);

  // kvm_run.immediate_exit: while set, KVM_RUN returns at once with Intr
  // instead of entering the guest. The vCPU thread clears it after handling a
  // kick; kick_handle() sets it from other threads.
  void SetImmediateExit(bool on) noexcept;
  // A handle through which any thread, or a signal handler, stops this vCPU's
  // current or next KVM_RUN (see vcpu_kick.h). Valid while this Vcpu lives.
  VcpuKick kick_handle() noexcept;

  // KVM_RUN until the next exit. A signal interrupting the run (a kick), or
  // immediate_exit set, yields Intr. Spans in the exit stay valid until the
  // next Run(). Run() leaves immediate_exit as it is.
  Result<VcpuExit> Run();

  // Answers a pending IoIn / MmioRead before the next Run(); the length must
  // be exactly what the exit asked for. Unanswered, the guest reads all-ones.
  Result<void> SetIoInData(std::span<const uint8_t> data) { return page_.SetIoInData(data); }
  Result<void> SetMmioReadData(std::span<const uint8_t> data) {
    return page_.SetMmioReadData(data);
  }

  uint32_t id() const noexcept { return id_; }
  int fd() const noexcept { return fd_.Get(); }

 private:
  Vcpu(uint32_t id, UniqueFd fd, MemoryMapping run_mapping) noexcept;

  uint32_t id_;
  UniqueFd fd_;
  MemoryMapping run_mapping_;
  RunPage page_;  // views run_mapping_, whose address survives moves
};

// The error KVM_SET_MSRS deserves when KVM set `set_count` of `msrs` (the
// ioctl's return value): none when all were set, else one naming the first
// MSR KVM refused. A pure function so that every case can be tested anywhere.
Result<void> CheckMsrsSet(int set_count, std::span<const Msr> msrs, uint32_t vcpu_id);

}  // namespace hull::kvm
