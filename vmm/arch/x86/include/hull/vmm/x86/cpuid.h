#pragma once

// What each vCPU's CPUID says: KVM's supported list with the topology and
// identity of this VM written in, so that the guest's view of CPUs (leaves
// 1, 4, 0xB, 0x1F, 0x80000008, 0x8000001E) agrees with the MP table.

#include <cstdint>
#include <vector>

#include "hull/vmm/kvm/kvm_types.h"

namespace hull::vmm::x86 {

namespace cpuid {
inline constexpr uint32_t kLeaf1EcxTscDeadline = 1u << 24;
inline constexpr uint32_t kLeaf1EcxHypervisor = 1u << 31;
inline constexpr uint32_t kLeaf1EdxHtt = 1u << 28;
inline constexpr uint32_t kLeaf6EaxArat = 1u << 2;
// Leaf 0xB/0x1F level types (ECX[15:8]).
inline constexpr uint32_t kLevelInvalid = 0;
inline constexpr uint32_t kLevelSmt = 1;
inline constexpr uint32_t kLevelCore = 2;
}  // namespace cpuid

// The CPUID table for vCPU `vcpu_id` (its APIC id) of `num_cpus`, from
// KVM_GET_SUPPORTED_CPUID's `supported`. The topology is one package of
// num_cpus cores with one thread each:
//   leaf 1: EBX = APIC id << 24 | num_cpus << 16 | CLFLUSH 8 << 8 | brand;
//           ECX hypervisor bit set, TSC-deadline set when
//           `tsc_deadline_timer` (KVM_CAP_TSC_DEADLINE_TIMER; KVM does not
//           list the bit), else as supported; EDX HTT iff num_cpus > 1;
//   leaf 4: cores per package - 1 in EAX[31:26]; threads sharing each
//           cache - 1 in EAX[25:14]: 0 for L1/L2, num_cpus - 1 for L3;
//   leaf 6: zeroed, except ARAT (the APIC timer keeps running in idle, which
//           KVM's always does; without it Linux wants a broadcast timer);
//   leaf 0xB (and 0x1F when listed): rebuilt as SMT (1 thread), core
//           (num_cpus) and a terminating invalid level, EDX = x2APIC id;
//   leaf 0x80000008: ECX NC = num_cpus - 1 and ApicIdCoreIdSize;
//   leaf 0x8000001E: EAX = APIC id, EBX = core id, one thread per core;
//   leaves 0x40000000/0x40000001 (KVM's signature and features, kvmclock
//   among them) and all others: as supported.
std::vector<kvm::CpuidEntry> FilterCpuid(std::vector<kvm::CpuidEntry> supported, uint32_t vcpu_id,
                                         uint32_t num_cpus, bool tsc_deadline_timer = false);

}  // namespace hull::vmm::x86
