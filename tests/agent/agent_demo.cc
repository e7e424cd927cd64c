// hull-agent-demo: an OCI bundle's container in a hull-vmm microVM, through
// the agent — what scripts/demo shows until the shim (#6) does it for real.
//
//   hull-agent-demo VMM KERNEL INITRAMFS BUNDLE [ARG...]
//
// Shares BUNDLE (config.json + rootfs/) with the guest through virtiofsd,
// boots hull-vmm with the agent initramfs, creates and starts the container
// (ARGs replace process.args), relays its stdout and stderr, and exits with
// its exit status after deleting it and shutting the VM down.

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "vm_agent.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace v1 = ::hull::agent::v1;

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

void Relay(v1::Agent::Stub& stub, v1::ReadOutputRequest::Stream stream, std::FILE* to) {
  grpc::ClientContext context;
  v1::ReadOutputRequest request;
  request.set_container_id("demo");
  request.set_stream(stream);
  auto reader = stub.ReadOutput(&context, request);
  v1::OutputChunk chunk;
  while (reader->Read(&chunk)) {
    std::fwrite(chunk.data().data(), 1, chunk.data().size(), to);
    std::fflush(to);
  }
  (void)reader->Finish();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fputs("usage: hull-agent-demo VMM KERNEL INITRAMFS BUNDLE [ARG...]\n", stderr);
    return 2;
  }
  const std::string bundle = argv[4];
  std::ifstream config_file(bundle + "/config.json");
  std::stringstream config_text;
  config_text << config_file.rdbuf();
  nlohmann::json spec = nlohmann::json::parse(config_text.str(), nullptr, false);
  if (spec.is_discarded() || !spec.is_object()) {
    std::fprintf(stderr, "hull-agent-demo: %s/config.json is missing or no JSON object\n",
                 bundle.c_str());
    return 2;
  }
  if (argc > 5) spec["process"]["args"] = std::vector<std::string>(argv + 5, argv + argc);

  char work[] = "/tmp/hull-agent-demo.XXXXXX";
  if (!::mkdtemp(work)) return 2;
  hull::agent::testing::VmAgentOptions options;
  options.vmm = argv[1];
  options.kernel = argv[2];
  options.initramfs = argv[3];
  options.share = bundle;
  options.work_dir = work;
  options.cid = 200 + static_cast<unsigned>(::getpid()) % 100000;
  hull::agent::testing::VmAgent vm;
  const auto launch = Clock::now();
  if (std::string error = vm.Start(options); !error.empty()) {
    std::fprintf(stderr, "hull-agent-demo: %s\n", error.c_str());
    return 1;
  }
  std::fprintf(stderr, "== microVM up, agent ready and sandbox created: %.0f ms after launch\n",
               MsSince(launch));

  const auto create = Clock::now();
  {
    grpc::ClientContext context;
    v1::CreateContainerRequest request;
    request.set_container_id("demo");
    request.set_spec_json(spec.dump());
    request.set_rootfs(std::string(hull::agent::testing::kGuestShare) + "/rootfs");
    v1::CreateContainerResponse response;
    grpc::Status status = vm.stub().CreateContainer(&context, request, &response);
    if (!status.ok()) {
      std::fprintf(stderr, "hull-agent-demo: create: %s\n", status.error_message().c_str());
      return 1;
    }
  }
  std::thread out([&] { Relay(vm.stub(), v1::ReadOutputRequest::STDOUT, stdout); });
  std::thread err([&] { Relay(vm.stub(), v1::ReadOutputRequest::STDERR, stderr); });
  {
    grpc::ClientContext context;
    v1::ContainerRequest request;
    request.set_container_id("demo");
    v1::Empty empty;
    grpc::Status status = vm.stub().StartContainer(&context, request, &empty);
    if (!status.ok()) {
      std::fprintf(stderr, "hull-agent-demo: start: %s\n", status.error_message().c_str());
      return 1;
    }
  }
  int exit_status = -1;
  {
    grpc::ClientContext context;
    v1::ProcessRequest request;
    request.set_container_id("demo");
    v1::WaitProcessResponse response;
    if (vm.stub().WaitProcess(&context, request, &response).ok())
      exit_status = response.exit_status();
  }
  out.join();
  err.join();
  std::fprintf(stderr, "== container exited with status %d, %.0f ms after create\n", exit_status,
               MsSince(create));
  {
    grpc::ClientContext context;
    v1::DeleteContainerRequest request;
    request.set_container_id("demo");
    v1::Empty empty;
    (void)vm.stub().DeleteContainer(&context, request, &empty);
  }
  if (std::string problem = vm.Shutdown(std::chrono::seconds(30)); !problem.empty()) {
    std::fprintf(stderr, "hull-agent-demo: the VM did not shut down cleanly: %s\n",
                 problem.c_str());
    return 1;
  }
  std::fprintf(stderr, "== VM shut down (%.0f ms in all)\n", MsSince(launch));
  return exit_status < 0 ? 1 : exit_status;
}
