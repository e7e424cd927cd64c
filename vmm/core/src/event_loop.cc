#include "hull/vmm/core/event_loop.h"

#include <fmt/format.h>
#include <unistd.h>

#include <array>
#include <cerrno>

namespace hull::vmm {
namespace {

constexpr uint64_t kStopId = 0;
constexpr int kMaxEventsPerRound = 32;

}  // namespace

EventLoop::EventLoop(UniqueFd epoll, EventFd stop) noexcept
    : epoll_(std::move(epoll)), stop_fd_(std::move(stop)) {}

Result<std::unique_ptr<EventLoop>> EventLoop::Create() {
  UniqueFd epoll(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll) return Error::FromErrno(errno, "epoll_create1");
  HULL_ASSIGN_OR_RETURN(EventFd stop, EventFd::Create());
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.u64 = kStopId;
  if (::epoll_ctl(epoll.Get(), EPOLL_CTL_ADD, stop.fd(), &event) != 0) {
    return Error::FromErrno(errno, fmt::format("epoll_ctl ADD stop eventfd {}", stop.fd()));
  }
  return std::unique_ptr<EventLoop>(new EventLoop(std::move(epoll), std::move(stop)));
}

Result<void> EventLoop::Add(int fd, uint32_t events, Callback callback) {
  if (!callback) return Error(EINVAL, fmt::format("event loop: adding fd {} with no callback", fd));
  std::lock_guard lock(mutex_);
  if (ids_by_fd_.contains(fd)) {
    return Error(EEXIST, fmt::format("event loop: fd {} is already watched", fd));
  }
  const uint64_t id = next_id_++;
  epoll_event event{};
  event.events = events;
  event.data.u64 = id;
  if (::epoll_ctl(epoll_.Get(), EPOLL_CTL_ADD, fd, &event) != 0) {
    return Error::FromErrno(errno, fmt::format("epoll_ctl ADD fd {}", fd));
  }
  handlers_.emplace(id, std::make_shared<Handler>(Handler{fd, std::move(callback)}));
  ids_by_fd_.emplace(fd, id);
  return Ok();
}

Result<void> EventLoop::Modify(int fd, uint32_t events) {
  std::lock_guard lock(mutex_);
  auto it = ids_by_fd_.find(fd);
  if (it == ids_by_fd_.end()) {
    return Error(ENOENT, fmt::format("event loop: modifying fd {}, which is not watched", fd));
  }
  epoll_event event{};
  event.events = events;
  event.data.u64 = it->second;
  if (::epoll_ctl(epoll_.Get(), EPOLL_CTL_MOD, fd, &event) != 0) {
    return Error::FromErrno(errno, fmt::format("epoll_ctl MOD fd {}", fd));
  }
  return Ok();
}

Result<void> EventLoop::Remove(int fd) {
  std::shared_ptr<Handler> removed;  // destroyed after the lock is released
  std::lock_guard lock(mutex_);
  auto it = ids_by_fd_.find(fd);
  if (it == ids_by_fd_.end()) {
    return Error(ENOENT, fmt::format("event loop: removing fd {}, which is not watched", fd));
  }
  auto handler = handlers_.find(it->second);
  removed = std::move(handler->second);
  handlers_.erase(handler);
  ids_by_fd_.erase(it);
  // Forgotten either way: a failure here means the fd was closed already,
  // which took it out of the epoll set too.
  if (::epoll_ctl(epoll_.Get(), EPOLL_CTL_DEL, fd, nullptr) != 0) {
    return Error::FromErrno(errno, fmt::format("epoll_ctl DEL fd {}", fd));
  }
  return Ok();
}

Result<void> EventLoop::Run() {
  while (!stop_requested()) {
    HULL_TRY(RunOnce(-1));
  }
  return Ok();
}

Result<void> EventLoop::RunOnce(int timeout_ms) {
  std::array<epoll_event, kMaxEventsPerRound> events;
  const int n = ::epoll_wait(epoll_.Get(), events.data(), kMaxEventsPerRound, timeout_ms);
  if (n < 0) {
    if (errno == EINTR) return Ok();
    return Error::FromErrno(errno, "epoll_wait");
  }
  for (int i = 0; i < n && !stop_requested(); ++i) {
    const epoll_event& event = events[static_cast<size_t>(i)];
    if (event.data.u64 == kStopId) {
      (void)stop_fd_.Consume();
      continue;
    }
    std::shared_ptr<Handler> handler;
    {
      std::lock_guard lock(mutex_);
      auto it = handlers_.find(event.data.u64);
      if (it == handlers_.end()) continue;  // removed earlier in this round
      handler = it->second;
    }
    handler->callback(event.events);
  }
  return Ok();
}

void EventLoop::Stop() noexcept {
  static_assert(std::atomic<bool>::is_always_lock_free, "Stop() must be async-signal-safe");
  stop_requested_.store(true, std::memory_order_release);
  // Not EventFd::Signal: its error path allocates. EAGAIN (counter full)
  // means a wake-up is pending anyway; nothing else can fail on an eventfd.
  const uint64_t one = 1;
  const int saved_errno = errno;
  while (::write(stop_fd_.fd(), &one, sizeof(one)) < 0 && errno == EINTR) {
  }
  errno = saved_errno;
}

size_t EventLoop::watched_count() const {
  std::lock_guard lock(mutex_);
  return handlers_.size();
}

}  // namespace hull::vmm
