#pragma once

// What a vCPU thread needs from the VM it belongs to: its run state, and a
// way to end the VM. Implemented by Vmm; a small interface so that the vCPU
// loop reads as one page.

#include <cstdint>
#include <string>

namespace hull::vmm {

enum class RunState : uint8_t { kRunning, kPaused, kStopping };

// The process exit status of hull-vmm (docs/vmm.md).
enum class ExitStatus : int {
  kGuestEnded = 0,  // the guest rebooted or powered off, or a stop was asked for
  kVmmError = 1,    // hull-vmm failed (host resources, KVM errors)
  kUsage = 2,       // bad flags or configuration
  kGuestPanic = 3,  // the guest kernel panicked
  kGuestFault = 4,  // triple fault or an exit KVM could not handle
};

class VmControl {
 public:
  virtual ~VmControl() = default;
  virtual RunState state() const = 0;
  // Blocks the calling vCPU thread while the VM is paused.
  virtual void ParkWhilePaused() = 0;
  // Ends the VM with `status`; the first request wins. Any thread.
  virtual void RequestExit(ExitStatus status, std::string why) = 0;
};

}  // namespace hull::vmm
