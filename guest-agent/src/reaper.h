#pragma once

// Reaps every child of hull-agent (as PID 1, every orphan of the guest; on a
// host, every descendant, being a child subreaper) and hands the exit status
// of the processes the agent watches to whoever waits for them. SIGCHLD is
// blocked in every thread (BlockChildSignal before any thread starts) and read
// from a signalfd by the reaper's own thread.

#include <sys/types.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "hull/common/result.h"
#include "hull/common/unique_fd.h"

namespace hull::agent {

// Blocks SIGCHLD in the calling thread; threads created later inherit it.
void BlockChildSignal();

// The wait status as a container engine reports it: the exit code, or 128 +
// the signal's number when a signal ended the process.
int ExitStatusFromWaitStatus(int wait_status);

class Reaper {
 public:
  using ExitCallback = std::function<void(int exit_status)>;

  static Result<std::unique_ptr<Reaper>> Start();
  ~Reaper();
  Reaper(const Reaper&) = delete;
  Reaper& operator=(const Reaper&) = delete;

  // Calls `on_exit` (on the reaper's thread, or right here when `pid` has
  // exited already and nobody claimed it) with the exit status of `pid`.
  void Watch(pid_t pid, ExitCallback on_exit);

 private:
  Reaper() = default;
  void Run();
  void ReapAll();

  UniqueFd signal_fd_;
  UniqueFd stop_fd_;
  std::mutex mutex_;
  std::map<pid_t, ExitCallback> watched_;
  // Exits nobody watched (yet): a process may end before its spawner learns
  // its pid. Bounded: the oldest are forgotten.
  std::map<pid_t, int> unclaimed_;
  std::deque<pid_t> unclaimed_order_;
  std::thread thread_;
};

}  // namespace hull::agent
