#include "hull/cgroup/oom_watcher.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "cgroup_files.h"
#include "hull/cgroup/stats.h"
#include "hull/common/eintr.h"

namespace hull::cgroup {
namespace {

using Clock = std::chrono::steady_clock;

// The oom_kill count in `path`, or nullopt if it cannot be read or parsed
// right now (a cgroup being removed; a half-written fake file in a test):
// the next change notification tries again.
std::optional<uint64_t> ReadOomKill(const std::string& path) {
  Result<std::string> content = internal::ReadFile(path);
  if (!content.ok()) return std::nullopt;
  Result<FlatKeyed> file = ParseFlatKeyed(*content);
  if (!file.ok() || !file->contains("oom_kill")) return std::nullopt;
  Result<uint64_t> count = FlatKeyedU64(*file, "oom_kill");
  if (!count.ok()) return std::nullopt;
  return *count;
}

}  // namespace

Result<std::unique_ptr<OomWatcher>> OomWatcher::Create() {
  UniqueFd inotify(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!inotify) return Error::FromErrno(errno, "inotify_init1");
  HULL_ASSIGN_OR_RETURN(EventFd wake, EventFd::Create());
  return std::unique_ptr<OomWatcher>(new OomWatcher(std::move(inotify), std::move(wake)));
}

Result<void> OomWatcher::Add(const std::string& id, const std::string& cgroup_path) {
  const std::string path = cgroup_path + "/memory.events";
  std::lock_guard lock(mutex_);
  if (by_id_.contains(id)) {
    return Error(EEXIST, fmt::format("OOM watcher: \"{}\" is watched already", id));
  }
  // Watch first, then read the base count: an OOM kill in between is then
  // reported (the count grows past the base), not lost.
  const int wd = ::inotify_add_watch(inotify_.Get(), path.c_str(), IN_MODIFY);
  if (wd < 0) return Error::FromErrno(errno, fmt::format("inotify_add_watch {}", path));
  Result<std::string> content = internal::ReadFile(path);
  Result<MemoryEvents> events =
      content.ok() ? ParseMemoryEvents(*content) : Result<MemoryEvents>(content.error());
  Watch& watch = watches_[wd];  // the same file twice gives the same wd
  if (!events.ok()) {
    if (watch.last_oom_kill.empty()) {
      watches_.erase(wd);
      ::inotify_rm_watch(inotify_.Get(), wd);
    }
    return std::move(events).error().WithContext(fmt::format("OOM watcher: {}", path));
  }
  watch.path = path;
  watch.last_oom_kill[id] = events->oom_kill;
  by_id_[id] = wd;
  return Ok();
}

void OomWatcher::Remove(const std::string& id) {
  std::lock_guard lock(mutex_);
  const auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  const int wd = it->second;
  by_id_.erase(it);
  const auto watch = watches_.find(wd);
  if (watch == watches_.end()) return;
  watch->second.last_oom_kill.erase(id);
  if (watch->second.last_oom_kill.empty()) {
    watches_.erase(watch);
    ::inotify_rm_watch(inotify_.Get(), wd);  // EINVAL if the kernel dropped it: fine
  }
}

Result<void> OomWatcher::DrainEvents(std::vector<std::string>& ids) {
  alignas(inotify_event) char buffer[4096];
  std::vector<int> modified;
  std::vector<int> gone;
  for (;;) {
    const ssize_t n = RetryOnEintr([&] { return ::read(inotify_.Get(), buffer, sizeof(buffer)); });
    if (n < 0) {
      if (errno == EAGAIN) break;
      return Error::FromErrno(errno, "OOM watcher: read inotify");
    }
    for (size_t pos = 0; pos + sizeof(inotify_event) <= static_cast<size_t>(n);) {
      inotify_event event{};
      std::memcpy(&event, buffer + pos, sizeof(event));
      pos += sizeof(event) + event.len;
      if ((event.mask & IN_MODIFY) != 0) modified.push_back(event.wd);
      if ((event.mask & IN_IGNORED) != 0) gone.push_back(event.wd);
    }
  }

  std::lock_guard lock(mutex_);
  std::sort(modified.begin(), modified.end());
  modified.erase(std::unique(modified.begin(), modified.end()), modified.end());
  for (const int wd : modified) {
    const auto watch = watches_.find(wd);
    if (watch == watches_.end()) continue;  // removed meanwhile
    const std::optional<uint64_t> count = ReadOomKill(watch->second.path);
    if (!count.has_value()) continue;
    for (auto& [id, last] : watch->second.last_oom_kill) {
      if (*count > last && std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
      last = *count;
    }
  }
  // The file is gone (its cgroup removed): so are its watches.
  for (const int wd : gone) {
    const auto watch = watches_.find(wd);
    if (watch == watches_.end()) continue;
    for (const auto& entry : watch->second.last_oom_kill) by_id_.erase(entry.first);
    watches_.erase(watch);
  }
  return Ok();
}

Result<std::vector<std::string>> OomWatcher::Wait(
    std::optional<std::chrono::milliseconds> timeout) {
  const std::optional<Clock::time_point> deadline =
      timeout ? std::optional(Clock::now() + *timeout) : std::nullopt;
  std::vector<std::string> ids;
  for (;;) {
    if (stopped()) return std::vector<std::string>();
    int wait_ms = -1;
    if (deadline) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now());
      wait_ms = static_cast<int>(std::max<int64_t>(0, left.count()));
    }
    pollfd fds[2] = {{.fd = inotify_.Get(), .events = POLLIN, .revents = 0},
                     {.fd = wake_.fd(), .events = POLLIN, .revents = 0}};
    const int ready = ::poll(fds, 2, wait_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      return Error::FromErrno(errno, "OOM watcher: poll");
    }
    if ((fds[1].revents & POLLIN) != 0) HULL_TRY(wake_.Consume());
    if ((fds[0].revents & POLLIN) != 0) {
      HULL_TRY(DrainEvents(ids));
      if (!ids.empty()) return ids;
    }
    if (ready == 0) return ids;  // timed out
  }
}

void OomWatcher::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
  }
  (void)wake_.Signal();  // cannot fail short of a bad fd; Wait also checks the flag
}

bool OomWatcher::stopped() const {
  std::lock_guard lock(mutex_);
  return stopped_;
}

size_t OomWatcher::WatchedCountForTesting() const {
  std::lock_guard lock(mutex_);
  return by_id_.size();
}

}  // namespace hull::cgroup
