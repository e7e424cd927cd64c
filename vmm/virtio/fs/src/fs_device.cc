#include "hull/vmm/virtio/fs/fs_device.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>

#include <bit>
#include <cerrno>
#include <cstring>

#include "hull/common/check.h"
#include "hull/vmm/virtio/vhost/backend.h"

namespace hull::vmm::virtio::fs {
namespace {

// The transport features a vhost-user back end may serve for us: it walks
// the rings, so it decides.
constexpr uint64_t kRingFeatures = kFeatureVersion1 | kFeatureEventIdx | kFeatureIndirectDesc;

// Length of the well-formed UTF-8 sequence starting at s[i] (RFC 3629: no
// overlong forms, no surrogates, nothing past U+10FFFF), or 0.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t b0 = byte(i);
  if (b0 < 0x80) return 1;
  size_t len = 0;
  uint8_t lo = 0x80;
  uint8_t hi = 0xbf;  // the allowed range of the second byte
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    len = 2;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    len = 3;
    if (b0 == 0xe0) lo = 0xa0;  // overlong
    if (b0 == 0xed) hi = 0x9f;  // surrogates
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    len = 4;
    if (b0 == 0xf0) lo = 0x90;  // overlong
    if (b0 == 0xf4) hi = 0x8f;  // past U+10FFFF
  } else {
    return 0;
  }
  if (s.size() - i < len) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < len; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xbf) return 0;
  }
  return len;
}

Result<void> ValidateOptions(const FsOptions& options) {
  HULL_TRY(ValidateTag(options.tag));
  const uint16_t size = options.queue_size;
  if (size == 0 || size > kMaxFsQueueSize || (size & (size - 1)) != 0) {
    return Error(EINVAL, fmt::format("virtio-fs '{}': queue size {} is not a power of two in "
                                     "[1, {}] (virtiofsd's limit)",
                                     options.tag, size, kMaxFsQueueSize));
  }
  // Queue 0 is hiprio; vhost-user names a queue in 8 bits.
  if (options.request_queues == 0 || options.request_queues > vhost::user::kMaxVringIndex) {
    return Error(EINVAL, fmt::format("virtio-fs '{}': {} request queues; use 1..{}", options.tag,
                                     options.request_queues, vhost::user::kMaxVringIndex));
  }
  return {};
}

std::string StartHint(const FsOptions& options) {
  return fmt::format(
      "start virtiofsd before hull-vmm: /usr/lib/qemu/virtiofsd --socket-path={} "
      "-o source=<directory to share> -o cache=auto (add -o sandbox=chroot where it cannot "
      "create namespaces)",
      options.socket_path);
}

}  // namespace

Result<void> ValidateTag(std::string_view tag) {
  if (tag.empty() || tag.size() > kTagSize) {
    return Error(EINVAL, fmt::format("virtio-fs tag '{}' is {} bytes; it must be 1..{}", tag,
                                     tag.size(), kTagSize));
  }
  for (size_t i = 0; i < tag.size();) {
    const auto b = static_cast<uint8_t>(tag[i]);
    if (b < 0x20 || b == 0x7f) {
      return Error(EINVAL, fmt::format("virtio-fs tag has a control character or NUL at byte {}; "
                                       "the guest mounts it by name",
                                       i));
    }
    const size_t len = Utf8SequenceLength(tag, i);
    if (len == 0) {
      return Error(EINVAL, fmt::format("virtio-fs tag is not valid UTF-8 at byte {} (§5.11.4)", i));
    }
    i += len;
  }
  return {};
}

Result<std::unique_ptr<FsDevice>> FsDevice::Create(FsOptions options,
                                                   FailureCallback on_backend_failure) {
  // Cheap checks first: a bad tag should not need a running virtiofsd.
  HULL_TRY(ValidateOptions(options));
  Result<std::unique_ptr<vhost::UserBackend>> backend = vhost::UserBackend::Connect({
      .socket_path = options.socket_path,
      .name = fmt::format("virtiofsd (tag {})", options.tag),
      .program = "virtiofsd",
      .reply_timeout = options.reply_timeout,
  });
  if (!backend.ok()) {
    const Error& error = backend.error();
    return Error(error.code(), fmt::format("virtio-fs '{}': {}; {}", options.tag, error.message(),
                                           StartHint(options)));
  }
  return Create(std::move(options), std::move(backend).value(), std::move(on_backend_failure));
}

Result<std::unique_ptr<FsDevice>> FsDevice::Create(FsOptions options,
                                                   std::unique_ptr<vhost::UserBackend> backend,
                                                   FailureCallback on_backend_failure) {
  HULL_TRY(ValidateOptions(options));
  HULL_CHECK(backend != nullptr);
  const std::string context = fmt::format("virtio-fs '{}'", options.tag);
  const uint64_t queues = uint64_t{1} + options.request_queues;
  if (backend->queue_num().has_value() && *backend->queue_num() < queues) {
    return Error(EINVAL, fmt::format("{}: {} serves at most {} queues, but {} request queue(s) "
                                     "and hiprio need {}; lower the request queue count",
                                     context, backend->name(), *backend->queue_num(),
                                     options.request_queues, queues));
  }
  HULL_TRY(backend->SetOwner().WithContext(context));
  HULL_ASSIGN_OR_RETURN(const uint64_t features, backend->GetFeatures().WithContext(context));
  if ((features & kFeatureVersion1) == 0) {
    return Error(ENOTSUP, fmt::format("{}: {} does not offer VIRTIO_F_VERSION_1 (features {:#x}); "
                                      "hull drives only virtio 1.x devices",
                                      context, backend->name(), features));
  }
  HULL_ASSIGN_OR_RETURN(vhost::CallRelay calls, vhost::CallRelay::Create(queues));
  return std::unique_ptr<FsDevice>(new FsDevice(std::move(options), std::move(backend), features,
                                                std::move(calls), std::move(on_backend_failure)));
}

FsDevice::FsDevice(FsOptions options, std::unique_ptr<vhost::UserBackend> backend,
                   uint64_t features, vhost::CallRelay calls, FailureCallback on_backend_failure)
    : tag_(std::move(options.tag)),
      backend_(std::move(backend)),
      backend_features_(features),
      queue_max_sizes_(calls.size(), options.queue_size),
      calls_(std::move(calls)),
      on_backend_failure_(std::move(on_backend_failure)) {
  static_assert(std::endian::native == std::endian::little);
  // §5.11.4: the tag NUL-padded (config_ starts zeroed), then le32.
  std::memcpy(config_.data(), tag_.data(), tag_.size());
  const uint32_t request_queues = options.request_queues;
  std::memcpy(config_.data() + kTagSize, &request_queues, sizeof(request_queues));
}

uint64_t FsDevice::device_features() const {
  return backend_features_ & kDeviceFeatureMask & ~kFeatureNotification;
}

uint64_t FsDevice::transport_features() const { return backend_features_ & kRingFeatures; }

void FsDevice::ReadConfig(uint64_t offset, std::span<uint8_t> data) const {
  ReadConfigBytes(config_, offset, data);
}

void FsDevice::SetNotifyFds(std::vector<EventFd> fds) {
  HULL_CHECK(fds.size() == queue_max_sizes_.size());
  notify_fds_ = std::move(fds);
}

Result<void> FsDevice::Activate(const GuestMemory& memory, std::span<Queue> queues,
                                uint64_t features, VirtioInterrupt& interrupt) {
  const size_t count = queue_max_sizes_.size();
  HULL_TRY(active_.Bind("virtio-fs", count, memory, queues, interrupt));
  if (notify_fds_.size() != count) {
    active_.Clear();
    return Error(EINVAL,
                 fmt::format("virtio-fs '{}': the VMM gave no notification eventfds", tag_));
  }
  std::vector<int> kicks;
  for (size_t i = 0; i < count; ++i) kicks.push_back(notify_fds_[i].fd());
  Result<void> started =
      vhost::StartVrings(*backend_, memory, queues, count, features, kicks, calls_.fds());
  if (!started.ok()) {
    // Rings that did start stay with the back end: a vring stopped before
    // it started can crash virtiofsd 7.2, and the usual cause here is a
    // dead or broken back end anyway.
    Error error = std::move(started).error();
    BackendError(error);
    active_.Clear();
    return std::move(error).WithContext(fmt::format("virtio-fs '{}'", tag_));
  }
  rings_started_ = true;
  ++activations_;
  return {};
}

Result<void> FsDevice::ProcessQueue(size_t index) {
  if (index >= notify_fds_.size()) return {};
  ++notifications_forwarded_;
  Result<void> kicked = notify_fds_[index].Signal();
  if (!kicked.ok()) {
    // The host's failure, not the guest's: count it, keep the device.
    ++backend_errors_;
    spdlog::warn("virtio-fs '{}': forwarding a notification of queue {}: {}", tag_, index,
                 kicked.error().ToString());
  }
  return {};
}

void FsDevice::Reset() {
  if (rings_started_ && active_.active() && !backend_->broken()) {
    // The queues are still the transport's: it resets them after us.
    const std::span<const Queue> queues = active_.queues();
    // As QEMU does: disable, then stop (GET_VRING_BASE), each ring the
    // back end was given, so the next Activate starts from a clean state.
    for (size_t i = 0; i < queues.size(); ++i) {
      if (!queues[i].ready()) continue;
      Result<void> disabled = backend_->SetVringEnable(static_cast<uint32_t>(i), false);
      if (!disabled.ok()) {
        spdlog::warn("virtio-fs '{}' reset: {}", tag_, disabled.error().ToString());
        break;
      }
    }
    if (!backend_->broken()) vhost::StopVrings(*backend_, queues, queues.size());
    if (backend_->broken()) BackendError(backend_->CheckConnection().error());
  }
  rings_started_ = false;
  active_.Clear();
}

std::vector<EventSource> FsDevice::event_sources() const {
  std::vector<EventSource> sources;
  calls_.AppendSources(sources);
  // The socket is silent between our requests; it turns readable when
  // virtiofsd dies (EOF). Edge-triggered, so a dead back end wakes the loop
  // once rather than on every round until the VM is gone; replies we read
  // ourselves may leave a spurious edge, which CheckConnection ignores.
  sources.push_back({backend_->socket_fd(), EPOLLIN | EPOLLRDHUP | EPOLLET, kBackendSocketToken});
  return sources;
}

Result<void> FsDevice::ProcessEvent(uint32_t token, uint32_t /*events*/) {
  if (token == kBackendSocketToken) {
    // Whatever the events say, the socket itself tells: EOF, data, or
    // nothing (an edge left by a reply Activate or Reset already read).
    if (failure_reported_) return {};
    Result<void> healthy = backend_->CheckConnection();
    if (!healthy.ok()) BackendError(healthy.error());
    // Not the guest's doing: no DEVICE_NEEDS_RESET; the VMM ends the VM.
    return {};
  }
  (void)calls_.Relay(token, active_);
  return {};
}

void FsDevice::BackendError(const Error& error) {
  ++backend_errors_;
  if (!backend_->broken() || failure_reported_) return;
  failure_reported_ = true;
  const Error reported = error.WithContext(fmt::format("virtio-fs '{}'", tag_));
  if (on_backend_failure_) {
    on_backend_failure_(reported);
  } else {
    spdlog::error("{}", reported.ToString());
  }
}

std::vector<VirtioDevice::Counter> FsDevice::counters() const {
  return {{"activations", activations_},
          {"notifications_forwarded", notifications_forwarded_},
          {"interrupts_relayed", calls_.relayed()},
          {"backend_errors", backend_errors_}};
}

}  // namespace hull::vmm::virtio::fs
