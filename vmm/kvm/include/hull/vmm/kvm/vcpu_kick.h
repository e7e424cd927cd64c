#pragma once

// Kicking a vCPU thread out of KVM_RUN, race-free.
//
// A signal alone races: sent just before the vCPU thread enters KVM_RUN, it
// is handled in user space and KVM_RUN then blocks in the guest. So a kick
// first sets kvm_run.immediate_exit, which KVM checks on entry, and then
// signals the thread, which interrupts a KVM_RUN already under way:
//
//   InstallKickSignalHandler(kSig);          // once per process, at start-up
//   // vCPU thread: keep kSig unblocked; loop { exit = vcpu.Run(); ... }
//   //   on Intr: look at why (pause, stop), then vcpu.SetImmediateExit(false)
//   // another thread:
//   KickVcpuThread(kick, vcpu_thread, kSig);
//
// Either way the vCPU's Run() returns Intr, exactly once per kick that
// found it running or about to run.

#include <pthread.h>

#include <cstdint>

#include "hull/common/result.h"

namespace hull::kvm {

// Points at one vCPU's kvm_run.immediate_exit. Copyable; valid while the Vcpu
// it came from (Vcpu::kick_handle()) lives.
class VcpuKick {
 public:
  // Sets immediate_exit. Safe from any thread and from signal handlers.
  void Request() const noexcept;

 private:
  friend class Vcpu;
  explicit VcpuKick(uint8_t* immediate_exit) noexcept : immediate_exit_(immediate_exit) {}

  uint8_t* immediate_exit_;
};

// Installs a handler for `signo` that does nothing, without SA_RESTART, so
// that the signal interrupts a KVM_RUN (EINTR: Intr) rather than killing the
// process or being ignored (an ignored signal does not interrupt KVM_RUN).
Result<void> InstallKickSignalHandler(int signo);

// kick.Request(), then pthread_kill(thread, signo).
Result<void> KickVcpuThread(const VcpuKick& kick, pthread_t thread, int signo);

}  // namespace hull::kvm
