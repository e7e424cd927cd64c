#pragma once

// Tells which containers the OOM killer struck: inotify on the memory.events
// of each registered cgroup (the kernel reports a changed counter there as a
// file modification), re-read on each change, compared with the last count.
//
//   HULL_ASSIGN_OR_RETURN(auto watcher, OomWatcher::Create());
//   HULL_TRY(watcher->Add("ctr1", cgroup.path()));
//   // on a thread of its own:
//   for (;;) {
//     HULL_ASSIGN_OR_RETURN(std::vector<std::string> ids, watcher->Wait());
//     if (watcher->stopped()) break;
//     for (const std::string& id : ids) SendOomEvent(id);
//   }
//   // elsewhere, to end it: watcher->Stop();

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "hull/common/event_fd.h"
#include "hull/common/result.h"
#include "hull/common/unique_fd.h"

namespace hull::cgroup {

class OomWatcher {
 public:
  static Result<std::unique_ptr<OomWatcher>> Create();

  OomWatcher(const OomWatcher&) = delete;
  OomWatcher& operator=(const OomWatcher&) = delete;
  ~OomWatcher() = default;

  // Watches `cgroup_path`/memory.events for `id`, counting from its current
  // oom_kill. EEXIST if `id` is watched already; the file's read error
  // (ENOENT: no memory controller there) otherwise. Thread-safe, also while
  // another thread is in Wait.
  Result<void> Add(const std::string& id, const std::string& cgroup_path);

  // Stops watching `id` (nothing if it is not watched). Thread-safe. A
  // cgroup that is removed drops out by itself.
  void Remove(const std::string& id);

  // Blocks until the oom_kill count of at least one watched cgroup has grown
  // and returns their ids (each once), or returns an empty list when
  // `timeout` passes or Stop is called. One thread at a time.
  Result<std::vector<std::string>> Wait(
      std::optional<std::chrono::milliseconds> timeout = std::nullopt);

  // Wakes Wait, which from now on returns at once. Thread-safe.
  void Stop();
  bool stopped() const;

  // How many ids are watched (for tests).
  size_t WatchedCountForTesting() const;

 private:
  struct Watch {
    std::string path;                               // of memory.events
    std::map<std::string, uint64_t> last_oom_kill;  // id → count
  };

  OomWatcher(UniqueFd inotify, EventFd wake)
      : inotify_(std::move(inotify)), wake_(std::move(wake)) {}

  // Reads the inotify events at hand; appends the ids whose count grew.
  Result<void> DrainEvents(std::vector<std::string>& ids);

  UniqueFd inotify_;
  EventFd wake_;

  mutable std::mutex mutex_;
  std::map<int, Watch> watches_;      // by inotify watch descriptor
  std::map<std::string, int> by_id_;  // id → watch descriptor
  bool stopped_ = false;
};

}  // namespace hull::cgroup
