#include "process.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

#include "hull/common/eintr.h"

namespace hull::agent {
namespace {

// Large pipes keep a chatty process from stalling while the host's reader
// catches up; 1 MiB is the default unprivileged maximum.
constexpr int kPipeSize = 1 << 20;

Result<std::pair<UniqueFd, UniqueFd>> MakePipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Error::FromErrno(errno, "pipe");
  (void)::fcntl(fds[1], F_SETPIPE_SZ, kPipeSize);
  return std::make_pair(UniqueFd(fds[0]), UniqueFd(fds[1]));
}

}  // namespace

Result<std::pair<std::shared_ptr<Process>, ChildStdio>> Process::CreateStdio(std::string exec_id,
                                                                             bool terminal,
                                                                             bool open_stdin) {
  std::shared_ptr<Process> process(new Process(std::move(exec_id), terminal));
  ChildStdio child;
  if (terminal) {
    UniqueFd master(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!master) return Error::FromErrno(errno, "opening /dev/ptmx");
    if (::grantpt(master.Get()) != 0 || ::unlockpt(master.Get()) != 0) {
      return Error::FromErrno(errno, "unlocking the pty");
    }
    char name[PATH_MAX];
    if (::ptsname_r(master.Get(), name, sizeof(name)) != 0)
      return Error::FromErrno(errno, "ptsname");
    UniqueFd slave(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!slave) return Error::FromErrno(errno, std::string("opening pty slave ") + name);
    child.console_path = name;
    child.out = UniqueFd(::fcntl(slave.Get(), F_DUPFD_CLOEXEC, 0));
    child.err = UniqueFd(::fcntl(slave.Get(), F_DUPFD_CLOEXEC, 0));
    child.in = std::move(slave);
    if (!child.out || !child.err) return Error::FromErrno(errno, "dup of the pty slave");
    process->stdin_ = UniqueFd(::fcntl(master.Get(), F_DUPFD_CLOEXEC, 0));
    if (!process->stdin_) return Error::FromErrno(errno, "dup of the pty master");
    process->stdout_ = std::move(master);
    return std::make_pair(process, std::move(child));
  }
  if (open_stdin) {
    HULL_ASSIGN_OR_RETURN(auto in, MakePipe());
    child.in = std::move(in.first);
    process->stdin_ = std::move(in.second);
  } else {
    child.in = UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!child.in) return Error::FromErrno(errno, "opening /dev/null");
  }
  HULL_ASSIGN_OR_RETURN(auto out, MakePipe());
  HULL_ASSIGN_OR_RETURN(auto err, MakePipe());
  process->stdout_ = std::move(out.first);
  child.out = std::move(out.second);
  process->stderr_ = std::move(err.first);
  child.err = std::move(err.second);
  return std::make_pair(process, std::move(child));
}

pid_t Process::pid() const {
  std::lock_guard lock(mutex_);
  return pid_;
}

void Process::set_pid(pid_t pid) {
  std::lock_guard lock(mutex_);
  pid_ = pid;
}

Result<size_t> Process::WriteStdin(std::span<const uint8_t> data) {
  std::lock_guard lock(stdin_mutex_);
  if (!stdin_) return Error(EPIPE, "the process's stdin is closed (or was never opened)");
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n =
        RetryOnEintr([&] { return ::write(stdin_.Get(), data.data() + done, data.size() - done); });
    if (n < 0) return Error::FromErrno(errno, "writing to the process's stdin");
    done += static_cast<size_t>(n);
  }
  return done;
}

Result<void> Process::CloseStdin() {
  std::lock_guard lock(stdin_mutex_);
  if (!stdin_) return {};
  if (terminal_) {
    // A tty has no "close" the process can see but end-of-file: ^D.
    const char eot = 4;
    (void)!::write(stdin_.Get(), &eot, 1);
  }
  stdin_.Reset();
  return {};
}

Result<void> Process::Resize(uint16_t rows, uint16_t columns) {
  if (!terminal_) return Error(ENOTTY, "the process has no tty to resize");
  winsize size{};
  size.ws_row = rows;
  size.ws_col = columns;
  if (::ioctl(stdout_.Get(), TIOCSWINSZ, &size) != 0) return Error::FromErrno(errno, "TIOCSWINSZ");
  return {};
}

Result<int> Process::ClaimOutput(OutputStream stream) {
  std::lock_guard lock(mutex_);
  if (terminal_ && stream == OutputStream::kStderr) {
    return Error(EINVAL, "a process with a tty has all its output on stdout");
  }
  bool& claimed = stream == OutputStream::kStdout ? stdout_claimed_ : stderr_claimed_;
  const UniqueFd& fd = stream == OutputStream::kStdout ? stdout_ : stderr_;
  if (claimed) return Error(EBUSY, "another reader is attached to this stream");
  claimed = true;
  return fd.Get();
}

void Process::ReleaseOutput(OutputStream stream) {
  std::lock_guard lock(mutex_);
  (stream == OutputStream::kStdout ? stdout_claimed_ : stderr_claimed_) = false;
}

void Process::SetExited(int exit_status) {
  {
    std::lock_guard lock(mutex_);
    exit_status_ = exit_status;
  }
  exited_cv_.notify_all();
}

std::optional<int> Process::exit_status() const {
  std::lock_guard lock(mutex_);
  return exit_status_;
}

std::optional<int> Process::WaitFor(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  exited_cv_.wait_for(lock, timeout, [&] { return exit_status_.has_value(); });
  return exit_status_;
}

}  // namespace hull::agent
