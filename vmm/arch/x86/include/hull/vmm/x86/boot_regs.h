#pragma once

// The boot processor's registers at the kernel's entry. Pure functions: the
// sregs ones edit a KVM_GET_SREGS baseline in place, so fields KVM set (APIC
// base, LDT, interrupt bitmap) stay as KVM wants them.

#include <cstdint>

#include "hull/vmm/kvm/kvm_types.h"
#include "hull/vmm/memory/guest_address.h"

namespace hull::vmm::x86 {

inline constexpr uint64_t kCr0Pe = 1u << 0;
inline constexpr uint64_t kCr0Et = 1u << 4;
inline constexpr uint64_t kCr0Pg = 1u << 31;
inline constexpr uint64_t kCr4Pae = 1u << 5;
inline constexpr uint64_t kEferLme = 1u << 8;
inline constexpr uint64_t kEferLma = 1u << 10;
// RFLAGS bit 1 is reserved and always set; IF and everything else clear.
inline constexpr uint64_t kRflagsReserved = 1u << 1;

// 64-bit boot protocol: RIP = entry, RSI = the zero page, RSP = RBP = the
// boot stack (kBootStackPointer), RFLAGS = 2.
kvm::Regs LinuxBootRegs(GuestAddress entry, GuestAddress boot_params);

// Long mode with the identity map: CR0 = PE|ET|PG, CR3 = kPml4Address,
// CR4 = PAE, EFER = LME|LMA; CS = 64-bit code (0x08), DS/ES/FS/GS/SS = data
// (0x10), TR = TSS (0x18) of kLongModeGdt; GDTR/IDTR at kGdtAddress and
// kIdtAddress.
void ApplyLongModeSregs(kvm::Sregs& sregs);

// PVH: RIP = entry, RBX = the hvm_start_info, RFLAGS = 2.
kvm::Regs PvhBootRegs(GuestAddress entry, GuestAddress start_info);

// 32-bit protected mode, paging off: CR0 = PE|ET, CR3 = CR4 = EFER = 0;
// CS = flat 32-bit code (0x08), DS/ES/FS/GS/SS = flat data (0x10), TR = a
// 32-bit TSS (0x18) of kPvhGdt; GDTR/IDTR as for long mode.
void ApplyPvhSregs(kvm::Sregs& sregs);

}  // namespace hull::vmm::x86
