#pragma once

#include <cerrno>
#include <utility>

namespace hull {

// Calls `syscall()` again while it fails with EINTR, e.g.
//   ssize_t n = RetryOnEintr([&] { return ::read(fd, buf, len); });
// Do not use it for close(2), which must never be retried on Linux.
template <typename F>
auto RetryOnEintr(F&& syscall) -> decltype(syscall()) {
  decltype(syscall()) result;
  do {
    result = syscall();
  } while (result == -1 && errno == EINTR);
  return result;
}

}  // namespace hull
