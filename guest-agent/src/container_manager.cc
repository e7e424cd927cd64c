#include "container_manager.h"

#include <signal.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>

#include "container_spawn.h"
#include "hull/common/logging.h"
#include "hull/oci/names.h"
#include "hull/oci/spec_parse.h"
#include "oom_hub.h"
#include "reaper.h"

namespace hull::agent {

using namespace std::chrono_literals;

struct ContainerManager::Container {
  std::string id;
  std::string spec_json;
  oci::Spec spec;
  std::string rootfs;
  std::optional<cgroup::Cgroup> cgroup;
  std::shared_ptr<Process> init;
  std::map<std::string, std::shared_ptr<Process>> execs;
  UniqueFd start_sync;  // until started
  bool started = false;
  bool paused = false;
  std::mutex mutex;  // serialises lifecycle operations on this container
};

namespace {

constexpr auto kFreezeTimeout = 5s;
constexpr auto kDestroyTimeout = 10s;
constexpr auto kKillWait = 10s;

Error NoContainer(const std::string& id) { return Error(ESRCH, "no container \"" + id + "\""); }

// The device cgroup's rules for a container: deny everything, then what the
// spec's resources say, then (last match wins) the devices every container
// needs and the ones the spec creates, as runc allows them.
std::vector<oci::DeviceRule> DeviceRules(const oci::Spec& spec) {
  auto rule = [](bool allow, std::string type, std::optional<int64_t> major,
                 std::optional<int64_t> minor, std::string access) {
    return oci::DeviceRule{allow, std::move(type), major, minor, std::move(access)};
  };
  std::vector<oci::DeviceRule> rules = {rule(false, "a", std::nullopt, std::nullopt, "rwm")};
  const oci::Linux* linux_spec = spec.linux ? &*spec.linux : nullptr;
  if (linux_spec && linux_spec->resources) {
    for (const oci::DeviceRule& entry : linux_spec->resources->devices) rules.push_back(entry);
  }
  // mknod of any device (using one is what the rules below decide).
  rules.push_back(rule(true, "c", std::nullopt, std::nullopt, "m"));
  rules.push_back(rule(true, "b", std::nullopt, std::nullopt, "m"));
  constexpr std::pair<int64_t, int64_t> kAllowed[] = {{1, 3}, {1, 5}, {1, 7}, {1, 8},   {1, 9},
                                                      {5, 0}, {5, 1}, {5, 2}, {10, 200}};
  for (const auto& [major, minor] : kAllowed) rules.push_back(rule(true, "c", major, minor, "rwm"));
  rules.push_back(rule(true, "c", 136, std::nullopt, "rwm"));  // /dev/pts/*
  if (linux_spec) {
    for (const oci::Device& device : linux_spec->devices) {
      if (device.type == 'p') continue;
      rules.push_back(
          rule(true, device.type == 'b' ? "b" : "c", device.major, device.minor, "rwm"));
    }
  }
  return rules;
}

}  // namespace

ContainerManager::ContainerManager(Reaper& reaper, OomHub& oom, ManagerOptions options)
    : reaper_(reaper), oom_(oom), options_(std::move(options)) {}

ContainerManager::~ContainerManager() = default;

Result<std::shared_ptr<ContainerManager::Container>> ContainerManager::Find(const std::string& id) {
  std::lock_guard lock(mutex_);
  auto it = containers_.find(id);
  if (it == containers_.end()) return NoContainer(id);
  return it->second;
}

std::vector<std::string> ContainerManager::Ids() {
  std::lock_guard lock(mutex_);
  std::vector<std::string> ids;
  for (const auto& [id, container] : containers_) ids.push_back(id);
  return ids;
}

Result<pid_t> ContainerManager::Create(const std::string& id, const std::string& spec_json,
                                       const std::string& rootfs_override, StdioOptions stdio) {
  HULL_ASSIGN_OR_RETURN(oci::Spec spec, oci::ParseSpec(spec_json));
  HULL_TRY(oci::ValidateSpec(spec));
  if (spec.process->terminal != stdio.terminal) {
    return Error(EINVAL, "stdio.terminal must match process.terminal of the spec");
  }
  std::string rootfs = rootfs_override.empty() ? spec.root.path : rootfs_override;
  if (rootfs.empty() || rootfs.front() != '/') {
    return Error(EINVAL,
                 "root.path \"" + rootfs +
                     "\" is relative and the request names no rootfs: give an absolute path");
  }
  struct stat st {};
  if (::stat(rootfs.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Error(EINVAL, "rootfs " + rootfs + " is no directory in the guest");
  }

  auto container = std::make_shared<Container>();
  container->id = id;
  container->spec_json = spec_json;
  container->spec = std::move(spec);
  container->rootfs = rootfs;
  std::lock_guard container_lock(container->mutex);
  {
    std::lock_guard lock(mutex_);
    if (containers_.count(id) != 0) return Error(EEXIST, "container \"" + id + "\" exists already");
    containers_[id] = container;  // reserved; removed again on failure below
  }
  auto fail = [&](Error error) -> Error {
    if (container->init && !container->init->exit_status()) {
      if (pid_t pid = container->init->pid(); pid > 0) ::kill(pid, SIGKILL);
      container->init->WaitFor(kKillWait);
    }
    if (container->cgroup) (void)container->cgroup->Destroy(kDestroyTimeout);
    std::lock_guard lock(mutex_);
    containers_.erase(id);
    return std::move(error).WithContext("creating container " + id);
  };

  auto cgroup = cgroup::Cgroup::Create(options_.cgroup_mount, options_.cgroup_parent + "/" + id);
  if (!cgroup.ok()) return fail(cgroup.error());
  container->cgroup.emplace(std::move(cgroup).value());
  oci::Resources resources;
  if (container->spec.linux && container->spec.linux->resources) {
    resources = *container->spec.linux->resources;
  }
  resources.devices = DeviceRules(container->spec);
  if (auto applied = container->cgroup->Apply(resources); !applied.ok())
    return fail(applied.error());

  auto stdio_pair = Process::CreateStdio("", stdio.terminal, stdio.open_stdin);
  if (!stdio_pair.ok()) return fail(stdio_pair.error());
  std::shared_ptr<Process> process = stdio_pair->first;
  ChildStdio child = std::move(stdio_pair->second);
  if (stdio.terminal && container->spec.process->console_size) {
    (void)process->Resize(static_cast<uint16_t>(container->spec.process->console_size->height),
                          static_cast<uint16_t>(container->spec.process->console_size->width));
  }
  container->init = process;

  InitRequest request;
  request.mode = InitRequest::Mode::kCreate;
  request.container_id = id;
  request.spec_json = spec_json;
  request.rootfs = rootfs;
  request.cgroup_dir = container->cgroup->path();
  request.console_path = child.console_path;
  auto spawned = SpawnContainerProcess(request, std::move(child), reaper_,
                                       [process](int status) { process->SetExited(status); });
  if (!spawned.ok()) return fail(spawned.error());
  process->set_pid(spawned->pid);
  container->start_sync = std::move(spawned->sync);
  oom_.Watch(id, container->cgroup->path());
  LogEvent(spdlog::level::info, "container_created", Kv("id", id), Kv("pid", spawned->pid));
  return spawned->pid;
}

Result<void> ContainerManager::Start(const std::string& id) {
  HULL_ASSIGN_OR_RETURN(auto container, Find(id));
  std::lock_guard lock(container->mutex);
  if (container->started) return Error(EBUSY, "container \"" + id + "\" was started already");
  if (container->init->exit_status()) return Error(EBUSY, "container \"" + id + "\" has stopped");
  UniqueFd sync = std::move(container->start_sync);
  container->started = true;
  HULL_TRY(StartContainerProcess(sync.Get()).WithContext("starting container " + id));
  LogEvent(spdlog::level::info, "container_started", Kv("id", id));
  return {};
}

Result<void> ContainerManager::DeleteLocked(Container& container, bool force) {
  const bool stopped = container.init->exit_status().has_value();
  if (!stopped && container.started && !force) {
    return Error(
        EBUSY, "container \"" + container.id + "\" is running: stop it first or delete with force");
  }
  // Never started: closing the start channel ends its init.
  container.start_sync.Reset();
  if (container.cgroup) {
    if (container.paused) (void)container.cgroup->Thaw(kFreezeTimeout);
    HULL_TRY(container.cgroup->Kill());
  }
  if (!container.init->WaitFor(kKillWait)) {
    return Error(ETIMEDOUT, "container \"" + container.id + "\"'s init did not exit after SIGKILL");
  }
  oom_.Unwatch(container.id);
  if (container.cgroup) HULL_TRY(container.cgroup->Destroy(kDestroyTimeout));
  return {};
}

Result<void> ContainerManager::Delete(const std::string& id, bool force) {
  HULL_ASSIGN_OR_RETURN(auto container, Find(id));
  {
    std::lock_guard lock(container->mutex);
    HULL_TRY(DeleteLocked(*container, force).WithContext("deleting container " + id));
  }
  std::lock_guard lock(mutex_);
  containers_.erase(id);
  LogEvent(spdlog::level::info, "container_deleted", Kv("id", id));
  return {};
}

Result<void> ContainerManager::DeleteAll() {
  std::optional<Error> first;
  for (const std::string& id : Ids()) {
    if (auto deleted = Delete(id, /*force=*/true); !deleted.ok() && !first) first = deleted.error();
  }
  if (first) return *first;
  return {};
}

Result<pid_t> ContainerManager::Exec(const std::string& id, const std::string& exec_id,
                                     const std::string& process_json, StdioOptions stdio) {
  HULL_ASSIGN_OR_RETURN(auto container, Find(id));
  HULL_ASSIGN_OR_RETURN(oci::Process parsed, oci::ParseProcess(process_json));
  HULL_TRY(oci::ValidateProcess(parsed));
  if (parsed.terminal != stdio.terminal) {
    return Error(EINVAL, "stdio.terminal must match the process's terminal");
  }
  std::lock_guard lock(container->mutex);
  if (!container->started || container->init->exit_status()) {
    return Error(EBUSY, "container \"" + id + "\" is not running");
  }
  if (container->execs.count(exec_id) != 0) {
    return Error(EEXIST, "process \"" + exec_id + "\" exists already in container \"" + id + "\"");
  }
  HULL_ASSIGN_OR_RETURN(auto stdio_pair,
                        Process::CreateStdio(exec_id, stdio.terminal, stdio.open_stdin));
  std::shared_ptr<Process> process = stdio_pair.first;
  ChildStdio child = std::move(stdio_pair.second);
  if (stdio.terminal && parsed.console_size) {
    (void)process->Resize(static_cast<uint16_t>(parsed.console_size->height),
                          static_cast<uint16_t>(parsed.console_size->width));
  }
  InitRequest request;
  request.mode = InitRequest::Mode::kExec;
  request.container_id = id;
  request.spec_json = container->spec_json;
  request.process_json = process_json;
  request.cgroup_dir = container->cgroup->path();
  request.console_path = child.console_path;
  const pid_t init_pid = container->init->pid();
  request.root_path = "/proc/" + std::to_string(init_pid) + "/root";
  if (container->spec.linux) {
    for (const oci::Namespace& ns : container->spec.linux->namespaces) {
      request.join.push_back({ns.type, "/proc/" + std::to_string(init_pid) + "/ns/" +
                                           std::string(oci::NamespaceProcFileName(ns.type))});
    }
  }
  HULL_ASSIGN_OR_RETURN(
      Spawned spawned,
      SpawnContainerProcess(request, std::move(child), reaper_, [process](int status) {
        process->SetExited(status);
      }).WithContext("exec in container " + id));
  process->set_pid(spawned.pid);
  container->execs[exec_id] = process;
  LogEvent(spdlog::level::info, "process_started", Kv("id", id), Kv("exec_id", exec_id),
           Kv("pid", spawned.pid));
  return spawned.pid;
}

Result<std::shared_ptr<Process>> ContainerManager::FindProcess(const std::string& id,
                                                               const std::string& exec_id) {
  HULL_ASSIGN_OR_RETURN(auto container, Find(id));
  std::lock_guard lock(container->mutex);
  if (exec_id.empty()) return container->init;
  auto it = container->execs.find(exec_id);
  if (it == container->execs.end()) {
    return Error(ESRCH, "no process \"" + exec_id + "\" in container \"" + id + "\"");
  }
  return it->second;
}

Result<void> ContainerManager::Signal(const std::string& id, const std::string& exec_id, int signal,
                                      bool all) {
  HULL_ASSIGN_OR_RETURN(auto container, Find(id));
  if (all) {
    std::lock_guard lock(container->mutex);
    HULL_ASSIGN_OR_RETURN(std::vector<pid_t> pids, container->cgroup->Processes());
    for (pid_t pid : pids) ::kill(pid, signal);
    return {};
  }
  HULL_ASSIGN_OR_RETURN(auto process, FindProcess(id, exec_id));
  if (process->exit_status()) return Error(ESRCH, "the process has exited already");
  if (::kill(process->pid(), signal) != 0) return Error::FromErrno(errno, "kill");
  return {};
}

Result<void> ContainerManager::Pause(const std::string& id) {
  HULL_ASSIGN_OR_RETURN(auto container, Find(id));
  std::lock_guard lock(container->mutex);
  if (!container->started || container->init->exit_status()) {
    return Error(EBUSY, "container \"" + id + "\" is not running");
  }
  HULL_TRY(container->cgroup->Freeze(kFreezeTimeout));
  container->paused = true;
  return {};
}

Result<void> ContainerManager::Resume(const std::string& id) {
  HULL_ASSIGN_OR_RETURN(auto container, Find(id));
  std::lock_guard lock(container->mutex);
  if (!container->paused) return Error(EBUSY, "container \"" + id + "\" is not paused");
  HULL_TRY(container->cgroup->Thaw(kFreezeTimeout));
  container->paused = false;
  return {};
}

Result<void> ContainerManager::Update(const std::string& id, const std::string& resources_json) {
  HULL_ASSIGN_OR_RETURN(oci::Resources resources, oci::ParseResources(resources_json));
  HULL_TRY(oci::ValidateResources(resources));
  HULL_ASSIGN_OR_RETURN(auto container, Find(id));
  std::lock_guard lock(container->mutex);
  if (!resources.devices.empty()) {
    // New device rules replace the spec's, on top of the same defaults.
    oci::Spec updated = container->spec;
    if (!updated.linux) updated.linux.emplace();
    if (!updated.linux->resources) updated.linux->resources.emplace();
    updated.linux->resources->devices = resources.devices;
    resources.devices = DeviceRules(updated);
  }
  return container->cgroup->Apply(resources);
}

Result<cgroup::CgroupStats> ContainerManager::Stats(const std::string& id) {
  HULL_ASSIGN_OR_RETURN(auto container, Find(id));
  std::lock_guard lock(container->mutex);
  return container->cgroup->ReadStats();
}

Result<std::vector<ProcessEntry>> ContainerManager::Processes(const std::string& id) {
  HULL_ASSIGN_OR_RETURN(auto container, Find(id));
  std::lock_guard lock(container->mutex);
  HULL_ASSIGN_OR_RETURN(std::vector<pid_t> pids, container->cgroup->Processes());
  std::vector<ProcessEntry> entries;
  for (pid_t pid : pids) {
    ProcessEntry entry{pid, ""};
    for (const auto& [exec_id, process] : container->execs) {
      if (process->pid() == pid) entry.exec_id = exec_id;
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

Result<ContainerInfo> ContainerManager::Info(const std::string& id) {
  HULL_ASSIGN_OR_RETURN(auto container, Find(id));
  std::lock_guard lock(container->mutex);
  ContainerInfo info;
  info.pid = container->init->pid();
  info.cgroup_path = container->cgroup->path();
  if (auto status = container->init->exit_status()) {
    info.status = ContainerStatus::kStopped;
    info.exit_status = *status;
  } else if (!container->started) {
    info.status = ContainerStatus::kCreated;
  } else {
    info.status = container->paused ? ContainerStatus::kPaused : ContainerStatus::kRunning;
  }
  return info;
}

}  // namespace hull::agent
