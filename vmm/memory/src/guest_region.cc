#include "hull/vmm/memory/guest_region.h"

#include <fmt/format.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <limits>

namespace hull::vmm {

namespace {

// Transparent huge pages come in 2 MiB; a mapping aligned to that can be
// backed by them from its first byte.
constexpr size_t kHugePageSize = size_t{2} << 20;

}  // namespace

Result<GuestRegion> GuestRegion::Create(GuestAddress base, uint64_t size, MemoryBacking backing) {
  if (size == 0 || size > static_cast<uint64_t>(std::numeric_limits<off_t>::max())) {
    return Error(EINVAL, fmt::format("guest region at {}: unusable size {:#x}", base, size));
  }
  const std::string name = fmt::format("hull-guest-ram@{}", base);
  UniqueFd memfd;
  if (backing == MemoryBacking::kMemfd) {
    memfd = UniqueFd(::memfd_create(name.c_str(), MFD_CLOEXEC));
    if (!memfd) return Error::FromErrno(errno, fmt::format("memfd_create {}", name));
    if (::ftruncate(memfd.Get(), static_cast<off_t>(size)) != 0) {
      return Error::FromErrno(errno, fmt::format("ftruncate {} to {:#x} bytes", name, size));
    }
  }
  // MAP_NORESERVE: guest RAM is committed page by page as the guest touches it.
  const int flags = backing == MemoryBacking::kMemfd ? MAP_SHARED | MAP_NORESERVE
                                                     : MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
  HULL_ASSIGN_OR_RETURN(MemoryMapping mapping,
                        MemoryMapping::MapAligned(static_cast<size_t>(size), kHugePageSize,
                                                  PROT_READ | PROT_WRITE, flags, memfd.Get(), 0)
                            .WithContext(fmt::format("mapping guest region {}", name)));
  // A hint: where the host has THP in "madvise" mode (Debian's default) this
  // is what turns them on; elsewhere it is ignored. Never an error.
  (void)::madvise(mapping.data(), mapping.size(), MADV_HUGEPAGE);
  return GuestRegion(base, size, std::move(memfd), std::move(mapping));
}

}  // namespace hull::vmm
