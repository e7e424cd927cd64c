#include "hull/ttrpc/unix_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "hull/common/eintr.h"

namespace hull::ttrpc {
namespace {

sockaddr_un MakeAddress(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  return addr;
}

}  // namespace

Result<std::string> UnixSocketPath(std::string_view address) {
  constexpr std::string_view kScheme = "unix://";
  std::string_view path = address;
  if (path.substr(0, kScheme.size()) == kScheme) path.remove_prefix(kScheme.size());
  if (path.empty() || path.size() >= sizeof(sockaddr_un::sun_path)) {
    return Error(EINVAL, "unix socket address \"" + std::string(address) +
                             "\": the path is empty or longer than " +
                             std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " bytes");
  }
  return std::string(path);
}

Result<UniqueFd> ListenUnix(std::string_view address, int backlog) {
  HULL_ASSIGN_OR_RETURN(const std::string path, UnixSocketPath(address));
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return Error::FromErrno(errno, "socket(AF_UNIX) to listen on " + path);
  const sockaddr_un addr = MakeAddress(path);
  // SAFETY: sockaddr_un is what AF_UNIX's bind() reads through sockaddr*.
  if (::bind(fd.Get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    return Error::FromErrno(errno, "bind " + path);
  }
  if (::chmod(path.c_str(), 0600) != 0) {
    const int err = errno;
    ::unlink(path.c_str());
    return Error::FromErrno(err, "chmod 0600 " + path);
  }
  if (::listen(fd.Get(), backlog) != 0) {
    const int err = errno;
    ::unlink(path.c_str());
    return Error::FromErrno(err, "listen on " + path);
  }
  return fd;
}

Result<UniqueFd> ConnectUnix(std::string_view address) {
  HULL_ASSIGN_OR_RETURN(const std::string path, UnixSocketPath(address));
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return Error::FromErrno(errno, "socket(AF_UNIX) to connect to " + path);
  const sockaddr_un addr = MakeAddress(path);
  // SAFETY: as in ListenUnix.
  const int rc = RetryOnEintr(
      [&] { return ::connect(fd.Get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)); });
  if (rc != 0) return Error::FromErrno(errno, "connect to " + path);
  return fd;
}

}  // namespace hull::ttrpc
