#include "container_spawn.h"

#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>

#include "container_init.h"
#include "reaper.h"
#include "sync_channel.h"

extern char** environ;

namespace hull::agent {
namespace {

using Json = nlohmann::json;

std::string& SelfExecutable() {
  static std::string path;
  return path;
}

// Set-up of a container (mounts over virtio-fs, a slow cgroup) may take a
// while, but a container-init that neither answers nor dies must not hold an
// RPC forever.
constexpr int kSyncTimeoutSeconds = 120;

// An "error" frame as the Error it reports (its errno kept when given).
std::optional<Error> ErrorFrame(const Json& json) {
  auto error = json.find("error");
  if (error == json.end() || !error->is_string()) return std::nullopt;
  int code = EINVAL;
  auto code_it = json.find("code");
  if (code_it != json.end() && code_it->is_number_integer() && code_it->get<int64_t>() > 0 &&
      code_it->get<int64_t>() < 4096) {
    code = code_it->get<int>();
  }
  return Error(code, error->get<std::string>());
}

Result<void> ExpectEndOfStream(int fd, std::string_view after) {
  HULL_ASSIGN_OR_RETURN(std::optional<std::string> frame, ReceiveFrame(fd));
  if (!frame) return {};
  Json json = Json::parse(*frame, nullptr, false);
  if (!json.is_discarded()) {
    if (auto error = ErrorFrame(json)) return *error;
  }
  return Error(EPROTO, "container-init sent an unexpected frame after " + std::string(after));
}

Result<Json> NextMessage(int fd, std::string_view waiting_for) {
  HULL_ASSIGN_OR_RETURN(std::optional<std::string> frame, ReceiveFrame(fd));
  if (!frame) {
    return Error(ECHILD, "container-init ended without a word while waiting for " +
                             std::string(waiting_for));
  }
  Json json = Json::parse(*frame, nullptr, false);
  if (json.is_discarded() || !json.is_object())
    return Error(EPROTO, "container-init sent a malformed frame");
  if (auto error = ErrorFrame(json)) return *error;
  return json;
}

}  // namespace

Result<void> SetSelfExecutable(std::string path) {
  if (path.empty() || path.front() != '/')
    return Error(EINVAL, "the agent's own path must be absolute");
  SelfExecutable() = std::move(path);
  return {};
}

Result<Spawned> SpawnContainerProcess(const InitRequest& request, ChildStdio stdio, Reaper& reaper,
                                      std::function<void(int)> on_exit) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
    return Error::FromErrno(errno, "socketpair");
  }
  UniqueFd sync(pair[0]);
  UniqueFd child_sync(pair[1]);
  timeval timeout{kSyncTimeoutSeconds, 0};
  ::setsockopt(sync.Get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, stdio.in.Get(), 0);
  posix_spawn_file_actions_adddup2(&actions, stdio.out.Get(), 1);
  posix_spawn_file_actions_adddup2(&actions, stdio.err.Get(), 2);
  posix_spawn_file_actions_adddup2(&actions, child_sync.Get(), kSyncFd);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty;
  sigemptyset(&empty);
  sigset_t defaults;
  sigfillset(&defaults);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  const std::string& self = SelfExecutable();
  char* argv[] = {const_cast<char*>(self.c_str()), const_cast<char*>("container-init"), nullptr};
  pid_t stage1 = 0;
  int rc = ::posix_spawn(&stage1, self.c_str(), &actions, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return Error::FromErrno(rc, "spawning container-init (" + self + ")");
  // Stage 1 exits on its own once it forked; the reaper collects it.
  reaper.Watch(stage1, [](int) {});
  child_sync.Reset();
  stdio = ChildStdio();  // the agent keeps no child end: EOF must reach readers

  HULL_TRY(SendFrame(sync.Get(), SerializeInitRequest(request)));
  HULL_ASSIGN_OR_RETURN(Json pid_frame, NextMessage(sync.Get(), "the process's pid"));
  auto pid = pid_frame.find("pid");
  if (pid == pid_frame.end() || !pid->is_number_integer() || pid->get<int64_t>() <= 0) {
    return Error(EPROTO, "container-init sent no pid");
  }
  Spawned spawned;
  spawned.pid = pid->get<pid_t>();
  reaper.Watch(spawned.pid, std::move(on_exit));
  HULL_ASSIGN_OR_RETURN(Json ready, NextMessage(sync.Get(), "the container process to be ready"));
  if (!ready.contains("ready")) return Error(EPROTO, "container-init sent an unexpected frame");
  if (request.mode == InitRequest::Mode::kExec) {
    // The exec itself: end of stream when it succeeded, an error otherwise.
    HULL_TRY(ExpectEndOfStream(sync.Get(), "ready"));
    return spawned;
  }
  spawned.sync = std::move(sync);
  return spawned;
}

Result<void> StartContainerProcess(int sync_fd) {
  HULL_TRY(SendFrame(sync_fd, R"({"start":true})"));
  return ExpectEndOfStream(sync_fd, "start");
}

}  // namespace hull::agent
