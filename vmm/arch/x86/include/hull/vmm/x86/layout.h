#pragma once

// The x86 guest-physical map of every hull VM.
//
//   0x0000_0000  ┌──────────────────────────────┐
//                │ boot structures (below)      │ RAM
//   0x0009_FC00  │ MP table                     │ reserved (e820)
//   0x000A_0000  │ (legacy VGA/ROM hole)        │ not in the e820
//   0x000F_0000  │ BIOS area                    │ reserved (e820)
//   0x0010_0000  │ kernel, initrd, free RAM     │ RAM
//   min(mem,3G)  ├──────────────────────────────┤
//   0xC000_0000  │ MMIO hole: virtio-mmio at    │ no RAM
//                │ 0xD000_0000, IOAPIC, LAPIC,  │
//                │ KVM's TSS and identity map   │
//   0x1_0000_0000├──────────────────────────────┤
//                │ the rest of RAM (mem > 3 GiB)│ RAM
//
// Boot structures in the first MiB: GDT 0x500, IDT 0x520, PVH start info
// 0x6000 (its memory map right after it, its module list at 0x6800), zero page
// 0x7000, boot stack top 0x8FF0, page tables 0x9000..0xBFFF, command line
// 0x20000, MP table 0x9FC00.

#include <algorithm>
#include <cstdint>
#include <vector>

#include "hull/common/result.h"
#include "hull/vmm/memory/guest_memory.h"

namespace hull::vmm::x86 {

inline constexpr uint64_t kKiB = uint64_t{1} << 10;
inline constexpr uint64_t kMiB = uint64_t{1} << 20;
inline constexpr uint64_t kGiB = uint64_t{1} << 30;

// Guest memory sizes hull accepts. The upper bound keeps every RAM address
// below 2^39, the narrowest physical address width of hosts we run on.
inline constexpr uint64_t kMinGuestMemory = 64 * kMiB;
inline constexpr uint64_t kMaxGuestMemory = 256 * kGiB;

// RAM below the hole ends here at the latest; the rest starts at 4 GiB.
inline constexpr uint64_t kMmioHoleStart = 0xC000'0000;
inline constexpr uint64_t kMmioHoleEnd = 0x1'0000'0000;
inline constexpr uint64_t kHighRamStart = kMmioHoleEnd;

// virtio-mmio devices: slot i at kVirtioMmioBase + i * kVirtioMmioSlotSize,
// interrupt line (GSI, IOAPIC pin) kVirtioFirstGsi + i, up to pin 23.
inline constexpr uint64_t kVirtioMmioBase = 0xD000'0000;
inline constexpr uint64_t kVirtioMmioSlotSize = 0x1000;
inline constexpr uint32_t kVirtioFirstGsi = 5;
inline constexpr uint32_t kIoapicPins = 24;
inline constexpr uint32_t kMaxVirtioMmioDevices = kIoapicPins - kVirtioFirstGsi;

inline constexpr uint64_t kIoapicAddress = 0xFEC0'0000;
inline constexpr uint64_t kLapicAddress = 0xFEE0'0000;

// For KVM_SET_TSS_ADDR (three pages) and KVM_SET_IDENTITY_MAP_ADDR (one
// page): Intel VMX needs them for real mode. In the hole, clear of devices.
inline constexpr uint64_t kKvmTssAddress = 0xFFFB'D000;
inline constexpr uint64_t kKvmIdentityMapAddress = 0xFFFB'C000;

// Boot structures.
inline constexpr uint64_t kGdtAddress = 0x500;
inline constexpr uint64_t kIdtAddress = 0x520;
inline constexpr uint64_t kPvhStartInfoAddress = 0x6000;
inline constexpr uint64_t kPvhMemmapAddress = 0x6040;
inline constexpr uint64_t kPvhModlistAddress = 0x6800;
inline constexpr uint64_t kZeroPageAddress = 0x7000;
inline constexpr uint64_t kBootStackPointer = 0x8FF0;
inline constexpr uint64_t kPml4Address = 0x9000;
inline constexpr uint64_t kPdptAddress = 0xA000;
inline constexpr uint64_t kPdAddress = 0xB000;
inline constexpr uint64_t kCmdlineAddress = 0x20000;
// The command line buffer, terminating NUL included.
inline constexpr uint64_t kCmdlineCapacity = 2048;
inline constexpr uint64_t kMpTableAddress = 0x9FC00;
inline constexpr uint64_t kBaseMemoryEnd = 0xA0000;
inline constexpr uint64_t kBiosAreaStart = 0xF0000;
// Kernels load at 1 MiB or above (a bzImage exactly there).
inline constexpr uint64_t kHighMemoryStart = 1 * kMiB;

// The first virtio-mmio slot's address and line for device `index`.
constexpr uint64_t VirtioMmioAddress(uint32_t index) {
  return kVirtioMmioBase + uint64_t{index} * kVirtioMmioSlotSize;
}
constexpr uint32_t VirtioMmioGsi(uint32_t index) { return kVirtioFirstGsi + index; }

// The end of RAM below the MMIO hole for a guest of `mem_bytes`.
constexpr uint64_t LowRamEnd(uint64_t mem_bytes) { return std::min(mem_bytes, kMmioHoleStart); }

// An e820 / PVH memory map entry.
inline constexpr uint32_t kE820Ram = 1;
inline constexpr uint32_t kE820Reserved = 2;
struct E820Entry {
  uint64_t addr = 0;
  uint64_t size = 0;
  uint32_t type = 0;
  friend bool operator==(const E820Entry&, const E820Entry&) = default;
};

// Fails, saying why, unless `mem_bytes` is a guest size hull supports: at
// least 64 MiB, at most 256 GiB, a whole number of 4 KiB pages.
Result<void> CheckGuestMemorySize(uint64_t mem_bytes);

// The RAM regions of a guest of `mem_bytes`: [0, min(mem, 3 GiB)) and, above
// 3 GiB, [4 GiB, 4 GiB + mem - 3 GiB). For GuestMemory::Create.
Result<std::vector<RegionSpec>> GuestRamRegions(uint64_t mem_bytes);

// The memory map the guest is told: RAM [0, 0x9FC00), reserved
// [0x9FC00, 0xA0000) (the MP table), reserved [0xF0000, 1 MiB), RAM
// [1 MiB, low end), and RAM from 4 GiB when mem > 3 GiB.
Result<std::vector<E820Entry>> BuildE820(uint64_t mem_bytes);

}  // namespace hull::vmm::x86
