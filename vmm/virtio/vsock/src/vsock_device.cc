#include "hull/vmm/virtio/vsock/vsock_device.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>

#include <bit>
#include <cerrno>
#include <cstring>

#include "hull/common/check.h"
#include "hull/vmm/virtio/constants.h"
#include "hull/vmm/virtio/vhost/vhost_abi.h"

namespace hull::vmm::virtio::vsock {

Result<std::unique_ptr<VsockDevice>> VsockDevice::Create(const VsockOptions& options) {
  const uint64_t cid = options.guest_cid;
  if (cid < kFirstGuestCid || cid > kLastGuestCid) {
    return Error(EINVAL, fmt::format("vsock guest CID {} is reserved or out of range: use {}..{}",
                                     cid, kFirstGuestCid, kLastGuestCid));
  }
  const uint16_t size = options.queue_size;
  if (size < 4 || size > kMaxQueueSize || (size & (size - 1)) != 0) {
    return Error(EINVAL, fmt::format("vsock queue size {} is not a power of two in [4, {}]", size,
                                     kMaxQueueSize));
  }
  HULL_ASSIGN_OR_RETURN(vhost::KernelBackend backend,
                        vhost::KernelBackend::Open(options.device_path, "vhost_vsock"));
  HULL_TRY(backend.SetOwner());
  HULL_ASSIGN_OR_RETURN(const uint64_t features, backend.GetFeatures());
  uint64_t cid_arg = cid;
  if (::ioctl(backend.fd(), vhost::abi::kVsockSetGuestCid, &cid_arg) != 0) {
    const int err = errno;
    if (err == EADDRINUSE) {
      return Error(err, fmt::format("vsock CID {} is already used by another VM on this host. "
                                    "Fix: give this VM a different CID",
                                    cid));
    }
    return Error::FromErrno(err, fmt::format("vhost-vsock: setting guest CID {}", cid));
  }
  HULL_ASSIGN_OR_RETURN(vhost::CallRelay calls, vhost::CallRelay::Create(kVhostQueues));
  return std::unique_ptr<VsockDevice>(
      new VsockDevice(std::move(backend), cid, size, features, std::move(calls)));
}

VsockDevice::VsockDevice(vhost::KernelBackend backend, uint64_t cid, uint16_t queue_size,
                         uint64_t backend_features, vhost::CallRelay calls)
    : backend_(std::move(backend)),
      cid_(cid),
      queue_max_sizes_{queue_size, queue_size, queue_size},
      backend_features_(backend_features),
      calls_(std::move(calls)) {
  static_assert(std::endian::native == std::endian::little);
  std::memcpy(config_.data(), &cid_, sizeof(cid_));
}

VsockDevice::~VsockDevice() {
  if (running_) (void)SetRunning(false);
}

uint64_t VsockDevice::device_features() const {
  // Offer the device bits vhost serves: stream always, seqpacket when the
  // host kernel has it.
  return backend_features_ & kFeatureSeqpacket;
}

void VsockDevice::ReadConfig(uint64_t offset, std::span<uint8_t> data) const {
  ReadConfigBytes(config_, offset, data);
}

void VsockDevice::SetNotifyFds(std::vector<EventFd> fds) {
  HULL_CHECK(fds.size() == kQueues);
  notify_fds_ = std::move(fds);
}

Result<void> VsockDevice::SetRunning(bool running) {
  int arg = running ? 1 : 0;
  if (::ioctl(backend_.fd(), vhost::abi::kVsockSetRunning, &arg) != 0) {
    return Error::FromErrno(errno, fmt::format("vhost-vsock: VHOST_VSOCK_SET_RUNNING {}", arg));
  }
  running_ = running;
  return {};
}

Result<void> VsockDevice::Activate(const GuestMemory& memory, std::span<Queue> queues,
                                   uint64_t features, VirtioInterrupt& interrupt) {
  HULL_TRY(active_.Bind("virtio-vsock", kQueues, memory, queues, interrupt));
  if (notify_fds_.size() != kQueues) {
    active_.Clear();
    return Error(EINVAL, "virtio-vsock: the VMM gave no notification eventfds");
  }
  const int kicks[kVhostQueues] = {notify_fds_[0].fd(), notify_fds_[1].fd()};
  Result<void> started =
      vhost::StartVrings(backend_, memory, queues, kVhostQueues, features, kicks, calls_.fds());
  if (started.ok()) started = SetRunning(true);
  if (!started.ok()) {
    ++backend_errors_;
    active_.Clear();
    return started;
  }
  ++activations_;
  return {};
}

Result<void> VsockDevice::ProcessQueue(size_t index) {
  // The rx/tx queues belong to vhost: pass the doorbell on. The event queue
  // only holds buffers for events we never send.
  if (index < kVhostQueues && index < notify_fds_.size()) return notify_fds_[index].Signal();
  return {};
}

void VsockDevice::Reset() {
  if (running_) {
    Result<void> stopped = SetRunning(false);
    if (!stopped.ok()) {
      ++backend_errors_;
      spdlog::warn("virtio-vsock reset: {}", stopped.error().ToString());
    }
  }
  if (active_.active()) {
    // The queues are still the transport's (it resets them after us).
    vhost::StopVrings(backend_, active_.queues(), kVhostQueues);
  }
  active_.Clear();
}

std::vector<EventSource> VsockDevice::event_sources() const {
  std::vector<EventSource> sources;
  calls_.AppendSources(sources);
  return sources;
}

Result<void> VsockDevice::ProcessEvent(uint32_t token, uint32_t /*events*/) {
  (void)calls_.Relay(token, active_);
  return {};
}

std::vector<VirtioDevice::Counter> VsockDevice::counters() const {
  return {{"guest_cid", cid_},
          {"activations", activations_},
          {"interrupts_relayed", calls_.relayed()},
          {"backend_errors", backend_errors_}};
}

}  // namespace hull::vmm::virtio::vsock
