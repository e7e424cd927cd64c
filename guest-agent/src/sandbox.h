#pragma once

// The sandbox-wide part of the guest: hostname, DNS, network interfaces and
// routes, storages (virtio-fs shares and the like) mounted under
// /run/hull/storage. Only hull-agent as the guest's init may change the
// hostname and network; on a host (tests) those requests are refused.

#include <mutex>
#include <string>
#include <vector>

#include "agent.pb.h"
#include "hull/common/result.h"

namespace hull::agent {

struct SandboxOptions {
  bool guest = false;  // running as the VM's PID 1
  std::string resolv_conf = "/etc/resolv.conf";
};

class Sandbox {
 public:
  explicit Sandbox(SandboxOptions options) : options_(std::move(options)) {}

  Result<void> Create(const v1::CreateSandboxRequest& request);
  // Unmounts the storages (containers must be gone first).
  Result<void> Destroy();

 private:
  Result<void> MountStorage(const v1::Storage& storage);

  const SandboxOptions options_;
  std::mutex mutex_;
  bool created_ = false;
  std::vector<std::string> mounts_;
};

}  // namespace hull::agent
