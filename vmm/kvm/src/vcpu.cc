#include "hull/vmm/kvm/vcpu.h"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <limits>
#include <utility>

#include "cpuid_buffer.h"
#include "ioctl_numbers.h"
#include "msr_buffer.h"

namespace hull::kvm {

Vcpu::Vcpu(uint32_t id, UniqueFd fd, MemoryMapping run_mapping) noexcept
    : id_(id),
      fd_(std::move(fd)),
      run_mapping_(std::move(run_mapping)),
      page_(run_mapping_.bytes()) {}

Result<Vcpu> Vcpu::Create(const Vm& vm, uint32_t id) {
  UniqueFd fd(::ioctl(vm.fd(), KVM_CREATE_VCPU, static_cast<unsigned long>(id)));
  if (!fd) return Error::FromErrno(errno, fmt::format("KVM_CREATE_VCPU {}", id));
  HULL_ASSIGN_OR_RETURN(
      MemoryMapping run_mapping,
      MemoryMapping::Map(vm.vcpu_mmap_size(), PROT_READ | PROT_WRITE, MAP_SHARED, fd.Get(), 0)
          .WithContext(fmt::format("mapping kvm_run of vCPU {}", id)));
  return Vcpu(id, std::move(fd), std::move(run_mapping));
}

Result<Regs> Vcpu::GetRegs() const {
  Regs regs = {};
  if (::ioctl(fd_.Get(), KVM_GET_REGS, &regs) != 0) {
    return Error::FromErrno(errno, fmt::format("KVM_GET_REGS vCPU {}", id_));
  }
  return regs;
}

Result<void> Vcpu::SetRegs(const Regs& regs) {
  if (::ioctl(fd_.Get(), KVM_SET_REGS, &regs) != 0) {
    return Error::FromErrno(errno, fmt::format("KVM_SET_REGS vCPU {}", id_));
  }
  return {};
}

Result<Sregs> Vcpu::GetSregs() const {
  Sregs sregs = {};
  if (::ioctl(fd_.Get(), KVM_GET_SREGS, &sregs) != 0) {
    return Error::FromErrno(errno, fmt::format("KVM_GET_SREGS vCPU {}", id_));
  }
  return sregs;
}

Result<void> Vcpu::SetSregs(const Sregs& sregs) {
  if (::ioctl(fd_.Get(), KVM_SET_SREGS, &sregs) != 0) {
    return Error::FromErrno(errno, fmt::format("KVM_SET_SREGS vCPU {}", id_));
  }
  return {};
}

Result<void> Vcpu::SetCpuid(std::span<const CpuidEntry> entries) {
  if (entries.size() > internal::kMaxCpuidEntries) {
    return Error(E2BIG, fmt::format("KVM_SET_CPUID2 vCPU {}: {} entries", id_, entries.size()));
  }
  internal::CpuidBuffer buffer(static_cast<uint32_t>(entries.size()));
  std::copy(entries.begin(), entries.end(), buffer.entries().begin());
  if (::ioctl(fd_.Get(), internal::kSetCpuid2, buffer.get()) != 0) {
    return Error::FromErrno(
        errno, fmt::format("KVM_SET_CPUID2 vCPU {} ({} entries)", id_, entries.size()));
  }
  return {};
}

Result<void> CheckMsrsSet(int set_count, std::span<const Msr> msrs, uint32_t vcpu_id) {
  if (set_count >= 0 && static_cast<size_t>(set_count) == msrs.size()) return {};
  if (set_count < 0 || static_cast<size_t>(set_count) > msrs.size()) {
    return Error(EPROTO, fmt::format("KVM_SET_MSRS vCPU {}: KVM reports {} of {} MSRs set", vcpu_id,
                                     set_count, msrs.size()));
  }
  const Msr& refused = msrs[static_cast<size_t>(set_count)];
  return Error(EINVAL, fmt::format("KVM_SET_MSRS vCPU {}: KVM refused MSR {:#x} = {:#x} (set {} of "
                                   "{} MSRs)",
                                   vcpu_id, refused.index, refused.value, set_count, msrs.size()));
}

Result<void> Vcpu::SetMsrs(std::span<const Msr> msrs) {
  if (msrs.size() > internal::kMaxMsrsPerCall) {
    return Error(E2BIG, fmt::format("KVM_SET_MSRS vCPU {}: {} MSRs, KVM takes at most {}", id_,
                                    msrs.size(), internal::kMaxMsrsPerCall));
  }
  internal::MsrBuffer buffer(static_cast<uint32_t>(msrs.size()));
  auto entries = buffer.entries();
  for (size_t i = 0; i < msrs.size(); ++i) {
    entries[i] = kvm_msr_entry{.index = msrs[i].index, .reserved = 0, .data = msrs[i].value};
  }
  const int set = ::ioctl(fd_.Get(), internal::kSetMsrs, buffer.get());
  if (set < 0) {
    return Error::FromErrno(errno, fmt::format("KVM_SET_MSRS vCPU {} ({} MSRs)", id_, msrs.size()));
  }
  return CheckMsrsSet(set, msrs, id_);
}

Result<std::vector<Msr>> Vcpu::GetMsrs(std::span<const uint32_t> indices) const {
  if (indices.size() > internal::kMaxMsrsPerCall) {
    return Error(E2BIG, fmt::format("KVM_GET_MSRS vCPU {}: {} MSRs, KVM takes at most {}", id_,
                                    indices.size(), internal::kMaxMsrsPerCall));
  }
  internal::MsrBuffer buffer(static_cast<uint32_t>(indices.size()));
  auto entries = buffer.entries();
  for (size_t i = 0; i < indices.size(); ++i) {
    entries[i] = kvm_msr_entry{.index = indices[i], .reserved = 0, .data = 0};
  }
  const int read = ::ioctl(fd_.Get(), internal::kGetMsrs, buffer.get());
  if (read < 0) {
    return Error::FromErrno(errno,
                            fmt::format("KVM_GET_MSRS vCPU {} ({} MSRs)", id_, indices.size()));
  }
  if (static_cast<size_t>(read) != indices.size()) {
    return Error(EINVAL, fmt::format("KVM_GET_MSRS vCPU {}: KVM cannot read MSR {:#x} (read {} of "
                                     "{} MSRs)",
                                     id_,
                                     static_cast<size_t>(read) < indices.size()
                                         ? indices[static_cast<size_t>(read)]
                                         : 0u,
                                     read, indices.size()));
  }
  std::vector<Msr> msrs;
  msrs.reserve(indices.size());
  for (const kvm_msr_entry& entry : entries) {
    msrs.push_back(Msr{.index = entry.index, .value = entry.data});
  }
  return msrs;
}

Result<Fpu> Vcpu::GetFpu() const {
  Fpu fpu = {};
  if (::ioctl(fd_.Get(), KVM_GET_FPU, &fpu) != 0) {
    return Error::FromErrno(errno, fmt::format("KVM_GET_FPU vCPU {}", id_));
  }
  return fpu;
}

Result<void> Vcpu::SetFpu(const Fpu& fpu) {
  if (::ioctl(fd_.Get(), KVM_SET_FPU, &fpu) != 0) {
    return Error::FromErrno(errno, fmt::format("KVM_SET_FPU vCPU {}", id_));
  }
  return {};
}

Result<LapicRegisters> Vcpu::GetLapic() const {
  kvm_lapic_state state = {};
  if (::ioctl(fd_.Get(), KVM_GET_LAPIC, &state) != 0) {
    return Error::FromErrno(errno, fmt::format("KVM_GET_LAPIC vCPU {}", id_));
  }
  LapicRegisters registers;
  std::memcpy(registers.data(), state.regs, registers.size());
  return registers;
}

Result<void> Vcpu::SetLapic(const LapicRegisters& registers) {
  kvm_lapic_state state = {};
  std::memcpy(state.regs, registers.data(), registers.size());
  if (::ioctl(fd_.Get(), KVM_SET_LAPIC, &state) != 0) {
    return Error::FromErrno(errno, fmt::format("KVM_SET_LAPIC vCPU {}", id_));
  }
  return {};
}

void Vcpu::SetImmediateExit(bool on) noexcept {
  // Atomic: VcpuKick::Request() may store to the same byte from another thread.
  std::atomic_ref<uint8_t>(page_.run().immediate_exit).store(on ? 1 : 0, std::memory_order_release);
}

VcpuKick Vcpu::kick_handle() noexcept { return VcpuKick(&page_.run().immediate_exit); }

Result<VcpuExit> Vcpu::Run() {
  // Any answer to the previous exit is in the page now; KVM_RUN consumes it.
  page_.ClearPending();
  if (::ioctl(fd_.Get(), KVM_RUN, 0) != 0) {
    if (errno == EINTR) return VcpuExit(Intr{});
    return Error::FromErrno(errno, fmt::format("KVM_RUN vCPU {}", id_));
  }
  return page_.DecodeExit().WithContext(fmt::format("vCPU {}", id_));
}

}  // namespace hull::kvm
