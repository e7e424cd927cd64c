#pragma once

// The Intel MultiProcessor Specification 1.4 table: how a guest kernel
// without ACPI (ours) finds its CPUs, its IOAPIC and how ISA interrupts are
// wired. Linux looks for the floating pointer "_MP_" in the last KiB of base
// memory (0x9FC00), follows it to the "PCMP" configuration table, and
// registers one CPU per enabled processor entry.

#include <cstddef>
#include <cstdint>

#include "hull/common/result.h"
#include "hull/vmm/memory/guest_memory.h"

namespace hull::vmm::x86 {

// APIC ids 0..253 for CPUs, 254 for the IOAPIC; 255 is the broadcast id.
inline constexpr uint32_t kMaxVcpus = 254;

namespace mp {

// Entry types of the configuration table.
inline constexpr uint8_t kProcessor = 0;
inline constexpr uint8_t kBus = 1;
inline constexpr uint8_t kIoapic = 2;
inline constexpr uint8_t kIoInterrupt = 3;
inline constexpr uint8_t kLocalInterrupt = 4;

// Interrupt types (mpc_intsrc / mpc_lintsrc irqtype).
inline constexpr uint8_t kInt = 0;
inline constexpr uint8_t kNmi = 1;
inline constexpr uint8_t kExtInt = 3;

inline constexpr uint8_t kCpuEnabled = 1;
inline constexpr uint8_t kCpuBootProcessor = 2;
inline constexpr uint8_t kIoapicUsable = 1;
inline constexpr uint8_t kAllLapics = 0xFF;

// What KVM's in-kernel local APIC and IOAPIC report as their versions.
inline constexpr uint8_t kLapicVersion = 0x14;
inline constexpr uint8_t kIoapicVersion = 0x11;

// Layouts as in Linux's arch/x86/include/asm/mpspec_def.h (no padding).
struct FloatingPointer {
  char signature[4];  // "_MP_"
  uint32_t physptr;   // the configuration table
  uint8_t length;     // in 16-byte paragraphs: 1
  uint8_t specification;
  uint8_t checksum;
  uint8_t feature1;
  uint8_t feature2;
  uint8_t feature3;
  uint8_t feature4;
  uint8_t feature5;
};
struct ConfigTable {
  char signature[4];  // "PCMP"
  uint16_t length;    // header and entries
  uint8_t spec;
  uint8_t checksum;
  char oem[8];
  char product_id[12];
  uint32_t oem_ptr;
  uint16_t oem_size;
  uint16_t oem_count;
  uint32_t lapic;
  uint32_t reserved;
};
struct Processor {
  uint8_t type;
  uint8_t apic_id;
  uint8_t apic_version;
  uint8_t cpu_flags;
  uint32_t cpu_signature;
  uint32_t feature_flags;
  uint32_t reserved[2];
};
struct Bus {
  uint8_t type;
  uint8_t bus_id;
  char bus_type[6];
};
struct Ioapic {
  uint8_t type;
  uint8_t apic_id;
  uint8_t apic_version;
  uint8_t flags;
  uint32_t address;
};
struct IoInterrupt {
  uint8_t type;
  uint8_t irq_type;
  uint16_t irq_flags;
  uint8_t source_bus;
  uint8_t source_bus_irq;
  uint8_t dest_ioapic;
  uint8_t dest_pin;
};
struct LocalInterrupt {
  uint8_t type;
  uint8_t irq_type;
  uint16_t irq_flags;
  uint8_t source_bus;
  uint8_t source_bus_irq;
  uint8_t dest_lapic;
  uint8_t dest_lint;
};

static_assert(sizeof(FloatingPointer) == 16 && offsetof(FloatingPointer, checksum) == 10);
static_assert(sizeof(ConfigTable) == 44 && offsetof(ConfigTable, lapic) == 36);
static_assert(sizeof(Processor) == 20 && offsetof(Processor, feature_flags) == 8);
static_assert(sizeof(Bus) == 8 && sizeof(Ioapic) == 8 && offsetof(Ioapic, address) == 4);
static_assert(sizeof(IoInterrupt) == 8 && sizeof(LocalInterrupt) == 8);

}  // namespace mp

// Bytes the MP table takes for `num_cpus` CPUs (floating pointer included).
uint64_t MpTableSize(uint32_t num_cpus);

// Writes the floating pointer and configuration table at kMpTableAddress:
// `num_cpus` (1..254) processors with APIC ids 0..num_cpus-1 (0 the boot
// processor), one ISA bus, one IOAPIC (id num_cpus) at kIoapicAddress,
// ISA IRQ i -> IOAPIC pin i for i in 0..23, ExtINT -> LINT0 and NMI -> LINT1
// of every local APIC; both checksums set.
Result<void> WriteMpTable(const GuestMemory& memory, uint32_t num_cpus);

}  // namespace hull::vmm::x86
