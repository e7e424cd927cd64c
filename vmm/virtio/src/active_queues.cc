#include "hull/vmm/virtio/active_queues.h"

#include <fmt/format.h>

#include <cerrno>

namespace hull::vmm::virtio {

Result<void> ActiveQueues::Bind(std::string_view device, size_t expected, const GuestMemory& memory,
                                std::span<Queue> queues, VirtioInterrupt& interrupt) {
  if (queues.size() != expected) {
    return Error(EINVAL,
                 fmt::format("{} has {} queue(s), got {}", device, expected, queues.size()));
  }
  memory_ = &memory;
  queues_ = queues;
  interrupt_ = &interrupt;
  return {};
}

void ActiveQueues::Clear() noexcept {
  memory_ = nullptr;
  queues_ = {};
  interrupt_ = nullptr;
}

void ActiveQueues::NotifyIfNeeded(size_t index) const {
  if (!active() || index >= queues_.size()) return;
  if (queues_[index].NeedsNotification(*memory_)) (void)interrupt_->SignalUsedBuffer();
}

}  // namespace hull::vmm::virtio
