#pragma once

// The "call" side of vhost rings: one eventfd per ring that the back end
// signals when it has used buffers. They cannot be irqfds: virtio-mmio's
// interrupt handler reads InterruptStatus and ignores an interrupt whose
// VRING bit is not set, so the VMM's event loop polls these eventfds and
// raises the interrupt through the transport, which sets the bit.
//
//   HULL_ASSIGN_OR_RETURN(CallRelay calls, CallRelay::Create(queue_count));
//   StartVrings(..., kick_fds, calls.fds());
//   event_sources(): calls.AppendSources(sources)   (tokens 0..count-1)
//   ProcessEvent(token): if (calls.Relay(token, active_)) return {};

#include <cstddef>
#include <cstdint>
#include <vector>

#include "hull/common/event_fd.h"
#include "hull/common/result.h"
#include "hull/vmm/virtio/active_queues.h"
#include "hull/vmm/virtio/device.h"

namespace hull::vmm::virtio::vhost {

class CallRelay {
 public:
  static Result<CallRelay> Create(size_t count);

  size_t size() const noexcept { return fds_.size(); }
  // For StartVrings: one fd per ring, in ring order.
  std::vector<int> fds() const;
  // Adds one EPOLLIN source per ring, token = ring index.
  void AppendSources(std::vector<EventSource>& sources) const;
  // When `token` is one of ours: drains its eventfd and, while the device is
  // active, raises the used-buffer interrupt. Returns whether it was ours.
  bool Relay(uint32_t token, const ActiveQueues& active);
  uint64_t relayed() const noexcept { return relayed_; }

 private:
  explicit CallRelay(std::vector<EventFd> fds) noexcept : fds_(std::move(fds)) {}

  std::vector<EventFd> fds_;
  uint64_t relayed_ = 0;
};

}  // namespace hull::vmm::virtio::vhost
