// containerd-shim-hull-v2: containerd's runtime v2 shim for hull. containerd
// runs it three ways (as its own shims are run):
//   ... -namespace NS -address A -publish-binary B -id ID start
//       starts the shim daemon (this binary again, on a listening socket
//       passed as fd 3), writes the socket's address to ./address and
//       prints it; containerd then speaks ttrpc to it. A pod's container
//       (its spec names a CRI sandbox) gets the address of its sandbox's
//       shim instead, and so joins that VM;
//   ... -id ID [-bundle DIR] delete
//       cleans up what a dead shim left and prints a DeleteResponse;
//   (no action) the daemon: serves containerd.task.v2.Task until Shutdown.
// The working directory is the task's bundle.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "github.com/containerd/containerd/runtime/v2/task/shim.pb.h"
#include "hull/common/logging.h"
#include "hull/common/unique_fd.h"
#include "hull/sandbox/container_bundle.h"
#include "hull/sandbox/host_config.h"
#include "hull/sandbox/vm_sandbox.h"
#include "hull/ttrpc/server.h"
#include "hull/ttrpc/unix_socket.h"
#include "publisher.h"
#include "task_service.h"

extern char** environ;

namespace {

struct Flags {
  std::string ns;
  std::string id;
  std::string address;
  std::string publish_binary;
  std::string bundle;
  std::string socket;
  bool debug = false;
  std::string action;
};

int Fail(const std::string& message) {
  std::fprintf(stderr, "containerd-shim-hull-v2: %s\n", message.c_str());
  return 1;
}

// Go's flag syntax: -name value, --name value, -name=value.
bool ParseFlags(int argc, char** argv, Flags& flags, std::string& error) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.empty() || arg[0] != '-') {
      flags.action = arg;
      continue;
    }
    arg = arg.substr(arg.rfind('-', 1) == 1 ? 2 : 1);
    std::string value;
    bool has_value = false;
    if (size_t equals = arg.find('='); equals != std::string::npos) {
      value = arg.substr(equals + 1);
      arg = arg.substr(0, equals);
      has_value = true;
    }
    if (arg == "debug") {
      flags.debug = true;
      continue;
    }
    if (arg == "v") {
      std::printf("containerd-shim-hull-v2:\n  Version: 0.1.0\n");
      std::exit(0);
    }
    std::string* target = arg == "namespace"        ? &flags.ns
                          : arg == "id"             ? &flags.id
                          : arg == "address"        ? &flags.address
                          : arg == "publish-binary" ? &flags.publish_binary
                          : arg == "bundle"         ? &flags.bundle
                          : arg == "socket"         ? &flags.socket
                                                    : nullptr;
    if (!target) {
      error = "unknown flag -" + arg;
      return false;
    }
    if (!has_value) {
      if (i + 1 >= argc) {
        error = "flag -" + arg + " needs a value";
        return false;
      }
      value = argv[++i];
    }
    *target = value;
  }
  return true;
}

// The sandbox (VM, and so shim) the task belongs to: its pod's sandbox for
// a pod's container, else its own id. Read from the bundle's config.json
// (the working directory, or -bundle).
std::string SandboxOf(const Flags& flags) {
  const std::string bundle = flags.bundle.empty() ? "." : flags.bundle;
  hull::Result<std::map<std::string, std::string>> annotations =
      hull::sandbox::ReadBundleAnnotations(bundle);
  if (!annotations.ok()) return flags.id;
  return hull::sandbox::SandboxIdFor(flags.id, hull::sandbox::PodRoleOf(*annotations));
}

// A stable name for a sandbox's socket: FNV-1a over containerd's address,
// the namespace and the sandbox id (containerd's own shims use a SHA-256 of
// the same, grouped the same way).
std::string SocketPath(const Flags& flags, const std::string& sandbox_id) {
  const std::string key = flags.address + "/" + flags.ns + "/" + sandbox_id;
  char hex[33];
  uint64_t a = 0xcbf29ce484222325ull;
  uint64_t b = 0x84222325cbf29ce4ull;
  for (char ch : key) {
    const auto c = static_cast<unsigned char>(ch);
    a = (a ^ c) * 0x100000001b3ull;
    b = (b ^ c) * 0x100000001b3ull + 1;
  }
  std::snprintf(hex, sizeof(hex), "%016llx%016llx", static_cast<unsigned long long>(a),
                static_cast<unsigned long long>(b));
  return std::string("/run/containerd/s/hull-") + hex;
}

int Start(const Flags& flags) {
  const std::string sandbox_id = SandboxOf(flags);
  const std::string path = SocketPath(flags, sandbox_id);
  if (sandbox_id != flags.id) {
    // A pod's container: its sandbox's shim serves it.
    if (!hull::ttrpc::ConnectUnix("unix://" + path).ok()) {
      return Fail("container " + flags.id + " belongs to pod sandbox " + sandbox_id +
                  ", whose shim is not running (no " + path + "): start the sandbox first");
    }
    const std::string address = "unix://" + path;
    std::ofstream("address") << address;
    std::fputs(address.c_str(), stdout);
    return 0;
  }
  ::mkdir("/run/containerd", 0711);
  ::mkdir("/run/containerd/s", 0711);
  ::unlink(path.c_str());
  hull::Result<hull::UniqueFd> listener = hull::ttrpc::ListenUnix(path);
  if (!listener.ok()) return Fail(listener.error().message());

  // The daemon is this binary, under its own name (ps, pkill and
  // containerd's logs show it).
  char exe[4096] = {};
  if (::readlink("/proc/self/exe", exe, sizeof(exe) - 1) <= 0) {
    return Fail(std::string("readlink /proc/self/exe: ") + std::strerror(errno));
  }
  std::vector<std::string> args = {exe,
                                   "-namespace",
                                   flags.ns,
                                   "-id",
                                   flags.id,
                                   "-address",
                                   flags.address,
                                   "-socket",
                                   path,
                                   "-publish-binary",
                                   flags.publish_binary};
  if (flags.debug) args.push_back("-debug");
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  hull::UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // containerd waits for this process's stdout and stderr to close: the
  // daemon must not keep them.
  posix_spawn_file_actions_adddup2(&actions, null.Get(), 0);
  posix_spawn_file_actions_adddup2(&actions, null.Get(), 1);
  posix_spawn_file_actions_adddup2(&actions, null.Get(), 2);
  posix_spawn_file_actions_adddup2(&actions, listener->Get(), 3);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSID);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, argv[0], &actions, &attributes, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (rc != 0) return Fail(std::string("starting the shim daemon: ") + std::strerror(rc));
  const std::string address = "unix://" + path;
  std::ofstream("address") << address;
  std::ofstream("shim.pid") << pid;
  std::fputs(address.c_str(), stdout);
  return 0;
}

int Delete(const Flags& flags, const hull::sandbox::HostConfig& config) {
  std::string bundle = flags.bundle;
  if (bundle.empty()) {
    char cwd[4096];
    if (::getcwd(cwd, sizeof(cwd))) bundle = cwd;
  }
  if (!bundle.empty()) ::umount2((bundle + "/rootfs").c_str(), MNT_DETACH);
  const std::string sandbox_id = SandboxOf(flags);
  // A pod's container leaves the sandbox's socket and VM to the sandbox.
  if (sandbox_id == flags.id) {
    // A killed daemon could not remove its socket.
    ::unlink(SocketPath(flags, sandbox_id).c_str());
    if (hull::Result<void> cleaned =
            hull::sandbox::VmSandbox::CleanupStale(config.state_root, flags.id);
        !cleaned.ok()) {
      std::fprintf(stderr, "containerd-shim-hull-v2: %s\n", cleaned.error().message().c_str());
    }
  }
  containerd::task::v2::DeleteResponse response;
  response.set_exit_status(128 + SIGKILL);
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  response.mutable_exited_at()->set_seconds(
      std::chrono::duration_cast<std::chrono::seconds>(now).count());
  const std::string bytes = response.SerializeAsString();
  std::fwrite(bytes.data(), 1, bytes.size(), stdout);
  return 0;
}

int Serve(const Flags& flags, const hull::sandbox::HostConfig& config) {
  // Logs to the "log" FIFO containerd made in the bundle (it copies them
  // into its own log).
  int log = ::open("log", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (log >= 0) {
    ::fcntl(log, F_SETFL, ::fcntl(log, F_GETFL) & ~O_NONBLOCK);
    ::dup2(log, 2);
    ::close(log);
  }
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
  (void)hull::InitLogging(flags.debug ? "debug" : "info", "containerd-shim-hull-v2");

  const char* ttrpc_address = std::getenv("TTRPC_ADDRESS");
  hull::shim::Publisher publisher(ttrpc_address ? ttrpc_address : "", flags.ns);
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  hull::shim::TaskService service(config, publisher, [&] {
    std::lock_guard lock(mutex);
    done = true;
    done_cv.notify_all();
  });
  hull::ttrpc::Services services;
  if (hull::Result<void> registered = service.Register(services); !registered.ok()) {
    return Fail(registered.error().message());
  }
  hull::Result<std::unique_ptr<hull::ttrpc::Server>> server =
      hull::ttrpc::Server::Start(hull::UniqueFd(3), std::move(services));
  if (!server.ok()) return Fail(server.error().message());
  hull::LogEvent(spdlog::level::info, "shim_serving", hull::Kv("id", flags.id),
                 hull::Kv("socket", flags.socket));
  // SIGTERM also ends the shim (containerd's last resort).
  std::thread signals([&] {
    int signal = 0;
    sigwait(&set, &signal);
    std::lock_guard lock(mutex);
    done = true;
    done_cv.notify_all();
  });
  signals.detach();
  {
    std::unique_lock lock(mutex);
    done_cv.wait(lock, [&] { return done; });
  }
  // Let the Shutdown reply go out first.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  (*server)->Shutdown();
  service.Cleanup();
  if (!flags.socket.empty()) ::unlink(flags.socket.c_str());
  std::_Exit(0);  // the signal thread may still wait
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  std::string error;
  if (!ParseFlags(argc, argv, flags, error)) return Fail(error);
  if (flags.ns.empty() && flags.action != "delete") return Fail("-namespace is required");
  hull::Result<void> id_ok = hull::sandbox::ValidateId("task", flags.id);
  if (!id_ok.ok()) return Fail(id_ok.error().message());
  hull::Result<hull::sandbox::HostConfig> config = hull::sandbox::LoadHostConfig("");
  if (!config.ok()) return Fail(config.error().message());
  if (flags.action == "start") return Start(flags);
  if (flags.action == "delete") return Delete(flags, *config);
  if (!flags.action.empty()) return Fail("unknown action " + flags.action);
  return Serve(flags, *config);
}
