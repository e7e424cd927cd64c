#include "hull/vmm/memory/guest_region.h"

#include <fmt/format.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <limits>

namespace hull::vmm {

Result<GuestRegion> GuestRegion::Create(GuestAddress base, uint64_t size) {
  if (size == 0 || size > static_cast<uint64_t>(std::numeric_limits<off_t>::max())) {
    return Error(EINVAL, fmt::format("guest region at {}: unusable size {:#x}", base, size));
  }
  const std::string name = fmt::format("hull-guest-ram@{}", base);
  UniqueFd memfd(::memfd_create(name.c_str(), MFD_CLOEXEC));
  if (!memfd) return Error::FromErrno(errno, fmt::format("memfd_create {}", name));
  if (::ftruncate(memfd.Get(), static_cast<off_t>(size)) != 0) {
    return Error::FromErrno(errno, fmt::format("ftruncate {} to {:#x} bytes", name, size));
  }
  // MAP_NORESERVE: guest RAM is committed page by page as the guest touches it.
  HULL_ASSIGN_OR_RETURN(MemoryMapping mapping,
                        MemoryMapping::Map(static_cast<size_t>(size), PROT_READ | PROT_WRITE,
                                           MAP_SHARED | MAP_NORESERVE, memfd.Get(), 0)
                            .WithContext(fmt::format("mapping guest region {}", name)));
  return GuestRegion(base, size, std::move(memfd), std::move(mapping));
}

}  // namespace hull::vmm
