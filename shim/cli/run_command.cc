#include "run_command.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <fstream>
#include <optional>
#include <thread>

#include "hull/common/eintr.h"
#include "hull/common/files.h"
#include "hull/common/logging.h"
#include "hull/common/unique_fd.h"
#include "hull/sandbox/container_bundle.h"
#include "hull/sandbox/stdio_relay.h"
#include "hull/sandbox/vm_sandbox.h"

namespace hull::cli {
namespace {

namespace v1 = ::hull::agent::v1;
using sandbox::VmSandbox;

constexpr std::array kForwarded = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

// The terminal in raw mode while the container owns it.
class RawTerminal {
 public:
  explicit RawTerminal(int fd) : fd_(fd) {
    if (::isatty(fd_) && ::tcgetattr(fd_, &saved_) == 0) {
      termios raw = saved_;
      ::cfmakeraw(&raw);
      active_ = ::tcsetattr(fd_, TCSANOW, &raw) == 0;
    }
  }
  ~RawTerminal() {
    if (active_) ::tcsetattr(fd_, TCSANOW, &saved_);
  }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
};

void Resize(v1::Agent::Stub& agent, const std::string& id) {
  winsize size{};
  if (::ioctl(STDIN_FILENO, TIOCGWINSZ, &size) != 0 || size.ws_row == 0) return;
  grpc::ClientContext context;
  v1::ResizeTtyRequest request;
  request.set_container_id(id);
  request.set_rows(size.ws_row);
  request.set_columns(size.ws_col);
  v1::Empty empty;
  (void)agent.ResizeTty(&context, request, &empty);
}

// Forwards the signals in kForwarded (blocked in every thread) to the
// container's process until stopped; SIGWINCH becomes a tty resize.
class SignalForwarder {
 public:
  SignalForwarder(v1::Agent::Stub& agent, std::string id, bool terminal)
      : stop_(::eventfd(0, EFD_CLOEXEC)) {
    sigset_t set;
    sigemptyset(&set);
    for (int signal : kForwarded) sigaddset(&set, signal);
    signals_ = UniqueFd(::signalfd(-1, &set, SFD_CLOEXEC));
    thread_ = std::thread([this, &agent, id = std::move(id), terminal] {
      for (;;) {
        std::array<pollfd, 2> fds{{{signals_.Get(), POLLIN, 0}, {stop_.Get(), POLLIN, 0}}};
        if (RetryOnEintr([&] { return ::poll(fds.data(), fds.size(), -1); }) < 0) return;
        if (fds[1].revents != 0) return;
        signalfd_siginfo info{};
        if (::read(signals_.Get(), &info, sizeof(info)) != sizeof(info)) continue;
        const int signal = static_cast<int>(info.ssi_signo);
        if (signal == SIGWINCH) {
          if (terminal) Resize(agent, id);
          continue;
        }
        grpc::ClientContext context;
        v1::SignalProcessRequest request;
        request.set_container_id(id);
        request.set_signal(static_cast<uint32_t>(signal));
        v1::Empty empty;
        (void)agent.SignalProcess(&context, request, &empty);
      }
    });
  }
  ~SignalForwarder() {
    const uint64_t one = 1;
    (void)!::write(stop_.Get(), &one, sizeof(one));
    thread_.join();
  }
  SignalForwarder(const SignalForwarder&) = delete;
  SignalForwarder& operator=(const SignalForwarder&) = delete;

 private:
  UniqueFd stop_;
  UniqueFd signals_;
  std::thread thread_;
};

}  // namespace

Result<int> RunContainer(const RunOptions& options, sandbox::HostConfig config) {
  HULL_TRY(sandbox::ValidateId("container", options.id));
  // Signals go to the forwarder; block them before any thread exists.
  sigset_t set;
  sigemptyset(&set);
  for (int signal : kForwarded) sigaddset(&set, signal);
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);

  // Size the VM for the container before it starts.
  HULL_ASSIGN_OR_RETURN(config, sandbox::ConfigForBundle(options.id, options.bundle, config));

  HULL_ASSIGN_OR_RETURN(std::unique_ptr<VmSandbox> vm, VmSandbox::Start(options.id, config));
  HULL_ASSIGN_OR_RETURN(sandbox::GuestBundle bundle,
                        sandbox::PrepareBundle(*vm, options.id, options.bundle));
  for (const std::string& what : bundle.ignored) {
    LogEvent(spdlog::level::info, "not_carried_over", Kv("container", options.id),
             Kv("what", what));
  }
  v1::Agent::Stub& agent = vm->agent();
  {
    HULL_TRY(vm->CreateContainer(options.id, bundle.spec_json, bundle.terminal, true));
    LogEvent(spdlog::level::debug, "container_created", Kv("container", options.id));
    // The pid file names hull-vmm: the host process that is the container.
    if (!options.pid_file.empty())
      HULL_TRY(WriteFileAtomically(options.pid_file, std::to_string(vm->vmm_pid())));
  }

  std::optional<RawTerminal> raw;
  if (bundle.terminal) raw.emplace(STDIN_FILENO);
  int exit_status = -1;
  {
    sandbox::OutputRelay out(agent, options.id, "", v1::ReadOutputRequest::STDOUT, STDOUT_FILENO);
    std::optional<sandbox::OutputRelay> err;
    if (!bundle.terminal) {
      err.emplace(agent, options.id, "", v1::ReadOutputRequest::STDERR, STDERR_FILENO);
    }
    sandbox::InputRelay in(agent, options.id, "", STDIN_FILENO);
    SignalForwarder forwarder(agent, options.id, bundle.terminal);
    {
      grpc::ClientContext context;
      v1::ContainerRequest request;
      request.set_container_id(options.id);
      v1::Empty empty;
      grpc::Status status = agent.StartContainer(&context, request, &empty);
      if (!status.ok())
        return Error(EIO, "starting container " + options.id + ": " + status.error_message());
      LogEvent(spdlog::level::debug, "container_started", Kv("container", options.id));
    }
    if (bundle.terminal) Resize(agent, options.id);
    grpc::ClientContext context;
    v1::ProcessRequest request;
    request.set_container_id(options.id);
    v1::WaitProcessResponse response;
    grpc::Status status = agent.WaitProcess(&context, request, &response);
    if (!status.ok())
      return Error(EIO, "waiting for container " + options.id + ": " + status.error_message());
    exit_status = response.exit_status();
    LogEvent(spdlog::level::debug, "container_exited", Kv("container", options.id),
             Kv("status", exit_status));
    out.Join();
    if (err) err->Join();
  }
  raw.reset();
  vm->RemoveContainer(options.id);
  Result<void> stopped = vm->Stop();
  if (stopped.ok()) {
    LogEvent(spdlog::level::debug, "sandbox_stopped", Kv("container", options.id));
  } else {
    LogEvent(spdlog::level::warn, "sandbox_stop", Kv("error", stopped.error().message()));
  }
  if (!options.pid_file.empty()) ::unlink(options.pid_file.c_str());
  return exit_status;
}

}  // namespace hull::cli
