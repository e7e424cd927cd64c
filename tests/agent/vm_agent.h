#pragma once

// hull-agent as PID 1 of a hull-vmm guest, started from the host the way the
// shim will: virtiofsd shares a host directory (tag "share", mounted by
// CreateSandbox at /run/hull/storage/share), hull-vmm boots the agent
// initramfs with a vsock device, the API is reached over AF_VSOCK with gRPC
// on the connected fd. Optionally a tap (made here) becomes the guest's eth0.
// Used by the agent suite (agent.vm) and by hull-agent-demo.

#include <grpcpp/grpcpp.h>
#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>

#include "agent.grpc.pb.h"

namespace hull::agent::testing {

inline constexpr const char* kGuestShare = "/run/hull/storage/share";
inline constexpr const char* kGuestMac = "02:00:00:00:09:02";

// The Shutdown RPC, then `pid` (the agent, or the hull-vmm around it) must
// end by itself with status 0 within `limit`; it is killed if it does not.
// Empty on success, else what went wrong, naming the process as `name`.
std::string ShutdownAndReap(hull::agent::v1::Agent::Stub* stub, pid_t pid, const std::string& name,
                            std::chrono::seconds limit);

struct VmAgentOptions {
  std::string vmm;
  std::string kernel;
  std::string initramfs;
  std::string share;     // host directory shared with the guest
  std::string work_dir;  // sockets and logs
  unsigned cid = 0;
  std::string tap;   // non-empty: make this tap (10.0.9.1/24), guest eth0 10.0.9.2/24
  std::string disk;  // non-empty: this image file becomes the guest's /dev/vda
  int cpus = 2;
  int mem_mib = 512;
};

class VmAgent {
 public:
  VmAgent() = default;
  VmAgent(const VmAgent&) = delete;
  VmAgent& operator=(const VmAgent&) = delete;
  ~VmAgent() { Stop(); }

  // Empty on success; otherwise what failed (with hull-vmm's log).
  std::string Start(const VmAgentOptions& options);
  // Shutdown over the API, then waits up to `limit` for hull-vmm to end by
  // itself. Empty when the RPC succeeded and hull-vmm exited with 0 in time;
  // otherwise what went wrong (hull-vmm is then killed). Either way
  // virtiofsd is stopped and the tap removed.
  std::string Shutdown(std::chrono::seconds limit);
  // Shutdown, ignoring how it went.
  void Stop() { (void)Shutdown(std::chrono::seconds(30)); }

  hull::agent::v1::Agent::Stub& stub() { return *stub_; }
  bool running() const { return vmm_pid_ > 0; }
  const std::string& log_path() const { return log_; }

 private:
  VmAgentOptions options_;
  std::string log_;
  pid_t vmm_pid_ = -1;
  pid_t virtiofsd_pid_ = -1;
  bool tap_made_ = false;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<hull::agent::v1::Agent::Stub> stub_;
};

}  // namespace hull::agent::testing
