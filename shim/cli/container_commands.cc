#include "container_commands.h"

#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <thread>

#include "hull/common/files.h"
#include "hull/common/logging.h"
#include "hull/common/unique_fd.h"
#include "hull/sandbox/child_process.h"
#include "hull/sandbox/container_bundle.h"
#include "hull/sandbox/stdio_relay.h"
#include "hull/sandbox/vm_sandbox.h"

namespace hull::cli {
namespace {

namespace fs = std::filesystem;
namespace v1 = ::hull::agent::v1;
using Json = nlohmann::json;
using namespace std::chrono_literals;

// ---- state ---------------------------------------------------------------

struct State {
  std::string id;
  std::string bundle;
  unsigned cid = 0;
  pid_t monitor_pid = 0;
  std::string created;  // RFC 3339
  std::map<std::string, std::string> annotations;
};

std::string StateDir(const sandbox::HostConfig& config, const std::string& id) {
  return config.state_root + "/containers/" + id;
}

Result<void> WriteState(const sandbox::HostConfig& config, const State& state) {
  Json json = {{"id", state.id},           {"bundle", state.bundle},
               {"cid", state.cid},         {"monitor_pid", state.monitor_pid},
               {"created", state.created}, {"annotations", state.annotations}};
  return WriteFileAtomically(StateDir(config, state.id) + "/state.json", json.dump(1));
}

Result<State> ReadState(const sandbox::HostConfig& config, const std::string& id) {
  HULL_TRY(sandbox::ValidateId("container", id));
  const std::string path = StateDir(config, id) + "/state.json";
  std::ifstream in(path);
  if (!in) {
    return Error(ENOENT, "container " + id + " does not exist (no " + path +
                             "; is --root the one it was created with?)");
  }
  Json json = Json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) return Error(EIO, path + " is damaged");
  State state;
  state.id = json.value("id", id);
  state.bundle = json.value("bundle", std::string());
  state.cid = json.value("cid", 0u);
  state.monitor_pid = json.value("monitor_pid", 0);
  state.created = json.value("created", std::string());
  if (auto annotations = json.find("annotations");
      annotations != json.end() && annotations->is_object()) {
    for (const auto& [key, value] : annotations->items()) {
      if (value.is_string()) state.annotations[key] = value.get<std::string>();
    }
  }
  return state;
}

// Whether the monitor of `state` still runs (the pid could be reused: it
// must still be this container's `hull create`, whose command line names it).
bool MonitorAlive(const State& state) {
  if (state.monitor_pid <= 1 || ::kill(state.monitor_pid, 0) != 0) return false;
  const std::string proc = "/proc/" + std::to_string(state.monitor_pid);
  const std::string cmdline = sandbox::FileTail(proc + "/cmdline", 65536);
  // Arguments end in NUL: the id is one whole argument.
  if ((std::string(1, '\0') + cmdline).find('\0' + state.id + '\0') == std::string::npos)
    return false;
  const std::string status = sandbox::FileTail(proc + "/stat", 4096);
  // "pid (comm) S ...": a zombie is no longer the container.
  const size_t close = status.rfind(')');
  if (close != std::string::npos && close + 2 < status.size() && status[close + 2] == 'Z') {
    return false;
  }
  return true;
}

std::string NowRfc3339() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char text[64];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &utc);
  const auto nanos =
      std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count() %
      1000000000;
  char out[96];
  std::snprintf(out, sizeof(out), "%s.%09lldZ", text, static_cast<long long>(nanos));
  return out;
}

// The state's VM's agent, or an error saying the container is not running.
Result<sandbox::AgentConnection> Agent(const State& state) {
  if (!MonitorAlive(state)) return Error(ESRCH, "container " + state.id + " is not running");
  return sandbox::ConnectAgent(state.cid);
}

std::string StatusName(v1::ContainerStateResponse::Status status) {
  switch (status) {
    case v1::ContainerStateResponse::CREATED:
      return "created";
    case v1::ContainerStateResponse::RUNNING:
      return "running";
    case v1::ContainerStateResponse::PAUSED:
      return "paused";
    default:
      return "stopped";
  }
}

std::string CurrentStatus(const State& state) {
  Result<sandbox::AgentConnection> agent = Agent(state);
  if (!agent.ok()) return "stopped";
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 10s);
  v1::ContainerRequest request;
  request.set_container_id(state.id);
  v1::ContainerStateResponse response;
  if (!agent->stub->ContainerState(&context, request, &response).ok()) return "stopped";
  return StatusName(response.status());
}

Result<void> RpcOk(const grpc::Status& status, const std::string& what) {
  if (status.ok()) return Ok();
  return Error(EIO, what + ": " + status.error_message());
}

// ---- the console socket (runc's protocol): the pty master over SCM_RIGHTS

Result<void> SendConsole(const std::string& socket_path, int master) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return Error::FromErrno(errno, "socket");
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(address.sun_path)) {
    return Error(ENAMETOOLONG, "--console-socket " + socket_path + " is too long");
  }
  std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
  // SAFETY: sockaddr_un is the sockaddr of an AF_UNIX socket.
  if (::connect(fd.Get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    return Error::FromErrno(errno, "connecting to --console-socket " + socket_path);
  }
  char name[] = "/dev/ptmx";
  iovec vector{name, sizeof(name) - 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr message{};
  message.msg_iov = &vector;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof(control);
  cmsghdr* header = CMSG_FIRSTHDR(&message);
  header->cmsg_level = SOL_SOCKET;
  header->cmsg_type = SCM_RIGHTS;
  header->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(header), &master, sizeof(int));
  if (::sendmsg(fd.Get(), &message, MSG_NOSIGNAL) < 0) {
    return Error::FromErrno(errno, "sending the console to " + socket_path);
  }
  return Ok();
}

// ---- the monitor's plumbing ---------------------------------------------

// The stdio the engine gave `create` / `exec`: kept apart from fds 0-2,
// which become /dev/null and the monitor's log.
struct Stdio {
  UniqueFd in, out, err;
};

// Copies of fds 0-2 (close-on-exec: hull-vmm and virtiofsd never get them).
Stdio CopyStdio() {
  Stdio stdio;
  stdio.in = UniqueFd(::fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3));
  stdio.out = UniqueFd(::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3));
  stdio.err = UniqueFd(::fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3));
  return stdio;
}

// CopyStdio, then fds 0-2 become /dev/null and the monitor's log.
Stdio TakeStdio(const std::string& log_path) {
  Stdio stdio = CopyStdio();
  const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (null >= 0) {
    ::dup2(null, STDIN_FILENO);
    ::dup2(null, STDOUT_FILENO);
    ::close(null);
  }
  if (log >= 0) {
    ::dup2(log, STDERR_FILENO);
    ::close(log);
  }
  return stdio;
}

// A pty for a terminal process: the master goes to the console socket, the
// monitor keeps the slave (as its controlling terminal, so a resize by the
// engine reaches it as SIGWINCH).
struct Pty {
  UniqueFd slave;
};

Result<Pty> OpenConsole(const std::string& socket_path) {
  if (socket_path.empty()) {
    return Error(EINVAL, "the process wants a terminal: give --console-socket (as runc needs)");
  }
  int master = -1;
  int slave = -1;
  if (::openpty(&master, &slave, nullptr, nullptr, nullptr) != 0) {
    return Error::FromErrno(errno, "openpty");
  }
  UniqueFd master_fd(master);
  Pty pty;
  pty.slave = UniqueFd(slave);
  ::fcntl(slave, F_SETFD, FD_CLOEXEC);
  termios raw{};
  if (::tcgetattr(slave, &raw) == 0) {
    ::cfmakeraw(&raw);
    ::tcsetattr(slave, TCSANOW, &raw);
  }
  (void)::ioctl(slave, TIOCSCTTY, 0);
  HULL_TRY(SendConsole(socket_path, master_fd.Get()));
  return pty;
}

void ResizeFrom(int tty, v1::Agent::Stub& agent, const std::string& id,
                const std::string& exec_id) {
  winsize size{};
  if (::ioctl(tty, TIOCGWINSZ, &size) != 0 || size.ws_row == 0) return;
  grpc::ClientContext context;
  v1::ResizeTtyRequest request;
  request.set_container_id(id);
  request.set_exec_id(exec_id);
  request.set_rows(size.ws_row);
  request.set_columns(size.ws_col);
  v1::Empty empty;
  (void)agent.ResizeTty(&context, request, &empty);
}

// Forks; the parent waits until the child reports on a pipe ("" = ready, or
// an error's text) and returns it; the child (with `ready` its end) runs
// `body` and _exits with its result.
Result<void> ForkMonitor(const std::function<int(int ready)>& body) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Error::FromErrno(errno, "pipe2");
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  const pid_t pid = ::fork();
  if (pid < 0) return Error::FromErrno(errno, "fork");
  if (pid == 0) {
    read_end = UniqueFd();
    ::setsid();
    ::_exit(body(write_end.Get()));
  }
  write_end = UniqueFd();
  std::string report;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(read_end.Get(), buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    report.append(buffer, static_cast<size_t>(n));
  }
  if (report == "ready") return Ok();
  // The monitor failed: reap it (it is our child until we exit).
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (report.empty()) {
    return Error(EIO, "the container's monitor ended (" + sandbox::DescribeWaitStatus(status) +
                          ") before the container was ready");
  }
  return Error(EIO, report);
}

void Report(int ready, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(ready, text.data() + done, text.size() - done);
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

int ExitCodeOf(int status) { return status < 0 ? 255 : status > 255 ? 255 : status; }

// Blocks SIGTERM, SIGINT and SIGHUP; a thread waits for one and kills
// hull-vmm, which ends every WaitProcess (the monitor then cleans up).
void KillVmOnSignal(pid_t vmm) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  std::thread([set, vmm] {
    int signal = 0;
    if (sigwait(&set, &signal) == 0) ::kill(vmm, SIGKILL);
  }).detach();
}

void BlockMonitorSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGWINCH);
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
}

// Relays SIGWINCH (the engine resized the pty) as tty resizes.
void ResizeOnWinch(int tty, v1::Agent::Stub& agent, std::string id, std::string exec_id) {
  std::thread([tty, &agent, id = std::move(id), exec_id = std::move(exec_id)] {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGWINCH);
    for (;;) {
      int signal = 0;
      if (sigwait(&set, &signal) != 0) return;
      ResizeFrom(tty, agent, id, exec_id);
    }
  }).detach();
}

// The body of the create monitor; returns its exit status.
int RunCreateMonitor(const CreateOptions& options, sandbox::HostConfig config, int ready) {
  BlockMonitorSignals();
  const std::string dir = StateDir(config, options.id);
  Stdio stdio = TakeStdio(dir + "/monitor.log");
  std::unique_ptr<sandbox::VmSandbox> vm;
  std::optional<Pty> pty;
  sandbox::GuestBundle bundle;
  Result<void> created = [&]() -> Result<void> {
    HULL_ASSIGN_OR_RETURN(config, sandbox::ConfigForBundle(options.id, options.bundle, config));
    HULL_ASSIGN_OR_RETURN(vm, sandbox::VmSandbox::Start(options.id, config));
    HULL_ASSIGN_OR_RETURN(bundle, sandbox::PrepareBundle(*vm, options.id, options.bundle));
    if (bundle.terminal) {
      HULL_ASSIGN_OR_RETURN(pty, OpenConsole(options.console_socket));
      // The pty is the process's stdio: let go of the engine's pipes, which
      // its runc wrapper reads to EOF before it takes the console (Go's
      // exec.Cmd output) and would wait on forever.
      stdio = Stdio();
    }
    HULL_TRY(vm->CreateContainer(options.id, bundle.spec_json, bundle.terminal, true));
    State state;
    state.id = options.id;
    state.bundle = options.bundle;
    state.cid = vm->cid();
    state.monitor_pid = ::getpid();
    state.created = NowRfc3339();
    state.annotations = bundle.annotations;
    HULL_TRY(WriteState(config, state));
    if (!options.pid_file.empty()) {
      HULL_TRY(WriteFileAtomically(options.pid_file, std::to_string(::getpid())));
    }
    return Ok();
  }();
  if (!created.ok()) {
    Report(ready, created.error().message());
    if (vm) (void)vm->Stop();
    return 1;
  }
  v1::Agent::Stub& agent = vm->agent();
  int exit_status = 255;
  {
    const int out_fd = pty ? pty->slave.Get() : stdio.out.Get();
    const int in_fd = pty ? pty->slave.Get() : stdio.in.Get();
    sandbox::OutputRelay out(agent, options.id, "", v1::ReadOutputRequest::STDOUT, out_fd);
    std::optional<sandbox::OutputRelay> err;
    if (!pty) err.emplace(agent, options.id, "", v1::ReadOutputRequest::STDERR, stdio.err.Get());
    sandbox::InputRelay in(agent, options.id, "", in_fd);
    KillVmOnSignal(vm->vmm_pid());
    if (pty) ResizeOnWinch(pty->slave.Get(), agent, options.id, "");
    Report(ready, "ready");
    ::close(ready);
    grpc::ClientContext context;
    v1::ProcessRequest request;
    request.set_container_id(options.id);
    v1::WaitProcessResponse response;
    if (agent.WaitProcess(&context, request, &response).ok()) {
      exit_status = response.exit_status();
      out.Join();
      if (err) err->Join();
    } else {
      exit_status = 128 + SIGKILL;  // the VM went away under it
    }
  }
  vm->RemoveContainer(options.id);
  if (Result<void> stopped = vm->Stop(5s); !stopped.ok()) {
    LogEvent(spdlog::level::warn, "sandbox_stop", Kv("error", stopped.error().message()));
  }
  return ExitCodeOf(exit_status);
}

// The OCI process of an exec: --process, or the container's own process
// with args (and env, cwd, terminal) replaced.
Result<std::string> ExecProcessJson(const ExecOptions& options, const State& state) {
  Json process;
  if (!options.process_file.empty()) {
    std::ifstream in(options.process_file);
    if (!in) return Error::FromErrno(errno, "reading --process " + options.process_file);
    process = Json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (process.is_discarded() || !process.is_object()) {
      return Error(EINVAL, "--process " + options.process_file + " is no JSON object");
    }
  } else {
    if (options.args.empty()) return Error(EINVAL, "exec: give the command to run, or --process");
    HULL_ASSIGN_OR_RETURN(std::string spec_json, sandbox::ReadBundleSpec(state.bundle));
    Json spec = Json::parse(spec_json, nullptr, /*allow_exceptions=*/false);
    if (spec.is_object() && spec.contains("process") && spec["process"].is_object()) {
      process = spec["process"];
    } else {
      process = Json::object();
    }
    process["args"] = options.args;
    process["terminal"] = options.tty;
    if (!options.cwd.empty()) process["cwd"] = options.cwd;
    if (!process.contains("cwd")) process["cwd"] = "/";
    for (const std::string& variable : options.env) process["env"].push_back(variable);
    process.erase("consoleSize");
  }
  return process.dump();
}

int RunExec(const ExecOptions& options, const State& state, const std::string& exec_id,
            const std::string& process_json, bool terminal, Stdio stdio, std::optional<Pty> pty,
            int ready) {
  Result<sandbox::AgentConnection> agent = Agent(state);
  if (!agent.ok()) {
    Report(ready, agent.error().message());
    return 1;
  }
  v1::Agent::Stub& stub = *agent->stub;
  {
    grpc::ClientContext context;
    v1::ExecProcessRequest request;
    request.set_container_id(state.id);
    request.set_exec_id(exec_id);
    request.set_process_json(process_json);
    request.mutable_stdio()->set_terminal(terminal);
    request.mutable_stdio()->set_stdin(true);
    v1::ExecProcessResponse response;
    Result<void> started =
        RpcOk(stub.ExecProcess(&context, request, &response), "exec in " + state.id);
    if (started.ok() && !options.pid_file.empty()) {
      started = WriteFileAtomically(options.pid_file, std::to_string(::getpid()));
    }
    if (!started.ok()) {
      Report(ready, started.error().message());
      return 1;
    }
  }
  int exit_status = 255;
  {
    const int out_fd = pty ? pty->slave.Get() : stdio.out.Get();
    const int in_fd = pty ? pty->slave.Get() : stdio.in.Get();
    sandbox::OutputRelay out(stub, state.id, exec_id, v1::ReadOutputRequest::STDOUT, out_fd);
    std::optional<sandbox::OutputRelay> err;
    if (!pty) err.emplace(stub, state.id, exec_id, v1::ReadOutputRequest::STDERR, stdio.err.Get());
    sandbox::InputRelay in(stub, state.id, exec_id, in_fd);
    if (pty) {
      ResizeFrom(pty->slave.Get(), stub, state.id, exec_id);
      ResizeOnWinch(pty->slave.Get(), stub, state.id, exec_id);
    }
    if (ready >= 0) {
      Report(ready, "ready");
      ::close(ready);
    }
    grpc::ClientContext context;
    v1::ProcessRequest request;
    request.set_container_id(state.id);
    request.set_exec_id(exec_id);
    v1::WaitProcessResponse response;
    if (stub.WaitProcess(&context, request, &response).ok()) {
      exit_status = response.exit_status();
      out.Join();
      if (err) err->Join();
    }
  }
  return ExitCodeOf(exit_status);
}

}  // namespace

Result<int> ParseSignal(const std::string& text) {
  if (text.empty()) return Error(EINVAL, "no signal given");
  if (text.find_first_not_of("0123456789") == std::string::npos) {
    const long number = std::strtol(text.c_str(), nullptr, 10);
    if (number < 1 || number > 64) return Error(EINVAL, "signal " + text + " is out of range");
    return static_cast<int>(number);
  }
  std::string name = text;
  for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (name.starts_with("SIG")) name = name.substr(3);
  static const std::map<std::string, int> kSignals = {
      {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"KILL", SIGKILL},
      {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"TERM", SIGTERM}, {"CONT", SIGCONT},
      {"STOP", SIGSTOP}, {"PIPE", SIGPIPE}, {"ALRM", SIGALRM}, {"WINCH", SIGWINCH},
      {"ABRT", SIGABRT}, {"TSTP", SIGTSTP}, {"CHLD", SIGCHLD}, {"PWR", SIGPWR}};
  auto it = kSignals.find(name);
  if (it == kSignals.end()) return Error(EINVAL, "unknown signal \"" + text + "\"");
  return it->second;
}

Result<int> CreateContainer(const CreateOptions& options, const sandbox::HostConfig& config) {
  HULL_TRY(sandbox::ValidateId("container", options.id));
  const std::string dir = StateDir(config, options.id);
  std::error_code error;
  fs::create_directories(config.state_root + "/containers", error);
  if (error) return Error(error.value(), "creating " + config.state_root + "/containers");
  if (::mkdir(dir.c_str(), 0700) != 0) {
    if (errno == EEXIST) return Error(EEXIST, "container " + options.id + " exists already");
    return Error::FromErrno(errno, "creating " + dir);
  }
  CreateOptions absolute = options;
  absolute.bundle = fs::absolute(options.bundle).lexically_normal().string();
  if (!absolute.bundle.empty() && absolute.bundle.back() == '/') absolute.bundle.pop_back();
  Result<void> forked =
      ForkMonitor([&](int ready) { return RunCreateMonitor(absolute, config, ready); });
  if (!forked.ok()) {
    fs::remove_all(dir, error);
    return std::move(forked).error();
  }
  return 0;
}

Result<int> StartContainer(const std::string& id, const sandbox::HostConfig& config) {
  HULL_ASSIGN_OR_RETURN(State state, ReadState(config, id));
  HULL_ASSIGN_OR_RETURN(sandbox::AgentConnection agent, Agent(state));
  grpc::ClientContext context;
  v1::ContainerRequest request;
  request.set_container_id(id);
  v1::Empty empty;
  HULL_TRY(RpcOk(agent.stub->StartContainer(&context, request, &empty), "starting " + id));
  return 0;
}

Result<int> PrintState(const std::string& id, const sandbox::HostConfig& config) {
  HULL_ASSIGN_OR_RETURN(State state, ReadState(config, id));
  const std::string status = CurrentStatus(state);
  Json json = {{"ociVersion", "1.1.0"},
               {"id", state.id},
               {"status", status},
               {"pid", status == "stopped" ? 0 : state.monitor_pid},
               {"bundle", state.bundle},
               {"rootfs", state.bundle + "/rootfs"},
               {"created", state.created},
               {"owner", ""},
               {"annotations", state.annotations}};
  std::printf("%s\n", json.dump(2).c_str());
  return 0;
}

Result<int> KillContainer(const std::string& id, const std::string& signal_text, bool all,
                          const sandbox::HostConfig& config) {
  HULL_ASSIGN_OR_RETURN(State state, ReadState(config, id));
  HULL_ASSIGN_OR_RETURN(int signal, ParseSignal(signal_text.empty() ? "TERM" : signal_text));
  HULL_ASSIGN_OR_RETURN(sandbox::AgentConnection agent, Agent(state));
  grpc::ClientContext context;
  v1::SignalProcessRequest request;
  request.set_container_id(id);
  request.set_signal(static_cast<uint32_t>(signal));
  request.set_all(all);
  v1::Empty empty;
  HULL_TRY(RpcOk(agent.stub->SignalProcess(&context, request, &empty),
                 "signal " + std::to_string(signal) + " to " + id));
  return 0;
}

Result<int> PauseContainer(const std::string& id, bool pause, const sandbox::HostConfig& config) {
  HULL_ASSIGN_OR_RETURN(State state, ReadState(config, id));
  HULL_ASSIGN_OR_RETURN(sandbox::AgentConnection agent, Agent(state));
  grpc::ClientContext context;
  v1::ContainerRequest request;
  request.set_container_id(id);
  v1::Empty empty;
  grpc::Status status = pause ? agent.stub->PauseContainer(&context, request, &empty)
                              : agent.stub->ResumeContainer(&context, request, &empty);
  HULL_TRY(RpcOk(status, (pause ? "pausing " : "resuming ") + id));
  return 0;
}

Result<int> DeleteContainer(const std::string& id, bool force, const sandbox::HostConfig& config) {
  const std::string state_file = StateDir(config, id) + "/state.json";
  HULL_TRY(sandbox::ValidateId("container", id));
  if (force && ::access(state_file.c_str(), F_OK) != 0) {
    // As runc: --force deletes what a failed create may have left, and a
    // container that is not there is no error.
    HULL_TRY(sandbox::VmSandbox::CleanupStale(config.state_root, id));
    std::error_code error;
    fs::remove_all(StateDir(config, id), error);
    return 0;
  }
  HULL_ASSIGN_OR_RETURN(State state, ReadState(config, id));
  if (MonitorAlive(state)) {
    const std::string status = CurrentStatus(state);
    if (!force && (status == "running" || status == "paused")) {
      return Error(EBUSY, "container " + id + " is " + status +
                              ": stop it first (hull kill), or delete --force");
    }
    // The monitor stops the VM and exits.
    ::kill(state.monitor_pid, SIGTERM);
    for (int i = 0; i < 300 && MonitorAlive(state); ++i) std::this_thread::sleep_for(50ms);
    if (MonitorAlive(state)) ::kill(state.monitor_pid, SIGKILL);
  }
  // Whatever a killed monitor left (its VM's processes, mounts, directory).
  HULL_TRY(sandbox::VmSandbox::CleanupStale(config.state_root, id));
  std::error_code error;
  fs::remove_all(StateDir(config, id), error);
  if (error) return Error(error.value(), "removing " + StateDir(config, id));
  return 0;
}

Result<int> ExecInContainer(const ExecOptions& options, const sandbox::HostConfig& config) {
  HULL_ASSIGN_OR_RETURN(State state, ReadState(config, options.id));
  HULL_ASSIGN_OR_RETURN(std::string process_json, ExecProcessJson(options, state));
  const Json process = Json::parse(process_json);
  const bool terminal = process.value("terminal", false);
  static unsigned counter = 0;
  const std::string exec_id =
      "exec-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
  if (!options.detach) {
    // In the foreground: this process relays and returns the status.
    BlockMonitorSignals();
    Stdio stdio = CopyStdio();
    std::optional<Pty> pty;
    if (terminal) {
      HULL_ASSIGN_OR_RETURN(pty, OpenConsole(options.console_socket));
    }
    return RunExec(options, state, exec_id, process_json, terminal, std::move(stdio),
                   std::move(pty), -1);
  }
  Result<void> forked = ForkMonitor([&](int ready) {
    BlockMonitorSignals();
    Stdio stdio = TakeStdio(StateDir(config, options.id) + "/monitor.log");
    std::optional<Pty> pty;
    if (terminal) {
      Result<Pty> opened = OpenConsole(options.console_socket);
      if (!opened.ok()) {
        Report(ready, opened.error().message());
        return 1;
      }
      pty = std::move(*opened);
      stdio = Stdio();  // as in create: the pty replaces the engine's pipes
    }
    return RunExec(options, state, exec_id, process_json, terminal, std::move(stdio),
                   std::move(pty), ready);
  });
  if (!forked.ok()) return std::move(forked).error();
  return 0;
}

Result<int> ListProcesses(const std::string& id, const std::string& format,
                          const sandbox::HostConfig& config) {
  HULL_ASSIGN_OR_RETURN(State state, ReadState(config, id));
  HULL_ASSIGN_OR_RETURN(sandbox::AgentConnection agent, Agent(state));
  grpc::ClientContext context;
  v1::ContainerRequest request;
  request.set_container_id(id);
  v1::ListProcessesResponse response;
  HULL_TRY(RpcOk(agent.stub->ListProcesses(&context, request, &response), "listing " + id));
  if (format == "json") {
    Json pids = Json::array();
    for (const v1::ProcessInfo& info : response.processes()) pids.push_back(info.pid());
    std::printf("%s\n", pids.dump().c_str());
    return 0;
  }
  std::printf("PID (in the VM)  EXEC\n");
  for (const v1::ProcessInfo& info : response.processes()) {
    std::printf("%-16u %s\n", info.pid(), info.exec_id().c_str());
  }
  return 0;
}

Result<int> ListContainers(const std::string& format, bool quiet,
                           const sandbox::HostConfig& config) {
  Json all = Json::array();
  std::error_code error;
  std::vector<std::string> ids;
  for (const auto& entry : fs::directory_iterator(config.state_root + "/containers", error)) {
    ids.push_back(entry.path().filename().string());
  }
  std::sort(ids.begin(), ids.end());
  if (!quiet && format != "json") std::printf("ID                  PID       STATUS    BUNDLE\n");
  for (const std::string& id : ids) {
    Result<State> state = ReadState(config, id);
    if (!state.ok()) continue;
    const std::string status = CurrentStatus(*state);
    const pid_t pid = status == "stopped" ? 0 : state->monitor_pid;
    if (quiet) {
      std::printf("%s\n", id.c_str());
    } else if (format == "json") {
      all.push_back({{"ociVersion", "1.1.0"},
                     {"id", id},
                     {"pid", pid},
                     {"status", status},
                     {"bundle", state->bundle},
                     {"created", state->created}});
    } else {
      std::printf("%-19s %-9d %-9s %s\n", id.c_str(), pid, status.c_str(), state->bundle.c_str());
    }
  }
  if (format == "json" && !quiet) std::printf("%s\n", all.dump().c_str());
  return 0;
}

}  // namespace hull::cli
