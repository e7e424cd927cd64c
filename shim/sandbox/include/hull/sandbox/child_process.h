#pragma once

// A child program the host side starts and owns (hull-vmm, virtiofsd): spawned
// with posix_spawn (safe from a threaded process), its stdout and stderr
// appended to a log file, in its own process group; the destructor kills
// and reaps it, so an error path leaves no process behind.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "hull/common/result.h"

namespace hull::sandbox {

class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  // argv[0] is the program's path. Errors name the program. The child gets
  // `pass_fds` (ours, left open) as its fds 3, 4, ... in that order, and
  // runs in `cwd` when one is given.
  static Result<ChildProcess> Spawn(const std::vector<std::string>& argv,
                                    const std::string& log_path,
                                    const std::vector<int>& pass_fds = {},
                                    const std::string& cwd = "");

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }
  const std::string& name() const { return name_; }

  // The wait status once the child has ended (it is then reaped), else nullopt.
  std::optional<int> Poll();
  // Waits up to `limit`; nullopt if it still runs.
  std::optional<int> WaitFor(std::chrono::milliseconds limit);
  // SIGTERM, up to `grace` to end, then SIGKILL; returns the wait status.
  int Stop(std::chrono::milliseconds grace);

 private:
  pid_t pid_ = -1;
  std::string name_;
};

// "exit 3", "killed by SIGKILL".
std::string DescribeWaitStatus(int status);

// The last `max_bytes` of a file (a log), for error messages.
std::string FileTail(const std::string& path, size_t max_bytes = 2048);

}  // namespace hull::sandbox
