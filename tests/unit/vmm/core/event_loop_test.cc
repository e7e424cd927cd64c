#include "hull/vmm/core/event_loop.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <memory>
#include <string>
#include <thread>

#include "hull/common/event_fd.h"

namespace hull::vmm {
namespace {

std::unique_ptr<EventLoop> MakeLoop() {
  Result<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
  EXPECT_TRUE(loop.ok()) << loop.error().ToString();
  return std::move(loop).value();
}

EventFd MakeEventFd() {
  Result<EventFd> fd = EventFd::Create();
  EXPECT_TRUE(fd.ok());
  return std::move(fd).value();
}

TEST(EventLoop, CallsTheCallbackOfAReadyFdWithItsEvents) {
  auto loop = MakeLoop();
  EventFd fd = MakeEventFd();
  uint32_t seen = 0;
  ASSERT_TRUE(loop->Add(fd.fd(), EPOLLIN,
                        [&](uint32_t events) {
                          seen = events;
                          (void)fd.Consume();
                        })
                  .ok());
  ASSERT_TRUE(fd.Signal().ok());
  ASSERT_TRUE(loop->RunOnce(1000).ok());
  EXPECT_EQ(seen, static_cast<uint32_t>(EPOLLIN));
  seen = 0;
  ASSERT_TRUE(loop->RunOnce(0).ok());
  EXPECT_EQ(seen, 0u) << "nothing ready, nothing called";
}

TEST(EventLoop, StopFromAnotherThreadEndsRun) {
  auto loop = MakeLoop();
  std::atomic<bool> returned{false};
  std::thread runner([&] {
    EXPECT_TRUE(loop->Run().ok());
    returned = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(returned.load());
  loop->Stop();
  runner.join();
  EXPECT_TRUE(returned.load());
  EXPECT_TRUE(loop->stop_requested());
}

TEST(EventLoop, StopBeforeRunMakesRunReturnAtOnce) {
  auto loop = MakeLoop();
  loop->Stop();
  EXPECT_TRUE(loop->Run().ok());
}

EventLoop* g_signal_loop = nullptr;
void StopOnSignal(int) { g_signal_loop->Stop(); }

TEST(EventLoop, StopIsSafeFromASignalHandler) {
  auto loop = MakeLoop();
  g_signal_loop = loop.get();
  struct sigaction action {};
  action.sa_handler = StopOnSignal;
  struct sigaction previous {};
  ASSERT_EQ(sigaction(SIGUSR1, &action, &previous), 0);
  std::atomic<bool> running{false};
  std::thread runner([&] {
    running = true;
    EXPECT_TRUE(loop->Run().ok());
  });
  while (!running) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  pthread_kill(runner.native_handle(), SIGUSR1);
  runner.join();
  sigaction(SIGUSR1, &previous, nullptr);
  g_signal_loop = nullptr;
}

TEST(EventLoop, ACallbackMayRemoveItselfAndStaysAliveUntilItReturns) {
  auto loop = MakeLoop();
  EventFd fd = MakeEventFd();
  auto state = std::make_shared<std::string>("captured");
  int calls = 0;
  ASSERT_TRUE(loop->Add(fd.fd(), EPOLLIN,
                        [&, state](uint32_t) {
                          ++calls;
                          ASSERT_TRUE(loop->Remove(fd.fd()).ok());
                          // The capture must still be alive here (ASan would say).
                          EXPECT_EQ(*state, "captured");
                        })
                  .ok());
  state.reset();
  ASSERT_TRUE(fd.Signal().ok());
  ASSERT_TRUE(loop->RunOnce(1000).ok());
  ASSERT_TRUE(loop->RunOnce(0).ok());  // still readable, but no longer watched
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(loop->watched_count(), 0u);
}

TEST(EventLoop, AnFdRemovedDuringARoundMissesItsCollectedEvent) {
  auto loop = MakeLoop();
  EventFd a = MakeEventFd();
  EventFd b = MakeEventFd();
  int a_calls = 0, b_calls = 0;
  ASSERT_TRUE(loop->Add(a.fd(), EPOLLIN,
                        [&](uint32_t) {
                          ++a_calls;
                          (void)a.Consume();
                          (void)loop->Remove(b.fd());
                        })
                  .ok());
  ASSERT_TRUE(loop->Add(b.fd(), EPOLLIN,
                        [&](uint32_t) {
                          ++b_calls;
                          (void)b.Consume();
                          (void)loop->Remove(a.fd());
                        })
                  .ok());
  ASSERT_TRUE(a.Signal().ok());
  ASSERT_TRUE(b.Signal().ok());
  ASSERT_TRUE(loop->RunOnce(1000).ok());
  EXPECT_EQ(a_calls + b_calls, 1) << "whichever ran first removed the other";
}

TEST(EventLoop, AReusedFdNumberDoesNotGetTheOldFdsEvents) {
  auto loop = MakeLoop();
  EventFd first = MakeEventFd();
  auto second = std::make_unique<EventFd>(MakeEventFd());
  bool replacement_called = false;
  const int second_fd = second->fd();
  ASSERT_TRUE(loop->Add(first.fd(), EPOLLIN,
                        [&](uint32_t) {
                          (void)first.Consume();
                          // Replace `second` by a fresh, unsignalled eventfd that
                          // (most likely) gets the same number.
                          (void)loop->Remove(second_fd);
                          second.reset();
                          second = std::make_unique<EventFd>(MakeEventFd());
                          ASSERT_TRUE(loop->Add(second->fd(), EPOLLIN,
                                                [&](uint32_t) { replacement_called = true; })
                                          .ok());
                        })
                  .ok());
  ASSERT_TRUE(loop->Add(second_fd, EPOLLIN, [&](uint32_t) { (void)second->Consume(); }).ok());
  ASSERT_TRUE(first.Signal().ok());
  ASSERT_TRUE(second->Signal().ok());
  // Which of the two epoll reports first is up to the kernel; try both orders.
  ASSERT_TRUE(loop->RunOnce(1000).ok());
  ASSERT_TRUE(loop->RunOnce(0).ok());
  EXPECT_FALSE(replacement_called);
}

TEST(EventLoop, ACallbackMayAddAnFdThatIsDispatchedLater) {
  auto loop = MakeLoop();
  EventFd trigger = MakeEventFd();
  EventFd added = MakeEventFd();
  bool added_called = false;
  ASSERT_TRUE(loop->Add(trigger.fd(), EPOLLIN,
                        [&](uint32_t) {
                          (void)trigger.Consume();
                          ASSERT_TRUE(loop->Add(added.fd(), EPOLLIN,
                                                [&](uint32_t) {
                                                  added_called = true;
                                                  (void)added.Consume();
                                                  loop->Stop();
                                                })
                                          .ok());
                          ASSERT_TRUE(added.Signal().ok());
                        })
                  .ok());
  ASSERT_TRUE(trigger.Signal().ok());
  ASSERT_TRUE(loop->Run().ok());
  EXPECT_TRUE(added_called);
}

TEST(EventLoop, ModifyChangesTheWatchedEvents) {
  auto loop = MakeLoop();
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  uint32_t seen = 0;
  ASSERT_TRUE(loop->Add(write_end.Get(), 0, [&](uint32_t events) { seen = events; }).ok());
  ASSERT_TRUE(loop->RunOnce(0).ok());
  EXPECT_EQ(seen, 0u);
  ASSERT_TRUE(loop->Modify(write_end.Get(), EPOLLOUT).ok());
  ASSERT_TRUE(loop->RunOnce(1000).ok());
  EXPECT_EQ(seen, static_cast<uint32_t>(EPOLLOUT));
}

TEST(EventLoop, ErrorsNameTheFd) {
  auto loop = MakeLoop();
  EventFd fd = MakeEventFd();
  ASSERT_TRUE(loop->Add(fd.fd(), EPOLLIN, [](uint32_t) {}).ok());
  Result<void> twice = loop->Add(fd.fd(), EPOLLIN, [](uint32_t) {});
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().code(), EEXIST);
  EXPECT_NE(twice.error().message().find(std::to_string(fd.fd())), std::string::npos);

  Result<void> unknown = loop->Remove(999);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code(), ENOENT);
  EXPECT_NE(unknown.error().message().find("999"), std::string::npos);
  EXPECT_EQ(loop->Modify(999, EPOLLIN).error().code(), ENOENT);

  UniqueFd null(open("/dev/null", O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(null.valid());
  Result<void> unpollable = loop->Add(null.Get(), EPOLLIN, [](uint32_t) {});
  ASSERT_FALSE(unpollable.ok());
  EXPECT_EQ(unpollable.error().code(), EPERM);
  EXPECT_NE(unpollable.error().message().find("epoll_ctl ADD fd " + std::to_string(null.Get())),
            std::string::npos)
      << unpollable.error().message();
  EXPECT_EQ(loop->watched_count(), 1u) << "a failed Add leaves nothing behind";
}

TEST(EventLoop, AddAndRemoveAreSafeFromAnotherThreadWhileRunning) {
  auto loop = MakeLoop();
  std::thread runner([&] { EXPECT_TRUE(loop->Run().ok()); });
  std::atomic<int> calls{0};
  for (int i = 0; i < 100; ++i) {
    EventFd fd = MakeEventFd();
    ASSERT_TRUE(loop->Add(fd.fd(), EPOLLIN, [&](uint32_t) { ++calls; }).ok());
    ASSERT_TRUE(fd.Signal().ok());
    ASSERT_TRUE(loop->Remove(fd.fd()).ok());
  }
  loop->Stop();
  runner.join();
  EXPECT_EQ(loop->watched_count(), 0u);
}

}  // namespace
}  // namespace hull::vmm
