#include "vm_agent.h"

#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace hull::agent::testing {
namespace {

using namespace std::chrono_literals;
namespace v1 = ::hull::agent::v1;

constexpr const char* kVirtiofsd = "/usr/lib/qemu/virtiofsd";

std::string ReadLog(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Forks and execs `argv` with stdout and stderr appended to `log`.
pid_t Spawn(const std::vector<std::string>& argv, const std::string& log) {
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  std::FILE* out = std::freopen(log.c_str(), "a", stdout);
  std::FILE* err = std::freopen(log.c_str(), "a", stderr);
  (void)out;
  (void)err;
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  ::execv(args[0], args.data());
  ::_exit(127);
}

}  // namespace

std::string VmAgent::Start(const VmAgentOptions& options) {
  options_ = options;
  if (::access(kVirtiofsd, X_OK) != 0) {
    return std::string(kVirtiofsd) + " is missing (Debian's qemu-system-common)";
  }
  const std::string fs_socket = options.work_dir + "/fs.sock";
  virtiofsd_pid_ = Spawn({kVirtiofsd, "--socket-path=" + fs_socket, "-o", "source=" + options.share,
                          "-o", "cache=auto"},
                         options.work_dir + "/virtiofsd.log");
  for (int i = 0; i < 200 && ::access(fs_socket.c_str(), F_OK) != 0; ++i)
    std::this_thread::sleep_for(50ms);

  std::vector<std::string> argv = {options.vmm,
                                   "--kernel",
                                   options.kernel,
                                   "--initrd",
                                   options.initramfs,
                                   "--mem",
                                   std::to_string(options.mem_mib),
                                   "--cpus",
                                   std::to_string(options.cpus),
                                   "--vsock",
                                   std::to_string(options.cid),
                                   "--fs",
                                   "tag=share,socket=" + fs_socket};
  if (!options.disk.empty()) {
    argv.push_back("--disk");
    argv.push_back(options.disk);
  }
  if (!options.tap.empty()) {
    const std::string setup = "ip tuntap add dev " + options.tap +
                              " mode tap && ip addr add 10.0.9.1/24 dev " + options.tap +
                              " && ip link set " + options.tap + " up";
    if (std::system(setup.c_str()) != 0)
      return "could not create tap " + options.tap + " (" + setup + ")";
    tap_made_ = true;
    argv.push_back("--net");
    argv.push_back("tap=" + options.tap + ",mac=" + kGuestMac);
  }
  argv.push_back("--cmdline");
  argv.push_back("console=ttyS0 reboot=k panic=-1 quiet");
  log_ = options.work_dir + "/vmm.log";
  vmm_pid_ = Spawn(argv, log_);

  // The agent listens once it is ready: connect until it answers.
  int fd = -1;
  const auto deadline = std::chrono::steady_clock::now() + 300s;
  while (std::chrono::steady_clock::now() < deadline) {
    fd = ::socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_vm addr{};
    addr.svm_family = AF_VSOCK;
    addr.svm_cid = options.cid;
    addr.svm_port = 1024;
    if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) break;
    if (fd >= 0) ::close(fd);
    fd = -1;
    if (::waitpid(vmm_pid_, nullptr, WNOHANG) == vmm_pid_) {
      vmm_pid_ = -1;
      break;
    }
    std::this_thread::sleep_for(100ms);
  }
  if (fd < 0) return "the guest's agent never answered on vsock; hull-vmm's log: " + ReadLog(log_);
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  channel_ = grpc::CreateInsecureChannelFromFd("hull-agent", fd);
  stub_ = v1::Agent::NewStub(channel_);

  grpc::ClientContext context;
  v1::CreateSandboxRequest request;
  request.set_sandbox_id("sandbox");
  v1::Storage* storage = request.add_storages();
  storage->set_source("share");
  storage->set_fstype("virtiofs");
  storage->set_mount_point(kGuestShare);
  if (tap_made_) {
    request.set_hostname("hull-sandbox");
    request.mutable_dns()->add_servers("10.0.9.1");
    request.mutable_dns()->add_searches("example.test");
    v1::Interface* interface = request.add_interfaces();
    interface->set_name("eth0");
    interface->set_mac(kGuestMac);
    interface->set_mtu(1400);
    interface->add_addresses()->set_cidr("10.0.9.2/24");
    v1::Route* route = request.add_routes();
    route->set_destination("default");
    route->set_gateway("10.0.9.1");
  }
  v1::Empty empty;
  grpc::Status status = stub_->CreateSandbox(&context, request, &empty);
  if (!status.ok()) return "CreateSandbox failed: " + status.error_message();
  return "";
}

std::string ShutdownAndReap(v1::Agent::Stub* stub, pid_t pid, const std::string& name,
                            std::chrono::seconds limit) {
  std::string problem;
  if (stub) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + limit);
    v1::Empty empty;
    v1::Empty response;
    grpc::Status status = stub->Shutdown(&context, empty, &response);
    if (!status.ok()) problem = "Shutdown failed: " + status.error_message() + "; ";
  }
  int status = 0;
  pid_t ended = 0;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while ((ended = ::waitpid(pid, &status, WNOHANG)) == 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  if (ended == 0) {
    problem +=
        name + " was still running " + std::to_string(limit.count()) + " s after Shutdown (killed)";
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    problem += name + " ended with wait status " + std::to_string(status);
  }
  return problem;
}

std::string VmAgent::Shutdown(std::chrono::seconds limit) {
  std::string problem;
  if (vmm_pid_ > 0) {
    problem = ShutdownAndReap(stub_.get(), vmm_pid_, "hull-vmm", limit);
    if (!problem.empty()) problem += "; its log: " + ReadLog(log_);
    vmm_pid_ = -1;
  }
  if (virtiofsd_pid_ > 0) {
    ::kill(virtiofsd_pid_, SIGTERM);
    ::waitpid(virtiofsd_pid_, nullptr, 0);
    virtiofsd_pid_ = -1;
  }
  if (tap_made_) {
    (void)std::system(("ip link del " + options_.tap + " 2>/dev/null").c_str());
    tap_made_ = false;
  }
  return problem;
}

}  // namespace hull::agent::testing
