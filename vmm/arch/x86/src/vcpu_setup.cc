#include "hull/vmm/x86/vcpu_setup.h"

#include <fmt/format.h>

#include <cerrno>

#include "hull/vmm/x86/cpuid.h"
#include "hull/vmm/x86/mptable.h"
#include "hull/vmm/x86/vcpu_state.h"

namespace hull::vmm::x86 {

Result<HostCpuid> QueryHostCpuid(const kvm::KvmSystem& kvm) {
  HostCpuid host;
  HULL_ASSIGN_OR_RETURN(host.supported, kvm.GetSupportedCpuid());
  HULL_ASSIGN_OR_RETURN(const int tsc_deadline,
                        kvm.CheckExtension(kvm::Capability::kTscDeadlineTimer));
  host.tsc_deadline_timer = tsc_deadline > 0;
  return host;
}

Result<void> ConfigureVcpu(kvm::Vcpu& vcpu, const HostCpuid& host, uint32_t id, uint32_t num_cpus,
                           const BootSetup& setup) {
  if (id != vcpu.id() || num_cpus == 0 || num_cpus > kMaxVcpus || id >= num_cpus) {
    return Error(EINVAL, fmt::format("configuring vCPU {} (id {}) of {}: bad id or count",
                                     vcpu.id(), id, num_cpus));
  }
  const std::string context = fmt::format("configuring vCPU {}", id);
  HULL_TRY(vcpu.SetCpuid(FilterCpuid(host.supported, id, num_cpus, host.tsc_deadline_timer))
               .WithContext(context));
  const std::vector<kvm::Msr> msrs = BootMsrs();
  HULL_TRY(vcpu.SetMsrs(msrs).WithContext(context));
  HULL_TRY(vcpu.SetFpu(BootFpu()).WithContext(context));
  HULL_ASSIGN_OR_RETURN(kvm::LapicRegisters lapic, vcpu.GetLapic().WithContext(context));
  ConfigureLapicLints(lapic);
  HULL_TRY(vcpu.SetLapic(lapic).WithContext(context));
  if (id != 0) return {};

  HULL_ASSIGN_OR_RETURN(kvm::Sregs sregs, vcpu.GetSregs().WithContext(context));
  ApplyBootSregs(setup, sregs);
  HULL_TRY(vcpu.SetSregs(sregs).WithContext(context));
  return vcpu.SetRegs(BootRegs(setup)).WithContext(context);
}

Result<void> ConfigureVcpu(kvm::Vcpu& vcpu, const kvm::KvmSystem& kvm, uint32_t id,
                           uint32_t num_cpus, const BootSetup& setup) {
  HULL_ASSIGN_OR_RETURN(const HostCpuid host, QueryHostCpuid(kvm));
  return ConfigureVcpu(vcpu, host, id, num_cpus, setup);
}

}  // namespace hull::vmm::x86
