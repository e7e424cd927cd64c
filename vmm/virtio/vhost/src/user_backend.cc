#include "hull/vmm/virtio/vhost/user_backend.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

#include "hull/common/check.h"
#include "hull/common/eintr.h"

namespace hull::vmm::virtio::vhost {
namespace {

using user::Request;

// Room for the most fds one message carries (a full memory table); replies
// carry none, and anything that arrives is closed and refused.
constexpr size_t kMaxFds = user::kMaxMemoryRegions;
constexpr size_t kControlSize = CMSG_SPACE(sizeof(int) * kMaxFds);

bool IsDisconnect(int err) { return err == EPIPE || err == ECONNRESET || err == ENOTCONN; }

// Closes every fd an SCM_RIGHTS message put into our table; returns how many.
size_t CloseReceivedFds(msghdr& msg) {
  size_t closed = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const size_t bytes = c->cmsg_len - CMSG_LEN(0);
    for (size_t i = 0; i < bytes / sizeof(int); ++i) {
      int fd;
      // SAFETY: the kernel wrote `bytes` bytes of fds after the header; the
      // data may be unaligned for int, hence memcpy.
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      ::close(fd);
      ++closed;
    }
  }
  return closed;
}

}  // namespace

Result<std::unique_ptr<UserBackend>> UserBackend::Connect(UserBackendOptions options) {
  const std::string& path = options.socket_path;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(address.sun_path)) {
    return Error(ENAMETOOLONG, fmt::format("vhost-user socket path '{}' for {} must be 1..{} bytes",
                                           path, options.name, sizeof(address.sun_path) - 1));
  }
  std::memcpy(address.sun_path, path.data(), path.size());
  UniqueFd socket(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!socket) return Error::FromErrno(errno, "socket(AF_UNIX) for vhost-user");
  // SAFETY: sockaddr_un is the sockaddr connect() expects for AF_UNIX.
  const auto* raw = reinterpret_cast<const sockaddr*>(&address);
  int rc = ::connect(socket.Get(), raw, sizeof(address));
  // A connect interrupted by a signal goes on in the background; a second
  // call reports how it ended (EISCONN: it succeeded).
  while (rc != 0 && (errno == EINTR || errno == EALREADY)) {
    rc = ::connect(socket.Get(), raw, sizeof(address));
    if (rc != 0 && errno == EISCONN) rc = 0;
  }
  if (rc != 0) {
    const int err = errno;
    return Error::FromErrno(err, fmt::format("connecting to vhost-user socket {} of {} (is {} "
                                             "running and listening there?)",
                                             path, options.name, options.program));
  }
  return Open(std::move(socket), std::move(options));
}

Result<std::unique_ptr<UserBackend>> UserBackend::Open(UniqueFd socket,
                                                       UserBackendOptions options) {
  const int flags = ::fcntl(socket.Get(), F_GETFL);
  if (flags < 0 || ::fcntl(socket.Get(), F_SETFL, flags | O_NONBLOCK) != 0 ||
      ::fcntl(socket.Get(), F_SETFD, FD_CLOEXEC) != 0) {
    return Error::FromErrno(
        errno, fmt::format("making the vhost-user socket of {} non-blocking", options.name));
  }
  std::unique_ptr<UserBackend> backend(new UserBackend(std::move(socket), std::move(options)));
  HULL_TRY(backend->Negotiate());
  return backend;
}

UserBackend::UserBackend(UniqueFd socket, UserBackendOptions options)
    : socket_(std::move(socket)),
      options_(std::move(options)),
      display_name_("vhost-user " + options_.name),
      who_("vhost-user back end " + options_.name +
           (options_.socket_path.empty() ? "" : " at " + options_.socket_path)) {}

Result<void> UserBackend::Negotiate() {
  HULL_ASSIGN_OR_RETURN(offered_features_, RequestU64(Request::kGetFeatures));
  if ((offered_features_ & user::kFeatureProtocolFeatures) == 0) return {};
  // Only what we implement: acks make every request synchronous (a refusal
  // surfaces at the request that caused it), and MQ lets us ask how many
  // queues the back end serves before the guest ever sees the device.
  protocol_features_negotiated_ = true;
  HULL_ASSIGN_OR_RETURN(const uint64_t offered, RequestU64(Request::kGetProtocolFeatures));
  protocol_features_ = offered & (user::kProtocolFeatureReplyAck | user::kProtocolFeatureMq);
  HULL_TRY(Send(Request::kSetProtocolFeatures, user::EncodeU64(protocol_features_)));
  if ((protocol_features_ & user::kProtocolFeatureMq) != 0) {
    HULL_ASSIGN_OR_RETURN(queue_num_, RequestU64(Request::kGetQueueNum));
  }
  return {};
}

Result<void> UserBackend::SetOwner() { return SendAndAck(Request::kSetOwner, {}); }

Result<uint64_t> UserBackend::GetFeatures() { return RequestU64(Request::kGetFeatures); }

Result<void> UserBackend::SetFeatures(uint64_t features) {
  if (protocol_features_negotiated_) features |= user::kFeatureProtocolFeatures;
  return SendAndAck(Request::kSetFeatures, user::EncodeU64(features));
}

Result<void> UserBackend::SetMemTable(std::span<const MemoryRegion> regions) {
  HULL_ASSIGN_OR_RETURN(const std::vector<uint8_t> payload, user::EncodeMemoryTable(regions));
  std::vector<int> fds;
  for (const MemoryRegion& region : regions) {
    if (region.fd < 0) {
      return Error(EINVAL, fmt::format("{}: guest region at {:#x} has no memfd to share",
                                       display_name_, region.guest_phys_addr));
    }
    fds.push_back(region.fd);
  }
  return SendAndAck(Request::kSetMemTable, payload, fds);
}

Result<void> UserBackend::SetVringNum(uint32_t index, uint32_t size) {
  return SendAndAck(Request::kSetVringNum, user::EncodeVringState({index, size}));
}

Result<void> UserBackend::SetVringBase(uint32_t index, uint32_t base) {
  return SendAndAck(Request::kSetVringBase, user::EncodeVringState({index, base}));
}

Result<void> UserBackend::SetVringAddr(uint32_t index, const VringAddresses& addresses) {
  return SendAndAck(Request::kSetVringAddr, user::EncodeVringAddr({.index = index,
                                                                   .flags = 0,
                                                                   .desc = addresses.desc,
                                                                   .used = addresses.used,
                                                                   .avail = addresses.avail,
                                                                   .log = 0}));
}

Result<void> UserBackend::SetVringKick(uint32_t index, int fd) {
  HULL_ASSIGN_OR_RETURN(const uint64_t value, user::EncodeVringFile(index, fd >= 0));
  const int fds[1] = {fd};
  return SendAndAck(Request::kSetVringKick, user::EncodeU64(value),
                    std::span<const int>(fds, fd >= 0 ? 1 : 0));
}

Result<void> UserBackend::SetVringCall(uint32_t index, int fd) {
  HULL_ASSIGN_OR_RETURN(const uint64_t value, user::EncodeVringFile(index, fd >= 0));
  const int fds[1] = {fd};
  return SendAndAck(Request::kSetVringCall, user::EncodeU64(value),
                    std::span<const int>(fds, fd >= 0 ? 1 : 0));
}

Result<void> UserBackend::SetVringEnable(uint32_t index, bool enable) {
  if (broken_) return *broken_;  // even the no-op: a broken back end serves nothing
  if (!protocol_features_negotiated_) return {};
  return SendAndAck(Request::kSetVringEnable, user::EncodeVringState({index, enable ? 1u : 0u}));
}

Result<uint32_t> UserBackend::GetVringBase(uint32_t index) {
  HULL_TRY(Send(Request::kGetVringBase, user::EncodeVringState({index, 0})));
  HULL_ASSIGN_OR_RETURN(const std::vector<uint8_t> reply, Receive(Request::kGetVringBase, 8));
  Result<user::VringState> state = user::ParseVringBaseReply(reply, index);
  if (!state.ok()) {
    return Break(std::move(state).error().WithContext(who_));
  }
  return state->num;
}

Result<void> UserBackend::CheckConnection() {
  if (broken_) return *broken_;
  uint8_t byte = 0;
  const ssize_t n =
      RetryOnEintr([&] { return ::recv(socket_.Get(), &byte, 1, MSG_PEEK | MSG_DONTWAIT); });
  if (n == 0) return Break(Closed());
  if (n > 0) {
    return Break(Error(EPROTO, fmt::format("{} sent a message nobody asked "
                                           "for (hull opens no back-end request channel)",
                                           who_)));
  }
  const int err = errno;
  if (err == EAGAIN || err == EWOULDBLOCK) return {};
  if (IsDisconnect(err)) return Break(Closed());
  return Break(Error::FromErrno(err, fmt::format("polling {}", who_)));
}

Result<uint64_t> UserBackend::RequestU64(Request request) {
  HULL_TRY(Send(request, {}));
  HULL_ASSIGN_OR_RETURN(const std::vector<uint8_t> reply, Receive(request, 8));
  return user::ParseU64Reply(reply, request);
}

Result<void> UserBackend::Send(Request request, std::span<const uint8_t> payload,
                               std::span<const int> fds) {
  return WriteAll(user::EncodeMessage(request, 0, payload), fds, user::RequestName(request));
}

Result<void> UserBackend::SendAndAck(Request request, std::span<const uint8_t> payload,
                                     std::span<const int> fds) {
  const bool ack = (protocol_features_ & user::kProtocolFeatureReplyAck) != 0;
  HULL_TRY(WriteAll(user::EncodeMessage(request, ack ? user::kFlagNeedReply : 0, payload), fds,
                    user::RequestName(request)));
  if (!ack) return {};
  HULL_ASSIGN_OR_RETURN(const std::vector<uint8_t> reply, Receive(request, 8));
  HULL_ASSIGN_OR_RETURN(const uint64_t status, user::ParseU64Reply(reply, request));
  // "REPLY_ACK": zero is success. A refusal leaves the stream in step, so
  // it does not break the connection.
  if (status != 0) {
    return Error(
        EIO, fmt::format("{} refused {} (status {})", who_, user::RequestName(request), status));
  }
  return {};
}

Result<std::vector<uint8_t>> UserBackend::Receive(Request request, uint32_t payload_size) {
  HULL_CHECK(payload_size <= user::kMaxPayloadSize);
  const std::string what = user::RequestName(request);
  std::vector<uint8_t> message(user::kHeaderSize + payload_size);
  HULL_TRY(ReadExactly(std::span(message).first(user::kHeaderSize), what));
  const user::Header header = user::DecodeHeader(std::span(message).first<user::kHeaderSize>());
  // Checked before the payload is read: a wrong size desynchronises the
  // stream, and its length is never used to read anything.
  Result<void> valid = user::CheckReplyHeader(header, request, payload_size);
  if (!valid.ok()) {
    return Break(std::move(valid).error().WithContext(who_));
  }
  HULL_TRY(ReadExactly(std::span(message).subspan(user::kHeaderSize), what));
  return message;
}

Result<void> UserBackend::WriteAll(std::span<const uint8_t> bytes, std::span<const int> fds,
                                   std::string_view what) {
  if (broken_) return *broken_;
  HULL_CHECK(fds.size() <= kMaxFds);
  deadline_ = std::chrono::steady_clock::now() + options_.reply_timeout;
  size_t done = 0;
  while (done < bytes.size()) {
    iovec iov{};
    // SAFETY: sendmsg only reads the buffer; iovec's field is not const.
    iov.iov_base = const_cast<uint8_t*>(bytes.data() + done);
    iov.iov_len = bytes.size() - done;
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) std::array<uint8_t, kControlSize> control{};
    // The fds ride with the first byte; a resumed short write sends none.
    if (done == 0 && !fds.empty()) {
      msg.msg_control = control.data();
      msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      HULL_CHECK(c != nullptr);  // msg_controllen has room for one
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
      std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
    }
    // MSG_NOSIGNAL: a dead back end is an EPIPE error, not a SIGPIPE.
    const ssize_t n = ::sendmsg(socket_.Get(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      const int err = errno;
      if (err == EINTR) continue;
      if (err == EAGAIN || err == EWOULDBLOCK) {
        HULL_TRY(WaitFor(POLLOUT, deadline_, what));
        continue;
      }
      if (IsDisconnect(err)) return Break(Closed());
      return Break(Error::FromErrno(err, fmt::format("sending {} to {}", what, who_)));
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

Result<void> UserBackend::ReadExactly(std::span<uint8_t> out, std::string_view what) {
  size_t done = 0;
  while (done < out.size()) {
    HULL_TRY(WaitFor(POLLIN, deadline_, what));
    iovec iov{.iov_base = out.data() + done, .iov_len = out.size() - done};
    alignas(cmsghdr) std::array<uint8_t, kControlSize> control{};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    const ssize_t n = ::recvmsg(socket_.Get(), &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n < 0) {
      const int err = errno;
      if (err == EINTR || err == EAGAIN || err == EWOULDBLOCK) continue;
      if (IsDisconnect(err)) return Break(Closed());
      return Break(
          Error::FromErrno(err, fmt::format("reading the answer to {} from {}", what, who_)));
    }
    // No reply hull asks for carries fds: whatever came is closed at once so
    // a hostile back end cannot fill our fd table.
    if (CloseReceivedFds(msg) > 0 || (msg.msg_flags & MSG_CTRUNC) != 0) {
      return Break(Error(EPROTO, fmt::format("{} sent file descriptors with "
                                             "its answer to {}",
                                             who_, what)));
    }
    if (n == 0) return Break(Closed());
    done += static_cast<size_t>(n);
  }
  return {};
}

Result<void> UserBackend::WaitFor(short events, std::chrono::steady_clock::time_point deadline,
                                  std::string_view what) {
  while (true) {
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return Break(Error(ETIMEDOUT, fmt::format("{} did not {} {} within {} ms (is {} hung?)", who_,
                                                events == POLLIN ? "answer" : "accept", what,
                                                options_.reply_timeout.count(), options_.program)));
    }
    pollfd p{.fd = socket_.Get(), .events = events, .revents = 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 60'000)));
    if (ready < 0) {
      if (errno == EINTR) continue;
      return Break(Error::FromErrno(errno, fmt::format("poll on {}", who_)));
    }
    // Ready, hung up or in error: the read or write that follows says which.
    if (ready > 0) return {};
  }
}

Error UserBackend::Closed() const {
  return Error(EPIPE,
               fmt::format("{} closed the connection (did {} exit?)", who_, options_.program));
}

Error UserBackend::Break(Error error) {
  if (!broken_) broken_ = error;
  return error;
}

}  // namespace hull::vmm::virtio::vhost
