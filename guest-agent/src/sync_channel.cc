#include "sync_channel.h"

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>

#include "hull/common/eintr.h"

namespace hull::agent {
namespace {

// Reads exactly `size` bytes; false when the stream ended before the first
// byte (a clean end), an error when it ended in the middle.
Result<bool> ReadExactly(int fd, char* data, size_t size) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = RetryOnEintr([&] { return ::read(fd, data + done, size - done); });
    if (n < 0) return Error::FromErrno(errno, "reading sync frame");
    if (n == 0) {
      if (done == 0) return false;
      return Error(EPROTO, "sync frame cut short: the peer closed mid-frame");
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

Result<void> SendFrame(int fd, std::string_view payload) {
  if (payload.size() > kMaxFrame) {
    return Error(EMSGSIZE,
                 "sync frame of " + std::to_string(payload.size()) + " bytes is too large");
  }
  const auto size = static_cast<uint32_t>(payload.size());
  std::array<char, 4> header = {
      static_cast<char>(size & 0xff), static_cast<char>((size >> 8) & 0xff),
      static_cast<char>((size >> 16) & 0xff), static_cast<char>((size >> 24) & 0xff)};
  std::string frame(header.data(), header.size());
  frame.append(payload);
  size_t done = 0;
  while (done < frame.size()) {
    // MSG_NOSIGNAL: a dead peer is an error, not a SIGPIPE.
    ssize_t n = RetryOnEintr(
        [&] { return ::send(fd, frame.data() + done, frame.size() - done, MSG_NOSIGNAL); });
    if (n < 0) return Error::FromErrno(errno, "writing sync frame");
    done += static_cast<size_t>(n);
  }
  return {};
}

Result<std::optional<std::string>> ReceiveFrame(int fd) {
  std::array<unsigned char, 4> header{};
  HULL_ASSIGN_OR_RETURN(bool got, ReadExactly(fd, reinterpret_cast<char*>(header.data()), 4));
  if (!got) return std::optional<std::string>();
  const uint32_t size = uint32_t{header[0]} | (uint32_t{header[1]} << 8) |
                        (uint32_t{header[2]} << 16) | (uint32_t{header[3]} << 24);
  if (size > kMaxFrame) {
    return Error(EMSGSIZE,
                 "sync frame announces " + std::to_string(size) + " bytes, above the limit");
  }
  std::string payload(size, '\0');
  if (size > 0) {
    HULL_ASSIGN_OR_RETURN(bool complete, ReadExactly(fd, payload.data(), size));
    if (!complete) return Error(EPROTO, "sync frame cut short: header without payload");
  }
  return std::optional<std::string>(std::move(payload));
}

}  // namespace hull::agent
