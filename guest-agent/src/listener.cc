#include "listener.h"

#include <grpcpp/server_posix.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "hull/common/eintr.h"
#include "hull/common/logging.h"

namespace hull::agent {

Result<ListenAddress> ParseListenAddress(std::string_view text) {
  ListenAddress address;
  if (text.rfind("vsock:", 0) == 0) {
    std::string_view port = text.substr(6);
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), address.port);
    if (ec != std::errc() || end != port.data() + port.size() || address.port == 0) {
      return Error(EINVAL, "listen address \"" + std::string(text) +
                               "\": the vsock port must be a number > 0");
    }
    address.kind = ListenAddress::Kind::kVsock;
    return address;
  }
  if (text.rfind("unix:", 0) == 0) {
    address.kind = ListenAddress::Kind::kUnix;
    address.path = std::string(text.substr(5));
    if (address.path.empty() || address.path.size() >= sizeof(sockaddr_un::sun_path)) {
      return Error(EINVAL, "listen address \"" + std::string(text) +
                               "\": the socket path is empty or too long");
    }
    return address;
  }
  return Error(EINVAL,
               "listen address \"" + std::string(text) + "\" must be vsock:PORT or unix:PATH");
}

Result<std::unique_ptr<Listener>> Listener::Listen(const ListenAddress& address) {
  std::unique_ptr<Listener> listener(new Listener());
  if (address.kind == ListenAddress::Kind::kVsock) {
    listener->socket_ = UniqueFd(::socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!listener->socket_)
      return Error::FromErrno(errno, "vsock socket (is the VM's vsock device there?)");
    sockaddr_vm addr{};
    addr.svm_family = AF_VSOCK;
    addr.svm_cid = VMADDR_CID_ANY;
    addr.svm_port = address.port;
    if (::bind(listener->socket_.Get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      return Error::FromErrno(errno, "binding vsock port " + std::to_string(address.port));
    }
  } else {
    listener->socket_ = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!listener->socket_) return Error::FromErrno(errno, "unix socket");
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, address.path.data(), address.path.size());
    ::unlink(address.path.c_str());
    if (::bind(listener->socket_.Get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      return Error::FromErrno(errno, "binding " + address.path);
    }
    ::chmod(address.path.c_str(), 0600);
    listener->unix_path_ = address.path;
  }
  if (::listen(listener->socket_.Get(), 64) != 0) return Error::FromErrno(errno, "listen");
  listener->stop_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!listener->stop_) return Error::FromErrno(errno, "eventfd");
  return listener;
}

Listener::~Listener() {
  uint64_t one = 1;
  (void)!::write(stop_.Get(), &one, sizeof(one));
  if (thread_.joinable()) thread_.join();
  if (!unix_path_.empty()) ::unlink(unix_path_.c_str());
}

void Listener::Serve(grpc::Server* server) {
  thread_ = std::thread([this, server] { AcceptLoop(server); });
}

void Listener::AcceptLoop(grpc::Server* server) {
  for (;;) {
    pollfd fds[2] = {{socket_.Get(), POLLIN, 0}, {stop_.Get(), POLLIN, 0}};
    if (RetryOnEintr([&] { return ::poll(fds, 2, -1); }) < 0) return;
    if (fds[1].revents != 0) return;
    int fd = ::accept4(socket_.Get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED) continue;
      LogEvent(spdlog::level::warn, "accept_failed", Kv("errno", errno));
      // EMFILE and the like: do not spin.
      ::usleep(100 * 1000);
      continue;
    }
    LogEvent(spdlog::level::debug, "connection", Kv("fd", fd));
    // gRPC owns the fd from here on.
    grpc::AddInsecureChannelFromFd(server, fd);
  }
}

}  // namespace hull::agent
