#pragma once

// One connection of a Server (internal): its reader thread decodes frames
// and starts a thread per call; the call threads send their responses.

#include <atomic>
#include <cstdint>
#include <list>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>

#include "hull/common/unique_fd.h"
#include "hull/ttrpc/frame.h"
#include "hull/ttrpc/server.h"
#include "hull/ttrpc/services.h"
#include "ttrpc.pb.h"

namespace hull::ttrpc::internal {

// The server whose handler runs on this thread, if any (Server::Shutdown
// checks it is not called from one of its own handlers).
const void* CurrentHandlerOwner();

class ServerConnection {
 public:
  // `owner` only identifies the server for CurrentHandlerOwner().
  ServerConnection(UniqueFd fd, const Services& services, const ServerOptions& options,
                   const void* owner);
  ServerConnection(const ServerConnection&) = delete;
  ServerConnection& operator=(const ServerConnection&) = delete;
  // Stop() and Join().
  ~ServerConnection();

  // Starts the reader thread. May throw std::system_error (no thread).
  void Start();
  // Reads no more requests and requests every running handler's stop; the
  // reader then waits for the handlers, whose responses still go out.
  void Stop();
  void Join();
  // The reader has finished: the connection may be joined without waiting.
  bool finished() const { return finished_.load(std::memory_order_acquire); }

 private:
  struct Call {
    std::thread thread;
    bool done = false;  // guarded by calls_mu_
  };

  void ReadLoop();
  void OnFrame(Frame frame);
  void StartCall(uint32_t stream_id, wire::Request request);
  Reply RunCall(const wire::Request& request);
  void Answer(uint32_t stream_id, const Reply& reply);
  // Joins the call threads that are done, or all of them.
  void JoinCalls(bool all);

  const UniqueFd fd_;
  const Services& services_;
  const ServerOptions options_;
  const void* const owner_;
  std::stop_source stop_;
  std::mutex send_mu_;  // one frame at a time on the socket
  std::mutex calls_mu_;
  std::list<Call> calls_;        // guarded by calls_mu_
  size_t running_calls_ = 0;     // calls_ not done; guarded by calls_mu_
  uint32_t last_stream_id_ = 0;  // reader thread only
  std::thread reader_;
  std::atomic<bool> finished_{false};
};

}  // namespace hull::ttrpc::internal
