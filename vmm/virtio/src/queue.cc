#include "hull/vmm/virtio/queue.h"

#include <fmt/format.h>

#include <atomic>
#include <bit>
#include <cerrno>
#include <utility>
#include <vector>

#include "hull/common/check.h"
#include "hull/vmm/virtio/constants.h"

namespace hull::vmm::virtio {
namespace {

static_assert(std::endian::native == std::endian::little,
              "virtio 1.x rings are little-endian; hull copies them as host integers");

// §2.7.5: struct virtq_desc.
struct RawDescriptor {
  uint64_t addr;
  uint32_t len;
  uint16_t flags;
  uint16_t next;
};
static_assert(sizeof(RawDescriptor) == 16 && GuestPod<RawDescriptor>);

// §2.7.8: struct virtq_used_elem.
struct UsedElement {
  uint32_t id;
  uint32_t len;
};
static_assert(sizeof(UsedElement) == 8 && GuestPod<UsedElement>);

// Offsets inside the rings (§2.7.6, §2.7.8).
constexpr uint64_t kRingFlagsOffset = 0;
constexpr uint64_t kRingIdxOffset = 2;
constexpr uint64_t kRingEntriesOffset = 4;

constexpr uint64_t DescTableBytes(uint16_t size) { return uint64_t{16} * size; }
// flags, idx, ring[size], and the event field.
constexpr uint64_t AvailRingBytes(uint16_t size) { return 6 + uint64_t{2} * size; }
constexpr uint64_t UsedRingBytes(uint16_t size) { return 6 + uint64_t{8} * size; }

// The ring fields both sides update concurrently (idx, flags, the event
// indices) are accessed as atomics on the shared mapping, so that each is one
// untorn 16-bit access with the ordering we ask for. `address` must be
// 2-aligned and inside a ring that Activate validated.
Result<std::atomic_ref<uint16_t>> RingU16(const GuestMemory& memory, GuestAddress address) {
  HULL_ASSIGN_OR_RETURN(std::span<uint8_t> bytes, memory.Slice(address, sizeof(uint16_t)));
  // SAFETY: the slice holds 2 bytes of guest RAM; guest-physical and host
  // addresses agree mod the page size (regions are page-aligned mappings), so
  // the 2-alignment Activate checked holds for the host pointer, which
  // atomic_ref<uint16_t> requires. Only ever accessed through atomic_ref.
  auto* field = reinterpret_cast<uint16_t*>(bytes.data());
  HULL_CHECK(reinterpret_cast<uintptr_t>(field) % std::atomic_ref<uint16_t>::required_alignment ==
             0);
  return std::atomic_ref<uint16_t>(*field);
}

bool IsPowerOfTwo(uint16_t value) { return value != 0 && (value & (value - 1)) == 0; }

Result<void> CheckArea(const GuestMemory& memory, const char* what, GuestAddress address,
                       uint64_t alignment, uint64_t bytes) {
  if (!address.IsAligned(alignment)) {
    return Error(EINVAL, fmt::format("{} at {} is not {}-byte aligned", what, address, alignment));
  }
  HULL_TRY(memory.Slice(address, bytes).WithContext(what));
  return {};
}

}  // namespace

Queue::Queue(uint16_t max_size) : max_size_(max_size), size_(max_size) {
  HULL_CHECK(IsPowerOfTwo(max_size) && max_size <= kMaxQueueSize);
}

void Queue::set_ready(bool ready) noexcept {
  ready_ = ready;
  if (!ready) active_ = false;
}

void Queue::Reset() noexcept {
  size_ = max_size_;
  ready_ = false;
  desc_table_ = avail_ring_ = used_ring_ = GuestAddress(0);
  active_ = false;
  event_idx_ = indirect_desc_ = false;
  next_avail_ = known_avail_idx_ = next_used_ = used_at_last_check_ = 0;
}

Result<void> Queue::Activate(const GuestMemory& memory, uint64_t features) {
  active_ = false;
  if (!ready_) return Error(EINVAL, "queue is not ready");
  if (!IsPowerOfTwo(size_) || size_ > max_size_) {
    return Error(EINVAL,
                 fmt::format("queue size {} is not a power of two in [1, {}]", size_, max_size_));
  }
  HULL_TRY(CheckArea(memory, "descriptor table", desc_table_, 16, DescTableBytes(size_)));
  HULL_TRY(CheckArea(memory, "available ring", avail_ring_, 2, AvailRingBytes(size_)));
  HULL_TRY(CheckArea(memory, "used ring", used_ring_, 4, UsedRingBytes(size_)));
  event_idx_ = (features & kFeatureEventIdx) != 0;
  indirect_desc_ = (features & kFeatureIndirectDesc) != 0;
  next_avail_ = known_avail_idx_ = next_used_ = used_at_last_check_ = 0;
  active_ = true;
  return {};
}

Result<bool> Queue::RefreshAvailIdx(const GuestMemory& memory) {
  HULL_ASSIGN_OR_RETURN(std::atomic_ref<uint16_t> idx,
                        RingU16(memory, GuestAddress(avail_ring_.raw() + kRingIdxOffset)));
  // Acquire: the ring entries and descriptors the driver wrote before it
  // published this idx (with a release store / wmb) are visible to the reads
  // that follow. Read once; everything below uses this copy.
  const uint16_t avail_idx = idx.load(std::memory_order_acquire);
  const uint16_t pending = static_cast<uint16_t>(avail_idx - next_avail_);
  if (pending > size_) {
    return Error(EOVERFLOW, fmt::format("avail idx {} is {} entries ahead of the device's {}, "
                                        "more than the queue size {}",
                                        avail_idx, pending, next_avail_, size_));
  }
  known_avail_idx_ = avail_idx;
  return pending != 0;
}

Result<std::optional<DescriptorChain>> Queue::Pop(const GuestMemory& memory) {
  if (!active_) return std::optional<DescriptorChain>();
  if (next_avail_ == known_avail_idx_) {
    HULL_ASSIGN_OR_RETURN(bool more, RefreshAvailIdx(memory));
    if (!more && event_idx_) {
      // The driver notifies only when its avail idx passes avail_event
      // (§2.7.10): ask for a notification at the next chain ...
      HULL_ASSIGN_OR_RETURN(std::atomic_ref<uint16_t> avail_event,
                            RingU16(memory, GuestAddress(used_ring_.raw() + kRingEntriesOffset +
                                                         sizeof(UsedElement) * uint64_t{size_})));
      avail_event.store(next_avail_, std::memory_order_relaxed);
      // ... then look again. Store avail_event, then load avail idx: that
      // store-load order needs a full fence, pairing with the driver's full
      // barrier between storing avail idx and loading avail_event; without it
      // a chain made available meanwhile could wait for a notification that
      // never comes.
      std::atomic_thread_fence(std::memory_order_seq_cst);
      HULL_ASSIGN_OR_RETURN(more, RefreshAvailIdx(memory));
    }
    if (!more) return std::optional<DescriptorChain>();
  }

  const uint16_t slot = static_cast<uint16_t>(next_avail_ & (size_ - 1));
  HULL_ASSIGN_OR_RETURN(
      const uint16_t head,
      memory.ReadObject<uint16_t>(GuestAddress(avail_ring_.raw() + kRingEntriesOffset +
                                               sizeof(uint16_t) * uint64_t{slot})));
  ++next_avail_;
  if (head >= size_) {
    return Error(EINVAL, fmt::format("avail ring slot {} names descriptor {}, past the queue "
                                     "size {}",
                                     slot, head, size_));
  }
  HULL_ASSIGN_OR_RETURN(DescriptorChain chain, WalkChain(memory, head));
  return std::optional<DescriptorChain>(std::move(chain));
}

Result<DescriptorChain> Queue::WalkChain(const GuestMemory& memory, uint16_t head) const {
  std::vector<Descriptor> descriptors;
  GuestAddress table = desc_table_;
  uint32_t table_entries = size_;
  bool in_indirect_table = false;
  uint32_t index = head;
  // The hop budget: a chain holds at most `size` buffers (§2.7.5.3.1), so a
  // longer walk is a cycle or a lie. The one indirect descriptor that leads
  // to a table is not a buffer and is bounded separately (no nesting).
  uint32_t budget = size_;

  while (true) {
    // index < table_entries, and the table was range-checked as a whole.
    HULL_ASSIGN_OR_RETURN(const RawDescriptor raw,
                          memory.ReadObject<RawDescriptor>(
                              GuestAddress(table.raw() + sizeof(RawDescriptor) * uint64_t{index})));

    if ((raw.flags & kDescFlagIndirect) != 0) {
      if (!indirect_desc_) {
        return Error(EINVAL, fmt::format("chain at head {}: indirect descriptor without "
                                         "VIRTIO_F_INDIRECT_DESC",
                                         head));
      }
      if (in_indirect_table) {
        return Error(EINVAL, fmt::format("chain at head {}: nested indirect table", head));
      }
      if ((raw.flags & kDescFlagNext) != 0) {
        return Error(EINVAL,
                     fmt::format("chain at head {}: indirect descriptor also has NEXT", head));
      }
      // At most `size` entries: the table counts against the same budget.
      if (raw.len == 0 || raw.len % sizeof(RawDescriptor) != 0 ||
          raw.len / sizeof(RawDescriptor) > size_) {
        return Error(EINVAL, fmt::format("chain at head {}: indirect table of {} bytes is not "
                                         "1..{} descriptors",
                                         head, raw.len, size_));
      }
      const GuestAddress indirect(raw.addr);
      HULL_TRY(memory.Slice(indirect, raw.len)
                   .WithContext(fmt::format("chain at head {}: indirect table", head)));
      table = indirect;
      table_entries = raw.len / static_cast<uint32_t>(sizeof(RawDescriptor));
      in_indirect_table = true;
      index = 0;
      continue;
    }

    if (budget == 0) {
      return Error(ELOOP,
                   fmt::format("chain at head {} is longer than the queue size {}", head, size_));
    }
    --budget;
    descriptors.push_back(
        Descriptor{GuestAddress(raw.addr), raw.len, (raw.flags & kDescFlagWrite) != 0});
    if ((raw.flags & kDescFlagNext) == 0) break;
    if (raw.next >= table_entries) {
      return Error(EINVAL, fmt::format("chain at head {}: next index {} is past the {}-entry "
                                       "table",
                                       head, raw.next, table_entries));
    }
    index = raw.next;
  }
  // Checks every buffer over its whole [addr, addr+len) and the
  // readable-before-writable order.
  return DescriptorChain::Create(memory, head, std::move(descriptors));
}

Result<void> Queue::AddUsed(const GuestMemory& memory, uint16_t head_index, uint32_t written_len) {
  if (!active_) return Error(EINVAL, "AddUsed on a stopped queue");
  if (head_index >= size_) {
    return Error(EINVAL, fmt::format("used element for descriptor {} past the queue size {}",
                                     head_index, size_));
  }
  const uint16_t slot = static_cast<uint16_t>(next_used_ & (size_ - 1));
  HULL_TRY(memory.WriteObject(
      GuestAddress(used_ring_.raw() + kRingEntriesOffset + sizeof(UsedElement) * uint64_t{slot}),
      UsedElement{head_index, written_len}));
  HULL_ASSIGN_OR_RETURN(std::atomic_ref<uint16_t> used_idx,
                        RingU16(memory, GuestAddress(used_ring_.raw() + kRingIdxOffset)));
  ++next_used_;
  // Release: the used element (and the data written into the buffers) is
  // visible before the driver can see the new idx (pairs with the driver's
  // read barrier after loading used->idx).
  used_idx.store(next_used_, std::memory_order_release);
  return {};
}

bool Queue::NeedsNotification(const GuestMemory& memory) {
  if (!active_) return false;
  const uint16_t old_used = used_at_last_check_;
  const uint16_t new_used = next_used_;
  used_at_last_check_ = new_used;
  if (old_used == new_used) return false;

  // Our used->idx store must be visible before we load the driver's
  // suppression fields: store-load order needs a full fence, pairing with the
  // driver's full barrier between writing used_event (or flags) and
  // re-reading used->idx. Without it we could miss a request to notify.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (event_idx_) {
    Result<std::atomic_ref<uint16_t>> used_event = RingU16(
        memory,
        GuestAddress(avail_ring_.raw() + kRingEntriesOffset + sizeof(uint16_t) * uint64_t{size_}));
    if (!used_event.ok()) return true;  // cannot happen on a validated ring; notify to be safe
    const uint16_t event = used_event->load(std::memory_order_relaxed);
    // vring_need_event(): notify when used_event lies in [old_used, new_used).
    return static_cast<uint16_t>(new_used - event - 1) < static_cast<uint16_t>(new_used - old_used);
  }
  Result<std::atomic_ref<uint16_t>> flags =
      RingU16(memory, GuestAddress(avail_ring_.raw() + kRingFlagsOffset));
  if (!flags.ok()) return true;
  return (flags->load(std::memory_order_relaxed) & kAvailFlagNoInterrupt) == 0;
}

}  // namespace hull::vmm::virtio
