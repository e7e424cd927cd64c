#include "hull/vmm/kvm/vm.h"

#include <fmt/format.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <string>
#include <string_view>

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

namespace {

std::string DescribeIoevent(vmm::GuestAddress address, uint32_t len,
                            std::optional<uint64_t> datamatch, bool pio) {
  std::string text = fmt::format("{} {:#x}/{}", pio ? "port" : "mmio", address.raw(), len);
  if (datamatch) text += fmt::format(" datamatch {:#x}", *datamatch);
  return text;
}

Result<void> DoIoeventfd(int vm_fd, const EventFd& event, vmm::GuestAddress address, uint32_t len,
                         std::optional<uint64_t> datamatch, bool pio, bool deassign) {
  const std::string_view op = deassign ? "KVM_IOEVENTFD deassign" : "KVM_IOEVENTFD";
  HULL_ASSIGN_OR_RETURN(
      const Ioeventfd io,
      MakeIoeventfd(event.fd(), address, len, datamatch, pio, deassign).WithContext(op));
  if (::ioctl(vm_fd, KVM_IOEVENTFD, &io) != 0) {
    return Error::FromErrno(
        errno, fmt::format("{} {} (eventfd {})", op, DescribeIoevent(address, len, datamatch, pio),
                           event.fd()));
  }
  return {};
}

}  // namespace

Result<Ioeventfd> MakeIoeventfd(int fd, vmm::GuestAddress address, uint32_t len,
                                std::optional<uint64_t> datamatch, bool pio, bool deassign) {
  const std::string what = DescribeIoevent(address, len, datamatch, pio);
  const uint64_t addr = address.raw();
  if (len != 0 && len != 1 && len != 2 && len != 4 && len != 8) {
    return Error(EINVAL, fmt::format("ioeventfd {}: length must be 1, 2, 4 or 8", what));
  }
  if (len == 0 && (datamatch || pio)) {
    return Error(EINVAL,
                 fmt::format("ioeventfd {}: length 0 (any) needs MMIO and no datamatch", what));
  }
  if (datamatch && len < 8 && (*datamatch >> (8 * len)) != 0) {
    return Error(EINVAL, fmt::format("ioeventfd {}: the datamatch value does not fit in {} bytes",
                                     what, len));
  }
  if (pio && (addr > 0xffff || addr + len > 0x10000)) {
    return Error(EINVAL, fmt::format("ioeventfd {}: beyond the 64 KiB I/O port space", what));
  }
  if (!pio && !address.CheckedAdd(len)) {
    return Error(EINVAL, fmt::format("ioeventfd {}: passes the top of the address space", what));
  }
  if (fd < 0) return Error(EBADF, fmt::format("ioeventfd {}: no eventfd", what));

  Ioeventfd io = {};
  io.datamatch = datamatch.value_or(0);
  io.addr = addr;
  io.len = len;
  io.fd = fd;
  io.flags = (datamatch ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0u) | (pio ? KVM_IOEVENTFD_FLAG_PIO : 0u) |
             (deassign ? KVM_IOEVENTFD_FLAG_DEASSIGN : 0u);
  return io;
}

Result<void> Vm::RegisterIrqfd(const EventFd& event, uint32_t gsi) {
  kvm_irqfd irqfd = {};
  irqfd.fd = static_cast<uint32_t>(event.fd());
  irqfd.gsi = gsi;
  if (::ioctl(fd_.Get(), KVM_IRQFD, &irqfd) != 0) {
    return Error::FromErrno(errno, fmt::format("KVM_IRQFD gsi {} (eventfd {})", gsi, event.fd()));
  }
  return {};
}

Result<void> Vm::UnregisterIrqfd(const EventFd& event, uint32_t gsi) {
  kvm_irqfd irqfd = {};
  irqfd.fd = static_cast<uint32_t>(event.fd());
  irqfd.gsi = gsi;
  irqfd.flags = KVM_IRQFD_FLAG_DEASSIGN;
  if (::ioctl(fd_.Get(), KVM_IRQFD, &irqfd) != 0) {
    return Error::FromErrno(errno,
                            fmt::format("KVM_IRQFD deassign gsi {} (eventfd {})", gsi, event.fd()));
  }
  return {};
}

Result<void> Vm::RegisterIoeventfd(const EventFd& event, vmm::GuestAddress address, uint32_t len,
                                   std::optional<uint64_t> datamatch, bool pio) {
  return DoIoeventfd(fd_.Get(), event, address, len, datamatch, pio, /*deassign=*/false);
}

Result<void> Vm::UnregisterIoeventfd(const EventFd& event, vmm::GuestAddress address, uint32_t len,
                                     std::optional<uint64_t> datamatch, bool pio) {
  return DoIoeventfd(fd_.Get(), event, address, len, datamatch, pio, /*deassign=*/true);
}

}  // namespace hull::kvm
