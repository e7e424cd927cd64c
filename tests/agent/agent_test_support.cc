#include "agent_test_support.h"

#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "vm_agent.h"

namespace hull::agent::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

bool IsCgroup2(const char* path) {
  std::ifstream mounts("/proc/self/mounts");
  std::string device, mount_point, type;
  std::string rest;
  while (mounts >> device >> mount_point >> type) {
    std::getline(mounts, rest);
    if (mount_point == path) return type == "cgroup2";
  }
  return false;
}

std::string Which(const char* name) {
  for (const char* dir : {"/bin", "/usr/bin", "/sbin", "/usr/sbin"}) {
    std::string path = std::string(dir) + "/" + name;
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  return "";
}

// busybox (static) and a symlink per applet: enough of a distribution.
std::string MakeRootfs(const std::string& dir) {
  std::string busybox = Which("busybox");
  if (busybox.empty()) return "busybox (Debian's busybox-static) is not installed";
  for (const char* sub : {"bin", "proc", "sys", "dev", "etc", "tmp", "root", "home/user", "mnt"}) {
    fs::create_directories(dir + "/" + sub);
  }
  fs::copy_file(busybox, dir + "/bin/busybox", fs::copy_options::overwrite_existing);
  FILE* list = ::popen((busybox + " --list").c_str(), "r");
  char line[256];
  while (list && std::fgets(line, sizeof(line), list)) {
    std::string applet(line);
    while (!applet.empty() && (applet.back() == '\n' || applet.back() == '\r')) applet.pop_back();
    if (applet.empty() || applet == "busybox") continue;
    std::error_code ignored;
    fs::create_symlink("busybox", dir + "/bin/" + applet, ignored);
  }
  if (list) ::pclose(list);
  std::ofstream(dir + "/etc/passwd")
      << "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n";
  std::ofstream(dir + "/etc/group") << "root:x:0:\nuser:x:1000:\n";
  ::chmod((dir + "/tmp").c_str(), 01777);
  // For maskedPaths: a file and a directory with something in them.
  std::ofstream(dir + "/etc/secret") << "password\n";
  fs::create_directories(dir + "/etc/secret.d");
  std::ofstream(dir + "/etc/secret.d/key") << "key\n";
  return "";
}

std::string AgentBinary() {
  const char* path = std::getenv("HULL_AGENT");
  return path ? path : "";
}

// An image of `size` bytes of a fixed pseudo-random pattern (so reads of it
// cannot be served by zero-page shortcuts). Empty on success, else why not.
std::string MakeDiskImage(const std::string& path, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  uint64_t state = 0x9e3779b97f4a7c15ull;
  std::string block(4096, '\0');
  for (size_t done = 0; done < size; done += block.size()) {
    for (char& c : block) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      c = static_cast<char>(state >> 56);
    }
    out.write(block.data(), static_cast<std::streamsize>(block.size()));
  }
  return out.flush() ? "" : "could not write the disk image " + path;
}

}  // namespace

Json DefaultSpec(std::vector<std::string> args) {
  Json caps =
      Json::array({"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHOWN",
                   "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_SETGID", "CAP_SETUID",
                   "CAP_SETPCAP", "CAP_SYS_CHROOT", "CAP_NET_RAW", "CAP_MKNOD"});
  return Json{
      {"ociVersion", "1.0.2"},
      {"process",
       {{"terminal", false},
        {"user", {{"uid", 0}, {"gid", 0}}},
        {"args", args},
        {"env",
         {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"}},
        {"cwd", "/"},
        {"capabilities",
         {{"bounding", caps},
          {"effective", caps},
          {"permitted", caps},
          {"ambient", Json::array()}}},
        {"rlimits", {{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}}},
        {"noNewPrivileges", true}}},
      {"root", {{"path", AgentEnvironment::Get().rootfs()}, {"readonly", false}}},
      {"hostname", "hull-test"},
      {"mounts",
       {{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
        {{"destination", "/dev"},
         {"type", "tmpfs"},
         {"source", "tmpfs"},
         {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
        {{"destination", "/dev/pts"},
         {"type", "devpts"},
         {"source", "devpts"},
         {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}}},
        {{"destination", "/dev/shm"},
         {"type", "tmpfs"},
         {"source", "shm"},
         {"options", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}}},
        {{"destination", "/dev/mqueue"},
         {"type", "mqueue"},
         {"source", "mqueue"},
         {"options", {"nosuid", "noexec", "nodev"}}},
        {{"destination", "/sys"},
         {"type", "sysfs"},
         {"source", "sysfs"},
         {"options", {"nosuid", "noexec", "nodev", "ro"}}},
        {{"destination", "/sys/fs/cgroup"},
         {"type", "cgroup"},
         {"source", "cgroup"},
         {"options", {"nosuid", "noexec", "nodev", "relatime", "ro"}}}}},
      {"linux",
       {{"namespaces",
         {{{"type", "pid"}},
          {{"type", "network"}},
          {{"type", "ipc"}},
          {{"type", "uts"}},
          {{"type", "mount"}},
          {{"type", "cgroup"}}}},
        {"maskedPaths",
         {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
          "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
          "/proc/scsi"}},
        {"readonlyPaths",
         {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}}}}};
}

AgentEnvironment& AgentEnvironment::Get() {
  static AgentEnvironment* environment = new AgentEnvironment();
  return *environment;
}

AgentEnvironment::AgentEnvironment() {
  if (::geteuid() != 0) {
    unavailable_ = "needs root (containers need namespaces, mounts and cgroups)";
    return;
  }
  char pattern[] = "/tmp/hull-agent-test.XXXXXX";
  if (!::mkdtemp(pattern)) {
    unavailable_ = "mkdtemp failed";
    return;
  }
  work_dir_ = pattern;
  host_shared_ = work_dir_ + "/shared";
  fs::create_directories(host_shared_);
  if (const char* vmm = std::getenv("HULL_AGENT_VM_VMM")) {
    StartVm(vmm);
  } else {
    StartLocal(AgentBinary());
  }
}

void AgentEnvironment::StartLocal(const std::string& agent) {
  if (!IsCgroup2("/sys/fs/cgroup")) {
    unavailable_ = "/sys/fs/cgroup is not cgroup v2 (run through the kvm-sandbox: ctest -L kvm)";
    return;
  }
  if (agent.empty()) {
    unavailable_ = "HULL_AGENT does not name the hull-agent binary";
    return;
  }
  rootfs_ = work_dir_ + "/rootfs";
  agent_shared_ = host_shared_;
  if (std::string error = MakeRootfs(rootfs_); !error.empty()) {
    unavailable_ = error;
    return;
  }
  const std::string image = work_dir_ + "/disk.img";
  if (std::string error = MakeDiskImage(image, 8 << 20); !error.empty()) {
    block_device_missing_ = error;
  } else if (std::FILE* losetup =
                 ::popen(("losetup --find --show " + image + " 2>&1").c_str(), "r")) {
    char line[256] = {};
    const bool read = std::fgets(line, sizeof(line), losetup) != nullptr;
    const int status = ::pclose(losetup);
    std::string answer = read ? line : "";
    while (!answer.empty() && answer.back() == '\n') answer.pop_back();
    if (status == 0 && answer.starts_with("/dev/loop")) {
      loop_device_ = answer;
      block_device_ = answer.substr(5);
    } else {
      block_device_missing_ = "losetup --find --show failed: " + answer;
    }
  }
  socket_ = work_dir_ + "/agent.sock";
  cgroup_parent_ = "hull-test-" + std::to_string(::getpid());
  std::string log = work_dir_ + "/agent.log";
  agent_pid_ = ::fork();
  if (agent_pid_ == 0) {
    std::FILE* out = std::freopen(log.c_str(), "w", stderr);
    (void)out;
    const char* level = std::getenv("HULL_AGENT_LOG_LEVEL");
    ::execl(agent.c_str(), agent.c_str(), "--listen", ("unix:" + socket_).c_str(),
            "--cgroup-parent", cgroup_parent_.c_str(), "--log-level", level ? level : "debug",
            nullptr);
    ::_exit(127);
  }
  for (int i = 0; i < 200 && ::access(socket_.c_str(), F_OK) != 0; ++i) {
    std::this_thread::sleep_for(50ms);
  }
  if (::access(socket_.c_str(), F_OK) != 0) {
    unavailable_ = "hull-agent did not create its socket; its log: " + ReadFile(log);
    return;
  }
  channel_ = grpc::CreateChannel("unix:" + socket_, grpc::InsecureChannelCredentials());
  stub_ = v1::Agent::NewStub(channel_);
}

void AgentEnvironment::StartVm(const std::string& vmm) {
  const char* kernel = std::getenv("HULL_AGENT_VM_KERNEL");
  const char* initramfs = std::getenv("HULL_AGENT_VM_INITRAMFS");
  if (!kernel || !initramfs) {
    unavailable_ =
        "HULL_AGENT_VM_KERNEL and HULL_AGENT_VM_INITRAMFS must name the guest kernel and initramfs";
    return;
  }
  // The share holds the rootfs and the directory tests bind.
  const std::string share = work_dir_ + "/share";
  host_shared_ = share + "/shared";
  fs::create_directories(host_shared_);
  if (std::string error = MakeRootfs(share + "/rootfs"); !error.empty()) {
    unavailable_ = error;
    return;
  }
  rootfs_ = std::string(kGuestShare) + "/rootfs";
  agent_shared_ = std::string(kGuestShare) + "/shared";
  cgroup_parent_ = "hull";
  VmAgentOptions options;
  options.vmm = vmm;
  options.kernel = kernel;
  options.initramfs = initramfs;
  options.share = share;
  options.work_dir = work_dir_;
  options.cid = 100 + static_cast<unsigned>(::getpid()) % 100000;
  options.tap = "hagt" + std::to_string(::getpid() % 100000);
  options.disk = work_dir_ + "/disk.img";
  if (std::string error = MakeDiskImage(options.disk, 8 << 20); !error.empty()) {
    unavailable_ = error;
    return;
  }
  block_device_ = "vda";
  vm_ = std::make_unique<VmAgent>();
  if (std::string error = vm_->Start(options); !error.empty()) {
    unavailable_ = error;
    return;
  }
  stub_ = nullptr;
}

std::string AgentEnvironment::Shutdown(std::chrono::seconds limit) {
  if (vm_) return vm_->Shutdown(limit);
  if (agent_pid_ <= 0) return "the agent is not running";
  std::string problem = ShutdownAndReap(stub_.get(), agent_pid_, "hull-agent", limit);
  agent_pid_ = -1;
  return problem;
}

void AgentEnvironment::Stop() {
  if (vm_) vm_->Stop();
  if (agent_pid_ > 0) {
    ::kill(agent_pid_, SIGTERM);
    int status = 0;
    ::waitpid(agent_pid_, &status, 0);
    agent_pid_ = -1;
  }
  if (!loop_device_.empty()) {
    (void)std::system(("losetup -d " + loop_device_).c_str());
    loop_device_.clear();
  }
}

OutputCollector::OutputCollector(v1::Agent::Stub& stub, const std::string& id,
                                 const std::string& exec_id, v1::ReadOutputRequest::Stream stream) {
  v1::ReadOutputRequest request;
  request.set_container_id(id);
  request.set_exec_id(exec_id);
  request.set_stream(stream);
  auto reader = stub.ReadOutput(&context_, request);
  thread_ = std::thread([this, reader = std::move(reader)]() mutable {
    v1::OutputChunk chunk;
    while (reader->Read(&chunk)) data_ += chunk.data();
    status_ = reader->Finish();
  });
}

OutputCollector::~OutputCollector() {
  if (thread_.joinable()) {
    context_.TryCancel();
    thread_.join();
  }
}

std::string OutputCollector::Finish() {
  if (thread_.joinable()) thread_.join();
  return data_;
}

grpc::Status CreateContainer(const std::string& id, const Json& spec, bool terminal,
                             bool open_stdin, const std::string& rootfs) {
  grpc::ClientContext context;
  v1::CreateContainerRequest request;
  request.set_container_id(id);
  request.set_spec_json(spec.dump());
  request.set_rootfs(rootfs);
  request.mutable_stdio()->set_terminal(terminal);
  request.mutable_stdio()->set_stdin(open_stdin);
  v1::CreateContainerResponse response;
  return AgentEnvironment::Get().stub().CreateContainer(&context, request, &response);
}

grpc::Status StartContainer(const std::string& id) {
  grpc::ClientContext context;
  v1::ContainerRequest request;
  request.set_container_id(id);
  v1::Empty response;
  return AgentEnvironment::Get().stub().StartContainer(&context, request, &response);
}

grpc::Status DeleteContainer(const std::string& id, bool force) {
  grpc::ClientContext context;
  v1::DeleteContainerRequest request;
  request.set_container_id(id);
  request.set_force(force);
  v1::Empty response;
  return AgentEnvironment::Get().stub().DeleteContainer(&context, request, &response);
}

grpc::Status WaitProcess(const std::string& id, const std::string& exec_id, int* exit_status) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 120s);
  v1::ProcessRequest request;
  request.set_container_id(id);
  request.set_exec_id(exec_id);
  v1::WaitProcessResponse response;
  grpc::Status status = AgentEnvironment::Get().stub().WaitProcess(&context, request, &response);
  *exit_status = response.exit_status();
  return status;
}

RunResult RunContainer(const std::string& id, const Json& spec) {
  RunResult result;
  grpc::Status created = CreateContainer(id, spec);
  if (!created.ok()) {
    result.err = "create failed: " + created.error_message();
    return result;
  }
  auto& stub = AgentEnvironment::Get().stub();
  OutputCollector out(stub, id, "", v1::ReadOutputRequest::STDOUT);
  OutputCollector err(stub, id, "", v1::ReadOutputRequest::STDERR);
  grpc::Status started = StartContainer(id);
  if (!started.ok()) {
    result.err = "start failed: " + started.error_message();
    (void)DeleteContainer(id, true);
    return result;
  }
  grpc::Status waited = WaitProcess(id, "", &result.exit_status);
  result.out = out.Finish();
  result.err = err.Finish();
  if (!waited.ok()) result.err += "wait failed: " + waited.error_message();
  grpc::Status deleted = DeleteContainer(id);
  if (!deleted.ok()) result.err += "delete failed: " + deleted.error_message();
  return result;
}

std::vector<std::string> Leftovers() {
  std::vector<std::string> found;
  const auto& env = AgentEnvironment::Get();
  if (env.in_vm()) return found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/sys/fs/cgroup/" + env.cgroup_parent(), ec)) {
    if (entry.is_directory()) found.push_back("cgroup " + entry.path().string());
  }
  std::ifstream mounts("/proc/self/mountinfo");
  std::string line;
  while (std::getline(mounts, line)) {
    if (line.find(env.rootfs()) != std::string::npos) found.push_back("mount " + line);
  }
  // Children of the agent (it reaps everything it spawns).
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string stat = ReadFile(entry.path().string() + "/stat");
    size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 2));
    std::string state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == env.agent_pid())
      found.push_back("process " + name + " " + stat.substr(0, close + 1));
  }
  return found;
}

}  // namespace hull::agent::testing
