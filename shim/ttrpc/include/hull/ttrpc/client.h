#pragma once

// A ttrpc client on one connection, for any number of threads at once: each
// call gets the next odd stream id, its request frame is written whole under
// a lock, and a reader thread hands each response to the call waiting for
// its stream id, in whatever order they come.
//
//   HULL_ASSIGN_OR_RETURN(auto client, hull::ttrpc::Client::Connect(ttrpc_address));
//   HULL_TRY(client->Call("containerd.services.events.ttrpc.v1.Events", "Forward",
//                         forward.SerializeAsString(), std::chrono::seconds(5)));
//
// When the connection fails every waiting and later call fails (EPIPE or
// the read error); reconnecting is the owner's choice: make a new Client.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "hull/common/result.h"
#include "hull/common/unique_fd.h"
#include "hull/ttrpc/services.h"
#include "hull/ttrpc/wire.h"

namespace hull::ttrpc {

class Client {
 public:
  // Connects to a Unix socket ("/path" or "unix:///path").
  static Result<std::unique_ptr<Client>> Connect(std::string_view address);
  // Talks over an already connected stream socket.
  static Result<std::unique_ptr<Client>> FromSocket(UniqueFd socket);

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  // Closes the connection (calls still waiting fail) and joins the reader.
  // No call may be running in another thread by then.
  ~Client();

  // One call. `timeout` > 0 is sent along (timeout_nano) and bounds the
  // wait: ETIMEDOUT after it, and a late response is dropped; 0 waits as
  // long as the connection lasts. The result is the server's answer, OK or
  // not; an Error means no answer came (connection failed, timeout, a
  // request over 4 MiB: EMSGSIZE).
  Result<Reply> Invoke(std::string_view service, std::string_view method, std::string_view payload,
                       std::chrono::nanoseconds timeout, const Metadata& metadata = {});

  // Invoke() with a non-OK status made an Error too: its errno from
  // ErrnoFromStatusCode (NOT_FOUND -> ENOENT, ...), its message
  // "ttrpc <service>/<method>: <CODE>: <server's message>".
  Result<std::string> Call(std::string_view service, std::string_view method,
                           std::string_view payload, std::chrono::nanoseconds timeout,
                           const Metadata& metadata = {});

  // False once the connection has failed or closed.
  bool connected() const;

 private:
  struct PendingCall {
    std::optional<Result<Reply>> result;  // set by the reader; guarded by mu_
  };

  explicit Client(UniqueFd socket);
  void ReadLoop();
  // Hands `result` to the call on `stream_id`, if it still waits.
  void Deliver(uint32_t stream_id, Result<Reply> result);
  // Fails every waiting call and all later ones with `error`.
  void Fail(const Error& error);

  const UniqueFd socket_;
  std::mutex send_mu_;  // one frame at a time on the socket
  mutable std::mutex mu_;
  std::condition_variable delivered_;
  uint32_t next_stream_id_ = 1;               // guarded by mu_
  std::map<uint32_t, PendingCall*> pending_;  // guarded by mu_
  std::optional<Error> failed_;               // guarded by mu_
  std::thread reader_;
};

}  // namespace hull::ttrpc
