// The stdout, file and none serial backends, and SerialBackend::Open.

#include "hull/vmm/core/serial_backend.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>

#include "hull/common/eintr.h"
#include "hull/common/logging.h"
#include "hull/common/unique_fd.h"
#include "serial_socket_backend.h"

namespace hull::vmm {
namespace {

// How a sink fd is written without blocking.
enum class WriteMode {
  kPlain,      // an O_NONBLOCK description of our own, or a regular file
  kSend,       // a socket: send(MSG_DONTWAIT | MSG_NOSIGNAL)
  kPollFirst,  // a shared blocking description: write only when poll says so
};

class FdBackend final : public SerialBackend {
 public:
  // `output` may be invalid (none: everything dropped). `input_fd` is -1 or
  // an fd to watch for input (stdin), not owned.
  FdBackend(UniqueFd output, WriteMode mode, int input_fd)
      : output_(std::move(output)), mode_(mode), input_fd_(input_fd) {}

  ~FdBackend() override {
    if (loop_ != nullptr && input_attached_) (void)loop_->Remove(input_fd_);
  }

  size_t Write(std::span<const uint8_t> bytes) override {
    if (!output_ || bytes.empty()) return 0;
    const int fd = output_.Get();
    ssize_t n = -1;
    switch (mode_) {
      case WriteMode::kSend:
        n = RetryOnEintr(
            [&] { return ::send(fd, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL); });
        break;
      case WriteMode::kPollFirst: {
        pollfd pfd{.fd = fd, .events = POLLOUT, .revents = 0};
        if (RetryOnEintr([&] { return ::poll(&pfd, 1, 0); }) != 1 || (pfd.revents & POLLOUT) == 0) {
          return 0;
        }
        [[fallthrough]];
      }
      case WriteMode::kPlain:
        n = RetryOnEintr([&] { return ::write(fd, bytes.data(), bytes.size()); });
        break;
    }
    return n > 0 ? static_cast<size_t>(n) : 0;
  }

  Result<void> Attach(EventLoop& loop, InputFn on_input) override {
    if (loop_ != nullptr) return Error(EBUSY, "serial console: already attached");
    loop_ = &loop;
    on_input_ = std::move(on_input);
    if (input_fd_ < 0) return Ok();
    Result<void> added = loop.Add(input_fd_, EPOLLIN, [this](uint32_t) { OnInput(); });
    if (!added.ok()) {
      // /dev/null, a regular file or a closed stdin: a console without input.
      LogEvent(spdlog::level::debug, "serial_input_unavailable", Kv("fd", input_fd_),
               Kv("reason", added.error().ToString()));
      return Ok();
    }
    input_attached_ = true;
    return Ok();
  }

 private:
  void OnInput() {
    std::array<uint8_t, 4096> buffer;
    // One read per readiness: stdin may be blocking, and epoll promised data.
    const ssize_t n = RetryOnEintr([&] { return ::read(input_fd_, buffer.data(), buffer.size()); });
    if (n > 0) {
      if (on_input_) on_input_(std::span<const uint8_t>(buffer.data(), static_cast<size_t>(n)));
      return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    // End of input (or an error): the console stays, without input.
    LogEvent(spdlog::level::debug, "serial_input_closed", Kv("fd", input_fd_));
    (void)loop_->Remove(input_fd_);
    input_attached_ = false;
  }

  UniqueFd output_;
  WriteMode mode_;
  int input_fd_;
  EventLoop* loop_ = nullptr;
  InputFn on_input_;
  bool input_attached_ = false;
};

// Our own description of stdout, so that O_NONBLOCK does not leak to the
// processes sharing it.
Result<std::unique_ptr<SerialBackend>> OpenStdout() {
  struct stat st {};
  if (::fstat(STDOUT_FILENO, &st) != 0) return Error::FromErrno(errno, "serial stdout: fstat 1");
  if (S_ISREG(st.st_mode) || S_ISSOCK(st.st_mode)) {
    // A file shares its offset with the shell's redirection: dup, not reopen.
    UniqueFd fd(::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3));
    if (!fd) return Error::FromErrno(errno, "serial stdout: dup 1");
    const WriteMode mode = S_ISSOCK(st.st_mode) ? WriteMode::kSend : WriteMode::kPlain;
    return std::unique_ptr<SerialBackend>(new FdBackend(std::move(fd), mode, STDIN_FILENO));
  }
  UniqueFd fd(RetryOnEintr(
      [] { return ::open("/proc/self/fd/1", O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC); }));
  if (fd) {
    return std::unique_ptr<SerialBackend>(
        new FdBackend(std::move(fd), WriteMode::kPlain, STDIN_FILENO));
  }
  // No /proc: share the description, and only write what poll says fits.
  UniqueFd shared(::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3));
  if (!shared) return Error::FromErrno(errno, "serial stdout: dup 1");
  return std::unique_ptr<SerialBackend>(
      new FdBackend(std::move(shared), WriteMode::kPollFirst, STDIN_FILENO));
}

Result<std::unique_ptr<SerialBackend>> OpenFile(const std::string& path) {
  UniqueFd fd(RetryOnEintr([&] {
    // O_NONBLOCK: a FIFO without a reader fails (ENXIO) instead of hanging
    // here, and a FIFO or device never blocks a vCPU later; files ignore it.
    return ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
                  0600);
  }));
  if (!fd) return Error::FromErrno(errno, fmt::format("serial file {}: open", path));
  return std::unique_ptr<SerialBackend>(new FdBackend(std::move(fd), WriteMode::kPlain, -1));
}

}  // namespace

Result<std::unique_ptr<SerialBackend>> SerialBackend::Open(const SerialConfig& config) {
  switch (config.kind) {
    case SerialKind::kStdout:
      return OpenStdout();
    case SerialKind::kFile:
      return OpenFile(config.path);
    case SerialKind::kUnix:
      return OpenSerialSocketBackend(config.path);
    case SerialKind::kNone:
      return std::unique_ptr<SerialBackend>(new FdBackend(UniqueFd(), WriteMode::kPlain, -1));
  }
  return Error(EINVAL, "serial: unknown kind");
}

}  // namespace hull::vmm
