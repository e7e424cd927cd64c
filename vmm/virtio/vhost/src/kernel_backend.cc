#include "hull/vmm/virtio/vhost/kernel_backend.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "hull/common/eintr.h"
#include "hull/vmm/virtio/vhost/vhost_abi.h"

namespace hull::vmm::virtio::vhost {
Result<KernelBackend> KernelBackend::Open(const std::string& path, std::string_view module) {
  UniqueFd fd(RetryOnEintr([&] { return ::open(path.c_str(), O_RDWR | O_CLOEXEC); }));
  if (!fd) {
    const int err = errno;
    if (err == ENOENT) {
      return Error(err, fmt::format("{} does not exist: the host kernel lacks {}. Fix: 'modprobe "
                                    "{}' (as root), or a kernel built with it",
                                    path, module, module));
    }
    if (err == EACCES || err == EPERM) {
      return Error(err, fmt::format("no permission to open {}. Fix: run as root or give this user "
                                    "access to {} (e.g. a udev rule or group)",
                                    path, path));
    }
    return Error::FromErrno(err, fmt::format("open {}", path));
  }
  return KernelBackend(path, std::move(fd));
}

Result<void> KernelBackend::SetOwner() {
  if (::ioctl(fd_.Get(), abi::kSetOwner) != 0) {
    return Error::FromErrno(errno, fmt::format("{}: VHOST_SET_OWNER", name_));
  }
  return {};
}

Result<uint64_t> KernelBackend::GetFeatures() {
  uint64_t features = 0;
  if (::ioctl(fd_.Get(), abi::kGetFeatures, &features) != 0) {
    return Error::FromErrno(errno, fmt::format("{}: VHOST_GET_FEATURES", name_));
  }
  return features;
}

Result<void> KernelBackend::SetFeatures(uint64_t features) {
  if (::ioctl(fd_.Get(), abi::kSetFeatures, &features) != 0) {
    return Error::FromErrno(errno, fmt::format("{}: VHOST_SET_FEATURES {:#x}", name_, features));
  }
  return {};
}

Result<void> KernelBackend::SetMemTable(std::span<const MemoryRegion> regions) {
  std::vector<uint8_t> buffer(sizeof(abi::MemoryHeader) +
                              regions.size() * sizeof(abi::MemoryRegion));
  const abi::MemoryHeader header{static_cast<uint32_t>(regions.size()), 0};
  std::memcpy(buffer.data(), &header, sizeof(header));
  for (size_t i = 0; i < regions.size(); ++i) {
    abi::MemoryRegion region{};
    region.guest_phys_addr = regions[i].guest_phys_addr;
    region.memory_size = regions[i].memory_size;
    region.userspace_addr = regions[i].userspace_addr;
    std::memcpy(buffer.data() + sizeof(header) + i * sizeof(region), &region, sizeof(region));
  }
  if (::ioctl(fd_.Get(), abi::kSetMemTable, buffer.data()) != 0) {
    return Error::FromErrno(errno, fmt::format("{}: VHOST_SET_MEM_TABLE", name_));
  }
  return {};
}

Result<void> KernelBackend::SetVringNum(uint32_t index, uint32_t size) {
  abi::VringState state{index, size};
  if (::ioctl(fd_.Get(), abi::kSetVringNum, &state) != 0) {
    return Error::FromErrno(errno,
                            fmt::format("{}: VHOST_SET_VRING_NUM {} {}", name_, index, size));
  }
  return {};
}

Result<void> KernelBackend::SetVringBase(uint32_t index, uint32_t base) {
  abi::VringState state{index, base};
  if (::ioctl(fd_.Get(), abi::kSetVringBase, &state) != 0) {
    return Error::FromErrno(errno, fmt::format("{}: VHOST_SET_VRING_BASE {}", name_, index));
  }
  return {};
}

Result<void> KernelBackend::SetVringAddr(uint32_t index, const VringAddresses& addresses) {
  abi::VringAddr addr{};
  addr.index = index;
  addr.desc_user_addr = addresses.desc;
  addr.avail_user_addr = addresses.avail;
  addr.used_user_addr = addresses.used;
  if (::ioctl(fd_.Get(), abi::kSetVringAddr, &addr) != 0) {
    return Error::FromErrno(errno, fmt::format("{}: VHOST_SET_VRING_ADDR {}", name_, index));
  }
  return {};
}

Result<void> KernelBackend::SetVringKick(uint32_t index, int fd) {
  abi::VringFile file{index, fd};
  if (::ioctl(fd_.Get(), abi::kSetVringKick, &file) != 0) {
    return Error::FromErrno(errno, fmt::format("{}: VHOST_SET_VRING_KICK {}", name_, index));
  }
  return {};
}

Result<void> KernelBackend::SetVringCall(uint32_t index, int fd) {
  abi::VringFile file{index, fd};
  if (::ioctl(fd_.Get(), abi::kSetVringCall, &file) != 0) {
    return Error::FromErrno(errno, fmt::format("{}: VHOST_SET_VRING_CALL {}", name_, index));
  }
  return {};
}

Result<uint32_t> KernelBackend::GetVringBase(uint32_t index) {
  abi::VringState state{index, 0};
  if (::ioctl(fd_.Get(), abi::kGetVringBase, &state) != 0) {
    return Error::FromErrno(errno, fmt::format("{}: VHOST_GET_VRING_BASE {}", name_, index));
  }
  return state.num;
}

}  // namespace hull::vmm::virtio::vhost
