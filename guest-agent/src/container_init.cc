#include "container_init.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "hull/common/unique_fd.h"
#include "hull/container/capabilities.h"
#include "hull/container/credentials.h"
#include "hull/container/rlimits.h"
#include "hull/container/seccomp.h"
#include "hull/container/sysctl.h"
#include "hull/oci/names.h"
#include "hull/oci/spec_parse.h"
#include "init_request.h"
#include "rootfs.h"
#include "sync_channel.h"

namespace hull::agent {
namespace {

using Json = nlohmann::json;

[[noreturn]] void Fail(const Error& error) {
  Json frame = {{"error", error.message()}, {"code", error.code()}};
  (void)SendFrame(kSyncFd, frame.dump(-1, ' ', false, Json::error_handler_t::replace));
  _exit(1);
}

template <typename T>
T OrFail(Result<T> result) {
  if (!result.ok()) Fail(result.error());
  return std::move(result).value();
}

void OrFail(Result<void> result) {
  if (!result.ok()) Fail(result.error());
}

Result<void> EnterCgroup(const std::string& dir) {
  if (dir.empty()) return {};
  const std::string procs = dir + "/cgroup.procs";
  int fd = ::open(procs.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return Error::FromErrno(errno, "opening " + procs);
  const std::string pid = std::to_string(::getpid());
  const ssize_t n = ::write(fd, pid.data(), pid.size());
  const int saved = errno;
  ::close(fd);
  if (n < 0) return Error::FromErrno(saved, "entering cgroup " + dir);
  return {};
}

struct OpenNamespace {
  oci::NamespaceType type;
  int fd;
  std::string path;
};

// setns into each; the mount namespace last, since entering it changes what
// paths mean (and the root and cwd).
Result<void> JoinNamespaces(const std::vector<JoinNamespace>& join) {
  std::vector<OpenNamespace> open;
  for (const JoinNamespace& ns : join) {
    int fd = ::open(ns.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Error::FromErrno(errno, "opening namespace " + ns.path);
    open.push_back({ns.type, fd, ns.path});
  }
  std::stable_partition(open.begin(), open.end(), [](const OpenNamespace& ns) {
    return ns.type != oci::NamespaceType::kMount;
  });
  for (const OpenNamespace& ns : open) {
    if (::setns(ns.fd, oci::NamespaceCloneFlag(ns.type)) != 0) {
      return Error::FromErrno(errno, "joining " + std::string(oci::NamespaceTypeName(ns.type)) +
                                         " namespace " + ns.path);
    }
    ::close(ns.fd);
  }
  return {};
}

// After the fork: stage 1 reports the child's pid, then lets the child go on
// (so that the child's frames come after the pid) and exits. Returns in the
// child only.
void ForkAndReport() {
  int gate[2];
  if (::pipe2(gate, O_CLOEXEC) != 0) Fail(Error::FromErrno(errno, "pipe"));
  const pid_t child = ::fork();
  if (child < 0) Fail(Error::FromErrno(errno, "fork of the container process"));
  if (child == 0) {
    ::close(gate[1]);
    char byte;
    while (::read(gate[0], &byte, 1) < 0 && errno == EINTR) {
    }
    ::close(gate[0]);
    return;  // only the child returns, into stage 2
  }
  Json frame = {{"pid", child}};
  (void)SendFrame(kSyncFd, frame.dump());
  ::close(gate[1]);
  _exit(0);
}

std::optional<std::string> EnvValue(const std::vector<std::string>& env, std::string_view key) {
  for (const std::string& entry : env) {
    if (entry.size() > key.size() && entry.compare(0, key.size(), key) == 0 &&
        entry[key.size()] == '=') {
      return entry.substr(key.size() + 1);
    }
  }
  return std::nullopt;
}

// HOME from the container's /etc/passwd when the spec does not set it.
std::string HomeOf(uint32_t uid) {
  std::ifstream passwd("/etc/passwd");
  std::string line;
  while (std::getline(passwd, line)) {
    std::vector<std::string> fields;
    size_t start = 0;
    for (;;) {
      size_t colon = line.find(':', start);
      fields.push_back(line.substr(start, colon - start));
      if (colon == std::string::npos) break;
      start = colon + 1;
    }
    if (fields.size() >= 6 && fields[2] == std::to_string(uid)) return fields[5];
  }
  return "/";
}

Result<std::string> FindExecutable(const std::string& program,
                                   const std::vector<std::string>& env) {
  if (program.find('/') != std::string::npos) {
    if (::access(program.c_str(), X_OK) != 0) {
      return Error::FromErrno(errno, "exec: \"" + program + "\"");
    }
    return program;
  }
  std::string path = EnvValue(env, "PATH")
                         .value_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  size_t start = 0;
  for (;;) {
    size_t colon = path.find(':', start);
    std::string dir = path.substr(start, colon - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + program;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return Error(ENOENT, "exec: \"" + program + "\": executable file not found in $PATH");
}

uint64_t CapabilityMask(const std::vector<std::string>& names) {
  uint64_t mask = 0;
  for (const std::string& name : names) {
    if (auto cap = oci::CapabilityFromName(name)) mask |= uint64_t{1} << *cap;
  }
  return mask;
}

Result<void> SetupTerminal(bool terminal) {
  if (::setsid() < 0) return Error::FromErrno(errno, "setsid");
  if (terminal && ::ioctl(0, TIOCSCTTY, 0) != 0) {
    return Error::FromErrno(errno, "making the tty the controlling terminal");
  }
  return {};
}

// The steps every container process takes (create and exec), after the file
// system is in place: limits, credentials, capabilities, seccomp; then
// "ready", the start signal (create only) and exec.
[[noreturn]] void FinishAndExec(const oci::Process& process,
                                const std::optional<oci::Seccomp>& seccomp, bool wait_for_start) {
  if (process.oom_score_adj) OrFail(container::SetOomScoreAdj(*process.oom_score_adj));
  for (const oci::Rlimit& rlimit : process.rlimits) {
    auto resource = oci::RlimitFromName(rlimit.type);
    if (!resource) Fail(Error(EINVAL, "process.rlimits: unknown type " + rlimit.type));
    OrFail(container::ApplyRlimit(*resource, rlimit.soft, rlimit.hard));
  }
  if (process.user.umask) container::SetUmask(*process.user.umask);

  std::optional<container::SeccompProgram> filter;
  if (seccomp) filter = OrFail(container::SeccompProgram::Build(*seccomp));
  // Without no_new_privs a filter needs CAP_SYS_ADMIN: load it while the
  // process still has it (runc's order); the profile must then allow the
  // remaining set-up calls, as Docker's does.
  if (filter && !process.no_new_privileges) OrFail(filter->Load());

  container::CapabilitySets caps{};
  if (process.capabilities) {
    caps.bounding = CapabilityMask(process.capabilities->bounding);
    caps.effective = CapabilityMask(process.capabilities->effective);
    caps.permitted = CapabilityMask(process.capabilities->permitted);
    caps.inheritable = CapabilityMask(process.capabilities->inheritable);
    caps.ambient = CapabilityMask(process.capabilities->ambient);
  }
  OrFail(container::DropBoundingSet(caps.bounding));
  OrFail(container::SwitchUser(process.user.uid, process.user.gid, process.user.additional_gids));
  OrFail(container::ApplyCapabilities(caps));
  if (process.no_new_privileges) OrFail(container::SetNoNewPrivileges());

  const std::string cwd = process.cwd.empty() ? "/" : process.cwd;
  if (::chdir(cwd.c_str()) != 0) Fail(Error::FromErrno(errno, "chdir to process.cwd " + cwd));

  std::vector<std::string> env = process.env;
  if (!EnvValue(env, "HOME")) env.push_back("HOME=" + HomeOf(process.user.uid));
  if (process.args.empty()) Fail(Error(EINVAL, "process.args is empty"));
  const std::string program = OrFail(FindExecutable(process.args[0], env));

  OrFail(SendFrame(kSyncFd, R"({"ready":true})"));
  if (wait_for_start) {
    auto frame = ReceiveFrame(kSyncFd);
    // The agent went away (or deleted the container): nothing to start.
    if (!frame.ok() || !frame->has_value()) _exit(1);
  }
  if (filter && process.no_new_privileges) OrFail(filter->Load());

  std::vector<char*> argv;
  for (const std::string& arg : process.args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const std::string& entry : env) envp.push_back(const_cast<char*>(entry.c_str()));
  envp.push_back(nullptr);
  ::execve(program.c_str(), argv.data(), envp.data());
  Fail(Error::FromErrno(errno, "exec " + program));
}

[[noreturn]] void CreateMain(const InitRequest& request) {
  oci::Spec spec = OrFail(oci::ParseSpec(request.spec_json));
  OrFail(oci::ValidateSpec(spec));
  const oci::Process& process = *spec.process;

  OrFail(EnterCgroup(request.cgroup_dir));
  std::vector<JoinNamespace> join = request.join;
  int new_flags = 0;
  bool new_net = false;
  bool new_ipc = false;
  bool new_uts = false;
  bool has_mount = false;
  if (spec.linux) {
    for (const oci::Namespace& ns : spec.linux->namespaces) {
      if (ns.type == oci::NamespaceType::kMount) has_mount = true;
      if (!ns.path.empty()) {
        join.push_back({ns.type, ns.path});
        continue;
      }
      new_flags |= oci::NamespaceCloneFlag(ns.type);
      if (ns.type == oci::NamespaceType::kNetwork) new_net = true;
      if (ns.type == oci::NamespaceType::kIpc) new_ipc = true;
      if (ns.type == oci::NamespaceType::kUts) new_uts = true;
    }
  }
  if (!has_mount) {
    Fail(Error(EINVAL, "linux.namespaces: hull-agent needs a mount namespace for the container"));
  }
  OrFail(JoinNamespaces(join));
  if (::unshare(new_flags) != 0) Fail(Error::FromErrno(errno, "unshare of the spec's namespaces"));
  ForkAndReport();

  // Stage 2: PID 1 of the container's PID namespace (when it has a new one).
  OrFail(SetupTerminal(process.terminal));
  RootfsOptions rootfs{.rootfs = request.rootfs,
                       .console_path = request.console_path,
                       .new_network_namespace = new_net,
                       .new_ipc_namespace = new_ipc};
  OrFail(PrepareRootfs(spec, rootfs));
  if (new_uts) {
    if (!spec.hostname.empty() && ::sethostname(spec.hostname.data(), spec.hostname.size()) != 0) {
      Fail(Error::FromErrno(errno, "sethostname " + spec.hostname));
    }
    if (!spec.domainname.empty() &&
        ::setdomainname(spec.domainname.data(), spec.domainname.size()) != 0) {
      Fail(Error::FromErrno(errno, "setdomainname " + spec.domainname));
    }
  }
  // Before the read-only paths: /proc/sys is one of them.
  if (spec.linux) OrFail(container::WriteSysctls(spec.linux->sysctl));
  OrFail(FinishRootfs(spec));
  FinishAndExec(process, spec.linux ? spec.linux->seccomp : std::nullopt, /*wait_for_start=*/true);
}

[[noreturn]] void ExecMain(const InitRequest& request) {
  oci::Process process = OrFail(oci::ParseProcess(request.process_json));
  OrFail(oci::ValidateProcess(process));
  std::optional<oci::Seccomp> seccomp;
  if (!request.spec_json.empty()) {
    // The container's seccomp profile applies to exec'd processes too.
    oci::Spec spec = OrFail(oci::ParseSpec(request.spec_json));
    if (spec.linux) seccomp = spec.linux->seccomp;
  }
  OrFail(EnterCgroup(request.cgroup_dir));
  UniqueFd root;
  if (!request.root_path.empty()) {
    root = UniqueFd(::open(request.root_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) Fail(Error::FromErrno(errno, "opening the container's root " + request.root_path));
  }
  OrFail(JoinNamespaces(request.join));
  if (root) {
    if (::fchdir(root.Get()) != 0 || ::chroot(".") != 0) {
      Fail(Error::FromErrno(errno, "entering the container's root"));
    }
    root.Reset();
  }
  ForkAndReport();
  OrFail(SetupTerminal(process.terminal));
  FinishAndExec(process, seccomp, /*wait_for_start=*/false);
}

}  // namespace

void ContainerInitMain() {
  if (::fcntl(kSyncFd, F_SETFD, FD_CLOEXEC) != 0) _exit(2);
  // Nothing but stdio and the sync socket may reach the container.
  ::syscall(SYS_close_range, kSyncFd + 1, ~0U, 0);
  auto frame = ReceiveFrame(kSyncFd);
  if (!frame.ok()) Fail(frame.error());
  if (!frame->has_value()) _exit(1);
  InitRequest request = OrFail(ParseInitRequest(**frame));
  if (request.mode == InitRequest::Mode::kCreate) CreateMain(request);
  ExecMain(request);
}

}  // namespace hull::agent
