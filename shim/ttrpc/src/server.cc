#include "hull/ttrpc/server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>

#include "hull/common/check.h"
#include "hull/common/eintr.h"
#include "hull/common/logging.h"
#include "server_connection.h"

namespace hull::ttrpc {
namespace {

// Accept errors that say "not now" rather than "never".
bool IsTransientAcceptError(int err) {
  return err == EAGAIN || err == EWOULDBLOCK || err == ECONNABORTED || err == EINTR ||
         err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM || err == EPROTO;
}

}  // namespace

Result<std::unique_ptr<Server>> Server::Start(UniqueFd listener, Services services,
                                              ServerOptions options) {
  if (!listener) return Error(EBADF, "ttrpc server: no listening socket");
  const int flags = ::fcntl(listener.Get(), F_GETFL);
  if (flags < 0 || ::fcntl(listener.Get(), F_SETFL, flags | O_NONBLOCK) != 0) {
    return Error::FromErrno(errno, "ttrpc server: making listening socket fd " +
                                       std::to_string(listener.Get()) + " non-blocking");
  }
  std::unique_ptr<Server> server(
      new Server(std::move(listener), std::move(services), std::move(options)));
  server->stop_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!server->stop_) return Error::FromErrno(errno, "ttrpc server: eventfd");
  try {
    server->accept_thread_ = std::thread([s = server.get()] { s->AcceptLoop(); });
  } catch (const std::system_error& e) {
    return Error(EAGAIN, std::string("ttrpc server: starting the accept thread: ") + e.what());
  }
  return server;
}

Server::Server(UniqueFd listener, Services services, ServerOptions options)
    : listener_(std::move(listener)), services_(std::move(services)), options_(options) {}

Server::~Server() { Shutdown(); }

void Server::Shutdown() {
  HULL_CHECK(internal::CurrentHandlerOwner() != this);
  std::lock_guard lock(shutdown_mu_);
  if (shut_down_) return;
  shut_down_ = true;
  if (accept_thread_.joinable()) {
    const uint64_t one = 1;
    (void)!::write(stop_.Get(), &one, sizeof(one));
    accept_thread_.join();
  }
  listener_.Reset();
  // Every connection stops reading first, so that all handlers see their
  // stop at once; then each is joined (its handlers answer meanwhile).
  for (auto& connection : connections_) connection->Stop();
  for (auto& connection : connections_) connection->Join();
  connections_.clear();
}

bool Server::WaitForStop(int timeout_ms) const {
  pollfd stop{stop_.Get(), POLLIN, 0};
  return RetryOnEintr([&] { return ::poll(&stop, 1, timeout_ms); }) > 0;
}

void Server::AcceptLoop() {
  for (;;) {
    pollfd fds[2] = {{listener_.Get(), POLLIN, 0}, {stop_.Get(), POLLIN, 0}};
    if (RetryOnEintr([&] { return ::poll(fds, 2, -1); }) < 0) {
      LogEvent(spdlog::level::err, "ttrpc_accept_stopped", Kv("error", std::strerror(errno)));
      return;
    }
    if (fds[1].revents != 0) return;
    if ((fds[0].revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) {
      LogEvent(spdlog::level::err, "ttrpc_accept_stopped",
               Kv("error", "the listening socket failed"));
      return;
    }
    UniqueFd connection(::accept4(listener_.Get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!connection) {
      const int err = errno;
      if (!IsTransientAcceptError(err)) {
        LogEvent(spdlog::level::err, "ttrpc_accept_stopped", Kv("error", std::strerror(err)));
        return;
      }
      if (err != EAGAIN && err != EWOULDBLOCK && err != EINTR) {
        // Out of descriptors or memory: give others a moment (ttrpc backs off too).
        LogEvent(spdlog::level::warn, "ttrpc_accept_failed", Kv("error", std::strerror(err)));
        if (WaitForStop(100)) return;
      }
      continue;
    }
    ReapFinishedConnections();
    ServeConnection(std::move(connection));
  }
}

void Server::ServeConnection(UniqueFd connection) {
  if (connections_.size() >= options_.max_connections) {
    LogEvent(spdlog::level::warn, "ttrpc_connection_refused",
             Kv("connections", connections_.size()));
    return;
  }
  const auto ms = options_.send_timeout.count();
  const timeval timeout{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>(ms % 1000 * 1000)};
  if (ms > 0 &&
      ::setsockopt(connection.Get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout)) != 0) {
    LogEvent(spdlog::level::warn, "ttrpc_connection_refused",
             Kv("error", Error::FromErrno(errno, "SO_SNDTIMEO").ToString()));
    return;
  }
  auto served = std::make_unique<internal::ServerConnection>(std::move(connection), services_,
                                                             options_, this);
  try {
    served->Start();
  } catch (const std::system_error& e) {
    LogEvent(spdlog::level::warn, "ttrpc_connection_refused", Kv("error", e.what()));
    return;
  }
  connections_.push_back(std::move(served));
}

void Server::ReapFinishedConnections() {
  for (auto it = connections_.begin(); it != connections_.end();) {
    it = (*it)->finished() ? connections_.erase(it) : std::next(it);
  }
}

}  // namespace hull::ttrpc
