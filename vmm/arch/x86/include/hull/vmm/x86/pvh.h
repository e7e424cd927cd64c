#pragma once

// The PVH boot protocol's start-of-day structure, handed to the kernel's PVH
// entry in %ebx (xen/include/public/arch-x86/hvm/start_info.h, version 1).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "hull/common/result.h"
#include "hull/vmm/memory/guest_memory.h"
#include "hull/vmm/x86/initrd.h"
#include "hull/vmm/x86/layout.h"

namespace hull::vmm::x86 {

namespace pvh {

inline constexpr uint32_t kStartInfoMagic = 0x336ec578;  // "xEn3" with 0x80 in the E
inline constexpr uint32_t kStartInfoVersion = 1;
inline constexpr uint32_t kMemmapRam = 1;
inline constexpr uint32_t kMemmapReserved = 2;

struct StartInfo {
  uint32_t magic;
  uint32_t version;
  uint32_t flags;
  uint32_t nr_modules;
  uint64_t modlist_paddr;
  uint64_t cmdline_paddr;
  uint64_t rsdp_paddr;
  uint64_t memmap_paddr;  // version 1 and later
  uint32_t memmap_entries;
  uint32_t reserved;
};
struct ModlistEntry {
  uint64_t paddr;
  uint64_t size;
  uint64_t cmdline_paddr;
  uint64_t reserved;
};
struct MemmapEntry {
  uint64_t addr;
  uint64_t size;
  uint32_t type;
  uint32_t reserved;
};

static_assert(sizeof(StartInfo) == 56);
static_assert(offsetof(StartInfo, nr_modules) == 12 && offsetof(StartInfo, modlist_paddr) == 16 &&
              offsetof(StartInfo, cmdline_paddr) == 24 && offsetof(StartInfo, rsdp_paddr) == 32 &&
              offsetof(StartInfo, memmap_paddr) == 40 && offsetof(StartInfo, memmap_entries) == 48);
static_assert(sizeof(ModlistEntry) == 32 && offsetof(ModlistEntry, cmdline_paddr) == 16);
static_assert(sizeof(MemmapEntry) == 24 && offsetof(MemmapEntry, type) == 16);

}  // namespace pvh

// Memory map entries that fit between kPvhMemmapAddress and the module list.
inline constexpr uint64_t kMaxPvhMemmapEntries =
    (kPvhModlistAddress - kPvhMemmapAddress) / sizeof(pvh::MemmapEntry);

// Writes the command line (at most 2047 characters) at kCmdlineAddress, the
// memory map `e820` at kPvhMemmapAddress, the initramfs as module 0 at
// kPvhModlistAddress when there is one, and the hvm_start_info pointing at
// them at kPvhStartInfoAddress, whose address it returns (for %ebx).
Result<GuestAddress> WritePvhBootInfo(const GuestMemory& memory, std::string_view cmdline,
                                      std::optional<InitrdPlacement> initrd,
                                      std::span<const E820Entry> e820);

}  // namespace hull::vmm::x86
