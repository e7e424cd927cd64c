#pragma once

// A temporary directory and a line-oriented Unix socket client for tests.

#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>

#include "hull/common/unique_fd.h"

namespace hull::vmm::testing {

class TempDir {
 public:
  TempDir() {
    char name[] = "/tmp/hull-test-XXXXXX";
    const char* made = mkdtemp(name);
    path_ = made != nullptr ? made : "";
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string File(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

// Connects to `path`; an invalid fd on failure.
inline UniqueFd ConnectUnix(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), std::min(path.size(), sizeof(addr.sun_path) - 1));
  // SAFETY: sockaddr_un is a sockaddr for connect(2).
  if (::connect(fd.Get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    return UniqueFd();
  }
  return fd;
}

class LineClient {
 public:
  explicit LineClient(const std::string& path) : fd_(ConnectUnix(path)) {}
  bool connected() const { return fd_.valid(); }
  int fd() const { return fd_.Get(); }

  bool Send(std::string_view text) {
    while (!text.empty()) {
      const ssize_t n = ::send(fd_.Get(), text.data(), text.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      text.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // The next line (without its newline); nullopt on EOF, error or timeout.
  std::optional<std::string> ReadLine(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (size_t newline = buffer_.find('\n'); newline != std::string::npos) {
        std::string line = buffer_.substr(0, newline);
        buffer_.erase(0, newline + 1);
        return line;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd pfd{.fd = fd_.Get(), .events = POLLIN, .revents = 0};
      if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
      char chunk[4096];
      const ssize_t n = ::read(fd_.Get(), chunk, sizeof(chunk));
      if (n <= 0) return std::nullopt;
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }

  // Whether the server closed the connection (EOF) within `timeout`.
  bool SeesEof(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    pollfd pfd{.fd = fd_.Get(), .events = POLLIN, .revents = 0};
    if (::poll(&pfd, 1, static_cast<int>(timeout.count())) <= 0) return false;
    char chunk[4096];
    ssize_t n;
    while ((n = ::read(fd_.Get(), chunk, sizeof(chunk))) > 0) {
    }
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

 private:
  UniqueFd fd_;
  std::string buffer_;
};

}  // namespace hull::vmm::testing
