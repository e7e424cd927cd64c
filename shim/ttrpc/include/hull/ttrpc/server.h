#pragma once

// A ttrpc server: serves Services on one listening Unix socket (the shim's;
// containerd may open several connections to it).
//
//   HULL_ASSIGN_OR_RETURN(UniqueFd socket, hull::ttrpc::ListenUnix(path));
//   HULL_ASSIGN_OR_RETURN(auto server, hull::ttrpc::Server::Start(std::move(socket),
//                                                                 std::move(services)));
//   ...                    // serves on its own threads
//   server->Shutdown();    // or let it go out of scope
//
// Threads: one accepts; one per connection reads and decodes frames; each
// call runs on a thread of its own, so a handler may block (Task.Wait blocks
// until the process exits) while later calls on the same connection go on
// and are answered first: responses go out in the order handlers finish,
// each frame written whole under the connection's send lock. A thread per
// call, not a pool: containerd makes few calls, some of which block for
// the life of a container, and a fixed pool would let those starve the
// rest. ServerOptions::max_calls_per_connection bounds them instead.
//
// What a peer sends is checked, never trusted: a frame over 4 MiB is
// skipped and answered RESOURCE_EXHAUSTED; an even stream id, a reused one,
// a request that does not parse, stream data, or a streaming request (ttrpc
// 1.2) gets an error status on its stream; an unknown message type closes
// that connection only. Nothing a peer sends stops the server.

#include <chrono>
#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <thread>

#include "hull/common/result.h"
#include "hull/common/unique_fd.h"
#include "hull/ttrpc/services.h"

namespace hull::ttrpc {

namespace internal {
class ServerConnection;
}  // namespace internal

struct ServerOptions {
  // Calls one connection may have running; one more is answered
  // RESOURCE_EXHAUSTED at once (reading stays live, so a Kill still reaches
  // the handler that would end a blocked Wait).
  size_t max_calls_per_connection = 1024;
  // Connections served at once; one more is accepted and closed at once.
  size_t max_connections = 64;
  // A peer that takes no response bytes for this long loses its connection,
  // so that a stuck peer cannot hold a handler thread (or Shutdown) forever.
  std::chrono::milliseconds send_timeout{10'000};
};

class Server {
 public:
  // Serves `listener`, a listening stream socket (made non-blocking here),
  // on threads of its own. `services` is fixed from here on.
  static Result<std::unique_ptr<Server>> Start(UniqueFd listener, Services services,
                                               ServerOptions options);
  static Result<std::unique_ptr<Server>> Start(UniqueFd listener, Services services) {
    return Start(std::move(listener), std::move(services), ServerOptions{});
  }

  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server();

  // Stops accepting and closes the listening socket, requests every
  // running handler's stop, lets those handlers finish and send their
  // responses, then closes every connection and joins every thread. Returns
  // when all is done; idempotent. Must not be called from a handler (it
  // would wait for itself): a Shutdown RPC's handler should tell the main
  // thread instead.
  void Shutdown();

 private:
  Server(UniqueFd listener, Services services, ServerOptions options);
  void AcceptLoop();
  void ServeConnection(UniqueFd connection);
  // Joins and drops connections whose peer has gone.
  void ReapFinishedConnections();
  // Waits up to `timeout` for the stop signal; true when it came.
  bool WaitForStop(int timeout_ms) const;

  UniqueFd listener_;
  UniqueFd stop_;  // eventfd: Shutdown() wakes AcceptLoop with it
  const Services services_;
  const ServerOptions options_;
  std::thread accept_thread_;
  std::mutex shutdown_mu_;  // held through Shutdown(): a second caller waits for the first
  bool shut_down_ = false;  // guarded by shutdown_mu_
  // Only the accept thread adds and reaps; Shutdown() takes them after
  // joining it.
  std::list<std::unique_ptr<internal::ServerConnection>> connections_;
};

}  // namespace hull::ttrpc
