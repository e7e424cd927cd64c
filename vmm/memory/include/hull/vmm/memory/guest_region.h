#pragma once

#include <cstdint>
#include <utility>

#include "hull/common/memory_mapping.h"
#include "hull/common/result.h"
#include "hull/common/unique_fd.h"
#include "hull/vmm/memory/guest_address.h"

namespace hull::vmm {

// One contiguous range of guest RAM: a memfd of `size` bytes mapped shared
// into this process. The memfd is kept so the same RAM can be handed to other
// processes (vhost-user back ends such as virtiofsd).
class GuestRegion {
 public:
  GuestAddress base() const noexcept { return base_; }
  uint64_t size() const noexcept { return size_; }
  // The first address past the region.
  GuestAddress end() const noexcept { return GuestAddress(base_.raw() + size_); }
  bool Contains(GuestAddress address) const noexcept {
    return address >= base_ && address.raw() - base_.raw() < size_;
  }

  // Where the region is mapped in this process. The memory is shared with the
  // guest: see GuestMemory before touching it.
  uint8_t* host_address() const noexcept { return mapping_.data(); }
  int memfd() const noexcept { return memfd_.Get(); }

 private:
  friend class GuestMemory;

  // Only GuestMemory::Create makes regions, after checking that `base` and
  // `size` are page-aligned, `size` is non-zero and the region does not pass
  // the top of the 64-bit space.
  static Result<GuestRegion> Create(GuestAddress base, uint64_t size);

  GuestRegion(GuestAddress base, uint64_t size, UniqueFd memfd, MemoryMapping mapping) noexcept
      : base_(base), size_(size), memfd_(std::move(memfd)), mapping_(std::move(mapping)) {}

  GuestAddress base_;
  uint64_t size_;
  UniqueFd memfd_;
  MemoryMapping mapping_;
};

}  // namespace hull::vmm
