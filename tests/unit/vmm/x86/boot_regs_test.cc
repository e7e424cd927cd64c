#include "hull/vmm/x86/boot_regs.h"

#include <gtest/gtest.h>

#include "hull/vmm/x86/boot_tables.h"
#include "hull/vmm/x86/layout.h"

namespace hull::vmm::x86 {
namespace {

// What KVM_GET_SREGS reports for a fresh vCPU, roughly: real mode, with
// fields the boot code must keep.
kvm::Sregs Baseline() {
  kvm::Sregs sregs = {};
  sregs.cr0 = 0x6000'0010;
  sregs.apic_base = 0xFEE0'0900;
  sregs.ldt.type = 2;
  sregs.ldt.present = 1;
  sregs.cs.selector = 0xF000;
  sregs.cs.base = 0xFFFF'0000;
  return sregs;
}

TEST(X86BootRegs, LinuxEntryHasEntryBootParamsStackAndReservedFlag) {
  const kvm::Regs regs = LinuxBootRegs(GuestAddress(0x10'0200), GuestAddress(kZeroPageAddress));
  EXPECT_EQ(regs.rip, 0x10'0200u);
  EXPECT_EQ(regs.rsi, 0x7000u);
  EXPECT_EQ(regs.rsp, 0x8FF0u);
  EXPECT_EQ(regs.rbp, 0x8FF0u);
  EXPECT_EQ(regs.rflags, 2u);
  EXPECT_EQ(regs.rax, 0u);
}

TEST(X86BootRegs, LongModeSregsEnablePagingWithTheIdentityMap) {
  kvm::Sregs sregs = Baseline();
  ApplyLongModeSregs(sregs);
  EXPECT_EQ(sregs.cr0, kCr0Pe | kCr0Et | kCr0Pg);
  EXPECT_EQ(sregs.cr3, 0x9000u);
  EXPECT_EQ(sregs.cr4, kCr4Pae);
  EXPECT_EQ(sregs.efer, kEferLme | kEferLma);
  EXPECT_EQ(sregs.cs.selector, 0x08);
  EXPECT_EQ(sregs.cs.l, 1);
  EXPECT_EQ(sregs.cs.base, 0u);
  for (const kvm::Segment* data : {&sregs.ds, &sregs.es, &sregs.fs, &sregs.gs, &sregs.ss}) {
    EXPECT_EQ(data->selector, 0x10);
    EXPECT_EQ(data->type, 3);
    EXPECT_EQ(data->present, 1);
  }
  EXPECT_EQ(sregs.tr.selector, 0x18);
  EXPECT_EQ(sregs.tr.type, 0xB);
  EXPECT_EQ(sregs.gdt.base, 0x500u);
  EXPECT_EQ(sregs.gdt.limit, 31);
  EXPECT_EQ(sregs.idt.base, 0x520u);
  EXPECT_EQ(sregs.idt.limit, 7);
}

TEST(X86BootRegs, SregsKeepWhatKvmSet) {
  kvm::Sregs sregs = Baseline();
  ApplyLongModeSregs(sregs);
  EXPECT_EQ(sregs.apic_base, 0xFEE0'0900u);
  EXPECT_EQ(sregs.ldt.type, 2);
  sregs = Baseline();
  ApplyPvhSregs(sregs);
  EXPECT_EQ(sregs.apic_base, 0xFEE0'0900u);
}

TEST(X86BootRegs, PvhEntryHasEntryStartInfoInRbxAndReservedFlag) {
  const kvm::Regs regs = PvhBootRegs(GuestAddress(0x100'0510), GuestAddress(kPvhStartInfoAddress));
  EXPECT_EQ(regs.rip, 0x100'0510u);
  EXPECT_EQ(regs.rbx, 0x6000u);
  EXPECT_EQ(regs.rflags, 2u);
  EXPECT_EQ(regs.rsi, 0u);
}

TEST(X86BootRegs, PvhSregsAreFlat32BitProtectedModeWithoutPaging) {
  kvm::Sregs sregs = Baseline();
  ApplyPvhSregs(sregs);
  EXPECT_EQ(sregs.cr0, kCr0Pe | kCr0Et);
  EXPECT_EQ(sregs.cr3, 0u);
  EXPECT_EQ(sregs.cr4, 0u);
  EXPECT_EQ(sregs.efer, 0u);
  EXPECT_EQ(sregs.cs.selector, 0x08);
  EXPECT_EQ(sregs.cs.db, 1);
  EXPECT_EQ(sregs.cs.l, 0);
  EXPECT_EQ(sregs.cs.limit, 0xFFFF'FFFFu);
  EXPECT_EQ(sregs.cs.type, 0xB);
  for (const kvm::Segment* data : {&sregs.ds, &sregs.es, &sregs.ss}) {
    EXPECT_EQ(data->selector, 0x10);
    EXPECT_EQ(data->base, 0u);
    EXPECT_EQ(data->limit, 0xFFFF'FFFFu);
    EXPECT_EQ(data->db, 1);
  }
  EXPECT_EQ(sregs.tr.limit, 0x67u);
  EXPECT_EQ(sregs.tr.type, 0xB);
  EXPECT_EQ(sregs.gdt.base, 0x500u);
}

}  // namespace
}  // namespace hull::vmm::x86
