#pragma once

// The control API: a Unix stream socket (mode 0600) served by the event
// loop, several clients at once, one JSON request per line and one JSON
// response per line (see api_request.h for the requests).
//
//   ApiHandlers handlers{.state = ..., .pause = ..., .resume = ...,
//                        .stop = ..., .metrics = ...};
//   HULL_ASSIGN_OR_RETURN(auto api, ApiServer::Create(path, *loop, std::move(handlers)));
//
// A malformed request gets {"ok":false,"error":"..."} and the connection
// stays open; a line longer than kMaxApiRequestBytes gets the error and the
// connection is closed (the rest of the line cannot be trusted to be a
// request). Handlers run on the event loop thread; they must not block it,
// nor destroy the server (ask the loop to Stop and destroy it after Run).
//
// Create(), the destructor and everything else run on the event loop's
// thread (or while the loop is not running): the server's callbacks are
// registered with the loop and refer to it.

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "hull/common/result.h"
#include "hull/common/unique_fd.h"
#include "hull/vmm/core/api_request.h"
#include "hull/vmm/core/event_loop.h"
#include "hull/vmm/core/unix_listener.h"

namespace hull::vmm {

// What the VMM does for each op. An empty function answers "not supported".
struct ApiHandlers {
  // "running", "paused" or "stopping".
  std::function<Result<std::string>()> state;
  std::function<Result<void>()> pause;
  std::function<Result<void>()> resume;
  // Graceful (force=false: the VMM asks the guest and forces after its own
  // timeout) or immediate. Returns once the stop has been started.
  std::function<Result<void>(bool force)> stop;
  std::function<nlohmann::json()> metrics;
  // Sets the balloon's target (when given) and returns its state.
  std::function<Result<nlohmann::json>(std::optional<uint64_t> target_mib)> balloon;
};

class ApiServer {
 public:
  static constexpr size_t kMaxClients = 16;
  // Responses a client has not read yet; beyond it the client is dropped.
  static constexpr size_t kMaxPendingOutput = size_t{1} << 20;

  // Listens at `socket_path` (removing a stale socket; refusing a live one
  // or a non-socket) and registers with `loop`, which must outlive the
  // server.
  static Result<std::unique_ptr<ApiServer>> Create(std::string socket_path, EventLoop& loop,
                                                   ApiHandlers handlers);
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;
  // Closes every connection and unlinks the socket.
  ~ApiServer();

  const std::string& path() const noexcept { return listener_.path(); }

  // The response line for one request line (newline included); what a
  // client gets. Exposed for tests and reuse.
  std::string Respond(std::string_view line);

 private:
  struct Client {
    UniqueFd fd;
    std::string in;
    std::string out;
    bool watching_out = false;
  };

  ApiServer(EventLoop& loop, ApiHandlers handlers, UnixListener listener);
  void OnListenerReady();
  void OnClientReady(int fd, uint32_t events);
  // Reads what is available; false when the client is to be closed.
  bool ReadRequests(Client& client);
  // Sends what the socket takes; false on a dead or hopeless client.
  bool Flush(Client& client);
  void CloseClient(int fd);
  std::string Dispatch(const ApiRequest& request);

  EventLoop& loop_;
  ApiHandlers handlers_;
  UnixListener listener_;
  std::unordered_map<int, std::unique_ptr<Client>> clients_;
};

}  // namespace hull::vmm
