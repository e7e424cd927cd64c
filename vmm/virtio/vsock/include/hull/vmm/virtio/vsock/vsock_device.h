#pragma once

// virtio-vsock (virtio 1.2 §5.10) with the host kernel's vhost-vsock as its
// data path. The guest gets a context id (CID); host processes reach it with
// plain AF_VSOCK sockets (connect to {cid, port}; a guest connecting to CID 2
// reaches a host listener), and the kernel does the packets, the credit-based
// flow control and the resets when either side goes away. hull-vmm only sets
// the rings up: rx (0) and tx (1) go to vhost, the event queue (2) stays with
// us and is never used (it reports transport resets after migration, which
// hull does not do). docs/architecture.md says why vhost rather than a
// userspace device.

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "hull/common/event_fd.h"
#include "hull/common/result.h"
#include "hull/vmm/virtio/active_queues.h"
#include "hull/vmm/virtio/constants.h"
#include "hull/vmm/virtio/device.h"
#include "hull/vmm/virtio/vhost/call_relay.h"
#include "hull/vmm/virtio/vhost/kernel_backend.h"

namespace hull::vmm::virtio::vsock {

// §5.10.3: VIRTIO_VSOCK_F_SEQPACKET.
inline constexpr uint64_t kFeatureSeqpacket = uint64_t{1} << 1;
// §5.10.4: struct virtio_vsock_config { le64 guest_cid; }.
inline constexpr uint64_t kConfigSize = 8;
// CIDs 0..2 are reserved (hypervisor, local, host); 2^32-1 is VMADDR_CID_ANY.
inline constexpr uint64_t kFirstGuestCid = 3;
inline constexpr uint64_t kLastGuestCid = 0xfffffffe;

struct VsockOptions {
  uint64_t guest_cid = 0;
  uint16_t queue_size = 256;
  const char* device_path = "/dev/vhost-vsock";
};

class VsockDevice final : public VirtioDevice {
 public:
  // Opens vhost-vsock and claims the CID (EADDRINUSE: another VM has it).
  static Result<std::unique_ptr<VsockDevice>> Create(const VsockOptions& options);
  ~VsockDevice() override;

  uint32_t device_id() const override { return kDeviceIdVsock; }
  uint64_t device_features() const override;
  uint64_t transport_features() const override { return backend_features_; }
  std::span<const uint16_t> queue_max_sizes() const override { return queue_max_sizes_; }
  void ReadConfig(uint64_t offset, std::span<uint8_t> data) const override;
  void WriteConfig(uint64_t, std::span<const uint8_t>) override {}  // read-only
  Result<void> Activate(const GuestMemory& memory, std::span<Queue> queues, uint64_t features,
                        VirtioInterrupt& interrupt) override;
  // Only reached through MMIO writes that bypass the ioeventfds (the guest
  // may do that): forwards the notification to vhost's kick fd.
  Result<void> ProcessQueue(size_t index) override;
  void Reset() override;

  std::vector<EventSource> event_sources() const override;
  Result<void> ProcessEvent(uint32_t token, uint32_t events) override;
  bool wants_notify_fds() const override { return true; }
  void SetNotifyFds(std::vector<EventFd> fds) override;
  std::vector<Counter> counters() const override;

  uint64_t guest_cid() const noexcept { return cid_; }

 private:
  static constexpr size_t kQueues = 3;       // rx, tx, event
  static constexpr size_t kVhostQueues = 2;  // rx, tx go to vhost

  VsockDevice(vhost::KernelBackend backend, uint64_t cid, uint16_t queue_size,
              uint64_t backend_features, vhost::CallRelay calls);
  Result<void> SetRunning(bool running);

  vhost::KernelBackend backend_;
  const uint64_t cid_;
  std::array<uint16_t, kQueues> queue_max_sizes_;
  uint64_t backend_features_;
  std::array<uint8_t, kConfigSize> config_{};
  vhost::CallRelay calls_;           // one per vhost queue; vhost signals them
  std::vector<EventFd> notify_fds_;  // the ioeventfds, one per queue
  ActiveQueues active_;
  bool running_ = false;

  uint64_t activations_ = 0;
  uint64_t backend_errors_ = 0;
};

}  // namespace hull::vmm::virtio::vsock
