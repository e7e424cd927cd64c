#pragma once

// The gRPC service: each handler validates its request (request_validation.h),
// calls the container manager or sandbox, and maps an Error onto a status in
// one place (ToStatus).

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <functional>

#include "agent.grpc.pb.h"
#include "container_manager.h"
#include "oom_hub.h"
#include "sandbox.h"

namespace hull::agent {

grpc::Status ToStatus(const Error& error);

struct ServiceOptions {
  bool guest = false;
  // Called by Shutdown after the containers are gone (powers off, or ends
  // the host-mode agent).
  std::function<void()> shutdown;
};

class AgentService final : public v1::Agent::Service {
 public:
  AgentService(ContainerManager& containers, Sandbox& sandbox, OomHub& oom, ServiceOptions options)
      : containers_(containers), sandbox_(sandbox), oom_(oom), options_(std::move(options)) {}

  grpc::Status CreateSandbox(grpc::ServerContext*, const v1::CreateSandboxRequest*,
                             v1::Empty*) override;
  grpc::Status DestroySandbox(grpc::ServerContext*, const v1::DestroySandboxRequest*,
                              v1::Empty*) override;
  grpc::Status Health(grpc::ServerContext*, const v1::Empty*, v1::HealthResponse*) override;
  grpc::Status GuestDetails(grpc::ServerContext*, const v1::Empty*,
                            v1::GuestDetailsResponse*) override;
  grpc::Status Shutdown(grpc::ServerContext*, const v1::Empty*, v1::Empty*) override;
  grpc::Status CreateContainer(grpc::ServerContext*, const v1::CreateContainerRequest*,
                               v1::CreateContainerResponse*) override;
  grpc::Status StartContainer(grpc::ServerContext*, const v1::ContainerRequest*,
                              v1::Empty*) override;
  grpc::Status DeleteContainer(grpc::ServerContext*, const v1::DeleteContainerRequest*,
                               v1::Empty*) override;
  grpc::Status PauseContainer(grpc::ServerContext*, const v1::ContainerRequest*,
                              v1::Empty*) override;
  grpc::Status ResumeContainer(grpc::ServerContext*, const v1::ContainerRequest*,
                               v1::Empty*) override;
  grpc::Status UpdateContainer(grpc::ServerContext*, const v1::UpdateContainerRequest*,
                               v1::Empty*) override;
  grpc::Status StatsContainer(grpc::ServerContext*, const v1::ContainerRequest*,
                              v1::StatsResponse*) override;
  grpc::Status ListProcesses(grpc::ServerContext*, const v1::ContainerRequest*,
                             v1::ListProcessesResponse*) override;
  grpc::Status ContainerState(grpc::ServerContext*, const v1::ContainerRequest*,
                              v1::ContainerStateResponse*) override;
  grpc::Status ExecProcess(grpc::ServerContext*, const v1::ExecProcessRequest*,
                           v1::ExecProcessResponse*) override;
  grpc::Status SignalProcess(grpc::ServerContext*, const v1::SignalProcessRequest*,
                             v1::Empty*) override;
  grpc::Status WaitProcess(grpc::ServerContext*, const v1::ProcessRequest*,
                           v1::WaitProcessResponse*) override;
  grpc::Status ResizeTty(grpc::ServerContext*, const v1::ResizeTtyRequest*, v1::Empty*) override;
  grpc::Status CloseStdin(grpc::ServerContext*, const v1::ProcessRequest*, v1::Empty*) override;
  grpc::Status WriteStdin(grpc::ServerContext*, grpc::ServerReader<v1::StdinChunk>*,
                          v1::WriteStdinResponse*) override;
  grpc::Status ReadOutput(grpc::ServerContext*, const v1::ReadOutputRequest*,
                          grpc::ServerWriter<v1::OutputChunk>*) override;
  grpc::Status OomEvents(grpc::ServerContext*, const v1::Empty*,
                         grpc::ServerWriter<v1::OomEvent>*) override;

  // Milliseconds from kernel start to serving (guest); 0 on a host.
  void set_ready_ms(uint64_t ms) { ready_ms_ = ms; }

 private:
  ContainerManager& containers_;
  Sandbox& sandbox_;
  OomHub& oom_;
  const ServiceOptions options_;
  std::atomic<uint64_t> ready_ms_{0};
};

}  // namespace hull::agent
