#pragma once

// hull-agent's containers: the table, each container's lifecycle (created →
// running ⇄ paused → stopped → deleted), its processes and cgroup. The RPC
// layer (agent_service.cc) validates requests and maps the Errors returned
// here onto gRPC statuses (status_map.h): ESRCH → NOT_FOUND,
// EEXIST → ALREADY_EXISTS, EBUSY → FAILED_PRECONDITION, EINVAL →
// INVALID_ARGUMENT.

#include <sys/types.h>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "hull/cgroup/cgroup.h"
#include "hull/common/result.h"
#include "hull/oci/spec.h"
#include "process.h"

namespace hull::agent {

class Reaper;
class OomHub;

struct ManagerOptions {
  std::string cgroup_mount = "/sys/fs/cgroup";
  std::string cgroup_parent = "hull";  // each container at <parent>/<id>
};

struct StdioOptions {
  bool terminal = false;
  bool open_stdin = false;
};

enum class ContainerStatus { kCreated, kRunning, kPaused, kStopped };

struct ContainerInfo {
  ContainerStatus status = ContainerStatus::kCreated;
  pid_t pid = 0;
  int exit_status = 0;
  std::string cgroup_path;
};

struct ProcessEntry {
  pid_t pid = 0;
  std::string exec_id;
};

class ContainerManager {
 public:
  ContainerManager(Reaper& reaper, OomHub& oom, ManagerOptions options);
  ~ContainerManager();

  Result<pid_t> Create(const std::string& id, const std::string& spec_json,
                       const std::string& rootfs, StdioOptions stdio);
  Result<void> Start(const std::string& id);
  Result<void> Delete(const std::string& id, bool force);
  Result<pid_t> Exec(const std::string& id, const std::string& exec_id,
                     const std::string& process_json, StdioOptions stdio);
  Result<void> Signal(const std::string& id, const std::string& exec_id, int signal, bool all);
  Result<std::shared_ptr<Process>> FindProcess(const std::string& id, const std::string& exec_id);
  Result<void> Pause(const std::string& id);
  Result<void> Resume(const std::string& id);
  Result<void> Update(const std::string& id, const std::string& resources_json);
  Result<cgroup::CgroupStats> Stats(const std::string& id);
  Result<std::vector<ProcessEntry>> Processes(const std::string& id);
  Result<ContainerInfo> Info(const std::string& id);
  std::vector<std::string> Ids();
  // Kills and deletes every container (DestroySandbox, shutdown).
  Result<void> DeleteAll();

 private:
  struct Container;
  Result<std::shared_ptr<Container>> Find(const std::string& id);
  Result<void> DeleteLocked(Container& container, bool force);

  Reaper& reaper_;
  OomHub& oom_;
  const ManagerOptions options_;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Container>> containers_;
};

}  // namespace hull::agent
