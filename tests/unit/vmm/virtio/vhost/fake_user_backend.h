#pragma once

// Test support: a vhost-user back end on a thread, at the other end of a
// socketpair. It records every message the front end sends (request, flags,
// payload, the fds beside it) and answers the way libvhost-user (virtiofsd's
// library) does, unless a test's handler answers instead, with any bytes at
// all (hostile replies), or with silence, or by hanging up. Replies are
// written byte by byte here, sharing no code with the protocol under test.

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "hull/common/check.h"
#include "hull/common/unique_fd.h"

namespace hull::vmm::virtio::vhost::testing {

// Numbers from vhost-user.rst, spelled out independently of user_protocol.h.
inline constexpr uint32_t kGetFeatures = 1;
inline constexpr uint32_t kSetFeatures = 2;
inline constexpr uint32_t kSetOwner = 3;
inline constexpr uint32_t kSetMemTable = 5;
inline constexpr uint32_t kSetVringNum = 8;
inline constexpr uint32_t kSetVringAddr = 9;
inline constexpr uint32_t kSetVringBase = 10;
inline constexpr uint32_t kGetVringBase = 11;
inline constexpr uint32_t kSetVringKick = 12;
inline constexpr uint32_t kSetVringCall = 13;
inline constexpr uint32_t kGetProtocolFeatures = 15;
inline constexpr uint32_t kSetProtocolFeatures = 16;
inline constexpr uint32_t kGetQueueNum = 17;
inline constexpr uint32_t kSetVringEnable = 18;

inline constexpr uint32_t kNeedReply = 0x8;
inline constexpr uint64_t kProtocolFeaturesBit = uint64_t{1} << 30;
inline constexpr uint64_t kMq = uint64_t{1} << 0;
inline constexpr uint64_t kReplyAck = uint64_t{1} << 3;
// What libvhost-user offers (qemu 7.2): ring features, VERSION_1,
// LOG_ALL (26) and PROTOCOL_FEATURES; NOTIFY_ON_EMPTY (24).
inline constexpr uint64_t kLibvhostUserFeatures = (uint64_t{1} << 24) | (uint64_t{1} << 28) |
                                                  (uint64_t{1} << 29) | (uint64_t{1} << 32) |
                                                  (uint64_t{1} << 26) | kProtocolFeaturesBit;
// MQ, LOG_SHMFD, BACKEND_REQ, REPLY_ACK, HOST_NOTIFIER, CONFIGURE_MEM_SLOTS...
inline constexpr uint64_t kLibvhostUserProtocolFeatures =
    kMq | (uint64_t{1} << 1) | (uint64_t{1} << 5) | kReplyAck | (uint64_t{1} << 10) |
    (uint64_t{1} << 11) | (uint64_t{1} << 15);

struct Message {
  uint32_t request = 0;
  uint32_t flags = 0;
  std::vector<uint8_t> payload;
  size_t fd_count = 0;  // the fds themselves are closed on arrival
};

// What the fake does with one message instead of its default answer.
struct Action {
  std::vector<uint8_t> bytes{};  // sent as is (may be empty: silence)
  std::vector<int> fds{};        // sent beside the first byte
  bool hang_up = false;          // then closes its end
};

inline void PutU32(std::vector<uint8_t>& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
inline void PutU64(std::vector<uint8_t>& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
inline uint64_t GetU64(const std::vector<uint8_t>& in, size_t at) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v |= uint64_t{in.at(at + i)} << (8 * i);
  return v;
}
inline uint32_t GetU32(const std::vector<uint8_t>& in, size_t at) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v |= uint32_t{in.at(at + i)} << (8 * i);
  return v;
}

// A reply: header {request, flags (version 1 | reply), size}, then payload.
inline std::vector<uint8_t> RawMessage(uint32_t request, uint32_t flags,
                                       const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> out;
  PutU32(out, request);
  PutU32(out, flags);
  PutU32(out, static_cast<uint32_t>(payload.size()));
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}
inline std::vector<uint8_t> U64Reply(uint32_t request, uint64_t value) {
  std::vector<uint8_t> payload;
  PutU64(payload, value);
  return RawMessage(request, 0x5, payload);
}

class FakeUserBackend {
 public:
  // Returns an Action to override the default answer, or nullopt.
  using Handler = std::function<std::optional<Action>(const Message&)>;

  explicit FakeUserBackend(uint64_t features = kLibvhostUserFeatures,
                           uint64_t protocol_features = kLibvhostUserProtocolFeatures,
                           uint64_t queue_num = 2)
      : features_(features), protocol_features_(protocol_features), queue_num_(queue_num) {
    int fds[2];
    HULL_CHECK(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
    frontend_.Reset(fds[0]);
    backend_.Reset(fds[1]);
  }
  ~FakeUserBackend() { Stop(); }

  void set_handler(Handler handler) {
    std::lock_guard lock(mutex_);
    handler_ = std::move(handler);
  }
  // The front end's end of the socket; starts serving.
  UniqueFd Start() {
    thread_ = std::thread([this] { Serve(); });
    return std::move(frontend_);
  }
  // Hangs up (the back end "dies") and waits for the thread.
  void Stop() {
    if (backend_) ::shutdown(backend_.Get(), SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    backend_.Reset();
  }

  // Waits until `count` messages arrived (or 5 s) and returns the requests.
  std::vector<uint32_t> Requests(size_t count = 0) {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, std::chrono::seconds(5), [&] { return messages_.size() >= count; });
    std::vector<uint32_t> out;
    for (const Message& m : messages_) out.push_back(m.request);
    return out;
  }
  // Copies of the recorded messages with this request code.
  std::vector<Message> Find(uint32_t request) {
    std::lock_guard lock(mutex_);
    std::vector<Message> out;
    for (const Message& m : messages_) {
      if (m.request == request) out.push_back(m);
    }
    return out;
  }
  void Clear() {
    std::lock_guard lock(mutex_);
    messages_.clear();
  }
  uint64_t negotiated_protocol_features() {
    std::lock_guard lock(mutex_);
    return negotiated_protocol_;
  }

 private:
  // Reads exactly `len` bytes, counting (and closing) fds. False on EOF or
  // error.
  bool Read(uint8_t* out, size_t len, size_t& fd_count) {
    size_t done = 0;
    while (done < len) {
      iovec iov{out + done, len - done};
      alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 16)];
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof(control);
      const ssize_t n = ::recvmsg(backend_.Get(), &msg, MSG_CMSG_CLOEXEC);
      if (n <= 0) return false;
      for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; ++i) {
          int fd;
          std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
          ::close(fd);
          ++fd_count;
        }
      }
      done += static_cast<size_t>(n);
    }
    return true;
  }

  void Send(const std::vector<uint8_t>& bytes, const std::vector<int>& fds) {
    if (bytes.empty()) return;
    iovec iov{const_cast<uint8_t*>(bytes.data()), bytes.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 16)] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (!fds.empty()) {
      msg.msg_control = control;
      msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      HULL_CHECK(c != nullptr);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
      std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
    }
    (void)::sendmsg(backend_.Get(), &msg, MSG_NOSIGNAL);
  }

  std::optional<Action> Default(const Message& m) {
    switch (m.request) {
      case kGetFeatures:
        return Action{U64Reply(m.request, features_), {}, false};
      case kGetProtocolFeatures:
        return Action{U64Reply(m.request, protocol_features_), {}, false};
      case kGetQueueNum:
        return Action{U64Reply(m.request, queue_num_), {}, false};
      case kGetVringBase: {
        std::vector<uint8_t> payload;
        PutU32(payload, GetU32(m.payload, 0));
        PutU32(payload, 0);
        return Action{RawMessage(m.request, 0x5, payload), {}, false};
      }
      case kSetProtocolFeatures: {
        std::lock_guard lock(mutex_);
        negotiated_protocol_ = GetU64(m.payload, 0);
        break;
      }
      default:
        break;
    }
    if ((m.flags & kNeedReply) != 0) return Action{U64Reply(m.request, 0), {}, false};
    return std::nullopt;
  }

  void Serve() {
    while (true) {
      Message m;
      uint8_t header[12];
      if (!Read(header, sizeof(header), m.fd_count)) return;
      std::memcpy(&m.request, header, 4);
      std::memcpy(&m.flags, header + 4, 4);
      uint32_t size;
      std::memcpy(&size, header + 8, 4);
      HULL_CHECK(size <= 4096);  // our own front end: a bug if larger
      m.payload.resize(size);
      if (size > 0 && !Read(m.payload.data(), size, m.fd_count)) return;
      Handler handler;
      {
        std::lock_guard lock(mutex_);
        handler = handler_;
      }
      std::optional<Action> action = handler ? handler(m) : std::nullopt;
      if (!action) action = Default(m);
      {
        std::lock_guard lock(mutex_);
        messages_.push_back(std::move(m));
      }
      cv_.notify_all();
      if (action) {
        Send(action->bytes, action->fds);
        if (action->hang_up) {
          ::shutdown(backend_.Get(), SHUT_RDWR);
          return;
        }
      }
    }
  }

  uint64_t features_;
  uint64_t protocol_features_;
  uint64_t queue_num_;
  UniqueFd frontend_;
  UniqueFd backend_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable cv_;
  Handler handler_;
  std::vector<Message> messages_;
  uint64_t negotiated_protocol_ = 0;
};

}  // namespace hull::vmm::virtio::vhost::testing
