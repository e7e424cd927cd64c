// virtio-vsock's set-up errors. Its data path is the kernel's vhost-vsock,
// tested for real in tests/kvm/vmm-devices-test (inside the kvm-sandbox,
// where /dev/vhost-vsock exists).

#include "hull/vmm/virtio/vsock/vsock_device.h"

#include <gtest/gtest.h>

#include <string>

namespace hull::vmm::virtio::vsock {
namespace {

std::string ErrorOf(const VsockOptions& options) {
  Result<std::unique_ptr<VsockDevice>> device = VsockDevice::Create(options);
  EXPECT_FALSE(device.ok());
  return device.ok() ? "" : device.error().ToString();
}

TEST(VsockDevice, RefusesReservedCids) {
  for (uint64_t cid :
       {uint64_t{0}, uint64_t{1}, uint64_t{2}, uint64_t{0xffffffff}, uint64_t{1} << 32}) {
    EXPECT_NE(ErrorOf({.guest_cid = cid}).find("reserved or out of range"), std::string::npos)
        << cid;
  }
}

TEST(VsockDevice, RefusesQueueSizesThatAreNotPowersOfTwo) {
  EXPECT_NE(ErrorOf({.guest_cid = 3, .queue_size = 100}).find("power of two"), std::string::npos);
}

TEST(VsockDevice, AMissingVhostDeviceSaysWhichModuleToLoad) {
  const std::string error = ErrorOf({.guest_cid = 3, .device_path = "/nonexistent/vhost-vsock"});
  EXPECT_NE(error.find("/nonexistent/vhost-vsock"), std::string::npos) << error;
  EXPECT_NE(error.find("modprobe vhost_vsock"), std::string::npos) << error;
}

}  // namespace
}  // namespace hull::vmm::virtio::vsock
