#pragma once

// The host kernel's vhost (drivers/vhost): a character device per device
// type (/dev/vhost-vsock, /dev/vhost-net) whose ioctls configure rings that a
// kernel worker then serves straight from guest memory. The data path never
// enters hull-vmm; the kernel checks every ring address against the memory
// table we give it.

#include <string>
#include <string_view>

#include "hull/common/unique_fd.h"
#include "hull/vmm/virtio/vhost/backend.h"

namespace hull::vmm::virtio::vhost {

class KernelBackend final : public Backend {
 public:
  // Opens `path` (e.g. /dev/vhost-vsock). `module` names the kernel module
  // that provides it, for the error message when it is missing.
  static Result<KernelBackend> Open(const std::string& path, std::string_view module);

  std::string_view name() const override { return name_; }
  Result<void> SetOwner() override;
  Result<uint64_t> GetFeatures() override;
  Result<void> SetFeatures(uint64_t features) override;
  Result<void> SetMemTable(std::span<const MemoryRegion> regions) override;
  Result<void> SetVringNum(uint32_t index, uint32_t size) override;
  Result<void> SetVringBase(uint32_t index, uint32_t base) override;
  Result<void> SetVringAddr(uint32_t index, const VringAddresses& addresses) override;
  Result<void> SetVringKick(uint32_t index, int fd) override;
  Result<void> SetVringCall(uint32_t index, int fd) override;
  // A kernel ring runs once it has a kick fd (and its device is started):
  // nothing to do.
  Result<void> SetVringEnable(uint32_t, bool) override { return {}; }
  Result<uint32_t> GetVringBase(uint32_t index) override;

  // For the device type's own ioctls (VHOST_VSOCK_SET_GUEST_CID, ...).
  int fd() const noexcept { return fd_.Get(); }

 private:
  KernelBackend(std::string name, UniqueFd fd) noexcept
      : name_(std::move(name)), fd_(std::move(fd)) {}

  std::string name_;
  UniqueFd fd_;
};

}  // namespace hull::vmm::virtio::vhost
