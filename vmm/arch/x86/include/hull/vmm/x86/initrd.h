#pragma once

#include <cstdint>

#include "hull/common/result.h"
#include "hull/vmm/memory/guest_address.h"

namespace hull::vmm::x86 {

// Where the initramfs lies in guest memory.
struct InitrdPlacement {
  GuestAddress addr;
  uint64_t size = 0;
};

// The highest page-aligned address for an initramfs of `initrd_size` bytes
// such that it ends at or below min(low_ram_end, initrd_addr_max + 1) and
// starts at or above `kernel_end` (the first byte the kernel does not need,
// decompression included). `initrd_addr_max` is the last byte the kernel can
// reach (the bzImage header's field; 0xFFFFFFFF for PVH). Errors say how
// much memory is missing: "initramfs of N MiB does not fit in M MiB of guest
// memory: raise --mem".
Result<GuestAddress> PlaceInitrd(uint64_t initrd_size, GuestAddress kernel_end,
                                 uint64_t low_ram_end, uint64_t initrd_addr_max);

}  // namespace hull::vmm::x86
