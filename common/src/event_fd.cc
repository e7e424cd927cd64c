#include "hull/common/event_fd.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>

#include "hull/common/eintr.h"

namespace hull {

Result<EventFd> EventFd::Create(bool semaphore) {
  const int flags = EFD_CLOEXEC | EFD_NONBLOCK | (semaphore ? EFD_SEMAPHORE : 0);
  UniqueFd fd(::eventfd(0, flags));
  if (!fd) return Error::FromErrno(errno, "eventfd");
  return EventFd(std::move(fd));
}

Result<void> EventFd::Signal(uint64_t value) const {
  const ssize_t n = RetryOnEintr([&] { return ::write(fd_.Get(), &value, sizeof(value)); });
  if (n == sizeof(value)) return Ok();
  if (n < 0 && errno == EAGAIN) return Ok();
  return Error::FromErrno(n < 0 ? errno : EIO, "write eventfd");
}

Result<uint64_t> EventFd::Consume() const {
  uint64_t value = 0;
  const ssize_t n = RetryOnEintr([&] { return ::read(fd_.Get(), &value, sizeof(value)); });
  if (n == sizeof(value)) return value;
  if (n < 0 && errno == EAGAIN) return uint64_t{0};
  return Error::FromErrno(n < 0 ? errno : EIO, "read eventfd");
}

}  // namespace hull
