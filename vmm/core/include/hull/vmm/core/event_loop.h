#pragma once

// The VMM's one event loop: epoll over the devices' eventfds (ioeventfds,
// timers), the serial console's input, the control API's sockets.
//
//   HULL_ASSIGN_OR_RETURN(auto loop, EventLoop::Create());
//   HULL_TRY(loop->Add(fd, EPOLLIN, [&](uint32_t events) { ... }));
//   std::thread t([&] { (void)loop->Run(); });
//   ...
//   loop->Stop();  // any thread, or a signal handler
//
// Callbacks run on the thread inside Run(), one at a time. They may Add(),
// Modify() and Remove() any fd, their own included: a callback removed
// during a dispatch round is not called again for events already collected,
// and a callback's std::function stays alive until it returns even when it
// removes itself. Add/Modify/Remove are also safe from other threads, but
// a Remove from another thread does not wait for a callback already running.
//
// Level-triggered: a callback that leaves data unread is called again.

#include <sys/epoll.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "hull/common/event_fd.h"
#include "hull/common/result.h"
#include "hull/common/unique_fd.h"

namespace hull::vmm {

class EventLoop {
 public:
  // Called with the epoll events that fired (EPOLLIN, EPOLLOUT, EPOLLHUP,
  // EPOLLERR, ...). EPOLLHUP and EPOLLERR arrive whether asked for or not.
  using Callback = std::function<void(uint32_t events)>;

  static Result<std::unique_ptr<EventLoop>> Create();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;
  ~EventLoop() = default;

  // Watches `fd` (which the caller owns, and keeps open until Remove) for
  // `events`. EEXIST when it is already watched; epoll's errors (EPERM for a
  // regular file or /dev/null) name the fd.
  Result<void> Add(int fd, uint32_t events, Callback callback);
  // Changes the events watched for `fd`; ENOENT when it is not watched.
  Result<void> Modify(int fd, uint32_t events);
  // Stops watching `fd`. Call it before closing the fd. ENOENT when it is
  // not watched.
  Result<void> Remove(int fd);

  // Dispatches events until Stop(). Returns at once when Stop() came first.
  // Fails only when epoll_wait does (EINTR is retried).
  Result<void> Run();
  // One epoll_wait of at most `timeout_ms` (-1: forever) and its callbacks.
  Result<void> RunOnce(int timeout_ms);

  // Makes Run() return after the callback in progress, if any. Callable from
  // any thread and async-signal-safe (an atomic store and a write(2) to an
  // eventfd). Sticky: a later Run() returns at once.
  void Stop() noexcept;
  bool stop_requested() const noexcept { return stop_requested_.load(std::memory_order_acquire); }

  // How many fds are watched (the stop eventfd not included).
  size_t watched_count() const;

 private:
  struct Handler {
    int fd;
    Callback callback;
  };

  EventLoop(UniqueFd epoll, EventFd stop) noexcept;

  UniqueFd epoll_;
  EventFd stop_fd_;
  std::atomic<bool> stop_requested_{false};

  // Each Add gets a fresh id, which is what epoll hands back: an event
  // collected for an fd that was removed (and perhaps re-added with a new
  // callback) in the same round then finds no handler and is dropped.
  mutable std::mutex mutex_;
  uint64_t next_id_ = 1;  // 0 is the stop eventfd
  std::unordered_map<uint64_t, std::shared_ptr<Handler>> handlers_;
  std::unordered_map<int, uint64_t> ids_by_fd_;
};

}  // namespace hull::vmm
