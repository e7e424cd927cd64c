#include "hull/ttrpc/client.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include "hull/common/logging.h"
#include "hull/ttrpc/frame.h"
#include "hull/ttrpc/unix_socket.h"
#include "socket_io.h"

namespace hull::ttrpc {
namespace {

constexpr size_t kReadChunk = 64 * 1024;
// The last odd id; the next call would wrap to reuse ids still meaningful to
// the server (ttrpc 1.2 servers refuse ids that do not increase).
constexpr uint32_t kLastStreamId = 0xffff'ffffu;

std::string CallName(std::string_view service, std::string_view method) {
  return std::string(service) + "/" + std::string(method);
}

}  // namespace

Result<std::unique_ptr<Client>> Client::Connect(std::string_view address) {
  HULL_ASSIGN_OR_RETURN(UniqueFd socket, ConnectUnix(address).WithContext("ttrpc client"));
  return FromSocket(std::move(socket));
}

Result<std::unique_ptr<Client>> Client::FromSocket(UniqueFd socket) {
  if (!socket) return Error(EBADF, "ttrpc client: no socket");
  std::unique_ptr<Client> client(new Client(std::move(socket)));
  try {
    client->reader_ = std::thread([c = client.get()] { c->ReadLoop(); });
  } catch (const std::system_error& e) {
    return Error(EAGAIN, std::string("ttrpc client: starting the reader thread: ") + e.what());
  }
  return client;
}

Client::Client(UniqueFd socket) : socket_(std::move(socket)) {}

Client::~Client() {
  // The reader wakes up with end of stream and fails what still waits.
  ::shutdown(socket_.Get(), SHUT_RDWR);
  if (reader_.joinable()) reader_.join();
}

bool Client::connected() const {
  std::lock_guard lock(mu_);
  return !failed_.has_value();
}

Result<Reply> Client::Invoke(std::string_view service, std::string_view method,
                             std::string_view payload, std::chrono::nanoseconds timeout,
                             const Metadata& metadata) {
  const std::string name = CallName(service, method);
  const std::string request = SerializeRequest(service, method, payload, timeout, metadata);
  if (request.size() > kMaxMessageLength) {
    return Error(EMSGSIZE, "ttrpc " + name + ": request of " + std::to_string(request.size()) +
                               " bytes exceeds the maximum message size of " +
                               std::to_string(kMaxMessageLength));
  }
  // Clamped so that the deadline cannot overflow.
  timeout = std::min<std::chrono::nanoseconds>(timeout, std::chrono::hours(24 * 365));
  const auto deadline = std::chrono::steady_clock::now() + timeout;

  PendingCall call;
  uint32_t stream_id = 0;
  Result<void> sent;
  {
    // Ids are taken under the send lock, so that they go out in increasing
    // order (ttrpc 1.2 servers refuse an id lower than one already seen).
    std::lock_guard send_lock(send_mu_);
    {
      std::lock_guard lock(mu_);
      if (failed_) return Error(*failed_).WithContext("ttrpc " + name);
      if (next_stream_id_ == 0) {
        return Error(EOVERFLOW, "ttrpc " + name + ": stream ids of this connection used up");
      }
      stream_id = next_stream_id_;
      next_stream_id_ = stream_id == kLastStreamId ? 0 : stream_id + 2;
      pending_[stream_id] = &call;
    }
    sent =
        internal::SendAll(socket_.Get(), EncodeFrame(stream_id, MessageType::kRequest, 0, request));
  }
  if (!sent.ok()) {
    // Part of the frame may have gone out: the connection is out of step.
    ::shutdown(socket_.Get(), SHUT_RDWR);
    Fail(sent.error());
    std::lock_guard lock(mu_);
    pending_.erase(stream_id);
    if (call.result) return std::move(*call.result).WithContext("ttrpc " + name);
    return Error(sent.error()).WithContext("ttrpc " + name);
  }

  std::unique_lock lock(mu_);
  const auto answered = [&] { return call.result.has_value(); };
  if (timeout.count() > 0) {
    if (!delivered_.wait_until(lock, deadline, answered)) {
      pending_.erase(stream_id);
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count();
      return Error(ETIMEDOUT,
                   "ttrpc " + name + ": no response within " + std::to_string(ms) + " ms");
    }
  } else {
    delivered_.wait(lock, answered);
  }
  return std::move(*call.result).WithContext("ttrpc " + name);
}

Result<std::string> Client::Call(std::string_view service, std::string_view method,
                                 std::string_view payload, std::chrono::nanoseconds timeout,
                                 const Metadata& metadata) {
  HULL_ASSIGN_OR_RETURN(Reply reply, Invoke(service, method, payload, timeout, metadata));
  if (!reply.ok()) {
    return Error(ErrnoFromStatusCode(reply.status().code),
                 "ttrpc " + CallName(service, method) + ": " + reply.status().ToString());
  }
  return std::move(reply).TakePayload();
}

void Client::ReadLoop() {
  FrameDecoder decoder;
  std::vector<char> buffer(kReadChunk);
  for (;;) {
    auto n = internal::ReadSome(socket_.Get(), buffer.data(), buffer.size());
    if (!n.ok()) return Fail(n.error());
    if (*n == 0) {
      return Fail(Error(EPIPE, decoder.AtFrameBoundary() ? "connection closed"
                                                         : "connection closed inside a frame"));
    }
    decoder.Feed(std::string_view(buffer.data(), *n));
    for (;;) {
      DecodeEvent event = decoder.Next();
      if (std::holds_alternative<NeedMoreBytes>(event)) break;
      if (auto* frame = std::get_if<Frame>(&event)) {
        if (frame->header.type != MessageType::kResponse) {
          // Servers send nothing else to unary calls; ignore, as ttrpc does.
          LogEvent(spdlog::level::debug, "ttrpc_frame_ignored",
                   Kv("stream", frame->header.stream_id),
                   Kv("type", static_cast<int>(frame->header.type)));
          continue;
        }
        Deliver(frame->header.stream_id, ParseResponse(frame->data));
      } else if (auto* too_long = std::get_if<FrameTooLong>(&event)) {
        Deliver(too_long->header.stream_id,
                Reply(Status{StatusCode::kResourceExhausted,
                             "response of " + std::to_string(too_long->header.length) +
                                 " bytes exceeds the maximum message size"}));
      } else {
        const FrameHeader& header = std::get<UnknownMessageType>(event).header;
        ::shutdown(socket_.Get(), SHUT_RDWR);
        return Fail(Error(EPROTO, "unknown ttrpc message type " +
                                      std::to_string(static_cast<int>(header.type)) +
                                      " from the server"));
      }
    }
  }
}

void Client::Deliver(uint32_t stream_id, Result<Reply> result) {
  std::lock_guard lock(mu_);
  const auto it = pending_.find(stream_id);
  if (it == pending_.end()) {
    // Its caller timed out, or the server made it up.
    LogEvent(spdlog::level::debug, "ttrpc_response_dropped", Kv("stream", stream_id));
    return;
  }
  it->second->result = std::move(result);
  pending_.erase(it);
  delivered_.notify_all();
}

void Client::Fail(const Error& error) {
  std::lock_guard lock(mu_);
  if (!failed_) failed_ = error;
  for (auto& [id, call] : pending_) call->result = Error(*failed_);
  pending_.clear();
  delivered_.notify_all();
}

}  // namespace hull::ttrpc
