#pragma once

// The MSR, FPU and local APIC state every vCPU starts with, as pure values
// (vcpu_setup.h hands them to KVM).

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "hull/vmm/kvm/kvm_types.h"

namespace hull::vmm::x86 {

namespace msr {
inline constexpr uint32_t kTsc = 0x10;
inline constexpr uint32_t kSysenterCs = 0x174;
inline constexpr uint32_t kSysenterEsp = 0x175;
inline constexpr uint32_t kSysenterEip = 0x176;
inline constexpr uint32_t kMiscEnable = 0x1A0;
inline constexpr uint32_t kMtrrDefType = 0x2FF;
inline constexpr uint32_t kStar = 0xC000'0081;
inline constexpr uint32_t kLstar = 0xC000'0082;
inline constexpr uint32_t kCstar = 0xC000'0083;
inline constexpr uint32_t kSyscallMask = 0xC000'0084;
inline constexpr uint32_t kKernelGsBase = 0xC000'0102;

inline constexpr uint64_t kMiscEnableFastStrings = 1u << 0;
// MTRRs enabled (bit 11), default type write-back (6).
inline constexpr uint64_t kMtrrDefTypeEnabledWriteBack = (1u << 11) | 6;
}  // namespace msr

// Firecracker's boot MSRs: SYSENTER_CS/ESP/EIP, STAR, LSTAR, CSTAR,
// SYSCALL_MASK, KERNEL_GS_BASE and TSC = 0; MISC_ENABLE = fast strings;
// MTRRdefType = enabled, write-back.
std::vector<kvm::Msr> BootMsrs();

// x87 control word 0x37F (all exceptions masked, extended precision) and
// MXCSR 0x1F80 (all SSE exceptions masked): the values after FNINIT and
// a processor reset.
kvm::Fpu BootFpu();

namespace lapic {
inline constexpr size_t kLvtLint0 = 0x350;
inline constexpr size_t kLvtLint1 = 0x360;
inline constexpr uint32_t kDeliveryModeMask = 0x700;
inline constexpr uint32_t kDeliveryModeNmi = 0x4 << 8;
inline constexpr uint32_t kDeliveryModeExtInt = 0x7 << 8;
}  // namespace lapic

// Sets the delivery mode of LVT LINT0 to ExtINT (the 8259 as virtual wire)
// and of LINT1 to NMI in a local APIC register page, leaving the other bits
// (mask, vector, trigger) as they were.
void ConfigureLapicLints(std::span<uint8_t, kvm::kLapicRegistersSize> lapic);

}  // namespace hull::vmm::x86
