#pragma once

// Test support: split virtqueues built in a real GuestMemory, field by field
// as virtio 1.2 §2.7 lays them out, so that tests read like the spec. It
// writes raw little-endian bytes itself and shares no code with the queue it
// tests. Header-only, so the fuzzers (tests/fuzz/) can use it too.

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <span>
#include <utility>
#include <vector>

#include "hull/common/check.h"
#include "hull/common/result.h"
#include "hull/vmm/devices/irq_line.h"
#include "hull/vmm/memory/guest_address.h"
#include "hull/vmm/memory/guest_memory.h"
#include "hull/vmm/virtio/constants.h"
#include "hull/vmm/virtio/device.h"
#include "hull/vmm/virtio/queue.h"

namespace hull::vmm::virtio::testing {

// One 1 MiB region at 0: rings low, data buffers from kDataBase up.
inline constexpr uint64_t kMemorySize = 0x100000;
inline constexpr GuestAddress kDescTable{0x1000};  // 16 * 256 bytes
inline constexpr GuestAddress kAvailRing{0x2000};  // 6 + 2 * 256
inline constexpr GuestAddress kUsedRing{0x3000};   // 6 + 8 * 256
inline constexpr GuestAddress kIndirectTable{0x5000};
inline constexpr uint64_t kDataBase = 0x10000;

inline constexpr uint64_t kModernFeatures = kFeatureVersion1;

inline GuestMemory MakeMemory(uint64_t size = kMemorySize) {
  Result<GuestMemory> memory = GuestMemory::Create({{GuestAddress(0), size}});
  HULL_CHECK(memory.ok());
  return std::move(memory).value();
}

template <typename T>
void Poke(const GuestMemory& memory, uint64_t addr, T value) {
  HULL_CHECK(memory.WriteObject(GuestAddress(addr), value).ok());
}

template <typename T>
T Peek(const GuestMemory& memory, uint64_t addr) {
  Result<T> value = memory.ReadObject<T>(GuestAddress(addr));
  HULL_CHECK(value.ok());
  return *value;
}

inline void Fill(const GuestMemory& memory, uint64_t addr, std::span<const uint8_t> bytes) {
  HULL_CHECK(memory.Write(GuestAddress(addr), bytes).ok());
}

inline std::vector<uint8_t> Bytes(const GuestMemory& memory, uint64_t addr, size_t len) {
  std::vector<uint8_t> out(len);
  HULL_CHECK(memory.Read(GuestAddress(addr), out).ok());
  return out;
}

// A buffer of a chain: [addr, addr+len), device-writable or not.
struct Buffer {
  uint64_t addr;
  uint32_t len;
  bool writable;
};

struct UsedElem {
  uint32_t id;
  uint32_t len;
  friend bool operator==(const UsedElem&, const UsedElem&) = default;
};

// The driver's side of one split virtqueue.
class SplitRing {
 public:
  SplitRing(const GuestMemory& memory, uint16_t size, GuestAddress desc = kDescTable,
            GuestAddress avail = kAvailRing, GuestAddress used = kUsedRing)
      : memory_(memory), size_(size), desc_(desc), avail_(avail), used_(used) {
    // A driver zeroes its rings (Linux allocates them zeroed).
    std::vector<uint8_t> zeros(size_t{16} * size_ + 0x10, 0);
    Fill(memory_, desc_.raw(), zeros);
    Fill(memory_, avail_.raw(), std::span(zeros).first(6 + size_t{2} * size_));
    Fill(memory_, used_.raw(), std::span(zeros).first(6 + size_t{8} * size_));
  }

  uint16_t size() const { return size_; }

  // struct virtq_desc { le64 addr; le32 len; le16 flags; le16 next; } at
  // table[index].
  void SetDescriptor(uint16_t index, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next = 0,
                     GuestAddress table = GuestAddress(0)) {
    const uint64_t base = (table.raw() == 0 ? desc_.raw() : table.raw()) + 16 * uint64_t{index};
    Poke<uint64_t>(memory_, base, addr);
    Poke<uint32_t>(memory_, base + 8, len);
    Poke<uint16_t>(memory_, base + 12, flags);
    Poke<uint16_t>(memory_, base + 14, next);
  }

  // Writes `buffers` as a chain into free descriptors and returns its head
  // (without making it available).
  uint16_t WriteChain(std::initializer_list<Buffer> buffers) {
    return WriteChain(std::span<const Buffer>(buffers.begin(), buffers.size()));
  }
  uint16_t WriteChain(std::span<const Buffer> buffers) {
    HULL_CHECK(!buffers.empty() && buffers.size() <= size_);
    std::vector<uint16_t> indices;
    for (size_t i = 0; i < buffers.size(); ++i) {
      indices.push_back(next_free_);
      next_free_ = static_cast<uint16_t>((next_free_ + 1) % size_);
    }
    for (size_t i = 0; i < buffers.size(); ++i) {
      const bool last = i + 1 == buffers.size();
      const uint16_t flags = static_cast<uint16_t>((buffers[i].writable ? kDescFlagWrite : 0) |
                                                   (last ? 0 : kDescFlagNext));
      SetDescriptor(indices[i], buffers[i].addr, buffers[i].len, flags,
                    last ? uint16_t{0} : indices[i + 1]);
    }
    return indices[0];
  }

  // avail->ring[avail->idx % size] = head; then avail->idx += 1.
  void MakeAvailable(uint16_t head) {
    Poke<uint16_t>(memory_, avail_.raw() + 4 + 2 * uint64_t(avail_idx_ % size_), head);
    SetAvailIdx(static_cast<uint16_t>(avail_idx_ + 1));
  }
  // WriteChain + MakeAvailable.
  uint16_t AddChain(std::initializer_list<Buffer> buffers) {
    const uint16_t head = WriteChain(buffers);
    MakeAvailable(head);
    return head;
  }

  uint16_t avail_idx() const { return avail_idx_; }
  void SetAvailIdx(uint16_t idx) {
    avail_idx_ = idx;
    Poke<uint16_t>(memory_, avail_.raw() + 2, idx);
  }
  void SetAvailFlags(uint16_t flags) { Poke<uint16_t>(memory_, avail_.raw(), flags); }
  void SetUsedEvent(uint16_t event) {
    Poke<uint16_t>(memory_, avail_.raw() + 4 + 2 * uint64_t{size_}, event);
  }

  uint16_t UsedIdx() const { return Peek<uint16_t>(memory_, used_.raw() + 2); }
  UsedElem Used(uint16_t slot) const {
    const uint64_t at = used_.raw() + 4 + 8 * uint64_t(slot % size_);
    return {Peek<uint32_t>(memory_, at), Peek<uint32_t>(memory_, at + 4)};
  }
  uint16_t AvailEvent() const {
    return Peek<uint16_t>(memory_, used_.raw() + 4 + 8 * uint64_t{size_});
  }

  // Configures `queue` as a driver would through the transport.
  void Configure(Queue& queue) const {
    queue.set_size(size_);
    queue.set_desc_table(desc_);
    queue.set_avail_ring(avail_);
    queue.set_used_ring(used_);
    queue.set_ready(true);
  }
  // A queue configured for this ring and activated with `features`.
  Queue MakeQueue(uint64_t features = kModernFeatures, uint16_t max_size = 256) const {
    Queue queue(max_size);
    Configure(queue);
    HULL_CHECK(queue.Activate(memory_, features).ok());
    return queue;
  }

 private:
  const GuestMemory& memory_;
  uint16_t size_;
  GuestAddress desc_;
  GuestAddress avail_;
  GuestAddress used_;
  uint16_t avail_idx_ = 0;
  uint16_t next_free_ = 0;
};

// Counts what a device asks of its transport.
class FakeInterrupt final : public VirtioInterrupt {
 public:
  Result<void> SignalUsedBuffer() override {
    ++used_buffer;
    return {};
  }
  Result<void> SignalConfigChange() override {
    ++config_change;
    return {};
  }
  int used_buffer = 0;
  int config_change = 0;
};

// An interrupt line that counts its raises.
class CountingIrqLine final : public IrqLine {
 public:
  explicit CountingIrqLine(int* count) : count_(count) {}
  Result<void> Trigger() override {
    ++*count_;
    return {};
  }

 private:
  int* count_;
};

}  // namespace hull::vmm::virtio::testing
