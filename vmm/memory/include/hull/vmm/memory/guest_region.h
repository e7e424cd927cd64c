#pragma once

#include <cstdint>
#include <utility>

#include "hull/common/memory_mapping.h"
#include "hull/common/result.h"
#include "hull/common/unique_fd.h"
#include "hull/vmm/memory/guest_address.h"

namespace hull::vmm {

// How guest RAM is backed.
//   kAnonymous  private anonymous memory with transparent huge pages advised:
//               the fast default (QEMU's and Firecracker's too): 2 MiB host
//               pages mean 512 times fewer host page faults and nested-paging
//               faults while the guest boots and touches its memory.
//   kMemfd      a memfd mapped shared, which other processes can map too: what
//               vhost-user back ends (virtiofsd) need. shmem gets huge pages
//               only where the host allows (shmem_enabled), usually not.
enum class MemoryBacking { kAnonymous, kMemfd };

// One contiguous range of guest RAM of `size` bytes mapped into this process
// at a 2 MiB-aligned address. With kMemfd the memfd is kept so the same RAM
// can be handed to other processes.
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
  // -1 for anonymous memory.
  int memfd() const noexcept { return memfd_.Get(); }
  MemoryBacking backing() const noexcept {
    return memfd_ ? MemoryBacking::kMemfd : MemoryBacking::kAnonymous;
  }

 private:
  friend class GuestMemory;

  // Only GuestMemory::Create makes regions, after checking that `base` and
  // `size` are page-aligned, `size` is non-zero and the region does not pass
  // the top of the 64-bit space.
  static Result<GuestRegion> Create(GuestAddress base, uint64_t size, MemoryBacking backing);

  GuestRegion(GuestAddress base, uint64_t size, UniqueFd memfd, MemoryMapping mapping) noexcept
      : base_(base), size_(size), memfd_(std::move(memfd)), mapping_(std::move(mapping)) {}

  GuestAddress base_;
  uint64_t size_;
  UniqueFd memfd_;
  MemoryMapping mapping_;
};

}  // namespace hull::vmm
