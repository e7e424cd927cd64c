#include "hull/vmm/x86/boot_tables.h"

#include <vector>

#include "hull/vmm/x86/layout.h"

namespace hull::vmm::x86 {
namespace {

constexpr uint32_t kEntriesPerTable = 512;
constexpr uint64_t kHugePageSize = 2 * kMiB;

uint64_t Bits(uint64_t value, unsigned low, unsigned count) {
  return (value >> low) & ((uint64_t{1} << count) - 1);
}

}  // namespace

Result<void> WriteGdt(const GuestMemory& memory, const Gdt& gdt) {
  HULL_TRY(memory.WriteObject(GuestAddress(kGdtAddress), gdt).WithContext("writing the GDT"));
  return memory.WriteObject(GuestAddress(kIdtAddress), uint64_t{0}).WithContext("writing the IDT");
}

Result<void> WriteIdentityPageTables(const GuestMemory& memory) {
  const uint64_t table_flags = kPtePresent | kPteWritable;
  HULL_TRY(memory.WriteObject(GuestAddress(kPml4Address), kPdptAddress | table_flags)
               .WithContext("writing the boot PML4"));
  HULL_TRY(memory.WriteObject(GuestAddress(kPdptAddress), kPdAddress | table_flags)
               .WithContext("writing the boot PDPT"));
  std::array<uint64_t, kEntriesPerTable> pd = {};
  for (uint64_t i = 0; i < kEntriesPerTable; ++i) {
    pd[i] = (i * kHugePageSize) | table_flags | kPteHuge;
  }
  return memory.WriteObject(GuestAddress(kPdAddress), pd).WithContext("writing the boot PD");
}

kvm::Segment SegmentFromDescriptor(uint64_t descriptor, uint16_t selector) {
  const uint64_t raw_limit = Bits(descriptor, 0, 16) | (Bits(descriptor, 48, 4) << 16);
  const bool granular = Bits(descriptor, 55, 1) != 0;
  kvm::Segment segment = {};
  segment.base = Bits(descriptor, 16, 24) | (Bits(descriptor, 56, 8) << 24);
  segment.limit = static_cast<uint32_t>(granular ? (raw_limit << 12) | 0xFFF : raw_limit);
  segment.selector = selector;
  segment.type = static_cast<uint8_t>(Bits(descriptor, 40, 4));
  segment.s = static_cast<uint8_t>(Bits(descriptor, 44, 1));
  segment.dpl = static_cast<uint8_t>(Bits(descriptor, 45, 2));
  segment.present = static_cast<uint8_t>(Bits(descriptor, 47, 1));
  segment.avl = static_cast<uint8_t>(Bits(descriptor, 52, 1));
  segment.l = static_cast<uint8_t>(Bits(descriptor, 53, 1));
  segment.db = static_cast<uint8_t>(Bits(descriptor, 54, 1));
  segment.g = static_cast<uint8_t>(granular ? 1 : 0);
  segment.unusable = static_cast<uint8_t>(segment.present == 0 ? 1 : 0);
  return segment;
}

}  // namespace hull::vmm::x86
