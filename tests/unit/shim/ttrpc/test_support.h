#pragma once

// What the ttrpc tests share: a temporary directory, a server with test
// handlers on a socket in it, and a raw peer that writes and reads frames
// byte for byte (to play a client or server that misbehaves).

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "hull/common/unique_fd.h"
#include "hull/ttrpc/frame.h"
#include "hull/ttrpc/server.h"
#include "hull/ttrpc/services.h"

namespace hull::ttrpc::testing {

inline constexpr std::chrono::milliseconds kWait{5000};  // for what should come at once

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string File(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

// A one-shot gate a test opens for a blocked handler.
class Gate {
 public:
  void Open();
  // True when opened before `timeout`.
  bool WaitOpen(std::chrono::milliseconds timeout);
  bool is_open();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

inline constexpr std::string_view kTestService = "hull.test.Echo";

// Handlers of kTestService:
//   Echo      answers its payload
//   NotFound  answers NOT_FOUND "no such thing"
//   Exists    fails with Error(EEXIST, "already there")
//   Block     opens `entered_block`, waits until the test opens `release`
//             (or the call's stop), opens `left_block`, answers "released"
//             (or "stopped")
//   UntilStop waits for the call's stop, answers "stopped"
//   Huge      answers kMaxMessageLength bytes (too many with the envelope)
//   Context   answers "<deadline set 0|1>;<k=v,...>"
struct TestHandlers {
  Gate entered_block;
  Gate release;
  Gate left_block;  // opened as Block returns
};
Services MakeTestServices(TestHandlers& handlers);

// A Server for the test handlers on dir/s.sock.
struct TestServer {
  explicit TestServer(ServerOptions options = {});
  TempDir dir;
  std::string path;
  TestHandlers handlers;
  std::unique_ptr<Server> server;
};

// Writes raw bytes and reads frames on one connection.
class RawPeer {
 public:
  explicit RawPeer(UniqueFd fd) : fd_(std::move(fd)) {}
  static RawPeer Connect(const std::string& path);

  bool connected() const { return fd_.valid(); }
  int fd() const { return fd_.Get(); }
  bool Send(std::string_view bytes);
  bool SendRequest(uint32_t stream_id, std::string_view service, std::string_view method,
                   std::string_view payload, uint8_t flags = 0);
  // The next frame, or nullopt on timeout, end of stream or a decode error.
  std::optional<Frame> ReadFrame(std::chrono::milliseconds timeout = kWait);
  // True when the peer closes the connection (end of stream) within `timeout`.
  bool ClosedWithin(std::chrono::milliseconds timeout = kWait);

 private:
  UniqueFd fd_;
  FrameDecoder decoder_;
};

// A Response frame's status and payload (Status code -1 when it does not parse).
struct DecodedResponse {
  uint32_t stream_id = 0;
  StatusCode code = StatusCode::kOk;
  std::string message;
  std::string payload;
};
std::optional<DecodedResponse> ReadResponse(RawPeer& peer,
                                            std::chrono::milliseconds timeout = kWait);

}  // namespace hull::ttrpc::testing
