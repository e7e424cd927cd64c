#include "hull/vmm/x86/mptable.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "hull/vmm/x86/layout.h"

namespace hull::vmm::x86 {
namespace {

GuestMemory MakeMemory() {
  Result<GuestMemory> memory = GuestMemory::Create({{GuestAddress(0), 2 * kMiB}});
  EXPECT_TRUE(memory.ok()) << memory.error().ToString();
  return std::move(memory).value();
}

uint8_t Sum(const GuestMemory& memory, uint64_t addr, uint64_t len) {
  std::vector<uint8_t> bytes(len);
  EXPECT_TRUE(memory.Read(GuestAddress(addr), bytes).ok());
  uint8_t sum = 0;
  for (uint8_t b : bytes) sum = static_cast<uint8_t>(sum + b);
  return sum;
}

// What a parse of the table as Linux's smp_read_mpc() does finds.
struct Parsed {
  mp::FloatingPointer pointer;
  mp::ConfigTable table;
  std::vector<mp::Processor> cpus;
  std::vector<mp::Bus> buses;
  std::vector<mp::Ioapic> ioapics;
  std::vector<mp::IoInterrupt> irqs;
  std::vector<mp::LocalInterrupt> lints;
};

Parsed ParseBack(const GuestMemory& memory) {
  Parsed parsed;
  parsed.pointer = memory.ReadObject<mp::FloatingPointer>(GuestAddress(kMpTableAddress)).value();
  const uint64_t base = parsed.pointer.physptr;
  parsed.table = memory.ReadObject<mp::ConfigTable>(GuestAddress(base)).value();
  uint64_t at = base + sizeof(mp::ConfigTable);
  const uint64_t end = base + parsed.table.length;
  while (at < end) {
    const uint8_t type = memory.ReadObject<uint8_t>(GuestAddress(at)).value();
    switch (type) {
      case mp::kProcessor:
        parsed.cpus.push_back(memory.ReadObject<mp::Processor>(GuestAddress(at)).value());
        at += sizeof(mp::Processor);
        break;
      case mp::kBus:
        parsed.buses.push_back(memory.ReadObject<mp::Bus>(GuestAddress(at)).value());
        at += sizeof(mp::Bus);
        break;
      case mp::kIoapic:
        parsed.ioapics.push_back(memory.ReadObject<mp::Ioapic>(GuestAddress(at)).value());
        at += sizeof(mp::Ioapic);
        break;
      case mp::kIoInterrupt:
        parsed.irqs.push_back(memory.ReadObject<mp::IoInterrupt>(GuestAddress(at)).value());
        at += sizeof(mp::IoInterrupt);
        break;
      case mp::kLocalInterrupt:
        parsed.lints.push_back(memory.ReadObject<mp::LocalInterrupt>(GuestAddress(at)).value());
        at += sizeof(mp::LocalInterrupt);
        break;
      default:
        ADD_FAILURE() << "unknown MP entry type " << int{type} << " at " << at;
        return parsed;
    }
  }
  EXPECT_EQ(at, end) << "the last entry runs past the table's length";
  return parsed;
}

TEST(MpTable, FloatingPointerHasSignatureLengthVersionAndZeroSum) {
  const GuestMemory memory = MakeMemory();
  ASSERT_TRUE(WriteMpTable(memory, 2).ok());
  const Parsed parsed = ParseBack(memory);
  EXPECT_EQ(std::memcmp(parsed.pointer.signature, "_MP_", 4), 0);
  EXPECT_EQ(parsed.pointer.length, 1);
  EXPECT_EQ(parsed.pointer.specification, 4);
  EXPECT_EQ(parsed.pointer.physptr, kMpTableAddress + 16);
  EXPECT_EQ(parsed.pointer.feature1, 0) << "feature1 != 0 selects a default configuration";
  EXPECT_EQ(Sum(memory, kMpTableAddress, 16), 0);
}

TEST(MpTable, ConfigTableHasSignatureLapicAndZeroSum) {
  const GuestMemory memory = MakeMemory();
  ASSERT_TRUE(WriteMpTable(memory, 4).ok());
  const Parsed parsed = ParseBack(memory);
  EXPECT_EQ(std::memcmp(parsed.table.signature, "PCMP", 4), 0);
  EXPECT_EQ(parsed.table.spec, 4);
  EXPECT_EQ(parsed.table.lapic, kLapicAddress);
  EXPECT_EQ(Sum(memory, parsed.pointer.physptr, parsed.table.length), 0);
  EXPECT_EQ(sizeof(mp::FloatingPointer) + parsed.table.length, MpTableSize(4));
}

TEST(MpTable, HasOneEnabledProcessorPerVcpuWithApicIdEqualToItsIndex) {
  const GuestMemory memory = MakeMemory();
  for (uint32_t cpus : {1u, 2u, 7u, 64u, kMaxVcpus}) {
    ASSERT_TRUE(WriteMpTable(memory, cpus).ok());
    const Parsed parsed = ParseBack(memory);
    ASSERT_EQ(parsed.cpus.size(), cpus);
    for (uint32_t i = 0; i < cpus; ++i) {
      EXPECT_EQ(parsed.cpus[i].apic_id, i);
      EXPECT_EQ(parsed.cpus[i].apic_version, mp::kLapicVersion);
      EXPECT_TRUE(parsed.cpus[i].cpu_flags & mp::kCpuEnabled);
      EXPECT_EQ((parsed.cpus[i].cpu_flags & mp::kCpuBootProcessor) != 0, i == 0) << i;
    }
    EXPECT_EQ(Sum(memory, parsed.pointer.physptr, parsed.table.length), 0) << cpus;
  }
}

TEST(MpTable, HasOneIsaBusAndOneIoapicWithTheIdAfterTheCpus) {
  const GuestMemory memory = MakeMemory();
  ASSERT_TRUE(WriteMpTable(memory, 3).ok());
  const Parsed parsed = ParseBack(memory);
  ASSERT_EQ(parsed.buses.size(), 1u);
  EXPECT_EQ(std::memcmp(parsed.buses[0].bus_type, "ISA   ", 6), 0);
  ASSERT_EQ(parsed.ioapics.size(), 1u);
  EXPECT_EQ(parsed.ioapics[0].apic_id, 3);
  EXPECT_EQ(parsed.ioapics[0].apic_version, 0x11);
  EXPECT_EQ(parsed.ioapics[0].flags, mp::kIoapicUsable);
  EXPECT_EQ(parsed.ioapics[0].address, 0xFEC0'0000u);
}

TEST(MpTable, RoutesIsaIrqIToIoapicPinI) {
  const GuestMemory memory = MakeMemory();
  ASSERT_TRUE(WriteMpTable(memory, 2).ok());
  const Parsed parsed = ParseBack(memory);
  ASSERT_EQ(parsed.irqs.size(), 24u);
  for (uint8_t i = 0; i < 24; ++i) {
    EXPECT_EQ(parsed.irqs[i].irq_type, mp::kInt);
    EXPECT_EQ(parsed.irqs[i].irq_flags, 0);
    EXPECT_EQ(parsed.irqs[i].source_bus, 0);
    EXPECT_EQ(parsed.irqs[i].source_bus_irq, i);
    EXPECT_EQ(parsed.irqs[i].dest_ioapic, 2);
    EXPECT_EQ(parsed.irqs[i].dest_pin, i);
  }
}

TEST(MpTable, WiresExtIntToLint0AndNmiToLint1OfEveryLapic) {
  const GuestMemory memory = MakeMemory();
  ASSERT_TRUE(WriteMpTable(memory, 2).ok());
  const Parsed parsed = ParseBack(memory);
  ASSERT_EQ(parsed.lints.size(), 2u);
  EXPECT_EQ(parsed.lints[0].irq_type, mp::kExtInt);
  EXPECT_EQ(parsed.lints[0].dest_lapic, 0xFF);
  EXPECT_EQ(parsed.lints[0].dest_lint, 0);
  EXPECT_EQ(parsed.lints[1].irq_type, mp::kNmi);
  EXPECT_EQ(parsed.lints[1].dest_lapic, 0xFF);
  EXPECT_EQ(parsed.lints[1].dest_lint, 1);
}

TEST(MpTable, SmallTablesFitInTheLastKiBOfBaseMemory) {
  EXPECT_LE(kMpTableAddress + MpTableSize(32), kBaseMemoryEnd);
}

TEST(MpTable, RejectsZeroAndMoreThan254Cpus) {
  const GuestMemory memory = MakeMemory();
  EXPECT_FALSE(WriteMpTable(memory, 0).ok());
  EXPECT_FALSE(WriteMpTable(memory, 255).ok());
}

TEST(MpTable, FailsWhenGuestMemoryDoesNotReachTheTable) {
  Result<GuestMemory> memory = GuestMemory::Create({{GuestAddress(0), 0x9F000}});
  ASSERT_TRUE(memory.ok());
  EXPECT_FALSE(WriteMpTable(*memory, 1).ok());
}

}  // namespace
}  // namespace hull::vmm::x86
