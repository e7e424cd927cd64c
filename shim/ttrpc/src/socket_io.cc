#include "socket_io.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "hull/common/eintr.h"

namespace hull::ttrpc::internal {

Result<void> SendAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n =
        RetryOnEintr([&] { return ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL); });
    if (n < 0) return Error::FromErrno(errno, "send on fd " + std::to_string(fd));
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Ok();
}

Result<size_t> ReadSome(int fd, char* buffer, size_t size) {
  const ssize_t n = RetryOnEintr([&] { return ::read(fd, buffer, size); });
  if (n < 0) return Error::FromErrno(errno, "read on fd " + std::to_string(fd));
  return static_cast<size_t>(n);
}

}  // namespace hull::ttrpc::internal
