#include "hull/vmm/virtio/descriptor_chain.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <utility>

namespace hull::vmm::virtio {
namespace {

// Calls visit(host span) for each piece of [offset, offset + len) of the
// stream formed by `descriptors` (whose lengths sum to `total`), in order.
template <typename Visit>
Result<void> ForEachSegment(const GuestMemory& memory, std::span<const Descriptor> descriptors,
                            uint64_t total, uint64_t offset, uint64_t len, Visit&& visit) {
  if (offset > total || len > total - offset) {
    return Error(EINVAL,
                 fmt::format("range {:#x}+{:#x} passes the {:#x}-byte buffer", offset, len, total));
  }
  uint64_t skip = offset;
  uint64_t left = len;
  for (const Descriptor& descriptor : descriptors) {
    if (left == 0) break;
    if (skip >= descriptor.len) {
      skip -= descriptor.len;
      continue;
    }
    // skip < len here, and left > 0; neither sum can overflow: addr + len
    // was checked when the chain was made.
    const uint64_t piece = std::min<uint64_t>(descriptor.len - skip, left);
    HULL_ASSIGN_OR_RETURN(std::span<uint8_t> host,
                          memory.Slice(GuestAddress(descriptor.addr.raw() + skip), piece));
    visit(host);
    left -= piece;
    skip = 0;
  }
  return {};
}

}  // namespace

Result<DescriptorChain> DescriptorChain::Create(const GuestMemory& memory, uint16_t head_index,
                                                std::vector<Descriptor> descriptors) {
  uint64_t readable = 0;
  uint64_t writable = 0;
  size_t first_writable = descriptors.size();
  for (size_t i = 0; i < descriptors.size(); ++i) {
    const Descriptor& descriptor = descriptors[i];
    // The whole [addr, addr+len), overflow-checked, inside one RAM region.
    HULL_TRY(memory.Slice(descriptor.addr, descriptor.len)
                 .WithContext(fmt::format("descriptor {} of the chain at head {}", i, head_index)));
    uint64_t& sum = descriptor.writable ? writable : readable;
    if (descriptor.len > std::numeric_limits<uint64_t>::max() - sum) {
      return Error(EOVERFLOW, fmt::format("chain at head {}: total length overflows", head_index));
    }
    sum += descriptor.len;
    if (descriptor.writable) {
      if (first_writable == descriptors.size()) first_writable = i;
    } else if (first_writable != descriptors.size()) {
      return Error(EINVAL, fmt::format("chain at head {}: readable descriptor {} follows a "
                                       "writable one",
                                       head_index, i));
    }
  }
  return DescriptorChain(head_index, std::move(descriptors), first_writable, readable, writable);
}

Result<void> DescriptorChain::ReadFromReadable(const GuestMemory& memory, uint64_t offset,
                                               std::span<uint8_t> out) const {
  size_t done = 0;
  return ForEachSegment(memory, std::span(descriptors_).first(first_writable_), readable_len_,
                        offset, out.size(), [&](std::span<uint8_t> host) {
                          // SAFETY: one copy out of hostile memory; the caller
                          // validates the copy.
                          std::memcpy(out.data() + done, host.data(), host.size());
                          done += host.size();
                        });
}

Result<void> DescriptorChain::WriteToWritable(const GuestMemory& memory, uint64_t offset,
                                              std::span<const uint8_t> in) const {
  size_t done = 0;
  return ForEachSegment(memory, std::span(descriptors_).subspan(first_writable_), writable_len_,
                        offset, in.size(), [&](std::span<uint8_t> host) {
                          // SAFETY: `host` is the checked slice of a buffer
                          // the driver gave us to write; we only store to it.
                          std::memcpy(host.data(), in.data() + done, host.size());
                          done += host.size();
                        });
}

Result<void> DescriptorChain::ReadableSlices(const GuestMemory& memory, uint64_t offset,
                                             uint64_t len,
                                             std::vector<std::span<uint8_t>>& out) const {
  return Slices(memory, 0, first_writable_, readable_len_, offset, len, out);
}

Result<void> DescriptorChain::WritableSlices(const GuestMemory& memory, uint64_t offset,
                                             uint64_t len,
                                             std::vector<std::span<uint8_t>>& out) const {
  return Slices(memory, first_writable_, descriptors_.size(), writable_len_, offset, len, out);
}

Result<void> DescriptorChain::Slices(const GuestMemory& memory, size_t begin, size_t end,
                                     uint64_t total, uint64_t offset, uint64_t len,
                                     std::vector<std::span<uint8_t>>& out) const {
  return ForEachSegment(memory, std::span(descriptors_).subspan(begin, end - begin), total, offset,
                        len, [&](std::span<uint8_t> host) {
                          if (!host.empty()) out.push_back(host);
                        });
}

}  // namespace hull::vmm::virtio
