#pragma once

// An eventfd(2) owner: the doorbell between threads, and between KVM and us
// (irqfd: we signal, KVM injects the interrupt; ioeventfd: the guest's
// notify write signals it, our event loop wakes up).

#include <cstdint>

#include "hull/common/result.h"
#include "hull/common/unique_fd.h"

namespace hull {

class EventFd {
 public:
  // EFD_CLOEXEC | EFD_NONBLOCK always; `semaphore` adds EFD_SEMAPHORE.
  static Result<EventFd> Create(bool semaphore = false);

  // Adds `value` to the counter (wakes readers). EAGAIN (counter full) is
  // not an error: the reader is already due to wake.
  Result<void> Signal(uint64_t value = 1) const;

  // Reads and resets the counter; 0 when nothing was signalled (EAGAIN).
  Result<uint64_t> Consume() const;

  int fd() const noexcept { return fd_.Get(); }

 private:
  explicit EventFd(UniqueFd fd) noexcept : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace hull
