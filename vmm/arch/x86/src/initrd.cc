#include "hull/vmm/x86/initrd.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>

#include "hull/vmm/memory/guest_memory.h"
#include "hull/vmm/x86/layout.h"

namespace hull::vmm::x86 {
namespace {

// Whole MiB, rounded up, for messages.
uint64_t MiBCeil(uint64_t bytes) { return bytes / kMiB + (bytes % kMiB != 0 ? 1 : 0); }

}  // namespace

Result<GuestAddress> PlaceInitrd(uint64_t initrd_size, GuestAddress kernel_end,
                                 uint64_t low_ram_end, uint64_t initrd_addr_max) {
  if (initrd_size == 0) return Error(EINVAL, "the initramfs is empty");
  // initrd_addr_max is the last usable byte: the limit is one past it.
  const uint64_t addr_limit = initrd_addr_max == UINT64_MAX ? UINT64_MAX : initrd_addr_max + 1;
  const uint64_t limit = std::min(low_ram_end, addr_limit);
  const uint64_t floor = kernel_end.raw();
  if (initrd_size > limit || floor > limit - initrd_size ||
      ((limit - initrd_size) & ~(kGuestPageSize - 1)) < floor) {
    if (low_ram_end <= addr_limit) {
      return Error(ENOMEM, fmt::format("initramfs of {} MiB does not fit in {} MiB of guest memory "
                                       "(the kernel takes the first {} MiB): raise --mem",
                                       MiBCeil(initrd_size), low_ram_end / kMiB, MiBCeil(floor)));
    }
    return Error(ENOMEM, fmt::format("initramfs of {} MiB does not fit between the kernel's end "
                                     "({:#x}) and the highest address the kernel accepts for it "
                                     "({:#x})",
                                     MiBCeil(initrd_size), floor, initrd_addr_max));
  }
  return GuestAddress((limit - initrd_size) & ~(kGuestPageSize - 1));
}

}  // namespace hull::vmm::x86
