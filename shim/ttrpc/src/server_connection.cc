#include "server_connection.h"

#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include "hull/common/logging.h"
#include "hull/ttrpc/wire.h"
#include "socket_io.h"

namespace hull::ttrpc::internal {
namespace {

thread_local const void* t_handler_owner = nullptr;

constexpr size_t kReadChunk = 64 * 1024;

std::string Describe(const FrameHeader& header) {
  return "stream " + std::to_string(header.stream_id) + ", type " +
         std::to_string(static_cast<int>(header.type)) + ", " + std::to_string(header.length) +
         " bytes";
}

}  // namespace

const void* CurrentHandlerOwner() { return t_handler_owner; }

ServerConnection::ServerConnection(UniqueFd fd, const Services& services,
                                   const ServerOptions& options, const void* owner)
    : fd_(std::move(fd)), services_(services), options_(options), owner_(owner) {}

ServerConnection::~ServerConnection() {
  Stop();
  Join();
}

void ServerConnection::Start() {
  reader_ = std::thread([this] { ReadLoop(); });
}

void ServerConnection::Stop() {
  // Wakes the reader's read() with end of stream; writes still work.
  ::shutdown(fd_.Get(), SHUT_RD);
  stop_.request_stop();
}

void ServerConnection::Join() {
  if (reader_.joinable()) reader_.join();
}

void ServerConnection::ReadLoop() {
  FrameDecoder decoder;
  std::vector<char> buffer(kReadChunk);
  std::string reason = "peer closed the connection";
  for (bool open = true; open;) {
    auto n = ReadSome(fd_.Get(), buffer.data(), buffer.size());
    if (!n.ok()) {
      if (n.error().code() != ECONNRESET) reason = n.error().ToString();
      break;
    }
    if (*n == 0) {
      if (!decoder.AtFrameBoundary()) reason = "peer closed the connection inside a frame";
      break;
    }
    decoder.Feed(std::string_view(buffer.data(), *n));
    while (open) {
      DecodeEvent event = decoder.Next();
      if (std::holds_alternative<NeedMoreBytes>(event)) break;
      if (auto* frame = std::get_if<Frame>(&event)) {
        OnFrame(std::move(*frame));
      } else if (auto* too_long = std::get_if<FrameTooLong>(&event)) {
        // As ttrpc: the data is discarded, the stream answered, the connection kept.
        Answer(too_long->header.stream_id,
               Status{StatusCode::kResourceExhausted,
                      "message length " + std::to_string(too_long->header.length) +
                          " exceed maximum message size of " + std::to_string(kMaxMessageLength)});
      } else {
        const auto& unknown = std::get<UnknownMessageType>(event);
        reason = "unknown message type (" + Describe(unknown.header) + "): not ttrpc";
        open = false;
      }
    }
  }
  // Handlers see their stop; their responses still go out before the
  // socket is shut (closing it is left to the destructor, after Join(),
  // so that Stop() never acts on a descriptor number reused elsewhere).
  stop_.request_stop();
  JoinCalls(/*all=*/true);
  ::shutdown(fd_.Get(), SHUT_RDWR);
  LogEvent(spdlog::level::debug, "ttrpc_connection_closed", Kv("fd", fd_.Get()),
           Kv("reason", reason));
  finished_.store(true, std::memory_order_release);
}

void ServerConnection::OnFrame(Frame frame) {
  const FrameHeader& header = frame.header;
  if (header.type == MessageType::kResponse) {
    // ttrpc ignores these "for future compatibility"; so do we.
    LogEvent(spdlog::level::debug, "ttrpc_response_ignored", Kv("frame", Describe(header)));
    return;
  }
  if (header.stream_id % 2 != 1) {
    Answer(header.stream_id, Status{StatusCode::kInvalidArgument,
                                    "StreamID must be odd for client initiated streams"});
    return;
  }
  if (header.type == MessageType::kData) {
    // ttrpc 1.2 stream data; no stream is ever open here (see below).
    Answer(header.stream_id,
           Status{StatusCode::kInvalidArgument,
                  "StreamID is no longer active (this server serves unary calls only)"});
    return;
  }
  if (header.stream_id <= last_stream_id_) {
    Answer(header.stream_id,
           Status{StatusCode::kInvalidArgument, "StreamID cannot be re-used and must increment"});
    return;
  }
  last_stream_id_ = header.stream_id;
  auto request = ParseRequest(frame.data);
  if (!request.ok()) {
    Answer(header.stream_id, Status{StatusCode::kInvalidArgument,
                                    "unmarshal request error: " + request.error().message()});
    return;
  }
  if ((header.flags & (kFlagRemoteOpen | kFlagRemoteClosed)) != 0) {
    // A streaming call (ttrpc 1.2). containerd 1.6's shim API has none.
    Answer(header.stream_id, Status{StatusCode::kUnimplemented,
                                    "streaming calls are not supported: " + request->service() +
                                        "/" + request->method()});
    return;
  }
  StartCall(header.stream_id, std::move(request).value());
}

void ServerConnection::StartCall(uint32_t stream_id, wire::Request request) {
  JoinCalls(/*all=*/false);
  std::unique_lock lock(calls_mu_);
  if (running_calls_ >= options_.max_calls_per_connection) {
    lock.unlock();
    Answer(stream_id, Status{StatusCode::kResourceExhausted,
                             "too many calls in flight on this connection (" +
                                 std::to_string(options_.max_calls_per_connection) + ")"});
    return;
  }
  auto call = calls_.emplace(calls_.end());
  try {
    call->thread = std::thread([this, stream_id, call, request = std::move(request)] {
      const Reply reply = RunCall(request);
      {
        // Counted out before the answer goes, so that a client that has its
        // answer may start another call at the limit.
        std::lock_guard count_lock(calls_mu_);
        --running_calls_;
      }
      Answer(stream_id, reply);
      std::lock_guard done_lock(calls_mu_);
      call->done = true;
    });
  } catch (const std::system_error& e) {
    calls_.erase(call);
    lock.unlock();
    Answer(stream_id, Status{StatusCode::kResourceExhausted,
                             std::string("no thread for the call: ") + e.what()});
    return;
  }
  ++running_calls_;
}

Reply ServerConnection::RunCall(const wire::Request& request) {
  t_handler_owner = owner_;
  CallContext call = MakeCallContext(request, std::chrono::steady_clock::now());
  call.stop = stop_.get_token();
  Reply reply = services_.Call(call, request.payload());
  t_handler_owner = nullptr;
  return reply;
}

void ServerConnection::Answer(uint32_t stream_id, const Reply& reply) {
  std::string data = SerializeResponse(reply);
  if (data.size() > kMaxMessageLength) {
    data = SerializeResponse(Status{
        StatusCode::kResourceExhausted,
        "response of " + std::to_string(data.size()) + " bytes exceeds the maximum message size"});
  }
  const std::string frame = EncodeFrame(stream_id, MessageType::kResponse, 0, data);
  std::lock_guard lock(send_mu_);
  auto sent = SendAll(fd_.Get(), frame);
  if (!sent.ok()) {
    // The peer is gone or reads nothing: end the connection (the reader
    // wakes up with end of stream).
    LogEvent(spdlog::level::warn, "ttrpc_send_failed", Kv("stream", stream_id),
             Kv("error", sent.error().ToString()));
    ::shutdown(fd_.Get(), SHUT_RDWR);
  }
}

void ServerConnection::JoinCalls(bool all) {
  std::list<Call> finished;
  {
    std::lock_guard lock(calls_mu_);
    if (all) {
      finished.splice(finished.end(), calls_);
    } else {
      for (auto it = calls_.begin(); it != calls_.end();) {
        auto next = std::next(it);
        if (it->done) finished.splice(finished.end(), calls_, it);
        it = next;
      }
    }
  }
  for (Call& call : finished) call.thread.join();
}

}  // namespace hull::ttrpc::internal
