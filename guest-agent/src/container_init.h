#pragma once

// The container-init mode of the hull-agent binary ("hull-agent
// container-init"): a fresh single-threaded process that hull-agent spawns
// for each container process, with the process's stdio on fds 0-2 and the
// sync socket on fd 3. It reads an InitRequest, enters the container's
// cgroup, joins and creates namespaces, forks (so that the process is born in
// a new PID namespace), builds the root file system (create) and the
// process's credentials, reports "ready", waits for "start" (create only)
// and execs the container's program. The sync socket is close-on-exec, so a
// successful exec reads as end-of-stream at the agent; a failure arrives as
// an "error" frame naming what failed.
//
// Frames (JSON): agent → init: the request, then {"start":true};
// init → agent: {"pid":N} (the process, in the agent's PID namespace),
// {"ready":true}, or {"error":"..."}.

namespace hull::agent {

inline constexpr int kSyncFd = 3;

// Never returns; exits 1 after reporting a failure on the sync socket.
[[noreturn]] void ContainerInitMain();

}  // namespace hull::agent
