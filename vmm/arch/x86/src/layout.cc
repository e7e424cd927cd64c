#include "hull/vmm/x86/layout.h"

#include <fmt/format.h>

#include <cerrno>

namespace hull::vmm::x86 {

// The boot structures must fit below the kernel, and the MMIO hole above RAM.
static_assert(kIdtAddress >= kGdtAddress + 4 * sizeof(uint64_t));
static_assert(kPvhMemmapAddress >= kPvhStartInfoAddress + 56);
static_assert(kPvhModlistAddress + 32 <= kZeroPageAddress);
static_assert(kZeroPageAddress + 4096 <= kBootStackPointer);
static_assert(kBootStackPointer < kPml4Address);
static_assert(kCmdlineAddress + kCmdlineCapacity <= kMpTableAddress);
static_assert(kVirtioMmioBase >= kMmioHoleStart &&
              VirtioMmioAddress(kMaxVirtioMmioDevices) <= kIoapicAddress);
static_assert(kKvmIdentityMapAddress + 4096 == kKvmTssAddress &&
              kKvmTssAddress + 3 * 4096 <= kMmioHoleEnd && kKvmIdentityMapAddress > kLapicAddress);

Result<void> CheckGuestMemorySize(uint64_t mem_bytes) {
  if (mem_bytes < kMinGuestMemory) {
    return Error(EINVAL,
                 fmt::format("guest memory of {} bytes ({} MiB) is too small: hull needs at "
                             "least {} MiB",
                             mem_bytes, mem_bytes / kMiB, kMinGuestMemory / kMiB));
  }
  if (mem_bytes > kMaxGuestMemory) {
    return Error(EINVAL, fmt::format("guest memory of {} MiB is too large: hull supports at most "
                                     "{} GiB",
                                     mem_bytes / kMiB, kMaxGuestMemory / kGiB));
  }
  if (mem_bytes % kGuestPageSize != 0) {
    return Error(EINVAL, fmt::format("guest memory of {} bytes is not a whole number of {}-byte "
                                     "pages",
                                     mem_bytes, kGuestPageSize));
  }
  return {};
}

Result<std::vector<RegionSpec>> GuestRamRegions(uint64_t mem_bytes) {
  HULL_TRY(CheckGuestMemorySize(mem_bytes));
  std::vector<RegionSpec> regions = {{.base = GuestAddress(0), .size = LowRamEnd(mem_bytes)}};
  if (mem_bytes > kMmioHoleStart) {
    regions.push_back({.base = GuestAddress(kHighRamStart), .size = mem_bytes - kMmioHoleStart});
  }
  return regions;
}

Result<std::vector<E820Entry>> BuildE820(uint64_t mem_bytes) {
  HULL_TRY(CheckGuestMemorySize(mem_bytes));
  const uint64_t low_end = LowRamEnd(mem_bytes);
  std::vector<E820Entry> map = {
      {.addr = 0, .size = kMpTableAddress, .type = kE820Ram},
      {.addr = kMpTableAddress, .size = kBaseMemoryEnd - kMpTableAddress, .type = kE820Reserved},
      {.addr = kBiosAreaStart, .size = kHighMemoryStart - kBiosAreaStart, .type = kE820Reserved},
      {.addr = kHighMemoryStart, .size = low_end - kHighMemoryStart, .type = kE820Ram},
  };
  if (mem_bytes > kMmioHoleStart) {
    map.push_back({.addr = kHighRamStart, .size = mem_bytes - kMmioHoleStart, .type = kE820Ram});
  }
  return map;
}

}  // namespace hull::vmm::x86
