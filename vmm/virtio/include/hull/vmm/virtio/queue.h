#pragma once

// The device side of a split virtqueue (virtio 1.2 §2.7).
//
// The driver lays out three areas in guest memory and tells the transport
// where they are:
//   descriptor table  16 * size bytes, 16-aligned: {addr, len, flags, next}
//   driver area       avail ring: flags, idx, ring[size], used_event; 2-aligned
//   device area       used ring: flags, idx, ring[size] {id, len}, avail_event;
//                     4-aligned
// All three are HOSTILE SHARED MEMORY: the guest may change any of it at any
// moment. The queue therefore reads each index once, copies every descriptor
// before validating it, walks a chain within a hop budget of `size`
// descriptors, and checks every buffer over its whole range.
//
// Errors from Pop/AddUsed mean the driver broke the ring protocol (or the
// memory behind a validated ring vanished): the transport answers with
// DEVICE_NEEDS_RESET and stops the queue. Their codes say which kind:
//   EOVERFLOW  avail idx ran more than `size` ahead of the device
//   EINVAL     an index out of range, a malformed indirect descriptor, or a
//              readable descriptor after a writable one
//   ELOOP      a chain longer than the queue size (a cycle)
//   EFAULT     a buffer or indirect table not wholly inside guest RAM
//
// A Queue is used by one thread at a time (the transport serialises).

#include <cstdint>
#include <optional>

#include "hull/common/result.h"
#include "hull/vmm/memory/guest_address.h"
#include "hull/vmm/memory/guest_memory.h"
#include "hull/vmm/virtio/descriptor_chain.h"

namespace hull::vmm::virtio {

class Queue {
 public:
  // `max_size`: what QueueNumMax reports; a power of two in [1, 32768].
  explicit Queue(uint16_t max_size);

  // --- Configuration, written by the driver through the transport. ---
  uint16_t max_size() const noexcept { return max_size_; }
  uint16_t size() const noexcept { return size_; }
  bool ready() const noexcept { return ready_; }
  GuestAddress desc_table() const noexcept { return desc_table_; }
  GuestAddress avail_ring() const noexcept { return avail_ring_; }
  GuestAddress used_ring() const noexcept { return used_ring_; }
  // Recorded as given; Activate validates. Clearing `ready` also stops the
  // queue.
  void set_size(uint16_t size) noexcept { size_ = size; }
  void set_ready(bool ready) noexcept;
  void set_desc_table(GuestAddress address) noexcept { desc_table_ = address; }
  void set_avail_ring(GuestAddress address) noexcept { avail_ring_ = address; }
  void set_used_ring(GuestAddress address) noexcept { used_ring_ = address; }

  // Back to the state after a device reset: size = max_size, addresses 0,
  // not ready, stopped.
  void Reset() noexcept;

  // Validates the driver's configuration against the spec and `memory` (the
  // queue is ready; size a power of two, 1..max_size; descriptor table
  // 16-aligned, avail ring 2-aligned, used ring 4-aligned; each area wholly
  // inside guest RAM) and starts the queue with ring indices at 0.
  // `features` are the negotiated ones: VIRTIO_F_EVENT_IDX and
  // VIRTIO_F_INDIRECT_DESC change how the queue behaves.
  Result<void> Activate(const GuestMemory& memory, uint64_t features);

  // Stops the queue (after a device error): Pop finds nothing until the next
  // Activate.
  void Stop() noexcept { active_ = false; }
  bool active() const noexcept { return active_; }

  // The next available descriptor chain, or nullopt when the driver has made
  // none available (or the queue is stopped). With VIRTIO_F_EVENT_IDX, an
  // empty ring also asks the driver to notify at the next buffer
  // (avail_event) and looks once more, so that no buffer waits unnoticed.
  Result<std::optional<DescriptorChain>> Pop(const GuestMemory& memory);

  // Returns the chain at `head_index` to the driver: writes the used element
  // {head_index, written_len}, then publishes it by storing used->idx with
  // release order. `written_len`: bytes the device wrote into the chain.
  Result<void> AddUsed(const GuestMemory& memory, uint16_t head_index, uint32_t written_len);

  // Whether the driver wants a used-buffer notification for the elements
  // added since the last call: with VIRTIO_F_EVENT_IDX when used->idx passed
  // used_event (vring_need_event), otherwise unless the driver set
  // VRING_AVAIL_F_NO_INTERRUPT. False when nothing was added.
  bool NeedsNotification(const GuestMemory& memory);

  // The device's shadow ring positions (free-running, mod 2^16).
  uint16_t next_avail() const noexcept { return next_avail_; }
  uint16_t next_used() const noexcept { return next_used_; }

 private:
  // Loads avail->idx (acquire) into known_avail_idx_; true when it shows
  // chains beyond next_avail_. EOVERFLOW when it ran more than size_ ahead.
  Result<bool> RefreshAvailIdx(const GuestMemory& memory);
  Result<DescriptorChain> WalkChain(const GuestMemory& memory, uint16_t head) const;

  // Configuration.
  uint16_t max_size_;
  uint16_t size_;
  bool ready_ = false;
  GuestAddress desc_table_;
  GuestAddress avail_ring_;
  GuestAddress used_ring_;

  // Run state, valid while active_.
  bool active_ = false;
  bool event_idx_ = false;
  bool indirect_desc_ = false;
  uint16_t next_avail_ = 0;
  uint16_t known_avail_idx_ = 0;  // avail->idx as last loaded
  uint16_t next_used_ = 0;
  uint16_t used_at_last_check_ = 0;  // next_used_ at the last NeedsNotification
};

}  // namespace hull::vmm::virtio
