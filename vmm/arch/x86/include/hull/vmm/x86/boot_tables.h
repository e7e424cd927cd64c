#pragma once

// The descriptor tables and page tables a vCPU needs to start in long mode
// (bzImage) or 32-bit protected mode (PVH), written into guest memory, and
// the kvm_segment each GDT descriptor stands for.

#include <array>
#include <cstdint>

#include "hull/common/result.h"
#include "hull/vmm/kvm/kvm_types.h"
#include "hull/vmm/memory/guest_memory.h"

namespace hull::vmm::x86 {

// GDT descriptors (flat: base 0, limit 4 GiB with 4 KiB granularity).
inline constexpr uint64_t kGdtNull = 0;
inline constexpr uint64_t kGdtCode64 = 0x00AF'9B00'0000'FFFF;  // L=1, execute/read, accessed
inline constexpr uint64_t kGdtCode32 = 0x00CF'9B00'0000'FFFF;  // D=1, execute/read, accessed
inline constexpr uint64_t kGdtData = 0x00CF'9300'0000'FFFF;    // D=1, read/write, accessed
inline constexpr uint64_t kGdtTss = 0x008F'8B00'0000'FFFF;     // busy TSS placeholder
// The PVH ABI asks for a 32-bit busy TSS with base 0 and limit 0x67.
inline constexpr uint64_t kGdtPvhTss = 0x0000'8B00'0000'0067;

// Selectors: the same slots in both GDTs; slot 1 holds the mode's code.
inline constexpr uint16_t kCodeSelector = 0x08;
inline constexpr uint16_t kDataSelector = 0x10;
inline constexpr uint16_t kTssSelector = 0x18;

using Gdt = std::array<uint64_t, 4>;
inline constexpr Gdt kLongModeGdt = {kGdtNull, kGdtCode64, kGdtData, kGdtTss};
inline constexpr Gdt kPvhGdt = {kGdtNull, kGdtCode32, kGdtData, kGdtPvhTss};
inline constexpr uint16_t kGdtLimit = sizeof(Gdt) - 1;
// An empty IDT: the kernel installs its own before enabling interrupts.
inline constexpr uint16_t kIdtLimit = sizeof(uint64_t) - 1;

// Page-table entry bits.
inline constexpr uint64_t kPtePresent = 1u << 0;
inline constexpr uint64_t kPteWritable = 1u << 1;
inline constexpr uint64_t kPteHuge = 1u << 7;  // a 2 MiB page in a PD entry

// Writes `gdt` at kGdtAddress and an empty IDT at kIdtAddress.
Result<void> WriteGdt(const GuestMemory& memory, const Gdt& gdt);

// Writes an identity map of the first 1 GiB with 2 MiB pages: PML4 at
// kPml4Address -> PDPT at kPdptAddress -> PD at kPdAddress (512 entries).
Result<void> WriteIdentityPageTables(const GuestMemory& memory);

// The kvm_segment that loading `selector` with `descriptor` yields: base,
// limit scaled by granularity, type, S, DPL, P, AVL, L, D/B, G; unusable
// when not present.
kvm::Segment SegmentFromDescriptor(uint64_t descriptor, uint16_t selector);

}  // namespace hull::vmm::x86
