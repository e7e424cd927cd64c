#include "hull/vmm/core/unix_listener.h"

#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "hull/common/eintr.h"

namespace hull::vmm {
namespace {

Result<sockaddr_un> MakeAddress(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return Error(ENAMETOOLONG, fmt::format("socket path must be 1..{} bytes, is {}",
                                           sizeof(addr.sun_path) - 1, path.size()));
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  return addr;
}

// Removes a socket file that nobody serves; refuses anything else.
Result<void> RemoveStaleSocket(const std::string& path, const sockaddr_un& addr) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Ok();
    return Error::FromErrno(errno, "lstat");
  }
  if (!S_ISSOCK(st.st_mode)) {
    return Error(EEXIST, "the path exists and is not a socket: remove it or choose another path");
  }
  UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!probe) return Error::FromErrno(errno, "socket");
  // SAFETY: sockaddr_un is a sockaddr for connect(2); the usual socket cast.
  const int rc = RetryOnEintr([&] {
    return ::connect(probe.Get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  });
  if (rc == 0) {
    return Error(EADDRINUSE, "another process serves this socket: stop it or choose another path");
  }
  if (errno != ECONNREFUSED) return Error::FromErrno(errno, "probing the existing socket");
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return Error::FromErrno(errno, "removing the stale socket");
  }
  return Ok();
}

}  // namespace

Result<UnixListener> UnixListener::Create(std::string path, int backlog) {
  const std::string context = fmt::format("listening on {}", path);
  HULL_ASSIGN_OR_RETURN(const sockaddr_un addr, MakeAddress(path).WithContext(context));
  HULL_TRY(RemoveStaleSocket(path, addr).WithContext(context));

  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return Error::FromErrno(errno, fmt::format("{}: socket", context));
  // Linux creates the socket file with the socket inode's mode (less the
  // umask): setting it before bind leaves no window with a wider mode.
  if (::fchmod(fd.Get(), 0600) != 0) {
    return Error::FromErrno(errno, fmt::format("{}: fchmod 0600", context));
  }
  // SAFETY: sockaddr_un is a sockaddr for bind(2).
  if (::bind(fd.Get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    return Error::FromErrno(errno, fmt::format("{}: bind", context));
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int saved = errno;
    ::unlink(path.c_str());
    return Error::FromErrno(saved, fmt::format("{}: stat after bind", context));
  }
  UnixListener listener(std::move(path), std::move(fd), st.st_dev, st.st_ino);
  if (::listen(listener.fd(), backlog) != 0) {
    return Error::FromErrno(errno, fmt::format("{}: listen", context));
  }
  return listener;
}

UnixListener::UnixListener(UnixListener&& other) noexcept
    : path_(std::move(other.path_)), fd_(std::move(other.fd_)), dev_(other.dev_), ino_(other.ino_) {
  other.path_.clear();
}

UnixListener& UnixListener::operator=(UnixListener&& other) noexcept {
  if (this != &other) {
    UnlinkIfOurs();
    path_ = std::move(other.path_);
    fd_ = std::move(other.fd_);
    dev_ = other.dev_;
    ino_ = other.ino_;
    other.path_.clear();
  }
  return *this;
}

UnixListener::~UnixListener() { UnlinkIfOurs(); }

void UnixListener::UnlinkIfOurs() noexcept {
  if (path_.empty() || !fd_) return;
  // Only our own socket: someone may have replaced the file since.
  struct stat st {};
  if (::lstat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_) {
    ::unlink(path_.c_str());
  }
  path_.clear();
}

Result<UniqueFd> UnixListener::Accept() const {
  UniqueFd client(RetryOnEintr(
      [&] { return ::accept4(fd_.Get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC); }));
  if (client) return client;
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED) return UniqueFd();
  return Error::FromErrno(errno, fmt::format("accept on {}", path_));
}

}  // namespace hull::vmm
