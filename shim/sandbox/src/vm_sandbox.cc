#include "hull/sandbox/vm_sandbox.h"

#include <fcntl.h>
#include <grpcpp/create_channel_posix.h>
#include <grpcpp/grpcpp.h>
#include <linux/vm_sockets.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <thread>

#include "hull/common/fnv.h"
#include "hull/common/logging.h"
#include "hull/common/unique_fd.h"
#include "hull/sandbox/host_check.h"

namespace hull::sandbox {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

bool IsIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

// The mount points at or under `dir`, from /proc/self/mountinfo.
std::vector<std::string> MountsUnder(const std::string& dir) {
  std::vector<std::string> found;
  std::ifstream mountinfo("/proc/self/mountinfo");
  std::string line;
  while (std::getline(mountinfo, line)) {
    std::istringstream fields(line);
    std::string id, parent, device, root, point;
    fields >> id >> parent >> device >> root >> point;
    if (point == dir || point.starts_with(dir + "/")) found.push_back(point);
  }
  return found;
}

Result<void> BindMount(const std::string& source, const std::string& target, bool read_only) {
  if (::mount(source.c_str(), target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
    return Error::FromErrno(errno, "bind-mounting " + source + " at " + target);
  }
  if (read_only &&
      ::mount(nullptr, target.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) != 0) {
    const int saved = errno;
    ::umount2(target.c_str(), MNT_DETACH);
    return Error::FromErrno(saved, "making " + target + " read-only");
  }
  return Ok();
}

// A connected AF_VSOCK stream to the guest's agent, or -1.
int ConnectVsock(unsigned cid) {
  int fd = ::socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_vm address{};
  address.svm_family = AF_VSOCK;
  address.svm_cid = cid;
  address.svm_port = kAgentVsockPort;
  // SAFETY: sockaddr_vm is a sockaddr for connect(2) on an AF_VSOCK socket.
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

unsigned RandomCid() {
  std::random_device random;
  // Above the well-known CIDs and the small numbers people pick by hand.
  return 10000 + random() % 0x7fff0000u;
}

}  // namespace

Result<void> ValidateId(std::string_view kind, std::string_view id) {
  if (id.empty() || id.size() > 64 || id == "." || id == "..") {
    return Error(EINVAL, std::string(kind) + " id \"" + std::string(id) +
                             "\" must be 1..64 characters and not \".\" or \"..\"");
  }
  for (char c : id) {
    if (!IsIdChar(c)) {
      return Error(EINVAL, std::string(kind) + " id \"" + std::string(id) +
                               "\" may hold only letters, digits, '_', '-' and '.'");
    }
  }
  return Ok();
}

Result<AgentConnection> ConnectAgent(unsigned cid) {
  const int fd = ConnectVsock(cid);
  if (fd < 0) {
    return Error::FromErrno(errno, "connecting to hull-agent (vsock CID " + std::to_string(cid) +
                                       ", port " + std::to_string(kAgentVsockPort) +
                                       "); is its VM still running?");
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  AgentConnection connection;
  connection.channel = grpc::CreateInsecureChannelFromFd("hull-agent", fd);
  connection.stub = v1::Agent::NewStub(connection.channel);
  return connection;
}

Result<std::unique_ptr<VmSandbox>> VmSandbox::Start(const std::string& id,
                                                    const HostConfig& config) {
  HULL_TRY(ValidateId("sandbox", id));
  HULL_TRY(RequireHost(config));
  std::unique_ptr<VmSandbox> sandbox(new VmSandbox());
  sandbox->id_ = id;
  sandbox->dir_ = config.state_root + "/sandboxes/" + id;
  std::error_code error;
  fs::create_directories(config.state_root + "/sandboxes", error);
  if (error) {
    return Error(error.value(), "creating " + config.state_root + "/sandboxes: " + error.message());
  }
  if (::mkdir(sandbox->dir_.c_str(), 0700) != 0) {
    if (errno == EEXIST) {
      return Error(EEXIST, "sandbox " + id + " exists already (" + sandbox->dir_ +
                               "): delete it first, or remove the directory if it is stale");
    }
    return Error::FromErrno(errno, "creating " + sandbox->dir_);
  }
  Result<void> launched = sandbox->Launch(config);
  if (!launched.ok()) {
    sandbox->Cleanup();
    return std::move(launched).error().WithContext("starting sandbox " + id);
  }
  return sandbox;
}

Result<void> VmSandbox::Launch(const HostConfig& config) {
  // The network first: a namespace we must refuse is refused before any
  // process starts.
  std::vector<int> tap_fds;
  std::vector<std::string> net_flags;
  if (!config.network_namespace.empty()) {
    HULL_ASSIGN_OR_RETURN(network_, PodNetwork::Attach(config.network_namespace));
    // For CleanupStale: the namespace, then the interfaces that carry a redirect.
    std::ofstream record(dir_ + "/network");
    record << config.network_namespace << "\n";
    for (size_t i = 0; i < network_->interfaces().size(); ++i) {
      const MirroredInterface& mirrored = network_->interfaces()[i];
      record << mirrored.name << "\n";
      tap_fds.push_back(network_->tap_fds()[i].Get());
      net_flags.push_back("--net");
      net_flags.push_back("fd=" + std::to_string(3 + i) + ",mac=" + mirrored.mac);
    }
  }

  shared_ = dir_ + "/shared";
  if (::mkdir(shared_.c_str(), 0755) != 0) return Error::FromErrno(errno, "mkdir " + shared_);
  // A mount point of its own, shared, so that binds made under it later
  // propagate into virtiofsd's (slave) mount namespace.
  HULL_TRY(BindMount(shared_, shared_, false));
  shared_mounted_ = true;
  if (::mount(nullptr, shared_.c_str(), nullptr, MS_SHARED, nullptr) != 0) {
    return Error::FromErrno(errno, "making " + shared_ + " a shared mount");
  }

  // The vhost-user socket is named relative to the sandbox directory, in
  // which virtiofsd and hull-vmm run: a Unix socket's path has at most 107
  // bytes, and engines' state roots with 64-character ids are longer
  // (/run/docker/runtime-runc/moby/sandboxes/<64>/fs.sock is 116). The name
  // is unique per sandbox directory because virtiofsd names its pid file
  // (and lock) after the socket path as given.
  char socket_name[32];
  std::snprintf(socket_name, sizeof(socket_name), "fs-%016llx.sock",
                static_cast<unsigned long long>(Fnv1a64(dir_)));
  const std::string fs_socket = dir_ + "/" + socket_name;
  HULL_ASSIGN_OR_RETURN(
      virtiofsd_,
      ChildProcess::Spawn({config.virtiofsd, std::string("--socket-path=") + socket_name, "-o",
                           "source=" + shared_, "-o", "cache=auto"},
                          dir_ + "/virtiofsd.log", {}, dir_));
  for (int i = 0; i < 400 && ::access(fs_socket.c_str(), F_OK) != 0; ++i) {
    if (std::optional<int> status = virtiofsd_.Poll()) {
      return Error(EIO, "virtiofsd ended (" + DescribeWaitStatus(*status) +
                            ") before it served; its log: " + FileTail(dir_ + "/virtiofsd.log"));
    }
    std::this_thread::sleep_for(25ms);
  }
  if (::access(fs_socket.c_str(), F_OK) != 0) {
    return Error(ETIMEDOUT, "virtiofsd made no socket within 10 s; its log: " +
                                FileTail(dir_ + "/virtiofsd.log"));
  }

  LogEvent(spdlog::level::debug, "virtiofsd_ready", Kv("sandbox", id_),
           Kv("pid", virtiofsd_.pid()));

  std::string cmdline = "console=ttyS0 reboot=k panic=-1 quiet";
  if (config.log_level == "debug" || config.log_level == "trace") cmdline += " hull.log=debug";
  const std::string vmm_log = dir_ + "/vmm.log";
  const std::string console = dir_ + "/console.log";
  for (int attempt = 0;; ++attempt) {
    cid_ = RandomCid();
    std::vector<std::string> argv = {config.vmm,
                                     "--kernel",
                                     config.kernel,
                                     "--initrd",
                                     config.initramfs,
                                     "--mem",
                                     std::to_string(config.memory_mib),
                                     "--cpus",
                                     std::to_string(config.vcpus),
                                     "--vsock",
                                     std::to_string(cid_),
                                     "--fs",
                                     std::string("tag=share,socket=") + socket_name,
                                     "--serial",
                                     "file:" + console,
                                     "--log-level",
                                     config.log_level,
                                     "--cmdline",
                                     cmdline};
    argv.insert(argv.end(), net_flags.begin(), net_flags.end());
    HULL_ASSIGN_OR_RETURN(vmm_, ChildProcess::Spawn(argv, vmm_log, tap_fds, dir_));
    std::ofstream(dir_ + "/vmm.pid") << vmm_.pid();
    LogEvent(spdlog::level::debug, "vmm_started", Kv("sandbox", id_), Kv("pid", vmm_.pid()),
             Kv("cid", cid_));
    // The agent listens once it is ready: connect until it answers.
    int fd = -1;
    const auto deadline = std::chrono::steady_clock::now() + config.agent_timeout;
    std::optional<int> ended;
    while (std::chrono::steady_clock::now() < deadline) {
      fd = ConnectVsock(cid_);
      if (fd >= 0) break;
      if ((ended = vmm_.Poll())) break;
      if (std::optional<int> fs_ended = virtiofsd_.Poll()) {
        // virtiofsd ends when hull-vmm closes its socket: name hull-vmm
        // when it is the one that failed.
        if ((ended = vmm_.WaitFor(1000ms))) break;
        return Error(EIO,
                     "virtiofsd ended (" + DescribeWaitStatus(*fs_ended) +
                         ") while the VM booted; its log: " + FileTail(dir_ + "/virtiofsd.log"));
      }
      std::this_thread::sleep_for(50ms);
    }
    if (ended) {
      const std::string log = FileTail(vmm_log);
      if (log.find("is already used by another VM") != std::string::npos && attempt < 5) continue;
      return Error(EIO, "hull-vmm ended (" + DescribeWaitStatus(*ended) +
                            ") before hull-agent answered; its log: " + log +
                            "; the guest console ends with: " + FileTail(console, 1024));
    }
    if (fd < 0) {
      return Error(ETIMEDOUT,
                   "hull-agent did not answer on vsock (CID " + std::to_string(cid_) + ", port " +
                       std::to_string(kAgentVsockPort) + ") within " +
                       std::to_string(config.agent_timeout.count()) +
                       " s; is the kernel a hull guest kernel (kernel-config/build) and the "
                       "initramfs the agent's? The guest console ends with: " +
                       FileTail(console, 1024));
    }
    LogEvent(spdlog::level::debug, "agent_connected", Kv("sandbox", id_));
    if (spdlog::should_log(spdlog::level::debug)) {
      // hull-vmm's own milestones, with its timestamps (its log goes with
      // the sandbox directory): the boot breakdown of bench/hull-bench.
      std::ifstream vmm_lines(vmm_log);
      for (std::string line; std::getline(vmm_lines, line);) {
        if (line.find("VM running") != std::string::npos ||
            line.find("boot mark") != std::string::npos) {
          LogEvent(spdlog::level::debug, "vmm_milestone", Kv("sandbox", id_), Kv("line", line));
        }
      }
    }
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    channel_ = grpc::CreateInsecureChannelFromFd("hull-agent", fd);
    stub_ = v1::Agent::NewStub(channel_);
    break;
  }

  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + config.agent_timeout);
  v1::CreateSandboxRequest request;
  request.set_sandbox_id(id_);
  v1::Storage* storage = request.add_storages();
  storage->set_source("share");
  storage->set_fstype("virtiofs");
  storage->set_mount_point(kGuestShareRoot);
  if (network_) network_->Describe(request);
  for (const auto& [name, value] : config.network_sysctls)
    (*request.mutable_sysctls())[name] = value;
  v1::Empty empty;
  grpc::Status status = stub_->CreateSandbox(&context, request, &empty);
  if (!status.ok())
    return Error(EIO, "the agent's CreateSandbox failed: " + status.error_message());
  LogEvent(spdlog::level::info, "sandbox_started", Kv("sandbox", id_), Kv("cid", cid_));
  return Ok();
}

Result<std::string> VmSandbox::Share(const std::string& name, const std::string& host_path,
                                     bool read_only) {
  if (name.empty() || name.front() == '/' || name.find("..") != std::string::npos) {
    return Error(EINVAL, "share name \"" + name + "\" must be a relative path without \"..\"");
  }
  struct stat st {};
  if (::stat(host_path.c_str(), &st) != 0) return Error::FromErrno(errno, "stat " + host_path);
  const std::string target = shared_ + "/" + name;
  std::error_code error;
  fs::create_directories(fs::path(target).parent_path(), error);
  if (error) return Error(error.value(), "creating the parent of " + target);
  if (S_ISDIR(st.st_mode)) {
    if (::mkdir(target.c_str(), 0755) != 0 && errno != EEXIST) {
      return Error::FromErrno(errno, "mkdir " + target);
    }
  } else {
    UniqueFd file(::open(target.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    if (!file) return Error::FromErrno(errno, "creating " + target);
  }
  HULL_TRY(BindMount(host_path, target, read_only));
  shares_.emplace_back(name, target);
  return std::string(kGuestShareRoot) + "/" + name;
}

Result<void> VmSandbox::CreateContainer(const std::string& container_id,
                                        const std::string& spec_json, bool terminal, bool stdin) {
  grpc::ClientContext context;
  v1::CreateContainerRequest request;
  request.set_container_id(container_id);
  request.set_spec_json(spec_json);
  request.mutable_stdio()->set_terminal(terminal);
  request.mutable_stdio()->set_stdin(stdin);
  v1::CreateContainerResponse response;
  grpc::Status status = stub_->CreateContainer(&context, request, &response);
  // The agent's message names the container and what failed.
  if (!status.ok()) return Error(EINVAL, status.error_message());
  return Ok();
}

void VmSandbox::RemoveContainer(const std::string& container_id) {
  if (stub_) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + 10s);
    v1::DeleteContainerRequest request;
    request.set_container_id(container_id);
    request.set_force(true);
    v1::Empty empty;
    (void)stub_->DeleteContainer(&context, request, &empty);
  }
  (void)Unshare(container_id);
}

Result<void> VmSandbox::Unshare(const std::string& prefix) {
  std::optional<Error> first;
  for (size_t i = shares_.size(); i-- > 0;) {
    const auto& [name, target] = shares_[i];
    if (name != prefix && !name.starts_with(prefix + "/")) continue;
    if (::umount2(target.c_str(), MNT_DETACH) != 0 && errno != EINVAL && !first) {
      first = Error::FromErrno(errno, "unmounting " + target);
    }
    shares_.erase(shares_.begin() + static_cast<std::ptrdiff_t>(i));
  }
  if (first) return *first;
  const std::string top = shared_ + "/" + prefix;
  if (MountsUnder(top).empty()) {
    std::error_code error;
    fs::remove_all(top, error);
  }
  return Ok();
}

bool VmSandbox::Alive() { return vmm_.running() && !vmm_.Poll().has_value(); }

Result<void> VmSandbox::Stop(std::chrono::seconds limit) {
  std::string problems;
  if (stub_ && vmm_.running()) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + limit);
    v1::Empty empty;
    v1::Empty response;
    grpc::Status status = stub_->Shutdown(&context, empty, &response);
    if (!status.ok()) problems += "the agent's Shutdown failed: " + status.error_message() + "; ";
    std::optional<int> ended = vmm_.WaitFor(limit);
    if (!ended) {
      problems += "hull-vmm still ran " + std::to_string(limit.count()) + " s after Shutdown; ";
    } else if (*ended != 0) {
      problems += "hull-vmm ended with " + DescribeWaitStatus(*ended) + "; ";
    }
  }
  Cleanup();
  if (!problems.empty()) return Error(EIO, "sandbox " + id_ + ": " + problems);
  return Ok();
}

void VmSandbox::Cleanup() {
  stub_.reset();
  channel_.reset();
  if (vmm_.running()) vmm_.Stop(0ms);
  if (virtiofsd_.running()) virtiofsd_.Stop(2000ms);
  if (network_) {
    // hull-vmm is gone: the taps go with our fds; the redirects we remove.
    if (Result<void> detached = network_->Detach(); !detached.ok()) {
      LogEvent(spdlog::level::warn, "network_detach_failed", Kv("sandbox", id_),
               Kv("error", detached.error().ToString()));
    }
    network_.reset();
  }
  for (auto it = shares_.rbegin(); it != shares_.rend(); ++it) {
    ::umount2(it->second.c_str(), MNT_DETACH);
  }
  shares_.clear();
  if (shared_mounted_) {
    ::umount2(shared_.c_str(), MNT_DETACH);
    shared_mounted_ = false;
  }
  if (dir_.empty()) return;
  // Never delete through a mount that is still there (it could be a
  // container's real root file system).
  std::vector<std::string> left = MountsUnder(dir_);
  if (!left.empty()) {
    LogEvent(spdlog::level::err, "sandbox_dir_kept", Kv("dir", dir_),
             Kv("mounts", static_cast<int>(left.size())));
    return;
  }
  std::error_code error;
  fs::remove_all(dir_, error);
  dir_.clear();
}

Result<void> VmSandbox::CleanupStale(const std::string& state_root, const std::string& id) {
  HULL_TRY(ValidateId("sandbox", id));
  const std::string dir = state_root + "/sandboxes/" + id;
  if (::access(dir.c_str(), F_OK) != 0) return Ok();
  for (const char* name : {"vmm.pid", "virtiofsd.pid"}) {
    pid_t pid = 0;
    std::ifstream(dir + "/" + name) >> pid;
    if (pid <= 1) continue;
    // Only a process that still names this sandbox (pids are reused).
    const std::string text = FileTail("/proc/" + std::to_string(pid) + "/cmdline", 65536);
    if (text.find(dir + "/") == std::string::npos) continue;
    ::kill(pid, SIGKILL);
    for (int i = 0; i < 100 && ::kill(pid, 0) == 0; ++i) std::this_thread::sleep_for(20ms);
  }
  if (std::ifstream record(dir + "/network"); record) {
    std::string netns;
    std::getline(record, netns);
    std::vector<std::string> names;
    for (std::string name; std::getline(record, name);) {
      if (!name.empty()) names.push_back(name);
    }
    if (!netns.empty()) HULL_TRY(PodNetwork::DetachStale(netns, names));
  }
  std::vector<std::string> mounts = MountsUnder(dir);
  for (auto it = mounts.rbegin(); it != mounts.rend(); ++it) ::umount2(it->c_str(), MNT_DETACH);
  if (!MountsUnder(dir).empty()) return Error(EBUSY, "mounts under " + dir + " would not go");
  std::error_code error;
  fs::remove_all(dir, error);
  if (error) return Error(error.value(), "removing " + dir + ": " + error.message());
  return Ok();
}

VmSandbox::~VmSandbox() {
  if (!dir_.empty() || vmm_.running() || virtiofsd_.running()) (void)Stop(5s);
}

}  // namespace hull::sandbox
