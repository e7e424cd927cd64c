#include "hull/vmm/kvm/vcpu.h"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <utility>

#include "cpuid_buffer.h"
#include "ioctl_numbers.h"

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
