#pragma once

// An interrupt a device raises. In hull-vmm it is an eventfd registered with
// KVM as an irqfd (edge-triggered into the in-kernel IOAPIC), so raising it
// from any thread never takes a lock or a vCPU exit; in tests it counts.

#include "hull/common/event_fd.h"
#include "hull/common/result.h"

namespace hull::vmm {

class IrqLine {
 public:
  virtual ~IrqLine() = default;
  virtual Result<void> Trigger() = 0;
};

// The production line: signals an eventfd that the VMM registered with
// KVM_IRQFD for one GSI.
class EventFdIrqLine final : public IrqLine {
 public:
  explicit EventFdIrqLine(EventFd fd) noexcept : fd_(std::move(fd)) {}
  Result<void> Trigger() override { return fd_.Signal(1); }
  const EventFd& eventfd() const noexcept { return fd_; }

 private:
  EventFd fd_;
};

}  // namespace hull::vmm
