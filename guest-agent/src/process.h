#pragma once

// A container process as the agent sees it: its pid, the agent's ends of its
// stdio (pipes, or a pty master), and its exit status once the reaper
// delivers it. Shared (shared_ptr) between the container table and RPCs
// streaming its output, which may outlive a delete.

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <string>

#include "hull/common/result.h"
#include "hull/common/unique_fd.h"

namespace hull::agent {

enum class OutputStream { kStdout, kStderr };

// The child's ends, handed to the spawn and closed by the agent after it.
struct ChildStdio {
  UniqueFd in;
  UniqueFd out;
  UniqueFd err;
  std::string console_path;  // the pty slave's path with a tty
};

class Process {
 public:
  // Makes the pipes (or the pty, with `terminal`) for a new process. Without
  // `open_stdin` the child's stdin is /dev/null.
  static Result<std::pair<std::shared_ptr<Process>, ChildStdio>> CreateStdio(std::string exec_id,
                                                                             bool terminal,
                                                                             bool open_stdin);

  const std::string& exec_id() const { return exec_id_; }
  bool terminal() const { return terminal_; }
  pid_t pid() const;
  void set_pid(pid_t pid);

  // Stdin. Writes block while the process does not read (back-pressure).
  Result<size_t> WriteStdin(std::span<const uint8_t> data);
  Result<void> CloseStdin();
  Result<void> Resize(uint16_t rows, uint16_t columns);

  // Claims the stream for one reader at a time; the returned fd stays owned
  // by the Process. FAILED_PRECONDITION-like EBUSY when another reader holds it.
  Result<int> ClaimOutput(OutputStream stream);
  void ReleaseOutput(OutputStream stream);

  void SetExited(int exit_status);
  std::optional<int> exit_status() const;
  // Blocks until the process exits, or `timeout` passes (nullopt).
  std::optional<int> WaitFor(std::chrono::milliseconds timeout) const;

 private:
  Process(std::string exec_id, bool terminal) : exec_id_(std::move(exec_id)), terminal_(terminal) {}

  const std::string exec_id_;
  const bool terminal_;
  mutable std::mutex mutex_;
  mutable std::condition_variable exited_cv_;
  pid_t pid_ = 0;
  std::optional<int> exit_status_;
  std::mutex stdin_mutex_;  // serialises writers and close
  UniqueFd stdin_;          // pipe write end, or a dup of the pty master
  UniqueFd stdout_;         // pipe read end, or the pty master
  UniqueFd stderr_;
  bool stdout_claimed_ = false;
  bool stderr_claimed_ = false;
};

}  // namespace hull::agent
