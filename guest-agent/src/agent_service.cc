#include "agent_service.h"

#include <poll.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <thread>

#include "hull/common/eintr.h"
#include "hull/common/logging.h"
#include "request_validation.h"

namespace hull::agent {
namespace {

using namespace std::chrono_literals;
using grpc::ServerContext;
using grpc::Status;
using grpc::StatusCode;

constexpr size_t kOutputChunk = 64 * 1024;
// How often a blocked stream looks whether its client went away.
constexpr auto kCancelCheck = 200ms;

#define HULL_RPC_TRY(expr)                                  \
  do {                                                      \
    auto hull_rpc_result_ = (expr);                         \
    if (!hull_rpc_result_.ok()) {                           \
      return ToStatus(std::move(hull_rpc_result_).error()); \
    }                                                       \
  } while (false)

uint64_t ReadMemInfo(std::string_view key) {
  std::ifstream meminfo("/proc/meminfo");
  std::string name;
  uint64_t value = 0;
  std::string unit;
  while (meminfo >> name >> value) {
    std::getline(meminfo, unit);
    if (name.size() == key.size() + 1 && name.compare(0, key.size(), key) == 0) return value * 1024;
  }
  return 0;
}

uint64_t SelfRssBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

v1::ContainerStateResponse::Status ToProto(ContainerStatus status) {
  switch (status) {
    case ContainerStatus::kCreated:
      return v1::ContainerStateResponse::CREATED;
    case ContainerStatus::kRunning:
      return v1::ContainerStateResponse::RUNNING;
    case ContainerStatus::kPaused:
      return v1::ContainerStateResponse::PAUSED;
    case ContainerStatus::kStopped:
      return v1::ContainerStateResponse::STOPPED;
  }
  return v1::ContainerStateResponse::UNKNOWN;
}

void FillStats(const cgroup::CgroupStats& stats, v1::StatsResponse* response) {
  v1::CpuStats* cpu = response->mutable_cpu();
  cpu->set_usage_usec(stats.cpu.usage_usec);
  cpu->set_user_usec(stats.cpu.user_usec);
  cpu->set_system_usec(stats.cpu.system_usec);
  cpu->set_nr_periods(stats.cpu.nr_periods);
  cpu->set_nr_throttled(stats.cpu.nr_throttled);
  cpu->set_throttled_usec(stats.cpu.throttled_usec);
  if (stats.memory) {
    const cgroup::MemoryStats& in = *stats.memory;
    v1::MemoryStats* memory = response->mutable_memory();
    memory->set_current(in.current);
    memory->set_limit(in.max.value_or(0));
    memory->set_anon(in.anon);
    memory->set_file(in.file);
    memory->set_kernel_stack(in.kernel_stack);
    memory->set_slab(in.slab);
    memory->set_sock(in.sock);
    memory->set_shmem(in.shmem);
    memory->set_pgfault(in.pgfault);
    memory->set_pgmajfault(in.pgmajfault);
    memory->set_inactive_file(in.inactive_file);
    memory->set_swap(in.swap_current);
    memory->set_oom_events(in.events.oom);
    memory->set_oom_kill_events(in.events.oom_kill);
    memory->set_max_events(in.events.max);
  }
  if (stats.pids) {
    response->mutable_pids()->set_current(stats.pids->current);
    response->mutable_pids()->set_limit(stats.pids->max.value_or(0));
  }
  for (const cgroup::IoDeviceStats& in : stats.io) {
    v1::IoDeviceStats* io = response->add_io();
    io->set_major(in.major);
    io->set_minor(in.minor);
    io->set_rbytes(in.rbytes);
    io->set_wbytes(in.wbytes);
    io->set_rios(in.rios);
    io->set_wios(in.wios);
  }
}

}  // namespace

Status ToStatus(const Error& error) {
  StatusCode code = StatusCode::INTERNAL;
  switch (error.code()) {
    case EINVAL:
      code = StatusCode::INVALID_ARGUMENT;
      break;
    case ESRCH:
    case ENOENT:
      code = StatusCode::NOT_FOUND;
      break;
    case EEXIST:
      code = StatusCode::ALREADY_EXISTS;
      break;
    case EBUSY:
    case EPIPE:
    case ENOTTY:
      code = StatusCode::FAILED_PRECONDITION;
      break;
    case ETIMEDOUT:
      code = StatusCode::DEADLINE_EXCEEDED;
      break;
    case EPERM:
    case EACCES:
      code = StatusCode::PERMISSION_DENIED;
      break;
    default:
      break;
  }
  LogEvent(spdlog::level::debug, "rpc_error", Kv("code", static_cast<int>(code)),
           Kv("message", error.message()));
  return Status(code, error.message());
}

Status AgentService::CreateSandbox(ServerContext*, const v1::CreateSandboxRequest* request,
                                   v1::Empty*) {
  HULL_RPC_TRY(ValidateCreateSandbox(*request));
  HULL_RPC_TRY(sandbox_.Create(*request));
  return Status::OK;
}

Status AgentService::DestroySandbox(ServerContext*, const v1::DestroySandboxRequest* request,
                                    v1::Empty*) {
  if (!containers_.Ids().empty()) {
    if (!request->force()) {
      return Status(StatusCode::FAILED_PRECONDITION,
                    "the sandbox still has containers: delete them or destroy with force");
    }
    HULL_RPC_TRY(containers_.DeleteAll());
  }
  HULL_RPC_TRY(sandbox_.Destroy());
  return Status::OK;
}

Status AgentService::Health(ServerContext*, const v1::Empty*, v1::HealthResponse* response) {
  response->set_status(v1::HealthResponse::SERVING);
  return Status::OK;
}

Status AgentService::GuestDetails(ServerContext*, const v1::Empty*,
                                  v1::GuestDetailsResponse* response) {
  response->set_agent_version(HULL_AGENT_VERSION);
  utsname uts{};
  if (::uname(&uts) == 0) response->set_kernel_release(uts.release);
  response->set_cpus(static_cast<uint32_t>(::get_nprocs()));
  response->set_memory_total_bytes(ReadMemInfo("MemTotal"));
  response->set_memory_available_bytes(ReadMemInfo("MemAvailable"));
  response->set_ready_ms(ready_ms_);
  std::ifstream controllers("/sys/fs/cgroup/cgroup.controllers");
  std::string controller;
  while (controllers >> controller) response->add_cgroup_controllers(controller);
  response->set_agent_rss_bytes(SelfRssBytes());
  return Status::OK;
}

Status AgentService::Shutdown(ServerContext*, const v1::Empty*, v1::Empty*) {
  HULL_RPC_TRY(containers_.DeleteAll());
  (void)sandbox_.Destroy();
  if (options_.shutdown) {
    // After the reply has gone out.
    std::thread([shutdown = options_.shutdown] {
      std::this_thread::sleep_for(100ms);
      shutdown();
    }).detach();
  }
  return Status::OK;
}

Status AgentService::CreateContainer(ServerContext*, const v1::CreateContainerRequest* request,
                                     v1::CreateContainerResponse* response) {
  HULL_RPC_TRY(ValidateCreateContainer(*request));
  auto pid = containers_.Create(request->container_id(), request->spec_json(), request->rootfs(),
                                {request->stdio().terminal(), request->stdio().stdin()});
  HULL_RPC_TRY(pid);
  response->set_pid(static_cast<uint32_t>(*pid));
  return Status::OK;
}

Status AgentService::StartContainer(ServerContext*, const v1::ContainerRequest* request,
                                    v1::Empty*) {
  HULL_RPC_TRY(ValidateContainerId(request->container_id()));
  HULL_RPC_TRY(containers_.Start(request->container_id()));
  return Status::OK;
}

Status AgentService::DeleteContainer(ServerContext*, const v1::DeleteContainerRequest* request,
                                     v1::Empty*) {
  HULL_RPC_TRY(ValidateContainerId(request->container_id()));
  HULL_RPC_TRY(containers_.Delete(request->container_id(), request->force()));
  return Status::OK;
}

Status AgentService::PauseContainer(ServerContext*, const v1::ContainerRequest* request,
                                    v1::Empty*) {
  HULL_RPC_TRY(ValidateContainerId(request->container_id()));
  HULL_RPC_TRY(containers_.Pause(request->container_id()));
  return Status::OK;
}

Status AgentService::ResumeContainer(ServerContext*, const v1::ContainerRequest* request,
                                     v1::Empty*) {
  HULL_RPC_TRY(ValidateContainerId(request->container_id()));
  HULL_RPC_TRY(containers_.Resume(request->container_id()));
  return Status::OK;
}

Status AgentService::UpdateContainer(ServerContext*, const v1::UpdateContainerRequest* request,
                                     v1::Empty*) {
  HULL_RPC_TRY(ValidateUpdate(*request));
  HULL_RPC_TRY(containers_.Update(request->container_id(), request->resources_json()));
  return Status::OK;
}

Status AgentService::StatsContainer(ServerContext*, const v1::ContainerRequest* request,
                                    v1::StatsResponse* response) {
  HULL_RPC_TRY(ValidateContainerId(request->container_id()));
  auto stats = containers_.Stats(request->container_id());
  HULL_RPC_TRY(stats);
  FillStats(*stats, response);
  return Status::OK;
}

Status AgentService::ListProcesses(ServerContext*, const v1::ContainerRequest* request,
                                   v1::ListProcessesResponse* response) {
  HULL_RPC_TRY(ValidateContainerId(request->container_id()));
  auto processes = containers_.Processes(request->container_id());
  HULL_RPC_TRY(processes);
  for (const ProcessEntry& entry : *processes) {
    v1::ProcessInfo* info = response->add_processes();
    info->set_pid(static_cast<uint32_t>(entry.pid));
    info->set_exec_id(entry.exec_id);
  }
  return Status::OK;
}

Status AgentService::ContainerState(ServerContext*, const v1::ContainerRequest* request,
                                    v1::ContainerStateResponse* response) {
  HULL_RPC_TRY(ValidateContainerId(request->container_id()));
  auto info = containers_.Info(request->container_id());
  HULL_RPC_TRY(info);
  response->set_container_id(request->container_id());
  response->set_status(ToProto(info->status));
  response->set_pid(static_cast<uint32_t>(info->pid));
  response->set_exit_status(info->exit_status);
  response->set_cgroup_path(info->cgroup_path);
  return Status::OK;
}

Status AgentService::ExecProcess(ServerContext*, const v1::ExecProcessRequest* request,
                                 v1::ExecProcessResponse* response) {
  HULL_RPC_TRY(ValidateExecProcess(*request));
  auto pid = containers_.Exec(request->container_id(), request->exec_id(), request->process_json(),
                              {request->stdio().terminal(), request->stdio().stdin()});
  HULL_RPC_TRY(pid);
  response->set_pid(static_cast<uint32_t>(*pid));
  return Status::OK;
}

Status AgentService::SignalProcess(ServerContext*, const v1::SignalProcessRequest* request,
                                   v1::Empty*) {
  HULL_RPC_TRY(ValidateSignal(*request));
  HULL_RPC_TRY(containers_.Signal(request->container_id(), request->exec_id(),
                                  static_cast<int>(request->signal()), request->all()));
  return Status::OK;
}

Status AgentService::WaitProcess(ServerContext* context, const v1::ProcessRequest* request,
                                 v1::WaitProcessResponse* response) {
  HULL_RPC_TRY(ValidateProcessRequest(*request));
  auto process = containers_.FindProcess(request->container_id(), request->exec_id());
  HULL_RPC_TRY(process);
  for (;;) {
    if (auto status = (*process)->WaitFor(kCancelCheck)) {
      response->set_exit_status(*status);
      return Status::OK;
    }
    if (context->IsCancelled()) return Status(StatusCode::CANCELLED, "the client went away");
  }
}

Status AgentService::ResizeTty(ServerContext*, const v1::ResizeTtyRequest* request, v1::Empty*) {
  HULL_RPC_TRY(ValidateResize(*request));
  auto process = containers_.FindProcess(request->container_id(), request->exec_id());
  HULL_RPC_TRY(process);
  HULL_RPC_TRY((*process)->Resize(static_cast<uint16_t>(request->rows()),
                                  static_cast<uint16_t>(request->columns())));
  return Status::OK;
}

Status AgentService::CloseStdin(ServerContext*, const v1::ProcessRequest* request, v1::Empty*) {
  HULL_RPC_TRY(ValidateProcessRequest(*request));
  auto process = containers_.FindProcess(request->container_id(), request->exec_id());
  HULL_RPC_TRY(process);
  HULL_RPC_TRY((*process)->CloseStdin());
  return Status::OK;
}

Status AgentService::WriteStdin(ServerContext*, grpc::ServerReader<v1::StdinChunk>* reader,
                                v1::WriteStdinResponse* response) {
  v1::StdinChunk chunk;
  if (!reader->Read(&chunk))
    return Status(StatusCode::INVALID_ARGUMENT, "WriteStdin stream was empty");
  v1::ProcessRequest target;
  target.set_container_id(chunk.container_id());
  target.set_exec_id(chunk.exec_id());
  HULL_RPC_TRY(ValidateProcessRequest(target));
  auto process = containers_.FindProcess(chunk.container_id(), chunk.exec_id());
  HULL_RPC_TRY(process);
  uint64_t written = 0;
  for (;;) {
    if (!chunk.data().empty()) {
      auto n = (*process)->WriteStdin(
          {reinterpret_cast<const uint8_t*>(chunk.data().data()), chunk.data().size()});
      HULL_RPC_TRY(n);
      written += *n;
    }
    if (chunk.close_stdin()) {
      HULL_RPC_TRY((*process)->CloseStdin());
      break;
    }
    if (!reader->Read(&chunk)) break;
  }
  response->set_bytes_written(written);
  return Status::OK;
}

Status AgentService::ReadOutput(ServerContext* context, const v1::ReadOutputRequest* request,
                                grpc::ServerWriter<v1::OutputChunk>* writer) {
  v1::ProcessRequest target;
  target.set_container_id(request->container_id());
  target.set_exec_id(request->exec_id());
  HULL_RPC_TRY(ValidateProcessRequest(target));
  auto process = containers_.FindProcess(request->container_id(), request->exec_id());
  HULL_RPC_TRY(process);
  const OutputStream stream = request->stream() == v1::ReadOutputRequest::STDERR
                                  ? OutputStream::kStderr
                                  : OutputStream::kStdout;
  auto fd = (*process)->ClaimOutput(stream);
  HULL_RPC_TRY(fd);
  struct Release {
    Process& process;
    OutputStream stream;
    ~Release() { process.ReleaseOutput(stream); }
  } release{**process, stream};

  std::string buffer(kOutputChunk, '\0');
  v1::OutputChunk chunk;
  for (;;) {
    pollfd pfd{*fd, POLLIN, 0};
    int ready =
        RetryOnEintr([&] { return ::poll(&pfd, 1, static_cast<int>(kCancelCheck.count())); });
    if (context->IsCancelled()) return Status(StatusCode::CANCELLED, "the client went away");
    if (ready == 0) continue;
    ssize_t n = RetryOnEintr([&] { return ::read(*fd, buffer.data(), buffer.size()); });
    // EIO: a pty whose every slave is closed — the tty's end of file.
    if (n == 0 || (n < 0 && errno == EIO)) return Status::OK;
    if (n < 0) return ToStatus(Error::FromErrno(errno, "reading the process's output"));
    chunk.set_data(buffer.data(), static_cast<size_t>(n));
    // Blocks while the client's flow-control window is full: back-pressure
    // reaches the process through its pipe.
    if (!writer->Write(chunk)) return Status(StatusCode::CANCELLED, "the client went away");
  }
}

Status AgentService::OomEvents(ServerContext* context, const v1::Empty*,
                               grpc::ServerWriter<v1::OomEvent>* writer) {
  auto subscription = oom_.Subscribe();
  struct Unsubscribe {
    OomHub& hub;
    std::shared_ptr<OomHub::Subscription> subscription;
    ~Unsubscribe() { hub.Unsubscribe(subscription); }
  } unsubscribe{oom_, subscription};
  // Tells the client the stream is live before the first event.
  writer->SendInitialMetadata();
  while (!context->IsCancelled()) {
    auto id = subscription->Next(kCancelCheck);
    if (!id) continue;
    v1::OomEvent event;
    event.set_container_id(*id);
    if (!writer->Write(event)) break;
  }
  return Status::OK;
}

}  // namespace hull::agent
