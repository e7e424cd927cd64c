#pragma once

// A descriptor chain popped from a virtqueue, materialised: the buffers the
// driver offered for one request, each already checked to lie wholly in
// guest RAM. The guest may rewrite its descriptor table at any time; a
// DescriptorChain is our copy and does not change with it.
//
// A chain is two byte streams (§2.7.4: devices must not assume how the driver
// split a message into descriptors): the device-readable part, the
// concatenation of the readable descriptors, and the device-writable part
// after it. The helpers address those streams by offset, bounded by their
// total lengths.

#include <cstdint>
#include <span>
#include <vector>

#include "hull/common/result.h"
#include "hull/vmm/memory/guest_address.h"
#include "hull/vmm/memory/guest_memory.h"

namespace hull::vmm::virtio {

struct Descriptor {
  GuestAddress addr;
  uint32_t len = 0;
  bool writable = false;

  friend bool operator==(const Descriptor&, const Descriptor&) = default;
};

class DescriptorChain {
 public:
  // Validates and takes `descriptors`: each [addr, addr+len) must lie inside
  // one region of `memory` (EFAULT), and no readable descriptor may follow a
  // writable one (§2.7.4.2; EINVAL). Queue::Pop builds chains through this;
  // tests and device code may too.
  static Result<DescriptorChain> Create(const GuestMemory& memory, uint16_t head_index,
                                        std::vector<Descriptor> descriptors);

  // The index of the chain's head in the descriptor table: the id the used
  // ring element carries back to the driver.
  uint16_t head_index() const noexcept { return head_index_; }
  std::span<const Descriptor> descriptors() const noexcept { return descriptors_; }

  // Total bytes of the readable and writable parts. The sum of at most 32768
  // lengths below 2^32 cannot overflow 64 bits; Create checks it anyway.
  uint64_t readable_len() const noexcept { return readable_len_; }
  uint64_t writable_len() const noexcept { return writable_len_; }

  // Copies out.size() bytes from [offset, offset + out.size()) of the readable
  // part. EINVAL when that range passes readable_len().
  Result<void> ReadFromReadable(const GuestMemory& memory, uint64_t offset,
                                std::span<uint8_t> out) const;

  // Copies `in` to [offset, offset + in.size()) of the writable part. EINVAL
  // when that range passes writable_len().
  Result<void> WriteToWritable(const GuestMemory& memory, uint64_t offset,
                               std::span<const uint8_t> in) const;

  // Appends to `out` the host spans behind [offset, offset + len) of the
  // readable (or writable) part, for vectored I/O straight between guest
  // memory and a file. The spans alias hostile shared memory: use them only
  // for bulk copies, never to read values that are then validated.
  Result<void> ReadableSlices(const GuestMemory& memory, uint64_t offset, uint64_t len,
                              std::vector<std::span<uint8_t>>& out) const;
  Result<void> WritableSlices(const GuestMemory& memory, uint64_t offset, uint64_t len,
                              std::vector<std::span<uint8_t>>& out) const;

 private:
  DescriptorChain(uint16_t head_index, std::vector<Descriptor> descriptors, size_t first_writable,
                  uint64_t readable_len, uint64_t writable_len) noexcept
      : head_index_(head_index),
        descriptors_(std::move(descriptors)),
        first_writable_(first_writable),
        readable_len_(readable_len),
        writable_len_(writable_len) {}

  // The host spans behind [offset, offset + len) of descriptors [begin, end)
  // taken as one stream of `total` bytes.
  Result<void> Slices(const GuestMemory& memory, size_t begin, size_t end, uint64_t total,
                      uint64_t offset, uint64_t len, std::vector<std::span<uint8_t>>& out) const;

  uint16_t head_index_;
  std::vector<Descriptor> descriptors_;
  size_t first_writable_;  // descriptors_[first_writable_..] are the writable part
  uint64_t readable_len_;
  uint64_t writable_len_;
};

}  // namespace hull::vmm::virtio
