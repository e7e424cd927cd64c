#pragma once

// Moves a container process's stdio between host file descriptors (a
// terminal, the engine's FIFOs) and the agent's streaming RPCs.

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "agent.grpc.pb.h"
#include "hull/common/unique_fd.h"

namespace hull::sandbox {

namespace v1 = ::hull::agent::v1;

// One of stdout/stderr (or the tty) copied to `fd` until the process's end
// of it closes. Start it before the process starts, so nothing is missed.
class OutputRelay {
 public:
  OutputRelay(v1::Agent::Stub& agent, const std::string& container_id, const std::string& exec_id,
              v1::ReadOutputRequest::Stream stream, int fd);
  ~OutputRelay();  // cancels and joins
  OutputRelay(const OutputRelay&) = delete;
  OutputRelay& operator=(const OutputRelay&) = delete;
  // Waits for the end of the stream.
  void Join();

 private:
  grpc::ClientContext context_;
  std::thread thread_;
};

// `fd` copied to the process's stdin until EOF on `fd` (then the stdin is
// closed) or Stop().
class InputRelay {
 public:
  InputRelay(v1::Agent::Stub& agent, const std::string& container_id, const std::string& exec_id,
             int fd);
  ~InputRelay();  // Stop()
  InputRelay(const InputRelay&) = delete;
  InputRelay& operator=(const InputRelay&) = delete;
  void Stop();

 private:
  UniqueFd stop_;  // eventfd
  grpc::ClientContext context_;
  std::thread thread_;
};

}  // namespace hull::sandbox
