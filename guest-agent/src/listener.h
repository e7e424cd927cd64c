#pragma once

// Where hull-agent listens: "vsock:PORT" (in the guest) or "unix:PATH" (on a
// host). Debian's gRPC 1.51 has no vsock address scheme, so the agent accepts
// connections itself and hands each to gRPC (AddInsecureChannelFromFd).

#include <grpcpp/grpcpp.h>

#include <string>
#include <string_view>
#include <thread>

#include "hull/common/result.h"
#include "hull/common/unique_fd.h"

namespace hull::agent {

struct ListenAddress {
  enum class Kind { kVsock, kUnix };
  Kind kind = Kind::kVsock;
  uint32_t port = 0;
  std::string path;
};

inline constexpr uint32_t kDefaultVsockPort = 1024;

Result<ListenAddress> ParseListenAddress(std::string_view text);

class Listener {
 public:
  static Result<std::unique_ptr<Listener>> Listen(const ListenAddress& address);
  ~Listener();

  // Accepts connections for `server` on a thread of its own until destroyed.
  void Serve(grpc::Server* server);

 private:
  Listener() = default;
  void AcceptLoop(grpc::Server* server);

  UniqueFd socket_;
  UniqueFd stop_;
  std::string unix_path_;
  std::thread thread_;
};

}  // namespace hull::agent
