#include "hull/vmm/kvm/vm.h"

#include <fmt/format.h>
#include <sys/ioctl.h>

#include <cerrno>

#include "hull/common/eintr.h"

namespace hull::kvm {

Result<Vm> Vm::Create(const KvmSystem& kvm) {
  HULL_ASSIGN_OR_RETURN(const size_t vcpu_mmap_size, kvm.VcpuMmapSize());
  // KVM_CREATE_VM can fail with EINTR while the kernel sets up the VM.
  UniqueFd fd(RetryOnEintr([&] { return ::ioctl(kvm.fd(), KVM_CREATE_VM, 0); }));
  if (!fd) return Error::FromErrno(errno, fmt::format("KVM_CREATE_VM on {}", kvm.path()));
  return Vm(std::move(fd), vcpu_mmap_size);
}

Result<void> Vm::SetUserMemoryRegion(uint32_t slot, vmm::GuestAddress guest, uint64_t size,
                                     void* host) {
  const kvm_userspace_memory_region region = {
      .slot = slot,
      .flags = 0,
      .guest_phys_addr = guest.raw(),
      .memory_size = size,
      // SAFETY: KVM takes the host address as an integer.
      .userspace_addr = reinterpret_cast<uintptr_t>(host),
  };
  if (::ioctl(fd_.Get(), KVM_SET_USER_MEMORY_REGION, &region) != 0) {
    return Error::FromErrno(
        errno, fmt::format("KVM_SET_USER_MEMORY_REGION slot {} ({}+{:#x})", slot, guest, size));
  }
  return {};
}

Result<void> Vm::CreateIrqchip() {
  if (::ioctl(fd_.Get(), KVM_CREATE_IRQCHIP, 0) != 0) {
    return Error::FromErrno(errno, "KVM_CREATE_IRQCHIP");
  }
  return {};
}

Result<void> Vm::CreatePit2() {
  kvm_pit_config config = {};
  config.flags = KVM_PIT_SPEAKER_DUMMY;
  if (::ioctl(fd_.Get(), KVM_CREATE_PIT2, &config) != 0) {
    return Error::FromErrno(errno, "KVM_CREATE_PIT2");
  }
  return {};
}

Result<void> Vm::SetTssAddr(vmm::GuestAddress address) {
  // KVM_SET_TSS_ADDR takes the address itself as the argument, not a pointer.
  if (::ioctl(fd_.Get(), KVM_SET_TSS_ADDR, static_cast<unsigned long>(address.raw())) != 0) {
    return Error::FromErrno(errno, fmt::format("KVM_SET_TSS_ADDR {}", address));
  }
  return {};
}

Result<void> Vm::SetIdentityMapAddr(vmm::GuestAddress address) {
  const uint64_t raw = address.raw();
  if (::ioctl(fd_.Get(), KVM_SET_IDENTITY_MAP_ADDR, &raw) != 0) {
    return Error::FromErrno(errno, fmt::format("KVM_SET_IDENTITY_MAP_ADDR {}", address));
  }
  return {};
}

}  // namespace hull::kvm
