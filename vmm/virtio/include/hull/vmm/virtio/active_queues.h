#pragma once

// What every device keeps between Activate and Reset: the guest memory, its
// queues and the interrupt the transport gave it, and the loop that serves a
// queue (pop every available chain, hand it to the device, return it, then
// one interrupt for the batch if the driver wants one).
//
//   Result<void> Activate(...) override {
//     return active_.Bind("virtio-rng", 1, memory, queues, interrupt);
//   }
//   void Reset() override { active_.Clear(); }
//   Result<void> ProcessQueue(size_t index) override {
//     return active_.Drain(index, [&](const DescriptorChain& chain) { return Serve(chain); });
//   }

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "hull/common/result.h"
#include "hull/vmm/memory/guest_memory.h"
#include "hull/vmm/virtio/descriptor_chain.h"
#include "hull/vmm/virtio/device.h"
#include "hull/vmm/virtio/queue.h"

namespace hull::vmm::virtio {

class ActiveQueues {
 public:
  // Takes what Activate got; EINVAL unless there are `expected` queues.
  Result<void> Bind(std::string_view device, size_t expected, const GuestMemory& memory,
                    std::span<Queue> queues, VirtioInterrupt& interrupt);
  void Clear() noexcept;

  bool active() const noexcept { return memory_ != nullptr; }
  // Only while active().
  const GuestMemory& memory() const noexcept { return *memory_; }
  Queue& queue(size_t index) const noexcept { return queues_[index]; }
  size_t queue_count() const noexcept { return queues_.size(); }
  std::span<const Queue> queues() const noexcept { return queues_; }
  VirtioInterrupt& interrupt() const noexcept { return *interrupt_; }

  // Serves queue `index`: every available chain goes to `serve`, which
  // returns the number of bytes it wrote into the chain (the used length),
  // then back to the driver. One used-buffer interrupt for the batch, if the
  // driver asked for one. Nothing happens while inactive or for an index
  // out of range. Errors are ring-protocol violations (see Queue).
  template <typename Serve>
  Result<void> Drain(size_t index, Serve&& serve) {
    if (!active() || index >= queues_.size()) return {};
    Queue& q = queues_[index];
    while (true) {
      HULL_ASSIGN_OR_RETURN(std::optional<DescriptorChain> chain, q.Pop(*memory_));
      if (!chain) break;
      const uint32_t used_len = serve(*chain);
      HULL_TRY(q.AddUsed(*memory_, chain->head_index(), used_len));
    }
    NotifyIfNeeded(index);
    return {};
  }

  // Raises the used-buffer interrupt if the driver wants one for what was
  // added to queue `index` since the last check. A failure to raise it is
  // the host's, not the guest's: the transport counts it, the device goes on.
  void NotifyIfNeeded(size_t index) const;

 private:
  const GuestMemory* memory_ = nullptr;
  std::span<Queue> queues_;
  VirtioInterrupt* interrupt_ = nullptr;
};

}  // namespace hull::vmm::virtio
