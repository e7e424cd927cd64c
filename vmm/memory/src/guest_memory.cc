#include "hull/vmm/memory/guest_memory.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>

#include "hull/common/eintr.h"

namespace hull::vmm {
namespace {

Result<void> ValidateSpecs(std::span<const RegionSpec> sorted) {
  if (sorted.empty()) return Error(EINVAL, "no guest memory regions");
  for (size_t i = 0; i < sorted.size(); ++i) {
    const RegionSpec& spec = sorted[i];
    if (spec.size == 0) {
      return Error(EINVAL, fmt::format("guest region at {} has size 0", spec.base));
    }
    if (!spec.base.IsAligned(kGuestPageSize) || spec.size % kGuestPageSize != 0) {
      return Error(EINVAL,
                   fmt::format("guest region {}+{:#x} is not page-aligned", spec.base, spec.size));
    }
    if (!spec.base.CheckedAdd(spec.size).has_value()) {
      return Error(EINVAL, fmt::format("guest region {}+{:#x} passes the top of the address space",
                                       spec.base, spec.size));
    }
    // Sorted by base, so only a neighbour can overlap; the end is known to fit.
    if (i > 0) {
      const RegionSpec& prev = sorted[i - 1];
      if (prev.base.raw() + prev.size > spec.base.raw()) {
        return Error(EINVAL, fmt::format("guest regions {}+{:#x} and {}+{:#x} overlap", prev.base,
                                         prev.size, spec.base, spec.size));
      }
    }
  }
  return {};
}

}  // namespace

Result<GuestMemory> GuestMemory::Create(std::span<const RegionSpec> specs, MemoryBacking backing) {
  std::vector<RegionSpec> sorted(specs.begin(), specs.end());
  std::sort(sorted.begin(), sorted.end(),
            [](const RegionSpec& a, const RegionSpec& b) { return a.base < b.base; });
  HULL_TRY(ValidateSpecs(sorted));

  std::vector<GuestRegion> regions;
  regions.reserve(sorted.size());
  for (const RegionSpec& spec : sorted) {
    HULL_ASSIGN_OR_RETURN(GuestRegion region, GuestRegion::Create(spec.base, spec.size, backing));
    regions.push_back(std::move(region));
  }
  return GuestMemory(std::move(regions));
}

const GuestRegion* GuestMemory::FindRegion(GuestAddress addr) const noexcept {
  // The last region whose base is <= addr is the only candidate.
  auto after =
      std::upper_bound(regions_.begin(), regions_.end(), addr,
                       [](GuestAddress a, const GuestRegion& region) { return a < region.base(); });
  if (after == regions_.begin()) return nullptr;
  const GuestRegion& candidate = *std::prev(after);
  return candidate.Contains(addr) ? &candidate : nullptr;
}

Result<std::span<uint8_t>> GuestMemory::Slice(GuestAddress addr, uint64_t len) const {
  const GuestRegion* region = FindRegion(addr);
  if (region == nullptr) {
    return Error(EFAULT, fmt::format("guest range {}+{:#x}: {} is not guest RAM", addr, len, addr));
  }
  // No overflow: base <= addr < base + size, so offset < size.
  const uint64_t offset = addr.raw() - region->base().raw();
  const uint64_t available = region->size() - offset;
  if (len > available) {
    return Error(EFAULT,
                 fmt::format("guest range {}+{:#x} runs past the end of RAM region {}+{:#x}", addr,
                             len, region->base(), region->size()));
  }
  // SAFETY: offset + len <= size, and the region maps exactly `size` bytes at
  // host_address(); both fit in size_t because the mapping does.
  return std::span<uint8_t>(region->host_address() + offset, static_cast<size_t>(len));
}

Result<void> GuestMemory::Read(GuestAddress addr, std::span<uint8_t> out) const {
  HULL_ASSIGN_OR_RETURN(std::span<uint8_t> source, Slice(addr, out.size()));
  // SAFETY: one copy out of hostile memory; the guest changing it meanwhile
  // can only change the bytes we get, which the caller validates.
  if (!out.empty()) std::memcpy(out.data(), source.data(), out.size());
  return {};
}

Result<void> GuestMemory::Write(GuestAddress addr, std::span<const uint8_t> in) const {
  HULL_ASSIGN_OR_RETURN(std::span<uint8_t> target, Slice(addr, in.size()));
  if (!in.empty()) std::memcpy(target.data(), in.data(), in.size());
  return {};
}

Result<void> GuestMemory::Discard(GuestAddress addr, uint64_t len) const {
  if (len == 0 || !addr.IsAligned(kGuestPageSize) || len % kGuestPageSize != 0) {
    return Error(EINVAL,
                 fmt::format("discarding guest range {}+{:#x}: not whole pages", addr, len));
  }
  // Slice checks the whole range against one region, overflow-safe.
  HULL_TRY(Slice(addr, len).WithContext("discarding guest range"));
  const GuestRegion& region = *FindRegion(addr);
  // Both fit off_t: GuestRegion::Create bounds the region's size by it.
  const auto offset = static_cast<off_t>(addr.raw() - region.base().raw());
  const auto length = static_cast<off_t>(len);
  if (region.backing() == MemoryBacking::kAnonymous) {
    // Private anonymous pages are freed by MADV_DONTNEED and read back as
    // zeros. Slice checked the range.
    if (::madvise(region.host_address() + offset, len, MADV_DONTNEED) != 0) {
      return Error::FromErrno(errno,
                              fmt::format("madvise(DONTNEED) guest range {}+{:#x}", addr, len));
    }
    return {};
  }
  if (RetryOnEintr([&] {
        return ::fallocate(region.memfd(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset,
                           length);
      }) != 0) {
    return Error::FromErrno(errno, fmt::format("fallocate(PUNCH_HOLE) guest range {}+{:#x} "
                                               "(memfd {}, offset {:#x})",
                                               addr, len, region.memfd(), offset));
  }
  return {};
}

}  // namespace hull::vmm
