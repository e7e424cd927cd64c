#include "test_support.h"

#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <cerrno>
#include <filesystem>
#include <stop_token>
#include <variant>

#include "hull/common/check.h"
#include "hull/ttrpc/unix_socket.h"
#include "hull/ttrpc/wire.h"

namespace hull::ttrpc::testing {

using namespace std::chrono_literals;

TempDir::TempDir() {
  char name[] = "/tmp/hull-ttrpc-XXXXXX";
  const char* made = ::mkdtemp(name);
  HULL_CHECK(made != nullptr);
  path_ = made;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

void Gate::Open() {
  std::lock_guard lock(mu_);
  open_ = true;
  cv_.notify_all();
}

bool Gate::WaitOpen(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return open_; });
}

bool Gate::is_open() {
  std::lock_guard lock(mu_);
  return open_;
}

namespace {

// Waits until `gate` opens or `stop` is requested (polled: a test has
// time); true when the gate opened.
bool WaitGateOrStop(Gate& gate, const std::stop_token& stop) {
  while (!stop.stop_requested()) {
    if (gate.WaitOpen(10ms)) return true;
  }
  return false;
}

}  // namespace

Services MakeTestServices(TestHandlers& handlers) {
  Services services;
  const std::string service(kTestService);
  auto add = [&](std::string_view method, Handler handler) {
    HULL_CHECK(services.Register(service, method, std::move(handler)).ok());
  };
  add("Echo",
      [](const CallContext&, std::string_view payload) -> Reply { return std::string(payload); });
  add("NotFound", [](const CallContext&, std::string_view) -> Reply {
    return Status{StatusCode::kNotFound, "no such thing"};
  });
  add("Exists",
      [](const CallContext&, std::string_view) -> Reply { return Error(EEXIST, "already there"); });
  add("Block", [&handlers](const CallContext& call, std::string_view) -> Reply {
    handlers.entered_block.Open();
    const bool released = WaitGateOrStop(handlers.release, call.stop);
    handlers.left_block.Open();
    return std::string(released ? "released" : "stopped");
  });
  add("UntilStop", [](const CallContext& call, std::string_view) -> Reply {
    Gate never;
    WaitGateOrStop(never, call.stop);
    return std::string("stopped");
  });
  add("Huge", [](const CallContext&, std::string_view) -> Reply {
    return std::string(kMaxMessageLength, 'x');
  });
  add("Context", [](const CallContext& call, std::string_view) -> Reply {
    std::string text = call.deadline ? "1;" : "0;";
    for (const auto& [key, value] : call.metadata) text += key + "=" + value + ",";
    return text;
  });
  return services;
}

TestServer::TestServer(ServerOptions options) : path(dir.File("s.sock")) {
  auto listener = ListenUnix(path);
  HULL_CHECK(listener.ok());
  auto started = Server::Start(std::move(*listener), MakeTestServices(handlers), options);
  HULL_CHECK(started.ok());
  server = std::move(*started);
}

RawPeer RawPeer::Connect(const std::string& path) {
  auto fd = ConnectUnix(path);
  return RawPeer(fd.ok() ? std::move(*fd) : UniqueFd());
}

bool RawPeer::Send(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_.Get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool RawPeer::SendRequest(uint32_t stream_id, std::string_view service, std::string_view method,
                          std::string_view payload, uint8_t flags) {
  const std::string request = SerializeRequest(service, method, payload, {}, {});
  return Send(EncodeFrame(stream_id, MessageType::kRequest, flags, request));
}

std::optional<Frame> RawPeer::ReadFrame(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    DecodeEvent event = decoder_.Next();
    if (auto* frame = std::get_if<Frame>(&event)) return std::move(*frame);
    if (!std::holds_alternative<NeedMoreBytes>(event)) return std::nullopt;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{fd_.Get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
    char buffer[65536];
    const ssize_t n = ::read(fd_.Get(), buffer, sizeof(buffer));
    if (n <= 0) return std::nullopt;
    decoder_.Feed(std::string_view(buffer, static_cast<size_t>(n)));
  }
}

bool RawPeer::ClosedWithin(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_.Get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buffer[4096];
    const ssize_t n = ::read(fd_.Get(), buffer, sizeof(buffer));
    if (n == 0 || (n < 0 && errno == ECONNRESET)) return true;
    if (n < 0) return false;
  }
}

std::optional<DecodedResponse> ReadResponse(RawPeer& peer, std::chrono::milliseconds timeout) {
  auto frame = peer.ReadFrame(timeout);
  if (!frame || frame->header.type != MessageType::kResponse) return std::nullopt;
  wire::Response response;
  if (!response.ParseFromString(frame->data)) return std::nullopt;
  return DecodedResponse{frame->header.stream_id, static_cast<StatusCode>(response.status().code()),
                         response.status().message(), response.payload()};
}

}  // namespace hull::ttrpc::testing
