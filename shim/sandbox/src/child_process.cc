#include "hull/sandbox/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <thread>

#include "hull/common/eintr.h"
#include "hull/common/unique_fd.h"

extern char** environ;

namespace hull::sandbox {

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), name_(std::move(other.name_)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    if (running()) Stop(std::chrono::milliseconds(0));
    pid_ = std::exchange(other.pid_, -1);
    name_ = std::move(other.name_);
  }
  return *this;
}

ChildProcess::~ChildProcess() {
  if (running()) Stop(std::chrono::milliseconds(0));
}

Result<ChildProcess> ChildProcess::Spawn(const std::vector<std::string>& argv,
                                         const std::string& log_path,
                                         const std::vector<int>& pass_fds, const std::string& cwd) {
  if (argv.empty()) return Error(EINVAL, "spawn: no program");
  const std::string& program = argv[0];
  UniqueFd log(RetryOnEintr(
      [&] { return ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600); }));
  if (!log) return Error::FromErrno(errno, "opening the log " + log_path + " of " + program);
  UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!null) return Error::FromErrno(errno, "opening /dev/null");

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, null.Get(), STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, log.Get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, log.Get(), STDERR_FILENO);
  // Copies above every target number first, so that no dup2 onto 3 + i
  // overwrites a source still to be copied; dup2 clears FD_CLOEXEC on the
  // target only, and the copies close at exec.
  constexpr int kFirstPassed = 3;
  std::vector<UniqueFd> sources;
  for (size_t i = 0; i < pass_fds.size(); ++i) {
    const int above = kFirstPassed + static_cast<int>(pass_fds.size());
    UniqueFd copy(::fcntl(pass_fds[i], F_DUPFD_CLOEXEC, above));
    if (!copy) {
      posix_spawn_file_actions_destroy(&actions);
      return Error::FromErrno(errno,
                              "passing fd " + std::to_string(pass_fds[i]) + " to " + program);
    }
    posix_spawn_file_actions_adddup2(&actions, copy.Get(), kFirstPassed + static_cast<int>(i));
    sources.push_back(std::move(copy));
  }
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  // Its own process group (a terminal's ^C reaches only us, and we decide),
  // default signal dispositions and an empty signal mask.
  sigset_t none;
  sigemptyset(&none);
  sigset_t all;
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setsigdefault(&attributes, &all);
  posix_spawnattr_setpgroup(&attributes, 0);
  posix_spawnattr_setflags(&attributes,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, program.c_str(), &actions, &attributes, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (rc != 0) return Error::FromErrno(rc, "starting " + program);
  ChildProcess child;
  child.pid_ = pid;
  const size_t slash = program.rfind('/');
  child.name_ = slash == std::string::npos ? program : program.substr(slash + 1);
  return child;
}

std::optional<int> ChildProcess::Poll() {
  if (!running()) return std::nullopt;
  int status = 0;
  const pid_t ended = RetryOnEintr([&] { return ::waitpid(pid_, &status, WNOHANG); });
  if (ended != pid_) return std::nullopt;
  pid_ = -1;
  return status;
}

std::optional<int> ChildProcess::WaitFor(std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    if (std::optional<int> status = Poll()) return status;
    if (!running() || std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

int ChildProcess::Stop(std::chrono::milliseconds grace) {
  if (!running()) return 0;
  if (grace.count() > 0) {
    ::kill(pid_, SIGTERM);
    if (std::optional<int> status = WaitFor(grace)) return *status;
  }
  ::kill(pid_, SIGKILL);
  int status = 0;
  RetryOnEintr([&] { return ::waitpid(pid_, &status, 0); });
  pid_ = -1;
  return status;
}

std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const char* name = ::sigabbrev_np(WTERMSIG(status));
    return std::string("killed by SIG") + (name ? name : std::to_string(WTERMSIG(status)));
  }
  return "wait status " + std::to_string(status);
}

std::string FileTail(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  const std::streamoff start = size > static_cast<std::streamoff>(max_bytes)
                                   ? size - static_cast<std::streamoff>(max_bytes)
                                   : 0;
  in.seekg(start);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace hull::sandbox
