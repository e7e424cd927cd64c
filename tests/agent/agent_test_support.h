#pragma once

// A hull-agent for the whole test program, a busybox root file system for its
// containers, and a gRPC client with helpers that make OCI specs and run
// containers to completion. Two ways to get the agent:
//  - on this host (HULL_AGENT=binary): on a Unix socket; needs root and a
//    cgroup v2 hierarchy, so tests/kvm/CMakeLists.txt runs it inside the
//    kvm-sandbox's L1, where both hold;
//  - as PID 1 of a hull-vmm guest (HULL_AGENT_VM_VMM, _KERNEL, _INITRAMFS):
//    the rootfs and a shared directory reach the guest through virtio-fs
//    (virtiofsd), the API through vhost-vsock.
// HULL_REQUIRE_CGROUP2=1 turns "cannot run here" into a failure.

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "agent.grpc.pb.h"
#include "vm_agent.h"

namespace hull::agent::testing {

namespace v1 = ::hull::agent::v1;
using Json = nlohmann::json;

// A runc-spec-like config.json: new pid/mount/ipc/uts/network/cgroup
// namespaces, /proc, /dev (tmpfs), /dev/pts, /dev/shm, /dev/mqueue, /sys,
// the default masked and read-only paths, root with the usual capabilities.
Json DefaultSpec(std::vector<std::string> args);

struct RunResult {
  int exit_status = -1;
  std::string out;
  std::string err;
};

// Collects one output stream of a process on a thread until EOF.
class OutputCollector {
 public:
  OutputCollector(v1::Agent::Stub& stub, const std::string& id, const std::string& exec_id,
                  v1::ReadOutputRequest::Stream stream);
  ~OutputCollector();
  // Waits for EOF and returns everything read.
  std::string Finish();
  grpc::Status status() const { return status_; }

 private:
  grpc::ClientContext context_;
  std::string data_;
  grpc::Status status_;
  std::thread thread_;
};

class AgentEnvironment {
 public:
  static AgentEnvironment& Get();
  // Empty when the agent runs; else why the tests cannot run here.
  const std::string& unavailable() const { return unavailable_; }
  v1::Agent::Stub& stub() { return vm_ ? vm_->stub() : *stub_; }
  // The containers' root as the agent sees it.
  const std::string& rootfs() const { return rootfs_; }
  const std::string& work_dir() const { return work_dir_; }
  // A directory the test writes here and containers can bind: its path here
  // and as the agent sees it.
  const std::string& host_shared() const { return host_shared_; }
  const std::string& agent_shared() const { return agent_shared_; }
  bool in_vm() const { return vm_ != nullptr; }
  const std::string& cgroup_parent() const { return cgroup_parent_; }
  pid_t agent_pid() const { return agent_pid_; }
  // A block device the containers may be given, by its name under
  // /sys/class/block as the agent sees it: an 8 MiB image attached as the
  // guest's virtio-blk disk ("vda"), or on a host to a loop device ("loop0").
  // Empty (with the reason in block_device_missing()) where it could not be made.
  const std::string& block_device() const { return block_device_; }
  const std::string& block_device_missing() const { return block_device_missing_; }
  // Shutdown over the API; then the agent (the VM) must end by itself, with
  // status 0, within `limit`. Empty on success, else what went wrong.
  std::string Shutdown(std::chrono::seconds limit);
  // Shutdown if still running (killing what does not end), and clean up.
  void Stop();

 private:
  AgentEnvironment();
  void StartLocal(const std::string& agent);
  void StartVm(const std::string& vmm);
  std::string unavailable_;
  std::string host_shared_;
  std::string agent_shared_;
  std::unique_ptr<VmAgent> vm_;
  std::string work_dir_;
  std::string rootfs_;
  std::string socket_;
  std::string cgroup_parent_;
  pid_t agent_pid_ = -1;
  std::string block_device_;
  std::string block_device_missing_;
  std::string loop_device_;  // host mode: /dev/loopN to detach
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Agent::Stub> stub_;
};

grpc::Status CreateContainer(const std::string& id, const Json& spec, bool terminal = false,
                             bool open_stdin = false, const std::string& rootfs = "");
grpc::Status StartContainer(const std::string& id);
grpc::Status DeleteContainer(const std::string& id, bool force = false);
grpc::Status WaitProcess(const std::string& id, const std::string& exec_id, int* exit_status);

// Create, start, collect stdout and stderr, wait, delete.
RunResult RunContainer(const std::string& id, const Json& spec);

// Everything about the agent's containers that must be gone after a delete:
// cgroup directories under the parent, mounts naming the rootfs, processes
// (children of the agent besides none).
std::vector<std::string> Leftovers();

}  // namespace hull::agent::testing
