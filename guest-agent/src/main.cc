// hull-agent: the guest's init and container API (guest-agent/README.md).
//
//   hull-agent                       as PID 1 of a hull VM: serves vsock:1024
//   hull-agent --listen unix:PATH    on a host (tests): serves a Unix socket
//              [--listen vsock:PORT] [--cgroup-parent NAME] [--log-level L]
//   hull-agent container-init        internal: builds one container process

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <climits>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>

#include "agent_service.h"
#include "container_init.h"
#include "container_manager.h"
#include "container_spawn.h"
#include "hull/common/logging.h"
#include "listener.h"
#include "oom_hub.h"
#include "pid1.h"
#include "reaper.h"
#include "sandbox.h"

namespace hull::agent {
namespace {

struct Flags {
  bool guest = false;
  std::string listen;
  std::string cgroup_parent = "hull";
  std::string log_level = "warn";
};

void Usage() {
  std::fputs(
      "usage: hull-agent [--listen unix:PATH|vsock:PORT] [--cgroup-parent NAME] [--log-level "
      "LEVEL]\n"
      "As PID 1 (the guest's init) it needs no arguments: it serves vsock port 1024; the kernel\n"
      "command line may say hull.agent_port=N and hull.log=LEVEL.\n",
      stderr);
}

Result<Flags> ParseFlags(int argc, char** argv) {
  Flags flags;
  flags.guest = ::getpid() == 1;
  if (flags.guest) {
    auto parameters = KernelParameters();
    flags.listen = "vsock:" + (parameters.count("agent_port") ? parameters["agent_port"]
                                                              : std::to_string(kDefaultVsockPort));
    if (parameters.count("log")) flags.log_level = parameters["log"];
    return flags;
  }
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> Result<std::string> {
      if (i + 1 >= argc) return Error(EINVAL, arg + " needs a value");
      return std::string(argv[++i]);
    };
    if (arg == "--listen") {
      HULL_ASSIGN_OR_RETURN(flags.listen, value());
    } else if (arg == "--cgroup-parent") {
      HULL_ASSIGN_OR_RETURN(flags.cgroup_parent, value());
    } else if (arg == "--log-level") {
      HULL_ASSIGN_OR_RETURN(flags.log_level, value());
    } else if (arg == "--help" || arg == "-h") {
      Usage();
      std::exit(0);
    } else {
      return Error(EINVAL, "unknown argument \"" + arg + "\" (see --help)");
    }
  }
  if (flags.listen.empty()) return Error(EINVAL, "--listen is required outside a VM (see --help)");
  return flags;
}

Result<std::string> SelfPath() {
  char path[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n <= 0) return Error::FromErrno(errno, "readlink /proc/self/exe");
  return std::string(path, static_cast<size_t>(n));
}

Result<void> Run(int argc, char** argv) {
  HULL_ASSIGN_OR_RETURN(Flags flags, ParseFlags(argc, argv));
  if (flags.guest) {
    MarkBoot(1);
    HULL_TRY(LeaveInitramfsRoot());
    HULL_TRY(MountBaseFileSystems());
    SeedEntropy();
  }
  HULL_TRY(InitLogging(flags.log_level, "hull-agent"));
  HULL_ASSIGN_OR_RETURN(std::string self, SelfPath());
  HULL_TRY(SetSelfExecutable(self));
  if (!flags.guest && ::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    return Error::FromErrno(errno, "becoming a child subreaper");
  }
  // Before any thread exists: every thread inherits the blocked SIGCHLD,
  // which the reaper alone reads, and (host mode) SIGTERM/SIGINT, which one
  // thread waits for. A vanished client must not kill us.
  BlockChildSignal();
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  if (!flags.guest) {
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  }
  ::signal(SIGPIPE, SIG_IGN);

  HULL_ASSIGN_OR_RETURN(ListenAddress address, ParseListenAddress(flags.listen));
  HULL_ASSIGN_OR_RETURN(auto reaper, Reaper::Start());
  OomHub oom;
  HULL_TRY(oom.Start());
  ContainerManager containers(*reaper, oom, {.cgroup_parent = flags.cgroup_parent});
  Sandbox sandbox({.guest = flags.guest});

  std::mutex done_mutex;
  std::condition_variable done_cv;
  bool done = false;
  ServiceOptions service_options;
  service_options.guest = flags.guest;
  service_options.shutdown = [&, guest = flags.guest] {
    if (guest) PowerOff();
    std::lock_guard lock(done_mutex);
    done = true;
    done_cv.notify_all();
  };
  AgentService service(containers, sandbox, oom, service_options);

  grpc::ServerBuilder builder;
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server) return Error(EIO, "gRPC server failed to start");
  HULL_ASSIGN_OR_RETURN(auto listener, Listener::Listen(address));
  listener->Serve(server.get());
  if (flags.guest) {
    MarkBoot(2);
    service.set_ready_ms(MillisecondsSinceBoot());
    // The one line the agent always prints: what a console reader (a person,
    // bench/boot --agent) waits for.
    std::fputs("hull-agent: ready\n", stdout);
    std::fflush(stdout);
  }
  LogEvent(spdlog::level::info, "agent_ready", Kv("listen", flags.listen));
  // Host mode also stops on SIGTERM/SIGINT (tests).
  if (!flags.guest) {
    std::thread([&] {
      int signal = 0;
      sigwait(&stop_signals, &signal);
      std::lock_guard lock(done_mutex);
      done = true;
      done_cv.notify_all();
    }).detach();
  }
  {
    std::unique_lock lock(done_mutex);
    done_cv.wait(lock, [&] { return done; });
  }
  listener.reset();
  (void)containers.DeleteAll();
  (void)sandbox.Destroy();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  return {};
}

}  // namespace
}  // namespace hull::agent

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "container-init") == 0) hull::agent::ContainerInitMain();
  auto result = hull::agent::Run(argc, argv);
  if (!result.ok()) {
    std::fprintf(stderr, "hull-agent: %s\n", result.error().ToString().c_str());
    return 1;
  }
  return 0;
}
