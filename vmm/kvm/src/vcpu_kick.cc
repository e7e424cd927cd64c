#include "hull/vmm/kvm/vcpu_kick.h"

#include <fmt/format.h>
#include <signal.h>

#include <atomic>
#include <cerrno>

namespace hull::kvm {
namespace {

// The kick is in immediate_exit; the signal only has to interrupt KVM_RUN.
void IgnoreKick(int /*signo*/) {}

}  // namespace

void VcpuKick::Request() const noexcept {
  // SAFETY: immediate_exit_ points into a live vCPU's kvm_run mapping (the
  // handle's contract); a one-byte atomic store is lock-free and therefore
  // async-signal-safe. Release orders the caller's earlier writes (a pause
  // request, say) before the kick the vCPU thread will see.
  std::atomic_ref<uint8_t>(*immediate_exit_).store(1, std::memory_order_release);
}

Result<void> InstallKickSignalHandler(int signo) {
  struct sigaction action = {};
  action.sa_handler = IgnoreKick;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: KVM_RUN must return EINTR
  if (::sigaction(signo, &action, nullptr) != 0) {
    return Error::FromErrno(errno, fmt::format("sigaction for the vCPU kick signal {}", signo));
  }
  return {};
}

Result<void> KickVcpuThread(const VcpuKick& kick, pthread_t thread, int signo) {
  kick.Request();
  const int err = ::pthread_kill(thread, signo);
  if (err != 0)
    return Error::FromErrno(err, fmt::format("pthread_kill (vCPU kick, signal {})", signo));
  return {};
}

}  // namespace hull::kvm
