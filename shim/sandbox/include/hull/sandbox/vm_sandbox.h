#pragma once

// One sandbox = one microVM: the host side of it. Start() makes the sandbox
// directory, starts virtiofsd on its shared directory and hull-vmm with the
// guest kernel, the agent initramfs and a vsock device, waits for hull-agent
// to answer over vsock and creates the guest's sandbox (the share mounted at
// /run/hull/storage/share). When config.network_namespace names a pod's
// network namespace, its interfaces are mirrored into the VM (PodNetwork):
// one virtio-net device each, configured by the agent. Containers' root file systems and volumes
// reach the guest by Share() (bind mounts into the shared directory, which is a shared mount so
// they propagate into virtiofsd's mount namespace).
//
// Every failure names what failed and how to fix it, and leaves nothing
// behind: processes are killed and reaped, mounts undone, the directory
// removed. Stop() (or the destructor) does the same for a running sandbox.
//
//   <state_root>/sandboxes/<id>/
//     shared/        the virtio-fs share (a mount point)
//     fs-<hash>.sock virtiofsd's vhost-user socket (relative: see Launch)
//     vmm.log, virtiofsd.log, console.log
//     vmm.pid, virtiofsd.pid, network   what CleanupStale needs

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "agent.grpc.pb.h"
#include "hull/common/result.h"
#include "hull/sandbox/child_process.h"
#include "hull/sandbox/host_config.h"
#include "hull/sandbox/pod_network.h"

namespace hull::sandbox {

namespace v1 = ::hull::agent::v1;

inline constexpr unsigned kAgentVsockPort = 1024;
inline constexpr const char* kGuestShareRoot = "/run/hull/storage/share";

// Sandbox and container ids: 1..64 of [A-Za-z0-9_.-], not "." or "..".
Result<void> ValidateId(std::string_view kind, std::string_view id);

// A channel to the agent of the running VM with vsock CID `cid` (for
// commands run after the process that started the VM, e.g. `hull start`).
struct AgentConnection {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::Agent::Stub> stub;
};
Result<AgentConnection> ConnectAgent(unsigned cid);

class VmSandbox {
 public:
  static Result<std::unique_ptr<VmSandbox>> Start(const std::string& id, const HostConfig& config);
  // What a dead owner (a killed shim) left of sandbox `id`: its processes
  // (by the pid files, checked against their command lines), mounts and
  // directory. Ok when nothing is left.
  static Result<void> CleanupStale(const std::string& state_root, const std::string& id);
  ~VmSandbox();
  VmSandbox(const VmSandbox&) = delete;
  VmSandbox& operator=(const VmSandbox&) = delete;

  const std::string& id() const { return id_; }
  const std::string& dir() const { return dir_; }
  unsigned cid() const { return cid_; }
  pid_t vmm_pid() const { return vmm_.pid(); }
  // The mirrored pod network; nullptr when the VM has none.
  const PodNetwork* network() const { return network_.get(); }
  v1::Agent::Stub& agent() { return *stub_; }

  // Makes `host_path` (a directory or a file) visible in the guest as
  // <kGuestShareRoot>/<name> (name: a relative path of ids, e.g.
  // "c1/rootfs"); returns that guest path.
  Result<std::string> Share(const std::string& name, const std::string& host_path, bool read_only);
  // Creates container `container_id` in the guest from a prepared spec
  // (PrepareBundle's spec_json); `stdin`: give the process a stdin pipe.
  // An error carries the agent's message (e.g. the program that is missing).
  Result<void> CreateContainer(const std::string& container_id, const std::string& spec_json,
                               bool terminal, bool stdin);
  // Removes container `container_id` from the guest (its processes killed)
  // and undoes its shares; best effort: the VM may be gone already.
  void RemoveContainer(const std::string& container_id);
  // Undoes every Share() whose name starts with `prefix` + "/" or is it.
  Result<void> Unshare(const std::string& prefix);

  // Whether hull-vmm still runs.
  bool Alive();
  // Shutdown through the agent, then hull-vmm must end within `limit`
  // (else it is killed); virtiofsd stopped, shares unmounted, the directory
  // removed. An error says what was not clean; cleanup happens regardless.
  Result<void> Stop(std::chrono::seconds limit = std::chrono::seconds(20));

 private:
  VmSandbox() = default;
  Result<void> Launch(const HostConfig& config);
  void Cleanup();

  std::string id_;
  std::string dir_;
  std::string shared_;
  bool shared_mounted_ = false;
  unsigned cid_ = 0;
  ChildProcess virtiofsd_;
  ChildProcess vmm_;
  std::unique_ptr<PodNetwork> network_;
  std::vector<std::pair<std::string, std::string>> shares_;  // name, host mount point
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Agent::Stub> stub_;
};

}  // namespace hull::sandbox
