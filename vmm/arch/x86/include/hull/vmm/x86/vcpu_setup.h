#pragma once

// Everything a vCPU needs before its first KVM_RUN: CPUID, MSRs, FPU, the
// local APIC's LINT pins and, for the boot vCPU, the entry registers.

#include <cstdint>
#include <vector>

#include "hull/common/result.h"
#include "hull/vmm/kvm/kvm_system.h"
#include "hull/vmm/kvm/kvm_types.h"
#include "hull/vmm/kvm/vcpu.h"
#include "hull/vmm/x86/kernel_loader.h"

namespace hull::vmm::x86 {

// What the host's KVM offers every vCPU; ask once per VM.
struct HostCpuid {
  std::vector<kvm::CpuidEntry> supported;  // KVM_GET_SUPPORTED_CPUID
  bool tsc_deadline_timer = false;         // KVM_CAP_TSC_DEADLINE_TIMER
};
Result<HostCpuid> QueryHostCpuid(const kvm::KvmSystem& kvm);

// Sets up vCPU `id` (== vcpu.id(), its APIC id) of `num_cpus`: CPUID from
// FilterCpuid, BootMsrs, BootFpu, LINT0 ExtINT / LINT1 NMI in its local APIC
// (the in-kernel irqchip must exist), and for vCPU 0 the boot registers of
// `setup`. Application processors wait for the guest's INIT/SIPI.
Result<void> ConfigureVcpu(kvm::Vcpu& vcpu, const HostCpuid& host, uint32_t id, uint32_t num_cpus,
                           const BootSetup& setup);
// The same, asking `kvm` for HostCpuid first.
Result<void> ConfigureVcpu(kvm::Vcpu& vcpu, const kvm::KvmSystem& kvm, uint32_t id,
                           uint32_t num_cpus, const BootSetup& setup);

}  // namespace hull::vmm::x86
