#include "hull/vmm/x86/boot_regs.h"

#include "hull/vmm/x86/boot_tables.h"
#include "hull/vmm/x86/layout.h"

namespace hull::vmm::x86 {
namespace {

void ApplySegments(kvm::Sregs& sregs, const Gdt& gdt) {
  const kvm::Segment code = SegmentFromDescriptor(gdt[kCodeSelector / 8], kCodeSelector);
  const kvm::Segment data = SegmentFromDescriptor(gdt[kDataSelector / 8], kDataSelector);
  sregs.cs = code;
  sregs.ds = data;
  sregs.es = data;
  sregs.fs = data;
  sregs.gs = data;
  sregs.ss = data;
  sregs.tr = SegmentFromDescriptor(gdt[kTssSelector / 8], kTssSelector);
  sregs.gdt.base = kGdtAddress;
  sregs.gdt.limit = kGdtLimit;
  sregs.idt.base = kIdtAddress;
  sregs.idt.limit = kIdtLimit;
}

}  // namespace

kvm::Regs LinuxBootRegs(GuestAddress entry, GuestAddress boot_params) {
  kvm::Regs regs = {};
  regs.rflags = kRflagsReserved;
  regs.rip = entry.raw();
  regs.rsi = boot_params.raw();
  regs.rsp = kBootStackPointer;
  regs.rbp = kBootStackPointer;
  return regs;
}

void ApplyLongModeSregs(kvm::Sregs& sregs) {
  ApplySegments(sregs, kLongModeGdt);
  sregs.cr0 = kCr0Pe | kCr0Et | kCr0Pg;
  sregs.cr3 = kPml4Address;
  sregs.cr4 = kCr4Pae;
  sregs.efer = kEferLme | kEferLma;
}

kvm::Regs PvhBootRegs(GuestAddress entry, GuestAddress start_info) {
  kvm::Regs regs = {};
  regs.rflags = kRflagsReserved;
  regs.rip = entry.raw();
  regs.rbx = start_info.raw();
  return regs;
}

void ApplyPvhSregs(kvm::Sregs& sregs) {
  ApplySegments(sregs, kPvhGdt);
  sregs.cr0 = kCr0Pe | kCr0Et;
  sregs.cr3 = 0;
  sregs.cr4 = 0;
  sregs.efer = 0;
}

}  // namespace hull::vmm::x86
