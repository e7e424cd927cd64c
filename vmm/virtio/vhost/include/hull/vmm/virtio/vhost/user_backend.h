#pragma once

// The front end of the vhost-user protocol (QEMU docs/interop/vhost-user.rst):
// a back-end process (virtiofsd) listening on a Unix socket serves the
// virtqueues straight from guest memory, whose memfds we hand it in
// SET_MEM_TABLE. We send requests and wait for each reply; the back end
// never speaks unasked on this socket (hull negotiates no back-end request
// channel).
//
//   HULL_ASSIGN_OR_RETURN(std::unique_ptr<UserBackend> backend,
//                         UserBackend::Connect({.socket_path = path, .name = "virtiofsd (tag x)",
//                                               .program = "virtiofsd"}));
//   HULL_TRY(backend->SetOwner());
//   ... StartVrings(*backend, ...) on DRIVER_OK, StopVrings on reset.
//
// The back end is another process and UNTRUSTED: every reply is checked
// (see user_protocol.h), each wait for one is bounded by `reply_timeout`,
// and file descriptors it sends are closed unread. After any failure that
// may have desynchronised the stream (a bad reply, a timeout, the peer
// gone) the connection is "broken": every later request fails at once with
// the first failure's message.
//
// Not thread-safe: the transport's lock serialises the device that owns it.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "hull/common/result.h"
#include "hull/common/unique_fd.h"
#include "hull/vmm/virtio/vhost/backend.h"
#include "hull/vmm/virtio/vhost/user_protocol.h"

namespace hull::vmm::virtio::vhost {

struct UserBackendOptions {
  std::string socket_path{};
  // Who serves the socket, for messages: "virtiofsd (tag share)" (errors
  // add " at <socket_path>").
  std::string name = "back end";
  // The program behind it, for hints: "did virtiofsd exit?".
  std::string program = "the back-end process";
  // How long a reply (or room to send) may take before the back end counts
  // as wedged. GET_VRING_BASE waits for the back end's queue threads.
  std::chrono::milliseconds reply_timeout{5000};
};

class UserBackend final : public Backend {
 public:
  // Connects to `socket_path` and negotiates the protocol (GET_FEATURES;
  // when it offers VHOST_USER_F_PROTOCOL_FEATURES, GET/SET_PROTOCOL_FEATURES
  // with REPLY_ACK and MQ where offered; with MQ, GET_QUEUE_NUM). ENOENT /
  // ECONNREFUSED when nothing listens there.
  static Result<std::unique_ptr<UserBackend>> Connect(UserBackendOptions options);
  // The same over a socket already connected to a back end (tests use a
  // socketpair). The socket is made non-blocking and close-on-exec.
  static Result<std::unique_ptr<UserBackend>> Open(UniqueFd socket, UserBackendOptions options);

  UserBackend(const UserBackend&) = delete;
  UserBackend& operator=(const UserBackend&) = delete;
  ~UserBackend() override = default;

  std::string_view name() const override { return display_name_; }

  Result<void> SetOwner() override;
  Result<uint64_t> GetFeatures() override;
  // Adds VHOST_USER_F_PROTOCOL_FEATURES when it was negotiated: the back end
  // must keep seeing it ("Protocol features").
  Result<void> SetFeatures(uint64_t features) override;
  // One memfd per region, passed as SCM_RIGHTS; EINVAL for more than 8.
  Result<void> SetMemTable(std::span<const MemoryRegion> regions) override;
  Result<void> SetVringNum(uint32_t index, uint32_t size) override;
  Result<void> SetVringBase(uint32_t index, uint32_t base) override;
  Result<void> SetVringAddr(uint32_t index, const VringAddresses& addresses) override;
  // fd < 0 sends the "no fd" flag (polling mode for a kick, no call).
  Result<void> SetVringKick(uint32_t index, int fd) override;
  Result<void> SetVringCall(uint32_t index, int fd) override;
  // Without VHOST_USER_F_PROTOCOL_FEATURES rings are enabled as they start
  // and the message does not exist: a no-op then.
  Result<void> SetVringEnable(uint32_t index, bool enable) override;
  Result<uint32_t> GetVringBase(uint32_t index) override;

  // The back end's socket, for the VMM's event loop: it becomes readable
  // only when the back end speaks unasked or goes away (see CheckConnection).
  int socket_fd() const noexcept { return socket_.Get(); }
  // The features GET_FEATURES offered during Connect.
  uint64_t offered_features() const noexcept { return offered_features_; }
  // The protocol features both sides use (a subset of REPLY_ACK | MQ).
  uint64_t protocol_features() const noexcept { return protocol_features_; }
  // How many queues the back end serves (GET_QUEUE_NUM), when it said (MQ).
  std::optional<uint64_t> queue_num() const noexcept { return queue_num_; }

  // Called when the socket polled readable or hung up, outside any request:
  // EOF or a reset means the back end died; data means it spoke unasked,
  // which this protocol never lets it do. Either breaks the connection and
  // returns why. Nothing to read (a reply already consumed) is fine.
  Result<void> CheckConnection();
  // Whether a failure broke the connection (every request now fails).
  bool broken() const noexcept { return broken_.has_value(); }

 private:
  UserBackend(UniqueFd socket, UserBackendOptions options);

  Result<void> Negotiate();

  // Sends one message with `fds` beside it. SendAndAck also sets need_reply
  // and awaits the REPLY_ACK when that was negotiated (a non-zero status is
  // EIO and leaves the connection usable). Every send/receive failure
  // breaks the connection.
  Result<void> Send(user::Request request, std::span<const uint8_t> payload,
                    std::span<const int> fds = {});
  Result<void> SendAndAck(user::Request request, std::span<const uint8_t> payload,
                          std::span<const int> fds = {});
  // Reads the reply to `request`: its header, checked, then exactly
  // `payload_size` bytes. Returns the whole message.
  Result<std::vector<uint8_t>> Receive(user::Request request, uint32_t payload_size);
  Result<uint64_t> RequestU64(user::Request request);

  Result<void> WriteAll(std::span<const uint8_t> bytes, std::span<const int> fds,
                        std::string_view what);
  Result<void> ReadExactly(std::span<uint8_t> out, std::string_view what);
  // Waits for `events` on the socket until the request's deadline.
  Result<void> WaitFor(short events, std::chrono::steady_clock::time_point deadline,
                       std::string_view what);

  Error Closed() const;
  // Breaks the connection with `error` (the first one sticks) and returns it.
  Error Break(Error error);

  UniqueFd socket_;
  UserBackendOptions options_;
  std::string display_name_;  // "vhost-user <name>"
  std::string who_;           // "vhost-user back end <name> at <socket>", for errors
  std::chrono::steady_clock::time_point deadline_;

  uint64_t offered_features_ = 0;
  uint64_t protocol_features_ = 0;
  bool protocol_features_negotiated_ = false;  // VHOST_USER_F_PROTOCOL_FEATURES
  std::optional<uint64_t> queue_num_;
  std::optional<Error> broken_;
};

}  // namespace hull::vmm::virtio::vhost
