#pragma once

// virtio-fs (virtio 1.2 §5.11): a host directory the guest mounts with
// `mount -t virtiofs <tag> /mnt`. The FUSE requests on its queues are served
// by a vhost-user back end, virtiofsd, straight from guest memory; hull-vmm
// only configures the rings (vhost/user_backend.h) and relays the back end's
// used-buffer signals to the guest as interrupts.
//
// Queues (§5.11.2): 0 is hiprio (FORGET, INTERRUPT), 1..N the request
// queues; all go to the back end, which takes the VMM's ioeventfds as its
// kick fds. Configuration (§5.11.4): { u8 tag[36]; le32 num_request_queues; }
// (notify_buf_size exists only with VIRTIO_FS_F_NOTIFICATION, not offered).
//
//   HULL_ASSIGN_OR_RETURN(std::unique_ptr<fs::FsDevice> fs,
//                         fs::FsDevice::Create({.tag = "share", .socket_path = sock},
//                                              [&](const Error& e) { vmm.Fail(e); }));
//   SetUpVirtio("virtio-fs0", std::move(fs), cmdline);  // takes the notify fds
//
// virtiofsd must already listen on the socket (Debian 12, qemu 7.2):
//   /usr/lib/qemu/virtiofsd --socket-path=SOCK -o source=DIR -o cache=auto
//       [-o sandbox=chroot where namespaces are unavailable]
// It serves one connection and exits when we close it.

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hull/common/event_fd.h"
#include "hull/common/result.h"
#include "hull/vmm/virtio/active_queues.h"
#include "hull/vmm/virtio/constants.h"
#include "hull/vmm/virtio/device.h"
#include "hull/vmm/virtio/vhost/call_relay.h"
#include "hull/vmm/virtio/vhost/user_backend.h"

namespace hull::vmm::virtio::fs {

// §5.11.4: the tag is 1..36 bytes of UTF-8, NUL-padded (no NUL terminator
// when it is 36 bytes long).
inline constexpr size_t kTagSize = 36;
inline constexpr uint64_t kConfigSize = kTagSize + 4;
// §5.11.3: VIRTIO_FS_F_NOTIFICATION (a notification queue and
// notify_buf_size): not implemented, so never offered.
inline constexpr uint64_t kFeatureNotification = uint64_t{1} << 0;
// libvhost-user's VIRTQUEUE_MAX_SIZE: virtiofsd sizes per-request arrays by it.
inline constexpr uint16_t kMaxFsQueueSize = 1024;
// The event source token of the back end's socket (call fds use their
// queue index, which is at most 255).
inline constexpr uint32_t kBackendSocketToken = 0xffff;

struct FsOptions {
  std::string tag{};                      // what the guest mounts: 1..36 bytes of UTF-8
  std::string socket_path{};              // virtiofsd's --socket-path
  uint16_t queue_size = kMaxFsQueueSize;  // each queue's maximum; a power of two
  uint32_t request_queues = 1;            // virtiofsd 7.2 serves exactly one
  // How long virtiofsd may take to answer one request before it counts as
  // hung (and the VM is ended): GET_VRING_BASE waits for its queue threads.
  std::chrono::milliseconds reply_timeout{5000};
};

// EINVAL with a message naming the problem when `tag` is not 1..36 bytes of
// UTF-8 free of NULs and control characters (it ends up on a mount command
// line in the guest).
Result<void> ValidateTag(std::string_view tag);

class FsDevice final : public VirtioDevice {
 public:
  // Called (at most once) when the back end dies or breaks the protocol:
  // the socket hung up, a request timed out, a reply was malformed. The
  // device cannot serve the guest any more; hull-vmm ends the VM with this
  // error. Runs on the thread that noticed (the event loop's, or a vCPU's
  // inside Activate/Reset) with the transport's lock held: it must not call
  // into the transport.
  using FailureCallback = std::function<void(const Error&)>;

  // Connects to virtiofsd at options.socket_path, claims it (SET_OWNER) and
  // reads its features, so that a missing or wrong back end is a start-up
  // error with the command that would fix it.
  static Result<std::unique_ptr<FsDevice>> Create(FsOptions options,
                                                  FailureCallback on_backend_failure);
  // The same over a back end already connected (tests: a fake on a
  // socketpair).
  static Result<std::unique_ptr<FsDevice>> Create(FsOptions options,
                                                  std::unique_ptr<vhost::UserBackend> backend,
                                                  FailureCallback on_backend_failure);
  ~FsDevice() override = default;

  uint32_t device_id() const override { return kDeviceIdFs; }
  // The back end's device bits, less the ones hull cannot serve.
  uint64_t device_features() const override;
  // VERSION_1, EVENT_IDX and INDIRECT_DESC as far as the back end offers
  // them: it, not we, walks the rings.
  uint64_t transport_features() const override;
  std::span<const uint16_t> queue_max_sizes() const override { return queue_max_sizes_; }
  void ReadConfig(uint64_t offset, std::span<uint8_t> data) const override;
  void WriteConfig(uint64_t, std::span<const uint8_t>) override {}  // read-only (§5.11.4.1)
  // Hands every ready queue to the back end (vhost::StartVrings).
  Result<void> Activate(const GuestMemory& memory, std::span<Queue> queues, uint64_t features,
                        VirtioInterrupt& interrupt) override;
  // Only reached by notifications that bypassed the ioeventfds (other
  // access widths): passes the doorbell on to the back end's kick fd.
  Result<void> ProcessQueue(size_t index) override;
  // Disables and stops the rings (GET_VRING_BASE), so that the next
  // Activate starts them afresh.
  void Reset() override;

  // One call eventfd per queue (token = queue index, EPOLLIN) and the back
  // end's socket (kBackendSocketToken, EPOLLIN | EPOLLRDHUP | EPOLLET).
  std::vector<EventSource> event_sources() const override;
  Result<void> ProcessEvent(uint32_t token, uint32_t events) override;
  bool wants_notify_fds() const override { return true; }
  void SetNotifyFds(std::vector<EventFd> fds) override;
  std::vector<Counter> counters() const override;

  const std::string& tag() const noexcept { return tag_; }
  bool backend_failed() const noexcept { return failure_reported_; }

 private:
  FsDevice(FsOptions options, std::unique_ptr<vhost::UserBackend> backend, uint64_t features,
           vhost::CallRelay calls, FailureCallback on_backend_failure);

  // Counts a back-end error and, once the connection is broken, reports it.
  void BackendError(const Error& error);

  std::string tag_;
  std::unique_ptr<vhost::UserBackend> backend_;
  uint64_t backend_features_;
  std::vector<uint16_t> queue_max_sizes_;
  std::array<uint8_t, kConfigSize> config_{};
  vhost::CallRelay calls_;           // one per queue; the back end signals them
  std::vector<EventFd> notify_fds_;  // the VMM's ioeventfds, one per queue
  FailureCallback on_backend_failure_;
  bool failure_reported_ = false;

  ActiveQueues active_;
  bool rings_started_ = false;

  uint64_t activations_ = 0;
  uint64_t notifications_forwarded_ = 0;
  uint64_t backend_errors_ = 0;
};

}  // namespace hull::vmm::virtio::fs
