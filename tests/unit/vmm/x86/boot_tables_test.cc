#include "hull/vmm/x86/boot_tables.h"

#include <gtest/gtest.h>

#include <array>

#include "hull/vmm/x86/layout.h"

namespace hull::vmm::x86 {
namespace {

GuestMemory MakeMemory() {
  Result<GuestMemory> memory = GuestMemory::Create({{GuestAddress(0), 2 * kMiB}});
  EXPECT_TRUE(memory.ok()) << memory.error().ToString();
  return std::move(memory).value();
}

TEST(X86PageTables, IdentityMapTheFirstGiBWithTwoMiBPages) {
  const GuestMemory memory = MakeMemory();
  ASSERT_TRUE(WriteIdentityPageTables(memory).ok());
  EXPECT_EQ(memory.ReadObject<uint64_t>(GuestAddress(0x9000)).value(), 0xA003u);
  EXPECT_EQ(memory.ReadObject<uint64_t>(GuestAddress(0x9008)).value(), 0u);
  EXPECT_EQ(memory.ReadObject<uint64_t>(GuestAddress(0xA000)).value(), 0xB003u);
  EXPECT_EQ(memory.ReadObject<uint64_t>(GuestAddress(0xA008)).value(), 0u);
  const auto pd = memory.ReadObject<std::array<uint64_t, 512>>(GuestAddress(0xB000)).value();
  EXPECT_EQ(pd[0], 0x83u);
  EXPECT_EQ(pd[1], 0x20'0083u);
  EXPECT_EQ(pd[8], 0x100'0083u);
  EXPECT_EQ(pd[511], 0x3FE0'0083u);
}

TEST(X86Gdt, HoldsTheFlatDescriptorsFirecrackerUses) {
  EXPECT_EQ(kLongModeGdt[0], 0u);
  EXPECT_EQ(kLongModeGdt[1], 0x00AF9B000000FFFFu);
  EXPECT_EQ(kLongModeGdt[2], 0x00CF93000000FFFFu);
  EXPECT_EQ(kLongModeGdt[3], 0x008F8B000000FFFFu);
  EXPECT_EQ(kPvhGdt[1], 0x00CF9B000000FFFFu);
  EXPECT_EQ(kPvhGdt[2], 0x00CF93000000FFFFu);
}

TEST(X86Gdt, IsWrittenAtItsAddressWithAnEmptyIdtAfterIt) {
  const GuestMemory memory = MakeMemory();
  ASSERT_TRUE(memory.WriteObject(GuestAddress(kIdtAddress), uint64_t{0xFFFF}).ok());
  ASSERT_TRUE(WriteGdt(memory, kLongModeGdt).ok());
  EXPECT_EQ(memory.ReadObject<Gdt>(GuestAddress(0x500)).value(), kLongModeGdt);
  EXPECT_EQ(memory.ReadObject<uint64_t>(GuestAddress(0x520)).value(), 0u);
}

TEST(X86Gdt, Code64DescriptorBecomesALongModeCodeSegment) {
  const kvm::Segment s = SegmentFromDescriptor(kGdtCode64, kCodeSelector);
  EXPECT_EQ(s.base, 0u);
  EXPECT_EQ(s.limit, 0xFFFF'FFFFu);
  EXPECT_EQ(s.selector, 0x08);
  EXPECT_EQ(s.type, 0xB);  // execute/read, accessed
  EXPECT_EQ(s.present, 1);
  EXPECT_EQ(s.dpl, 0);
  EXPECT_EQ(s.db, 0);
  EXPECT_EQ(s.s, 1);
  EXPECT_EQ(s.l, 1);
  EXPECT_EQ(s.g, 1);
  EXPECT_EQ(s.avl, 0);
  EXPECT_EQ(s.unusable, 0);
}

TEST(X86Gdt, DataDescriptorBecomesAFlatReadWriteSegment) {
  const kvm::Segment s = SegmentFromDescriptor(kGdtData, kDataSelector);
  EXPECT_EQ(s.limit, 0xFFFF'FFFFu);
  EXPECT_EQ(s.selector, 0x10);
  EXPECT_EQ(s.type, 0x3);
  EXPECT_EQ(s.db, 1);
  EXPECT_EQ(s.l, 0);
  EXPECT_EQ(s.s, 1);
}

TEST(X86Gdt, Code32DescriptorBecomesAFlat32BitCodeSegment) {
  const kvm::Segment s = SegmentFromDescriptor(kGdtCode32, kCodeSelector);
  EXPECT_EQ(s.limit, 0xFFFF'FFFFu);
  EXPECT_EQ(s.type, 0xB);
  EXPECT_EQ(s.db, 1);
  EXPECT_EQ(s.l, 0);
}

TEST(X86Gdt, TssDescriptorsBecomeBusySystemSegments) {
  const kvm::Segment tss = SegmentFromDescriptor(kGdtTss, kTssSelector);
  EXPECT_EQ(tss.type, 0xB);
  EXPECT_EQ(tss.s, 0);
  EXPECT_EQ(tss.present, 1);
  EXPECT_EQ(tss.limit, 0xFFFF'FFFFu);
  const kvm::Segment pvh = SegmentFromDescriptor(kGdtPvhTss, kTssSelector);
  EXPECT_EQ(pvh.type, 0xB);
  EXPECT_EQ(pvh.limit, 0x67u);
  EXPECT_EQ(pvh.g, 0);
  EXPECT_EQ(pvh.base, 0u);
}

TEST(X86Gdt, BaseAndLimitBitsAreGatheredFromTheirSplitFields) {
  // base 0x12345678, limit 0xABCDE, byte granularity.
  const uint64_t descriptor = 0x120A'9334'5678'BCDEull;
  const kvm::Segment s = SegmentFromDescriptor(descriptor, 0x20);
  EXPECT_EQ(s.base, 0x1234'5678u);
  EXPECT_EQ(s.limit, 0xABCDEu);
  EXPECT_EQ(s.g, 0);
}

TEST(X86Gdt, ANullDescriptorIsUnusable) { EXPECT_EQ(SegmentFromDescriptor(0, 0).unusable, 1); }

}  // namespace
}  // namespace hull::vmm::x86
