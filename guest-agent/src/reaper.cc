#include "reaper.h"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "hull/common/eintr.h"
#include "hull/common/logging.h"

namespace hull::agent {
namespace {
constexpr size_t kMaxUnclaimed = 4096;
}

void BlockChildSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int ExitStatusFromWaitStatus(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 255;
}

Result<std::unique_ptr<Reaper>> Reaper::Start() {
  std::unique_ptr<Reaper> reaper(new Reaper());
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  reaper->signal_fd_ = UniqueFd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!reaper->signal_fd_) return Error::FromErrno(errno, "signalfd for SIGCHLD");
  reaper->stop_fd_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!reaper->stop_fd_) return Error::FromErrno(errno, "eventfd");
  reaper->thread_ = std::thread([r = reaper.get()] { r->Run(); });
  return reaper;
}

Reaper::~Reaper() {
  uint64_t one = 1;
  (void)!::write(stop_fd_.Get(), &one, sizeof(one));
  if (thread_.joinable()) thread_.join();
}

void Reaper::Watch(pid_t pid, ExitCallback on_exit) {
  std::unique_lock lock(mutex_);
  auto it = unclaimed_.find(pid);
  if (it != unclaimed_.end()) {
    int status = it->second;
    unclaimed_.erase(it);
    lock.unlock();
    on_exit(status);
    return;
  }
  watched_[pid] = std::move(on_exit);
}

void Reaper::ReapAll() {
  for (;;) {
    int wait_status = 0;
    pid_t pid = ::waitpid(-1, &wait_status, WNOHANG);
    if (pid <= 0) return;
    const int status = ExitStatusFromWaitStatus(wait_status);
    ExitCallback callback;
    {
      std::lock_guard lock(mutex_);
      auto it = watched_.find(pid);
      if (it != watched_.end()) {
        callback = std::move(it->second);
        watched_.erase(it);
      } else {
        unclaimed_[pid] = status;
        unclaimed_order_.push_back(pid);
        while (unclaimed_order_.size() > kMaxUnclaimed) {
          unclaimed_.erase(unclaimed_order_.front());
          unclaimed_order_.pop_front();
        }
      }
    }
    LogEvent(spdlog::level::debug, "reaped", Kv("pid", pid), Kv("status", status));
    if (callback) callback(status);
  }
}

void Reaper::Run() {
  ReapAll();  // children that ended before the signalfd existed
  for (;;) {
    pollfd fds[2] = {{signal_fd_.Get(), POLLIN, 0}, {stop_fd_.Get(), POLLIN, 0}};
    if (RetryOnEintr([&] { return ::poll(fds, 2, -1); }) < 0) return;
    if (fds[1].revents != 0) return;
    signalfd_siginfo info{};
    while (::read(signal_fd_.Get(), &info, sizeof(info)) == sizeof(info)) {
    }
    ReapAll();
  }
}

}  // namespace hull::agent
