#pragma once

// containerd.task.v2.Task for one task (one container in one microVM): the
// shim's side of containerd's runtime v2 API, on hull_sandbox. Create mounts
// the snapshotter's rootfs on the bundle, starts the VM and creates the
// container through the agent; the process's stdio is relayed between
// containerd's FIFOs and the agent's streams; exits, OOMs and lifecycle
// changes are published as task events.

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

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
  Result<void> OpenStdio(Process& process);
  void CloseStdio(Process& process);
  void WatchExit(Process& process);
  // Stops the VM and undoes Create; takes mutex_ itself (not to be held).
  void TearDown();

  sandbox::HostConfig config_;
  Publisher& publisher_;
  std::function<void()> shutdown_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::string id_;
  std::string bundle_;
  std::string rootfs_mount_;  // bundle/rootfs when we mounted it
  std::unique_ptr<sandbox::VmSandbox> vm_;
  std::map<std::string, std::unique_ptr<Process>> processes_;  // by exec id ("" = init)
};

}  // namespace hull::shim
