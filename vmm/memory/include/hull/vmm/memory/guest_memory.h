#pragma once

// Guest RAM and the only way hull code reaches it.
//
// Guest memory is HOSTILE SHARED MEMORY: the guest (any of its vCPUs, while
// we run) may change any byte at any moment. Therefore:
//   - every guest-supplied range goes through Slice(), which checks the whole
//     [addr, addr+len) against one region with overflow-checked arithmetic;
//   - values are copied out once (Read/ReadObject use memcpy) and then
//     validated and used from the copy; never keep a reference or pointer into
//     guest memory to a value you have parsed, and never read a field twice;
//   - spans returned by Slice() are for bulk copies (disk and network data),
//     and must not outlive the GuestMemory.

#include <array>
#include <bit>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "hull/common/result.h"
#include "hull/vmm/memory/guest_address.h"
#include "hull/vmm/memory/guest_region.h"

namespace hull::vmm {

inline constexpr uint64_t kGuestPageSize = 4096;

// Types that may be copied in and out of guest memory: plain bytes whose every
// bit pattern is a valid value (integers, and arrays or structs of them).
// bool, enums and pointers are excluded: the guest controls the bits.
template <typename T>
concept GuestPod =
    std::is_trivially_copyable_v<T> && std::is_standard_layout_v<T> && !std::is_pointer_v<T> &&
    !std::is_enum_v<T> && !std::is_same_v<T, bool>;

struct RegionSpec {
  GuestAddress base;
  uint64_t size = 0;
};

class GuestMemory {
 public:
  // One memfd-backed region per spec. Regions must be non-empty, page-aligned,
  // must not overlap and must not pass the top of the 64-bit space.
  // `backing`: see MemoryBacking (guest_region.h); kMemfd when another
  // process must map guest RAM (vhost-user), kAnonymous otherwise.
  static Result<GuestMemory> Create(std::span<const RegionSpec> specs,
                                    MemoryBacking backing = MemoryBacking::kMemfd);
  static Result<GuestMemory> Create(std::initializer_list<RegionSpec> specs,
                                    MemoryBacking backing = MemoryBacking::kMemfd) {
    return Create(std::span<const RegionSpec>(specs.begin(), specs.size()), backing);
  }

  // The host bytes behind [addr, addr+len), which must lie inside ONE region.
  // A zero-length slice is valid where `addr` itself is guest RAM. Errors
  // carry EFAULT.
  Result<std::span<uint8_t>> Slice(GuestAddress addr, uint64_t len) const;

  Result<void> Read(GuestAddress addr, std::span<uint8_t> out) const;
  Result<void> Write(GuestAddress addr, std::span<const uint8_t> in) const;

  template <GuestPod T>
  Result<T> ReadObject(GuestAddress addr) const {
    std::array<uint8_t, sizeof(T)> raw;
    HULL_TRY(Read(addr, raw));
    return std::bit_cast<T>(raw);
  }

  template <GuestPod T>
  Result<void> WriteObject(GuestAddress addr, const T& value) const {
    const auto raw = std::bit_cast<std::array<uint8_t, sizeof(T)>>(value);
    return Write(addr, raw);
  }

  // Gives the host pages behind [addr, addr+len) back to the kernel (a
  // balloon's inflated pages). A memfd region gets a hole punched
  // (fallocate PUNCH_HOLE|KEEP_SIZE): the shared mapping, KVM's view of it
  // and every other process mapping the memfd then read zeros there until
  // the guest touches the pages again (MADV_DONTNEED alone would not free
  // shmem pages). An anonymous region gets MADV_DONTNEED, with the same
  // effect for this process.
  // `addr` and `len` must be page-aligned and `len` non-zero (EINVAL); the
  // range must lie inside ONE region (EFAULT); a failed fallocate carries
  // its errno.
  Result<void> Discard(GuestAddress addr, uint64_t len) const;

  // Sorted by base address.
  std::span<const GuestRegion> regions() const noexcept { return regions_; }

  // The region holding `addr`, or nullptr.
  const GuestRegion* FindRegion(GuestAddress addr) const noexcept;

 private:
  explicit GuestMemory(std::vector<GuestRegion> regions) noexcept : regions_(std::move(regions)) {}

  std::vector<GuestRegion> regions_;
};

}  // namespace hull::vmm
