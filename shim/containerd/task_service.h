#pragma once

// containerd.task.v2.Task for one sandbox (one microVM) and its containers:
// the shim's side of containerd's runtime v2 API, on hull_sandbox. The first
// Create mounts the snapshotter's rootfs on the bundle, starts the VM and
// creates the container through the agent. Later Creates whose spec names
// that container as their pod sandbox (CRI's io.kubernetes.cri.sandbox-id
// annotation; containerd routes them to this shim by `start`) join the same
// VM: their rootfs and volumes are shared into it, and the namespaces they
// are told to share with the sandbox (by /proc/<sandbox task pid>/ns/...)
// become the sandbox container's in the guest. The VM stops when its last
// container is deleted. Each process's stdio is relayed between containerd's
// FIFOs and the agent's streams; exits and lifecycle changes are published
// as task events.

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "github.com/containerd/containerd/runtime/v2/task/shim.pb.h"
#include "hull/sandbox/host_config.h"
#include "hull/sandbox/stdio_relay.h"
#include "hull/sandbox/vm_sandbox.h"
#include "hull/ttrpc/services.h"
#include "publisher.h"

namespace hull::shim {

class TaskService {
 public:
  TaskService(sandbox::HostConfig config, Publisher& publisher, std::function<void()> shutdown)
      : config_(std::move(config)), publisher_(publisher), shutdown_(std::move(shutdown)) {}
  ~TaskService();

  Result<void> Register(ttrpc::Services& services);
  // Tears everything down (the VM, mounts): on shim exit.
  void Cleanup();

 private:
  enum class Phase { kCreated, kRunning, kPaused, kStopped };
  struct Process {
    std::string exec_id;
    std::string stdin_path, stdout_path, stderr_path;
    bool terminal = false;
    uint32_t pid = 0;
    Phase status = Phase::kCreated;
    uint32_t exit_status = 0;
    int64_t exited_at_ns = 0;
    std::unique_ptr<sandbox::OutputRelay> out;
    std::unique_ptr<sandbox::OutputRelay> err;
    std::unique_ptr<sandbox::InputRelay> in;
    std::string spec_json;  // an exec's OCI process
    int stdin_fd = -1;
    int stdout_fd = -1;
    int stderr_fd = -1;
    std::thread waiter;
  };

  struct Container {
    std::string id;
    std::string bundle;
    std::string rootfs_mount;                                   // bundle/rootfs when we mounted it
    std::map<std::string, std::unique_ptr<Process>> processes;  // by exec id ("" = init)
  };

  ttrpc::Reply Create(std::string_view payload);
  ttrpc::Reply Start(std::string_view payload);
  ttrpc::Reply Delete(std::string_view payload);
  ttrpc::Reply Exec(std::string_view payload);
  ttrpc::Reply ResizePty(std::string_view payload);
  ttrpc::Reply State(std::string_view payload);
  ttrpc::Reply Kill(std::string_view payload);
  ttrpc::Reply CloseIO(std::string_view payload);
  ttrpc::Reply Pids(std::string_view payload);
  ttrpc::Reply Pause(std::string_view payload, bool pause);
  ttrpc::Reply Update(std::string_view payload);
  ttrpc::Reply Wait(std::string_view payload);
  ttrpc::Reply Stats(std::string_view payload);
  ttrpc::Reply Connect(std::string_view payload);
  ttrpc::Reply Shutdown(std::string_view payload);

  // The process (init: exec_id ""), or nullptr. Caller holds mutex_.
  Process* Find(const std::string& id, const std::string& exec_id);
  // Creates container `request.id()` in the VM (starting the VM first when
  // there is none). Caller holds mutex_.
  Result<void> CreateContainer(const ::containerd::task::v2::CreateTaskRequest& request,
                               Container& container);
  Result<void> OpenStdio(const std::string& container_id, Process& process);
  void CloseStdio(Process& process);
  void WatchExit(const std::string& container_id, Process& process);
  // Publishes /tasks/oom for each OOM kill the agent reports in the VM's
  // containers' cgroups, until TearDown cancels the stream.
  void WatchOom();
  // After a container's processes have ended (or never started): joins
  // their watchers, closes their stdio and unmounts its rootfs. A caller
  // whose container has watchers must not hold mutex_ (they take it).
  void ReleaseContainer(Container& container);
  // Stops the VM and undoes every Create (of `containers`, taken out of
  // containers_ already, and of all still there); takes mutex_ itself (not
  // to be held).
  void TearDown(std::map<std::string, std::unique_ptr<Container>> containers = {});

  sandbox::HostConfig config_;
  Publisher& publisher_;
  std::function<void()> shutdown_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::string sandbox_id_;  // the container that started the VM (the pod's sandbox)
  std::unique_ptr<sandbox::VmSandbox> vm_;
  std::unique_ptr<grpc::ClientContext> oom_context_;
  std::thread oom_watcher_;
  std::map<std::string, std::unique_ptr<Container>> containers_;
};

}  // namespace hull::shim
