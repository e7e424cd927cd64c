#pragma once

// Fan-out of OOM events to every OomEvents stream: the cgroup OOM watcher
// publishes a container id; each subscriber has its own bounded queue.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "hull/cgroup/oom_watcher.h"
#include "hull/common/result.h"

namespace hull::agent {

class OomHub {
 public:
  class Subscription {
   public:
    // The next container id, or nullopt after `timeout` (callers re-check
    // whether their stream was cancelled).
    std::optional<std::string> Next(std::chrono::milliseconds timeout);

   private:
    friend class OomHub;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<std::string> queue_;
  };

  OomHub() = default;
  ~OomHub();
  OomHub(const OomHub&) = delete;
  OomHub& operator=(const OomHub&) = delete;

  // Starts the thread that turns the cgroup watcher's findings into events.
  Result<void> Start();
  // Reports OOM kills in the cgroup at `cgroup_path` as `container_id`'s.
  // A cgroup without the memory controller is logged, not an error.
  void Watch(const std::string& container_id, const std::string& cgroup_path);
  void Unwatch(const std::string& container_id);

  std::shared_ptr<Subscription> Subscribe();
  void Unsubscribe(const std::shared_ptr<Subscription>& subscription);
  void Publish(const std::string& container_id);

 private:
  std::mutex mutex_;
  std::set<std::shared_ptr<Subscription>> subscriptions_;
  std::unique_ptr<cgroup::OomWatcher> watcher_;
  std::thread thread_;
};

}  // namespace hull::agent
