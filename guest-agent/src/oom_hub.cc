#include "oom_hub.h"

#include "hull/common/logging.h"

namespace hull::agent {
namespace {
// A subscriber that stopped reading must not grow without bound.
constexpr size_t kMaxQueued = 1024;
}  // namespace

OomHub::~OomHub() {
  if (watcher_) watcher_->Stop();
  if (thread_.joinable()) thread_.join();
}

Result<void> OomHub::Start() {
  HULL_ASSIGN_OR_RETURN(watcher_, cgroup::OomWatcher::Create());
  thread_ = std::thread([this] {
    for (;;) {
      auto ids = watcher_->Wait();
      if (watcher_->stopped()) return;
      if (!ids.ok()) {
        LogEvent(spdlog::level::err, "oom_watch_failed", Kv("error", ids.error().message()));
        return;
      }
      for (const std::string& id : *ids) {
        LogEvent(spdlog::level::info, "oom_kill", Kv("id", id));
        Publish(id);
      }
    }
  });
  return {};
}

void OomHub::Watch(const std::string& container_id, const std::string& cgroup_path) {
  if (!watcher_) return;
  if (auto added = watcher_->Add(container_id, cgroup_path); !added.ok()) {
    LogEvent(spdlog::level::warn, "oom_watch_unavailable", Kv("id", container_id),
             Kv("error", added.error().message()));
  }
}

void OomHub::Unwatch(const std::string& container_id) {
  if (watcher_) watcher_->Remove(container_id);
}

std::optional<std::string> OomHub::Subscription::Next(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  if (!cv_.wait_for(lock, timeout, [&] { return !queue_.empty(); })) return std::nullopt;
  std::string id = std::move(queue_.front());
  queue_.pop_front();
  return id;
}

std::shared_ptr<OomHub::Subscription> OomHub::Subscribe() {
  auto subscription = std::make_shared<Subscription>();
  std::lock_guard lock(mutex_);
  subscriptions_.insert(subscription);
  return subscription;
}

void OomHub::Unsubscribe(const std::shared_ptr<Subscription>& subscription) {
  std::lock_guard lock(mutex_);
  subscriptions_.erase(subscription);
}

void OomHub::Publish(const std::string& container_id) {
  std::lock_guard lock(mutex_);
  for (const auto& subscription : subscriptions_) {
    {
      std::lock_guard queue_lock(subscription->mutex_);
      if (subscription->queue_.size() >= kMaxQueued) subscription->queue_.pop_front();
      subscription->queue_.push_back(container_id);
    }
    subscription->cv_.notify_all();
  }
}

}  // namespace hull::agent
