#include "task_service.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "github.com/containerd/cgroups/v2/stats/metrics.pb.h"
#include "github.com/containerd/containerd/api/events/task.pb.h"
#include "github.com/containerd/containerd/runtime/v2/task/shim.pb.h"
#include "hull/common/logging.h"
#include "hull/containerd/typeurl.h"
#include "hull/oci/names.h"
#include "hull/sandbox/container_bundle.h"

namespace hull::shim {
namespace {

namespace task = ::containerd::task::v2;
namespace events = ::containerd::events;
namespace v1 = ::hull::agent::v1;
using ttrpc::Reply;
using ttrpc::Status;
using ttrpc::StatusCode;

constexpr const char* kTaskService = "containerd.task.v2.Task";

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void SetTime(google::protobuf::Timestamp* out, int64_t ns) {
  out->set_seconds(ns / 1000000000);
  out->set_nanos(static_cast<int32_t>(ns % 1000000000));
}

template <typename T>
Result<T> Parse(std::string_view payload) {
  T message;
  if (!message.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return Error(EINVAL, "cannot parse " + message.GetTypeName());
  }
  return message;
}

Reply Serialized(const google::protobuf::Message& message) { return message.SerializeAsString(); }

// A gRPC status from the agent as a ttrpc one (the codes are the same).
Status FromGrpc(const grpc::Status& status, const std::string& what) {
  return ttrpc::Status{static_cast<StatusCode>(status.error_code()),
                       what + ": " + status.error_message()};
}

Reply Empty() { return std::string(); }

// containerd's mounts for the rootfs (one overlay or bind from the
// snapshotter) onto `target`.
Result<void> MountRootfs(const ::containerd::types::Mount& mount, const std::string& target) {
  std::vector<std::string> options(mount.options().begin(), mount.options().end());
  HULL_ASSIGN_OR_RETURN(oci::MountOptions parsed, oci::ParseMountOptions(options));
  unsigned long flags = parsed.flags;
  if (parsed.bind || mount.type() == "bind") flags |= MS_BIND;
  if (parsed.recursive_bind) flags |= MS_BIND | MS_REC;
  if (::mkdir(target.c_str(), 0755) != 0 && errno != EEXIST) {
    return Error::FromErrno(errno, "mkdir " + target);
  }
  if (::mount(mount.source().c_str(), target.c_str(), mount.type().c_str(), flags,
              parsed.data.empty() ? nullptr : parsed.data.c_str()) != 0) {
    return Error::FromErrno(
        errno, "mounting the rootfs (" + mount.type() + " " + mount.source() + ") at " + target);
  }
  return Ok();
}

}  // namespace

Result<void> TaskService::Register(ttrpc::Services& services) {
  auto add = [&](const char* method, Reply (TaskService::*handler)(std::string_view)) {
    return services.Register(kTaskService, method,
                             [this, handler](const ttrpc::CallContext&, std::string_view payload) {
                               return (this->*handler)(payload);
                             });
  };
  HULL_TRY(add("Create", &TaskService::Create));
  HULL_TRY(add("Start", &TaskService::Start));
  HULL_TRY(add("Delete", &TaskService::Delete));
  HULL_TRY(add("Exec", &TaskService::Exec));
  HULL_TRY(add("ResizePty", &TaskService::ResizePty));
  HULL_TRY(add("State", &TaskService::State));
  HULL_TRY(add("Kill", &TaskService::Kill));
  HULL_TRY(add("CloseIO", &TaskService::CloseIO));
  HULL_TRY(add("Pids", &TaskService::Pids));
  HULL_TRY(add("Update", &TaskService::Update));
  HULL_TRY(add("Wait", &TaskService::Wait));
  HULL_TRY(add("Stats", &TaskService::Stats));
  HULL_TRY(add("Connect", &TaskService::Connect));
  HULL_TRY(add("Shutdown", &TaskService::Shutdown));
  HULL_TRY(services.Register(kTaskService, "Pause",
                             [this](const ttrpc::CallContext&, std::string_view payload) {
                               return Pause(payload, true);
                             }));
  HULL_TRY(services.Register(kTaskService, "Resume",
                             [this](const ttrpc::CallContext&, std::string_view payload) {
                               return Pause(payload, false);
                             }));
  HULL_TRY(services.Register(kTaskService, "Checkpoint",
                             [](const ttrpc::CallContext&, std::string_view) -> Reply {
                               return ttrpc::Status{StatusCode::kUnimplemented,
                                                    "hull cannot checkpoint a microVM's container"};
                             }));
  return Ok();
}

TaskService::Process* TaskService::Find(const std::string& id, const std::string& exec_id) {
  auto container = containers_.find(id);
  if (container == containers_.end()) return nullptr;
  auto it = container->second->processes.find(exec_id);
  return it == container->second->processes.end() ? nullptr : it->second.get();
}

Reply TaskService::Create(std::string_view payload) {
  HULL_ASSIGN_OR_RETURN(task::CreateTaskRequest request, Parse<task::CreateTaskRequest>(payload));
  std::unique_lock lock(mutex_);
  if (!request.checkpoint().empty()) {
    return ttrpc::Status{StatusCode::kUnimplemented, "hull cannot restore a checkpoint"};
  }
  if (Result<void> valid = sandbox::ValidateId("container", request.id()); !valid.ok()) {
    return ttrpc::Status{StatusCode::kInvalidArgument, valid.error().message()};
  }
  if (containers_.count(request.id()) != 0) {
    return ttrpc::Status{StatusCode::kAlreadyExists, "task " + request.id() + " exists already"};
  }
  auto container = std::make_unique<Container>();
  container->id = request.id();
  container->bundle = request.bundle();
  const bool starts_vm = vm_ == nullptr;
  Result<void> created = CreateContainer(request, *container);
  if (!created.ok()) {
    LogEvent(spdlog::level::err, "create_failed", Kv("id", request.id()),
             Kv("error", created.error().message()));
    if (starts_vm) {
      containers_[request.id()] = std::move(container);  // TearDown undoes it with the VM
      lock.unlock();
      TearDown();
    } else {
      // Out of the VM it may have reached; no watcher started yet.
      vm_->RemoveContainer(request.id());
      ReleaseContainer(*container);
    }
    return created.error();
  }
  const uint32_t pid = container->processes[""]->pid;
  containers_[request.id()] = std::move(container);
  events::TaskCreate event;
  event.set_container_id(request.id());
  event.set_bundle(request.bundle());
  *event.mutable_rootfs() = request.rootfs();
  event.mutable_io()->set_stdin(request.stdin());
  event.mutable_io()->set_stdout(request.stdout());
  event.mutable_io()->set_stderr(request.stderr());
  event.mutable_io()->set_terminal(request.terminal());
  event.set_pid(pid);
  publisher_.Publish("/tasks/create", event);
  task::CreateTaskResponse response;
  response.set_pid(pid);
  return Serialized(response);
}

Result<void> TaskService::CreateContainer(const task::CreateTaskRequest& request,
                                          Container& container) {
  const std::string& id = container.id;
  if (request.rootfs_size() > 1) {
    return Error(EINVAL, "more than one rootfs mount (" + std::to_string(request.rootfs_size()) +
                             "): hull takes one (overlay or bind)");
  }
  HULL_ASSIGN_OR_RETURN(auto annotations, sandbox::ReadBundleAnnotations(container.bundle));
  const std::string sandbox_id = sandbox::SandboxIdFor(id, sandbox::PodRoleOf(annotations));
  if (vm_ && sandbox_id != sandbox_id_) {
    return Error(EEXIST, "this shim runs sandbox " + sandbox_id_ + "; container " + id +
                             " belongs to sandbox " + sandbox_id);
  }
  if (!vm_ && sandbox_id != id) {
    return Error(ENOENT, "container " + id + " belongs to pod sandbox " + sandbox_id +
                             ", which is not running in this shim: create the sandbox first");
  }
  if (request.rootfs_size() == 1) {
    HULL_TRY(MountRootfs(request.rootfs(0), container.bundle + "/rootfs"));
    container.rootfs_mount = container.bundle + "/rootfs";
  }
  sandbox::NamespaceJoin join;
  if (!vm_) {
    // The VM's size and settings: the config, the spec's annotations, its
    // resources; its network: the spec's (pod) network namespace.
    HULL_ASSIGN_OR_RETURN(sandbox::HostConfig config,
                          sandbox::ConfigForBundle(id, container.bundle, config_));
    HULL_ASSIGN_OR_RETURN(vm_, sandbox::VmSandbox::Start(id, config));
    sandbox_id_ = id;
    WatchOom();
  } else {
    // A pod's container: the namespaces CRI tells it to share with the
    // sandbox task (/proc/<its pid>/ns/..., the pid being hull-vmm's) are
    // the sandbox container's in the guest.
    grpc::ClientContext context;
    v1::ContainerRequest state_request;
    state_request.set_container_id(sandbox_id_);
    v1::ContainerStateResponse state;
    grpc::Status status = vm_->agent().ContainerState(&context, state_request, &state);
    if (status.ok() && state.pid() > 0) {
      const std::string host_prefix = "/proc/" + std::to_string(vm_->vmm_pid()) + "/";
      const std::string guest_prefix = "/proc/" + std::to_string(state.pid()) + "/ns/";
      join = [host_prefix, guest_prefix](const std::string& type,
                                         const std::string& path) -> std::optional<std::string> {
        if (!path.starts_with(host_prefix)) return std::nullopt;
        if (type != "ipc" && type != "uts" && type != "pid") return std::nullopt;
        std::optional<oci::NamespaceType> parsed = oci::NamespaceTypeFromName(type);
        if (!parsed) return std::nullopt;
        return guest_prefix + std::string(oci::NamespaceProcFileName(*parsed));
      };
    }
  }
  HULL_ASSIGN_OR_RETURN(sandbox::GuestBundle bundle,
                        sandbox::PrepareBundle(*vm_, id, container.bundle, join));
  HULL_TRY(
      vm_->CreateContainer(id, bundle.spec_json, request.terminal(), !request.stdin().empty()));
  auto process = std::make_unique<Process>();
  process->stdin_path = request.stdin();
  process->stdout_path = request.stdout();
  process->stderr_path = request.stderr();
  process->terminal = request.terminal();
  process->pid = static_cast<uint32_t>(vm_->vmm_pid());
  Process& init = *process;
  container.processes[""] = std::move(process);
  HULL_TRY(OpenStdio(id, init));
  return Ok();
}

Result<void> TaskService::OpenStdio(const std::string& container_id, Process& process) {
  auto open_output = [](const std::string& path) -> Result<int> {
    if (path.find("://") != std::string::npos) {
      return Error(EINVAL, "stdio URI " + path + ": hull takes FIFOs and files only");
    }
    // O_RDWR: a FIFO opens at once, whether or not its reader is there yet.
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return Error::FromErrno(errno, "opening " + path);
    return fd;
  };
  v1::Agent::Stub& agent = vm_->agent();
  if (!process.stdout_path.empty()) {
    HULL_ASSIGN_OR_RETURN(process.stdout_fd, open_output(process.stdout_path));
    process.out = std::make_unique<sandbox::OutputRelay>(
        agent, container_id, process.exec_id, v1::ReadOutputRequest::STDOUT, process.stdout_fd);
  }
  if (!process.stderr_path.empty() && !process.terminal) {
    HULL_ASSIGN_OR_RETURN(process.stderr_fd, open_output(process.stderr_path));
    process.err = std::make_unique<sandbox::OutputRelay>(
        agent, container_id, process.exec_id, v1::ReadOutputRequest::STDERR, process.stderr_fd);
  }
  if (!process.stdin_path.empty()) {
    // Non-blocking, so the open does not wait for containerd's writer; then
    // blocking again. The relay polls first, and a FIFO that never had a
    // writer polls as not ready (no EOF) until containerd's writer comes.
    process.stdin_fd = ::open(process.stdin_path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (process.stdin_fd < 0) return Error::FromErrno(errno, "opening " + process.stdin_path);
    ::fcntl(process.stdin_fd, F_SETFL, ::fcntl(process.stdin_fd, F_GETFL) & ~O_NONBLOCK);
    process.in = std::make_unique<sandbox::InputRelay>(agent, container_id, process.exec_id,
                                                       process.stdin_fd);
  }
  return Ok();
}

void TaskService::CloseStdio(Process& process) {
  if (process.in) process.in->Stop();
  process.in.reset();
  process.out.reset();
  process.err.reset();
  for (int* fd : {&process.stdin_fd, &process.stdout_fd, &process.stderr_fd}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
}

void TaskService::WatchOom() {
  oom_context_ = std::make_unique<grpc::ClientContext>();
  v1::Agent::Stub& agent = vm_->agent();
  oom_watcher_ = std::thread([this, &agent, context = oom_context_.get()] {
    v1::Empty empty;
    std::unique_ptr<grpc::ClientReader<v1::OomEvent>> reader = agent.OomEvents(context, empty);
    v1::OomEvent oom;
    while (reader->Read(&oom)) {
      LogEvent(spdlog::level::info, "oom_kill", Kv("container", oom.container_id()));
      events::TaskOOM event;
      event.set_container_id(oom.container_id());
      publisher_.Publish("/tasks/oom", event);
    }
    (void)reader->Finish();
  });
}

void TaskService::WatchExit(const std::string& container_id, Process& process) {
  v1::Agent::Stub& agent = vm_->agent();
  process.waiter = std::thread([this, container_id, &process, &agent] {
    grpc::ClientContext context;
    v1::ProcessRequest request;
    request.set_container_id(container_id);
    request.set_exec_id(process.exec_id);
    v1::WaitProcessResponse response;
    grpc::Status status = agent.WaitProcess(&context, request, &response);
    // The output first: containerd reads the FIFOs to EOF after the exit.
    if (process.out) process.out->Join();
    if (process.err) process.err->Join();
    events::TaskExit event;
    {
      std::lock_guard lock(mutex_);
      // Our ends of the output FIFOs close with the output: the engine's
      // reader sees EOF (CRI's ExecSync waits for it before it deletes the
      // exec, as runc's shim closes them when the process ends).
      for (int* fd : {&process.stdout_fd, &process.stderr_fd}) {
        if (*fd >= 0) ::close(*fd);
        *fd = -1;
      }
      process.exit_status = status.ok() ? static_cast<uint32_t>(response.exit_status()) : 255;
      process.exited_at_ns = NowNs();
      process.status = Phase::kStopped;
      if (process.in) process.in->Stop();
      event.set_container_id(container_id);
      event.set_id(process.exec_id.empty() ? container_id : process.exec_id);
      event.set_pid(process.pid);
      event.set_exit_status(process.exit_status);
      SetTime(event.mutable_exited_at(), process.exited_at_ns);
    }
    changed_.notify_all();
    publisher_.Publish("/tasks/exit", event);
  });
}

Reply TaskService::Start(std::string_view payload) {
  HULL_ASSIGN_OR_RETURN(task::StartRequest request, Parse<task::StartRequest>(payload));
  std::lock_guard lock(mutex_);
  Process* process = Find(request.id(), request.exec_id());
  if (!process) return ttrpc::Status{StatusCode::kNotFound, "no process " + request.exec_id()};
  if (process->status != Phase::kCreated) {
    return ttrpc::Status{StatusCode::kFailedPrecondition, "the process was started already"};
  }
  v1::Agent::Stub& agent = vm_->agent();
  if (request.exec_id().empty()) {
    grpc::ClientContext context;
    v1::ContainerRequest start;
    start.set_container_id(request.id());
    v1::Empty empty;
    grpc::Status status = agent.StartContainer(&context, start, &empty);
    if (!status.ok()) return FromGrpc(status, "starting the container");
  } else {
    grpc::ClientContext context;
    v1::ExecProcessRequest exec;
    exec.set_container_id(request.id());
    exec.set_exec_id(process->exec_id);
    exec.set_process_json(process->spec_json);
    exec.mutable_stdio()->set_terminal(process->terminal);
    exec.mutable_stdio()->set_stdin(!process->stdin_path.empty());
    v1::ExecProcessResponse response;
    grpc::Status status = agent.ExecProcess(&context, exec, &response);
    if (!status.ok()) return FromGrpc(status, "starting exec " + process->exec_id);
    if (Result<void> opened = OpenStdio(request.id(), *process); !opened.ok()) {
      return opened.error();
    }
  }
  process->status = Phase::kRunning;
  WatchExit(request.id(), *process);
  if (request.exec_id().empty()) {
    events::TaskStart event;
    event.set_container_id(request.id());
    event.set_pid(process->pid);
    publisher_.Publish("/tasks/start", event);
  } else {
    events::TaskExecStarted event;
    event.set_container_id(request.id());
    event.set_exec_id(process->exec_id);
    event.set_pid(process->pid);
    publisher_.Publish("/tasks/exec-started", event);
  }
  task::StartResponse response;
  response.set_pid(process->pid);
  return Serialized(response);
}

Reply TaskService::Exec(std::string_view payload) {
  HULL_ASSIGN_OR_RETURN(task::ExecProcessRequest request, Parse<task::ExecProcessRequest>(payload));
  std::lock_guard lock(mutex_);
  if (!Find(request.id(), ""))
    return ttrpc::Status{StatusCode::kNotFound, "no task " + request.id()};
  auto& processes = containers_[request.id()]->processes;
  if (request.exec_id().empty() || processes.count(request.exec_id()) != 0) {
    return ttrpc::Status{StatusCode::kAlreadyExists,
                         "exec " + request.exec_id() + " exists already"};
  }
  auto process = std::make_unique<Process>();
  process->exec_id = request.exec_id();
  process->stdin_path = request.stdin();
  process->stdout_path = request.stdout();
  process->stderr_path = request.stderr();
  process->terminal = request.terminal();
  process->spec_json = request.spec().value();  // an OCI process, JSON (typeurl)
  process->pid = static_cast<uint32_t>(vm_->vmm_pid());
  processes[request.exec_id()] = std::move(process);
  events::TaskExecAdded event;
  event.set_container_id(request.id());
  event.set_exec_id(request.exec_id());
  publisher_.Publish("/tasks/exec-added", event);
  return Empty();
}

Reply TaskService::Delete(std::string_view payload) {
  HULL_ASSIGN_OR_RETURN(task::DeleteRequest request, Parse<task::DeleteRequest>(payload));
  std::unique_ptr<Process> removed;
  std::unique_ptr<Container> container;  // the whole container, when its init is deleted
  bool last = false;
  {
    std::lock_guard lock(mutex_);
    Process* process = Find(request.id(), request.exec_id());
    if (!process) return ttrpc::Status{StatusCode::kNotFound, "no process " + request.exec_id()};
    if (!request.exec_id().empty() && process->status == Phase::kRunning) {
      return ttrpc::Status{StatusCode::kFailedPrecondition,
                           "exec " + request.exec_id() + " still runs"};
    }
    auto& processes = containers_[request.id()]->processes;
    removed = std::move(processes[request.exec_id()]);
    processes.erase(request.exec_id());
    if (request.exec_id().empty()) {
      container = std::move(containers_[request.id()]);
      containers_.erase(request.id());
      last = containers_.empty();
      if (!last) {
        // Others still run in the VM: this one goes from it alone.
        vm_->RemoveContainer(request.id());
      }
    }
  }
  if (removed->waiter.joinable()) removed->waiter.join();
  CloseStdio(*removed);
  task::DeleteResponse response;
  response.set_pid(removed->pid);
  response.set_exit_status(removed->exit_status);
  SetTime(response.mutable_exited_at(), removed->exited_at_ns ? removed->exited_at_ns : NowNs());
  events::TaskDelete event;
  event.set_container_id(request.id());
  event.set_id(request.exec_id().empty() ? request.id() : request.exec_id());
  event.set_pid(removed->pid);
  event.set_exit_status(removed->exit_status);
  *event.mutable_exited_at() = response.exited_at();
  if (container) {
    if (last) {
      // The VM's last container: the VM goes (its processes end first,
      // so the exec watchers return), then the container's mounts.
      std::map<std::string, std::unique_ptr<Container>> one;
      one[request.id()] = std::move(container);
      TearDown(std::move(one));
    } else {
      ReleaseContainer(*container);
    }
  }
  publisher_.Publish("/tasks/delete", event);
  return Serialized(response);
}

void TaskService::TearDown(std::map<std::string, std::unique_ptr<Container>> containers) {
  // Taken out under the lock, torn down without it: the exit watchers take
  // the lock when the VM's end wakes them.
  std::unique_ptr<sandbox::VmSandbox> vm;
  std::unique_ptr<grpc::ClientContext> oom_context;
  std::thread oom_watcher;
  {
    std::lock_guard lock(mutex_);
    for (auto& [id, container] : containers_) containers[id] = std::move(container);
    containers_.clear();
    vm = std::move(vm_);
    oom_context = std::move(oom_context_);
    oom_watcher = std::move(oom_watcher_);
    sandbox_id_.clear();
  }
  changed_.notify_all();
  if (oom_context) oom_context->TryCancel();
  if (oom_watcher.joinable()) oom_watcher.join();
  if (vm) {
    // Ends every process, so every watcher's WaitProcess returns.
    Result<void> stopped = vm->Stop();
    if (!stopped.ok()) {
      LogEvent(spdlog::level::warn, "sandbox_stop", Kv("error", stopped.error().message()));
    }
  }
  // The VM is stopped (its shares unmounted): the watchers return, and the
  // rootfs mounts can go.
  for (auto& [id, container] : containers) {
    (void)id;
    ReleaseContainer(*container);
  }
  vm.reset();
}

void TaskService::ReleaseContainer(Container& container) {
  for (auto& [exec_id, process] : container.processes) {
    (void)exec_id;
    if (process->waiter.joinable()) process->waiter.join();
    CloseStdio(*process);
  }
  container.processes.clear();
  if (!container.rootfs_mount.empty()) ::umount2(container.rootfs_mount.c_str(), MNT_DETACH);
  container.rootfs_mount.clear();
}

void TaskService::Cleanup() { TearDown(); }

TaskService::~TaskService() { Cleanup(); }

Reply TaskService::State(std::string_view payload) {
  HULL_ASSIGN_OR_RETURN(task::StateRequest request, Parse<task::StateRequest>(payload));
  std::lock_guard lock(mutex_);
  Process* process = Find(request.id(), request.exec_id());
  if (!process) return ttrpc::Status{StatusCode::kNotFound, "no process " + request.exec_id()};
  task::StateResponse response;
  response.set_id(request.exec_id().empty() ? request.id() : request.exec_id());
  response.set_exec_id(request.exec_id());
  response.set_bundle(containers_[request.id()]->bundle);
  response.set_pid(process->pid);
  switch (process->status) {
    case Phase::kCreated:
      response.set_status(::containerd::v1::types::CREATED);
      break;
    case Phase::kRunning:
      response.set_status(::containerd::v1::types::RUNNING);
      break;
    case Phase::kPaused:
      response.set_status(::containerd::v1::types::PAUSED);
      break;
    case Phase::kStopped:
      response.set_status(::containerd::v1::types::STOPPED);
      break;
  }
  response.set_stdin(process->stdin_path);
  response.set_stdout(process->stdout_path);
  response.set_stderr(process->stderr_path);
  response.set_terminal(process->terminal);
  response.set_exit_status(process->exit_status);
  if (process->exited_at_ns) SetTime(response.mutable_exited_at(), process->exited_at_ns);
  return Serialized(response);
}

Reply TaskService::Kill(std::string_view payload) {
  HULL_ASSIGN_OR_RETURN(task::KillRequest request, Parse<task::KillRequest>(payload));
  std::lock_guard lock(mutex_);
  Process* process = Find(request.id(), request.exec_id());
  if (!process) return ttrpc::Status{StatusCode::kNotFound, "no process " + request.exec_id()};
  if (process->status == Phase::kStopped || process->status == Phase::kCreated) {
    if (process->status == Phase::kStopped) {
      return ttrpc::Status{StatusCode::kNotFound, "process already finished"};
    }
  }
  grpc::ClientContext context;
  v1::SignalProcessRequest signal;
  signal.set_container_id(request.id());
  signal.set_exec_id(request.exec_id());
  signal.set_signal(request.signal());
  signal.set_all(request.all());
  v1::Empty empty;
  grpc::Status status = vm_->agent().SignalProcess(&context, signal, &empty);
  if (!status.ok()) return FromGrpc(status, "signal " + std::to_string(request.signal()));
  return Empty();
}

Reply TaskService::CloseIO(std::string_view payload) {
  HULL_ASSIGN_OR_RETURN(task::CloseIORequest request, Parse<task::CloseIORequest>(payload));
  std::lock_guard lock(mutex_);
  Process* process = Find(request.id(), request.exec_id());
  if (!process) return ttrpc::Status{StatusCode::kNotFound, "no process " + request.exec_id()};
  if (request.stdin()) {
    if (process->in) process->in->Stop();
    grpc::ClientContext context;
    v1::ProcessRequest close;
    close.set_container_id(request.id());
    close.set_exec_id(request.exec_id());
    v1::Empty empty;
    grpc::Status status = vm_->agent().CloseStdin(&context, close, &empty);
    if (!status.ok()) return FromGrpc(status, "closing stdin");
  }
  return Empty();
}

Reply TaskService::ResizePty(std::string_view payload) {
  HULL_ASSIGN_OR_RETURN(task::ResizePtyRequest request, Parse<task::ResizePtyRequest>(payload));
  std::lock_guard lock(mutex_);
  if (!Find(request.id(), request.exec_id()))
    return ttrpc::Status{StatusCode::kNotFound, "no process"};
  grpc::ClientContext context;
  v1::ResizeTtyRequest resize;
  resize.set_container_id(request.id());
  resize.set_exec_id(request.exec_id());
  resize.set_rows(request.height());
  resize.set_columns(request.width());
  v1::Empty empty;
  grpc::Status status = vm_->agent().ResizeTty(&context, resize, &empty);
  if (!status.ok()) return FromGrpc(status, "resizing the tty");
  return Empty();
}

Reply TaskService::Pids(std::string_view payload) {
  HULL_ASSIGN_OR_RETURN(task::PidsRequest request, Parse<task::PidsRequest>(payload));
  std::lock_guard lock(mutex_);
  if (!Find(request.id(), ""))
    return ttrpc::Status{StatusCode::kNotFound, "no task " + request.id()};
  grpc::ClientContext context;
  v1::ContainerRequest list;
  list.set_container_id(request.id());
  v1::ListProcessesResponse processes;
  grpc::Status status = vm_->agent().ListProcesses(&context, list, &processes);
  if (!status.ok()) return FromGrpc(status, "listing processes");
  task::PidsResponse response;
  for (const v1::ProcessInfo& info : processes.processes()) {
    response.add_processes()->set_pid(info.pid());
  }
  return Serialized(response);
}

Reply TaskService::Pause(std::string_view payload, bool pause) {
  std::string id;
  if (pause) {
    HULL_ASSIGN_OR_RETURN(task::PauseRequest request, Parse<task::PauseRequest>(payload));
    id = request.id();
  } else {
    HULL_ASSIGN_OR_RETURN(task::ResumeRequest request, Parse<task::ResumeRequest>(payload));
    id = request.id();
  }
  std::lock_guard lock(mutex_);
  Process* process = Find(id, "");
  if (!process) return ttrpc::Status{StatusCode::kNotFound, "no task " + id};
  grpc::ClientContext context;
  v1::ContainerRequest request;
  request.set_container_id(id);
  v1::Empty empty;
  grpc::Status status = pause ? vm_->agent().PauseContainer(&context, request, &empty)
                              : vm_->agent().ResumeContainer(&context, request, &empty);
  if (!status.ok()) return FromGrpc(status, pause ? "pausing" : "resuming");
  process->status = pause ? Phase::kPaused : Phase::kRunning;
  if (pause) {
    events::TaskPaused event;
    event.set_container_id(id);
    publisher_.Publish("/tasks/paused", event);
  } else {
    events::TaskResumed event;
    event.set_container_id(id);
    publisher_.Publish("/tasks/resumed", event);
  }
  return Empty();
}

Reply TaskService::Update(std::string_view payload) {
  HULL_ASSIGN_OR_RETURN(task::UpdateTaskRequest request, Parse<task::UpdateTaskRequest>(payload));
  std::lock_guard lock(mutex_);
  if (!Find(request.id(), ""))
    return ttrpc::Status{StatusCode::kNotFound, "no task " + request.id()};
  grpc::ClientContext context;
  v1::UpdateContainerRequest update;
  update.set_container_id(request.id());
  // containerd marshals the OCI LinuxResources as JSON in the Any.
  update.set_resources_json(request.resources().value());
  v1::Empty empty;
  grpc::Status status = vm_->agent().UpdateContainer(&context, update, &empty);
  if (!status.ok()) return FromGrpc(status, "updating resources");
  return Empty();
}

Reply TaskService::Wait(std::string_view payload) {
  HULL_ASSIGN_OR_RETURN(task::WaitRequest request, Parse<task::WaitRequest>(payload));
  std::unique_lock lock(mutex_);
  Process* process = Find(request.id(), request.exec_id());
  if (!process) return ttrpc::Status{StatusCode::kNotFound, "no process " + request.exec_id()};
  changed_.wait(lock, [&] {
    Process* current = Find(request.id(), request.exec_id());
    return current == nullptr || current->status == Phase::kStopped;
  });
  process = Find(request.id(), request.exec_id());
  if (!process) return ttrpc::Status{StatusCode::kNotFound, "the process was deleted"};
  task::WaitResponse response;
  response.set_exit_status(process->exit_status);
  SetTime(response.mutable_exited_at(), process->exited_at_ns);
  return Serialized(response);
}

Reply TaskService::Stats(std::string_view payload) {
  HULL_ASSIGN_OR_RETURN(task::StatsRequest request, Parse<task::StatsRequest>(payload));
  std::lock_guard lock(mutex_);
  if (!Find(request.id(), ""))
    return ttrpc::Status{StatusCode::kNotFound, "no task " + request.id()};
  grpc::ClientContext context;
  v1::ContainerRequest stats_request;
  stats_request.set_container_id(request.id());
  v1::StatsResponse stats;
  grpc::Status status = vm_->agent().StatsContainer(&context, stats_request, &stats);
  if (!status.ok()) return FromGrpc(status, "reading stats");
  io::containerd::cgroups::v2::Metrics metrics;
  metrics.mutable_pids()->set_current(stats.pids().current());
  metrics.mutable_pids()->set_limit(stats.pids().limit());
  auto* cpu = metrics.mutable_cpu();
  cpu->set_usage_usec(stats.cpu().usage_usec());
  cpu->set_user_usec(stats.cpu().user_usec());
  cpu->set_system_usec(stats.cpu().system_usec());
  cpu->set_nr_periods(stats.cpu().nr_periods());
  cpu->set_nr_throttled(stats.cpu().nr_throttled());
  cpu->set_throttled_usec(stats.cpu().throttled_usec());
  auto* memory = metrics.mutable_memory();
  memory->set_usage(stats.memory().current());
  memory->set_usage_limit(stats.memory().limit());
  memory->set_anon(stats.memory().anon());
  memory->set_file(stats.memory().file());
  memory->set_kernel_stack(stats.memory().kernel_stack());
  memory->set_slab(stats.memory().slab());
  memory->set_sock(stats.memory().sock());
  memory->set_shmem(stats.memory().shmem());
  memory->set_pgfault(stats.memory().pgfault());
  memory->set_pgmajfault(stats.memory().pgmajfault());
  memory->set_inactive_file(stats.memory().inactive_file());
  memory->set_swap_usage(stats.memory().swap());
  for (const v1::IoDeviceStats& device : stats.io()) {
    auto* entry = metrics.mutable_io()->add_usage();
    entry->set_major(device.major());
    entry->set_minor(device.minor());
    entry->set_rbytes(device.rbytes());
    entry->set_wbytes(device.wbytes());
    entry->set_rios(device.rios());
    entry->set_wios(device.wios());
  }
  task::StatsResponse response;
  *response.mutable_stats() = typeurl::Pack(metrics);
  return Serialized(response);
}

Reply TaskService::Connect(std::string_view payload) {
  HULL_ASSIGN_OR_RETURN(task::ConnectRequest request, Parse<task::ConnectRequest>(payload));
  std::lock_guard lock(mutex_);
  task::ConnectResponse response;
  response.set_shim_pid(static_cast<uint32_t>(::getpid()));
  if (vm_) response.set_task_pid(static_cast<uint32_t>(vm_->vmm_pid()));
  response.set_version("hull 0.1.0");
  (void)request;
  return Serialized(response);
}

Reply TaskService::Shutdown(std::string_view payload) {
  HULL_ASSIGN_OR_RETURN(task::ShutdownRequest request, Parse<task::ShutdownRequest>(payload));
  {
    std::lock_guard lock(mutex_);
    if (!containers_.empty() && !request.now()) return Empty();  // a task still lives
  }
  shutdown_();
  return Empty();
}

}  // namespace hull::shim
