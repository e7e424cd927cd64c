#pragma once

// Starting container-init (container_init.h) from the threaded agent:
// posix_spawn (a vfork-style clone straight into exec, never a fork of the
// threaded process) of the agent's own binary, the request sent, the pid and
// "ready" received.

#include <sys/types.h>

#include <functional>
#include <string>

#include "hull/common/result.h"
#include "hull/common/unique_fd.h"
#include "init_request.h"
#include "process.h"

namespace hull::agent {

class Reaper;

// The agent's binary, resolved once at start (before any chroot or unlink).
Result<void> SetSelfExecutable(std::string path);

struct Spawned {
  pid_t pid = 0;  // the container process (stage 2), agent's PID namespace
  UniqueFd sync;  // kCreate: to send "start"; kExec: closed (exec done)
};

// Spawns container-init with `stdio`, sends `request` and waits for "ready".
// For kExec it also waits for the exec itself (end of stream). `on_exit`
// is registered with the reaper for the process as soon as its pid is known.
Result<Spawned> SpawnContainerProcess(const InitRequest& request, ChildStdio stdio, Reaper& reaper,
                                      std::function<void(int)> on_exit);

// Tells a created container's init to exec; returns once it has (or failed).
Result<void> StartContainerProcess(int sync_fd);

}  // namespace hull::agent
