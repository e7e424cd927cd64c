// Cgroup: freezing, killing and removal, and the cgroup.events waits they
// share.

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <set>

#include "cgroup_files.h"
#include "hull/cgroup/cgroup.h"
#include "hull/common/eintr.h"

namespace hull::cgroup {
namespace {

using internal::ChildDirectories;
using internal::OpenDirectoryAt;
using internal::ReadFileAt;
using internal::ReadFromStart;
using internal::WriteFileAt;

using Clock = std::chrono::steady_clock;

// The kernel signals a changed cgroup.events with POLLPRI; this is only the
// longest we sleep between re-reads, for a missed notification (and for a
// test's fake tree of regular files, which never signals).
constexpr std::chrono::milliseconds kRecheckInterval(20);

// Deep enough for any container; bounds the recursion below.
constexpr int kMaxDepth = 64;

Result<void> CollectProcesses(int dir_fd, const std::string& dir_path, int depth,
                              std::vector<pid_t>& out) {
  if (depth > kMaxDepth) return Error(ELOOP, fmt::format("{}: cgroups nested too deep", dir_path));
  HULL_ASSIGN_OR_RETURN(std::string content, ReadFileAt(dir_fd, dir_path, "cgroup.procs"));
  HULL_ASSIGN_OR_RETURN(std::vector<pid_t> pids, ParsePidList(content));
  out.insert(out.end(), pids.begin(), pids.end());
  HULL_ASSIGN_OR_RETURN(std::vector<std::string> children, ChildDirectories(dir_fd, dir_path));
  for (const std::string& child : children) {
    HULL_ASSIGN_OR_RETURN(UniqueFd child_fd, OpenDirectoryAt(dir_fd, dir_path, child));
    HULL_TRY(
        CollectProcesses(child_fd.Get(), fmt::format("{}/{}", dir_path, child), depth + 1, out));
  }
  return Ok();
}

// Removes the child cgroups of `dir_fd`, deepest first.
Result<void> RemoveChildren(int dir_fd, const std::string& dir_path, int depth) {
  if (depth > kMaxDepth) return Error(ELOOP, fmt::format("{}: cgroups nested too deep", dir_path));
  HULL_ASSIGN_OR_RETURN(std::vector<std::string> children, ChildDirectories(dir_fd, dir_path));
  for (const std::string& child : children) {
    {
      HULL_ASSIGN_OR_RETURN(UniqueFd child_fd, OpenDirectoryAt(dir_fd, dir_path, child));
      HULL_TRY(RemoveChildren(child_fd.Get(), fmt::format("{}/{}", dir_path, child), depth + 1));
    }
    if (::unlinkat(dir_fd, child.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
      return Error::FromErrno(errno, fmt::format("removing cgroup {}/{}", dir_path, child));
    }
  }
  return Ok();
}

std::string JoinPids(const std::vector<pid_t>& pids) {
  std::string text;
  for (const pid_t pid : pids) text += (text.empty() ? "" : " ") + std::to_string(pid);
  return text;
}

}  // namespace

Result<bool> Cgroup::WaitForEvents(bool CgroupEvents::*field, bool value,
                                   std::chrono::milliseconds timeout) const {
  const std::string what = fmt::format("reading {}/cgroup.events", path_);
  UniqueFd fd(
      RetryOnEintr([&] { return ::openat(dir_.Get(), "cgroup.events", O_RDONLY | O_CLOEXEC); }));
  if (!fd) return Error::FromErrno(errno, what);
  const Clock::time_point deadline = Clock::now() + timeout;
  for (;;) {
    // Reading re-arms the notification, so read before each poll.
    HULL_ASSIGN_OR_RETURN(std::string content, ReadFromStart(fd.Get(), what));
    Result<CgroupEvents> events = ParseCgroupEvents(content);
    if (!events.ok()) return std::move(events).error().WithContext(what);
    if ((*events).*field == value) return true;
    const Clock::time_point now = Clock::now();
    if (now >= deadline) return false;
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now);
    pollfd pfd{.fd = fd.Get(), .events = POLLPRI, .revents = 0};
    if (::poll(&pfd, 1, static_cast<int>(std::min(left, kRecheckInterval).count())) < 0 &&
        errno != EINTR) {
      return Error::FromErrno(errno, fmt::format("poll {}/cgroup.events", path_));
    }
  }
}

Result<void> Cgroup::Freeze(std::chrono::milliseconds timeout) {
  HULL_TRY(Write("cgroup.freeze", "1"));
  HULL_ASSIGN_OR_RETURN(bool frozen, WaitForEvents(&CgroupEvents::frozen, true, timeout));
  if (!frozen) {
    return Error(ETIMEDOUT,
                 fmt::format("cgroup {} is not frozen after {} ms", path_, timeout.count()));
  }
  return Ok();
}

Result<void> Cgroup::Thaw(std::chrono::milliseconds timeout) {
  HULL_TRY(Write("cgroup.freeze", "0"));
  HULL_ASSIGN_OR_RETURN(bool thawed, WaitForEvents(&CgroupEvents::frozen, false, timeout));
  if (!thawed) {
    return Error(ETIMEDOUT,
                 fmt::format("cgroup {} is still frozen after {} ms", path_, timeout.count()));
  }
  return Ok();
}

Result<void> Cgroup::Kill() {
  Result<void> killed = Write("cgroup.kill", "1");
  if (killed.ok() || killed.error().code() != ENOENT) return killed;
  return KillEachProcess();  // before Linux 5.14
}

// Freezing first stops the processes from forking while we go round; a
// frozen process still dies of SIGKILL on cgroup v2. Rounds repeat until one
// finds nobody new (a fork that raced the freeze), bounded all the same.
Result<void> Cgroup::KillEachProcess() {
  Result<void> frozen = Write("cgroup.freeze", "1");
  if (!frozen.ok() && frozen.error().code() != ENOENT) return frozen;  // ENOENT: before 5.2
  std::set<pid_t> signalled;
  Result<void> result;
  for (int round = 0; round < 16 && result.ok(); ++round) {
    std::vector<pid_t> pids;
    result = CollectProcesses(dir_.Get(), path_, 0, pids);
    bool any_new = false;
    for (const pid_t pid : pids) {
      if (!signalled.insert(pid).second) continue;
      any_new = true;
      if (::kill(pid, SIGKILL) != 0 && errno != ESRCH) {
        result = Error::FromErrno(errno, fmt::format("kill({}, SIGKILL) in cgroup {}", pid, path_));
        break;
      }
    }
    if (!any_new) break;
  }
  if (frozen.ok()) HULL_TRY(Write("cgroup.freeze", "0"));
  return result;
}

Result<void> Cgroup::RemoveTree() {
  HULL_TRY(RemoveChildren(dir_.Get(), path_, 0));
  if (::rmdir(path_.c_str()) != 0 && errno != ENOENT) {
    return Error::FromErrno(errno, fmt::format("removing cgroup {}", path_));
  }
  return Ok();
}

Result<void> Cgroup::Destroy(std::chrono::milliseconds timeout) {
  if (!dir_) return Ok();  // this handle destroyed it already
  Result<CgroupEvents> events = Events();
  if (!events.ok()) {
    struct stat st {};
    if (events.error().code() == ENOENT && ::stat(path_.c_str(), &st) != 0 && errno == ENOENT) {
      return Ok();  // removed already
    }
    return std::move(events).error();
  }
  if (events->populated) {
    HULL_TRY(Kill());
    HULL_ASSIGN_OR_RETURN(bool empty, WaitForEvents(&CgroupEvents::populated, false, timeout));
    if (!empty) {
      std::vector<pid_t> pids;
      Result<void> listed = CollectProcesses(dir_.Get(), path_, 0, pids);
      return Error(ETIMEDOUT, fmt::format("cgroup {} still has processes {} ms after SIGKILL: {}",
                                          path_, timeout.count(),
                                          listed.ok() ? JoinPids(pids) : listed.error().message()));
    }
  }
  HULL_TRY(RemoveTree());
  dir_.Reset();
  return Ok();
}

}  // namespace hull::cgroup
