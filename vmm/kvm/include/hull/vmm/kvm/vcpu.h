#pragma once

#include <cstdint>
#include <span>

#include "hull/common/memory_mapping.h"
#include "hull/common/result.h"
#include "hull/common/unique_fd.h"
#include "hull/vmm/kvm/kvm_types.h"
#include "hull/vmm/kvm/run_page.h"
#include "hull/vmm/kvm/vcpu_exit.h"
#include "hull/vmm/kvm/vm.h"

namespace hull::kvm {

// One virtual CPU (KVM_CREATE_VCPU) and its mapped kvm_run page. A Vcpu is
// driven by one thread at a time.
class Vcpu {
 public:
  static Result<Vcpu> Create(const Vm& vm, uint32_t id);

  Result<Regs> GetRegs() const;
  Result<void> SetRegs(const Regs& regs);
  Result<Sregs> GetSregs() const;
  Result<void> SetSregs(const Sregs& sregs);
  // KVM_SET_CPUID2, typically with (an edited copy of) GetSupportedCpuid().
  Result<void> SetCpuid(std::span<const CpuidEntry> entries);

  // KVM_RUN until the next exit. A signal interrupting the run (a kick)
  // yields Intr. Spans in the exit stay valid until the next Run().
  Result<VcpuExit> Run();

  // Answers a pending IoIn / MmioRead before the next Run(); the length must
  // be exactly what the exit asked for. Unanswered, the guest reads all-ones.
  Result<void> SetIoInData(std::span<const uint8_t> data) { return page_.SetIoInData(data); }
  Result<void> SetMmioReadData(std::span<const uint8_t> data) {
    return page_.SetMmioReadData(data);
  }

  uint32_t id() const noexcept { return id_; }
  int fd() const noexcept { return fd_.Get(); }

 private:
  Vcpu(uint32_t id, UniqueFd fd, MemoryMapping run_mapping) noexcept;

  uint32_t id_;
  UniqueFd fd_;
  MemoryMapping run_mapping_;
  RunPage page_;  // views run_mapping_, whose address survives moves
};

}  // namespace hull::kvm
