// The hull CLI end to end, in the kvm-sandbox's L1 (real KVM, vhost-vsock,
// virtiofsd): `hull run` of a locally built busybox bundle in a fresh
// microVM, its stdio, exit status, signals and volumes; bad input gets an
// error that names the problem; a container given a pod network namespace
// (as CNI leaves one) uses its interface through the VM; and every run, good or bad, leaves nothing
// behind under its state root (no sandbox directory, mount or process).
//
// Environment: HULL_BIN (the hull binary), HULL_ROOTFS (the busybox
// bundle's rootfs), HULL_KERNEL (the guest kernel).

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using namespace std::chrono_literals;

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

struct Outcome {
  int status = -1;  // exit code, or 128 + signal
  std::string out;
  std::string err;
};

class HullCli : public ::testing::Test {
 protected:
  // One copy of the busybox rootfs for the suite: the runtime makes mount
  // points in a rootfs, and the build's copy must stay as built.
  static void SetUpTestSuite() {
    const std::string source = Env("HULL_ROOTFS");
    if (source.empty()) return;
    char pattern[] = "/tmp/hull-cli-rootfs.XXXXXX";
    if (::mkdtemp(pattern) == nullptr) return;
    suite_dir_ = pattern;
    if (std::system(("cp -a " + source + " " + suite_dir_ + "/rootfs").c_str()) != 0) {
      suite_dir_.clear();
    }
  }
  static void TearDownTestSuite() {
    if (!suite_dir_.empty()) (void)std::system(("rm -rf " + suite_dir_).c_str());
  }

  void SetUp() override {
    hull_ = Env("HULL_BIN");
    rootfs_ = suite_dir_.empty() ? "" : suite_dir_ + "/rootfs";
    if (hull_.empty() || rootfs_.empty() || Env("HULL_KERNEL").empty()) {
      GTEST_FAIL() << "HULL_BIN, HULL_ROOTFS (copied to /tmp) and HULL_KERNEL must be set "
                      "(tests/kvm/CMakeLists.txt)";
    }
    if (::access("/dev/kvm", R_OK | W_OK) != 0)
      GTEST_FAIL() << "no /dev/kvm: run through the kvm-sandbox";
    char pattern[] = "/tmp/hull-cli-test.XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    work_ = pattern;
    root_ = work_ + "/state";
  }

  void TearDown() override {
    ExpectNothingLeft();
    std::error_code ignored;
    if (!work_.empty() && !MountedUnder(work_)) fs::remove_all(work_, ignored);
  }

  // A bundle directory with busybox's rootfs and `args` as the process.
  std::string Bundle(const std::string& name, const std::vector<std::string>& args,
                     const std::function<void(Json&)>& edit = nullptr) {
    const std::string dir = work_ + "/" + name;
    fs::create_directories(dir);
    Json spec = {{"ociVersion", "1.0.2"},
                 {"process",
                  {{"terminal", false},
                   {"user", {{"uid", 0}, {"gid", 0}}},
                   {"args", args},
                   {"env", {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}},
                   {"cwd", "/"},
                   {"capabilities",
                    {{"bounding", {"CAP_KILL", "CAP_NET_BIND_SERVICE"}},
                     {"effective", {"CAP_KILL", "CAP_NET_BIND_SERVICE"}},
                     {"permitted", {"CAP_KILL", "CAP_NET_BIND_SERVICE"}}}},
                   {"noNewPrivileges", true}}},
                 {"root", {{"path", rootfs_}, {"readonly", true}}},
                 {"hostname", "cli-test"},
                 {"mounts",
                  {{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
                   {{"destination", "/dev"},
                    {"type", "tmpfs"},
                    {"source", "tmpfs"},
                    {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
                   {{"destination", "/tmp"}, {"type", "tmpfs"}, {"source", "tmpfs"}}}},
                 {"linux",
                  {{"namespaces",
                    {{{"type", "pid"}},
                     {{"type", "network"}},
                     {{"type", "ipc"}},
                     {{"type", "uts"}},
                     {{"type", "mount"}}}}}}};
    if (edit) edit(spec);
    std::ofstream(dir + "/config.json") << spec.dump(1);
    return dir;
  }

  // Starts `hull --root <root> ARGS...` with stdin from `input`; returns its pid.
  pid_t Spawn(const std::vector<std::string>& args, const std::string& input, int* out_fd,
              int* err_fd) {
    int in_pipe[2], out_pipe[2], err_pipe[2];
    EXPECT_EQ(::pipe2(in_pipe, O_CLOEXEC), 0);
    EXPECT_EQ(::pipe2(out_pipe, O_CLOEXEC), 0);
    EXPECT_EQ(::pipe2(err_pipe, O_CLOEXEC), 0);
    std::vector<std::string> argv = {hull_, "--root", root_};
    argv.insert(argv.end(), args.begin(), args.end());
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::dup2(in_pipe[0], 0);
      ::dup2(out_pipe[1], 1);
      ::dup2(err_pipe[1], 2);
      std::vector<char*> c_args;
      for (const std::string& arg : argv) c_args.push_back(const_cast<char*>(arg.c_str()));
      c_args.push_back(nullptr);
      ::execv(c_args[0], c_args.data());
      ::_exit(127);
    }
    ::close(in_pipe[0]);
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    if (!input.empty()) {
      EXPECT_EQ(::write(in_pipe[1], input.data(), input.size()),
                static_cast<ssize_t>(input.size()));
    }
    ::close(in_pipe[1]);
    *out_fd = out_pipe[0];
    *err_fd = err_pipe[0];
    return pid;
  }

  static std::string Drain(int fd) {
    std::string text;
    char buffer[4096];
    ssize_t n;
    while ((n = ::read(fd, buffer, sizeof(buffer))) > 0)
      text.append(buffer, static_cast<size_t>(n));
    ::close(fd);
    return text;
  }

  static int Reap(pid_t pid) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  Outcome Hull(const std::vector<std::string>& args, const std::string& input = "") {
    int out_fd = -1, err_fd = -1;
    const pid_t pid = Spawn(args, input, &out_fd, &err_fd);
    Outcome outcome;
    std::thread err_thread([&] { outcome.err = Drain(err_fd); });
    outcome.out = Drain(out_fd);
    err_thread.join();
    outcome.status = Reap(pid);
    return outcome;
  }

  bool MountedUnder(const std::string& dir) {
    std::istringstream mountinfo(ReadFile("/proc/self/mountinfo"));
    std::string line;
    while (std::getline(mountinfo, line)) {
      std::istringstream fields(line);
      std::string id, parent, device, root, point;
      fields >> id >> parent >> device >> root >> point;
      if (point == dir || point.starts_with(dir + "/")) return true;
    }
    return false;
  }

  // Processes whose command line names the state root (hull-vmm, virtiofsd).
  std::vector<std::string> ProcessesUsingRoot() {
    std::vector<std::string> found;
    for (const auto& entry : fs::directory_iterator("/proc")) {
      const std::string name = entry.path().filename();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      std::string cmdline = ReadFile(entry.path().string() + "/cmdline");
      for (char& c : cmdline) {
        if (c == '\0') c = ' ';
      }
      if (cmdline.find(root_ + "/") != std::string::npos) found.push_back(name + ": " + cmdline);
    }
    return found;
  }

  void ExpectNothingLeft() {
    EXPECT_FALSE(MountedUnder(root_)) << ReadFile("/proc/self/mountinfo");
    std::vector<std::string> processes = ProcessesUsingRoot();
    EXPECT_TRUE(processes.empty()) << ::testing::PrintToString(processes);
    std::vector<std::string> sandboxes;
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(root_ + "/sandboxes", error)) {
      sandboxes.push_back(entry.path());
    }
    EXPECT_TRUE(sandboxes.empty()) << ::testing::PrintToString(sandboxes);
  }

  static inline std::string suite_dir_;
  std::string hull_;
  std::string rootfs_;
  std::string work_;
  std::string root_;
};

TEST_F(HullCli, CheckFindsEverythingItNeeds) {
  Outcome check = Hull({"check"});
  EXPECT_EQ(check.status, 0) << check.out << check.err;
  EXPECT_NE(check.out.find("ok   /dev/kvm"), std::string::npos) << check.out;
  EXPECT_NE(check.out.find("ok   guest kernel"), std::string::npos) << check.out;
}

TEST_F(HullCli, RunGivesStdioAndTheExitStatus) {
  const std::string bundle =
      Bundle("echo", {"sh", "-c", "echo out $(hostname); cat; echo err >&2; exit 3"});
  Outcome run = Hull({"run", "--bundle", bundle, "echo1"}, "piped input\n");
  EXPECT_EQ(run.status, 3) << run.err;
  EXPECT_EQ(run.out, "out cli-test\npiped input\n");
  EXPECT_NE(run.err.find("err\n"), std::string::npos) << run.err;
}

TEST_F(HullCli, BindMountedVolumesReachTheContainerReadOnlyWhenAsked) {
  const std::string volume = work_ + "/volume";
  fs::create_directories(volume);
  std::ofstream(volume + "/hello.txt") << "from the host\n";
  std::ofstream(work_ + "/single-file") << "one file\n";
  const std::string bundle =
      Bundle("volume",
             {"sh", "-c",
              "cat /data/hello.txt /etc/single; touch /data/new 2>/dev/null || echo ro-ok; "
              "echo written > /rw/out"},
             [&](Json& spec) {
               spec["mounts"].push_back({{"destination", "/data"},
                                         {"type", "bind"},
                                         {"source", volume},
                                         {"options", {"rbind", "ro"}}});
               spec["mounts"].push_back({{"destination", "/etc/single"},
                                         {"type", "bind"},
                                         {"source", work_ + "/single-file"},
                                         {"options", {"bind", "ro"}}});
               fs::create_directories(work_ + "/rw");
               spec["mounts"].push_back({{"destination", "/rw"},
                                         {"type", "bind"},
                                         {"source", work_ + "/rw"},
                                         {"options", {"rbind", "rw"}}});
             });
  Outcome run = Hull({"run", "--bundle", bundle, "volume1"});
  EXPECT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(run.out, "from the host\none file\nro-ok\n") << run.err;
  EXPECT_EQ(ReadFile(work_ + "/rw/out"), "written\n");
  EXPECT_FALSE(fs::exists(volume + "/new"));
}

TEST_F(HullCli, SignalsToHullReachTheContainer) {
  const std::string bundle = Bundle(
      "signal",
      {"sh", "-c", "trap 'echo got-term; exit 7' TERM; echo ready; while :; do sleep 0.1; done"});
  int out_fd = -1, err_fd = -1;
  const pid_t pid = Spawn({"run", "--bundle", bundle, "signal1"}, "", &out_fd, &err_fd);
  std::string err;
  std::thread err_thread([&] { err = Drain(err_fd); });
  std::string out;
  char buffer[256];
  ssize_t n;
  while (out.find("ready\n") == std::string::npos &&
         (n = ::read(out_fd, buffer, sizeof(buffer))) > 0) {
    out.append(buffer, static_cast<size_t>(n));
  }
  ASSERT_NE(out.find("ready\n"), std::string::npos) << out;
  ::kill(pid, SIGTERM);
  out += Drain(out_fd);
  err_thread.join();
  EXPECT_EQ(Reap(pid), 7) << err;
  EXPECT_EQ(out, "ready\ngot-term\n");
}

TEST_F(HullCli, TwoSandboxesRunAtOnce) {
  const std::string bundle = Bundle("two", {"sh", "-c", "sleep 1; echo done"});
  Outcome first;
  std::thread other([&] { first = Hull({"run", "--bundle", bundle, "twin1"}); });
  Outcome second = Hull({"run", "--bundle", bundle, "twin2"});
  other.join();
  EXPECT_EQ(first.status, 0) << first.err;
  EXPECT_EQ(second.status, 0) << second.err;
  EXPECT_EQ(first.out, "done\n");
  EXPECT_EQ(second.out, "done\n");
}

TEST_F(HullCli, BadBundlesAreRefusedWithTheFieldNamed) {
  Outcome missing = Hull({"run", "--bundle", work_ + "/nothing-here", "bad1"});
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.err.find("config.json"), std::string::npos) << missing.err;

  const std::string relative_cwd =
      Bundle("badcwd", {"true"}, [](Json& spec) { spec["process"]["cwd"] = "relative"; });
  Outcome cwd = Hull({"run", "--bundle", relative_cwd, "bad2"});
  EXPECT_EQ(cwd.status, 1);
  EXPECT_NE(cwd.err.find("process.cwd"), std::string::npos) << cwd.err;

  Outcome bad_id = Hull({"run", "--bundle", relative_cwd, "../escape"});
  EXPECT_EQ(bad_id.status, 1);
  EXPECT_NE(bad_id.err.find("container id"), std::string::npos) << bad_id.err;

  const std::string no_program = Bundle("noprog", {"/no/such/program"});
  Outcome exec = Hull({"run", "--bundle", no_program, "bad3"});
  EXPECT_EQ(exec.status, 1);
  EXPECT_NE(exec.err.find("/no/such/program"), std::string::npos) << exec.err;
}

TEST_F(HullCli, AGuestThatNeverAnswersIsAClearErrorNotAHang) {
  // A kernel that is none: hull-vmm refuses it.
  std::ofstream(work_ + "/not-a-kernel") << "this is not a kernel\n";
  std::ofstream(work_ + "/bad-kernel.json") << Json{{"kernel", work_ + "/not-a-kernel"}}.dump();
  const std::string bundle = Bundle("guest", {"true"});
  Outcome kernel = Hull({"--config", work_ + "/bad-kernel.json", "run", "--bundle", bundle, "k1"});
  EXPECT_EQ(kernel.status, 1);
  EXPECT_NE(kernel.err.find("hull-vmm ended"), std::string::npos) << kernel.err;
  EXPECT_NE(kernel.err.find("not-a-kernel"), std::string::npos) << kernel.err;
  ExpectNothingLeft();

  // A real kernel with an initramfs that holds no agent: the guest panics
  // and resets, and the error shows the console.
  std::ofstream(work_ + "/empty.cpio") << std::string(512, '\0');
  std::ofstream(work_ + "/bad-initramfs.json")
      << Json{{"initramfs", work_ + "/empty.cpio"}, {"agent_timeout_s", 300}}.dump();
  Outcome initramfs =
      Hull({"--config", work_ + "/bad-initramfs.json", "run", "--bundle", bundle, "k2"});
  EXPECT_EQ(initramfs.status, 1);
  EXPECT_NE(initramfs.err.find("before hull-agent answered"), std::string::npos) << initramfs.err;
  EXPECT_NE(initramfs.err.find("console"), std::string::npos) << initramfs.err;
}

TEST_F(HullCli, BadConfigAndAnnotationsNameTheKey) {
  std::ofstream(work_ + "/typo.json") << R"({"vcpu": 2})";
  Outcome typo = Hull({"--config", work_ + "/typo.json", "check"});
  EXPECT_EQ(typo.status, 1);
  EXPECT_NE(typo.err.find("\"vcpu\" is no setting"), std::string::npos) << typo.err;
  const std::string bundle = Bundle("annotated", {"true"}, [](Json& spec) {
    spec["annotations"] = {{"io.hull.kernel", "/tmp/evil"}};
  });
  Outcome annotated = Hull({"run", "--bundle", bundle, "ann1"});
  EXPECT_EQ(annotated.status, 1);
  EXPECT_NE(annotated.err.find("io.hull.kernel"), std::string::npos) << annotated.err;
}

// Runs a shell command; whether it exited 0.
bool Shell(const std::string& command) { return std::system(command.c_str()) == 0; }

std::string ShellOutput(const std::string& command) {
  std::string text;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return text;
  char buffer[4096];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) text.append(buffer, n);
  ::pclose(pipe);
  return text;
}

TEST_F(HullCli, APodNetworkNamespaceReachesTheContainerThroughTheVm) {
  // What CNI's bridge/ptp plugins leave: a namespace with eth0 (a veth whose
  // peer is on the host, 10.88.0.1), an address and a default route.
  const std::string ns = "hull-cli-net-" + std::to_string(::getpid());
  const std::string in_ns = "ip -n " + ns + " ";
  ASSERT_TRUE(Shell("ip netns add " + ns));
  struct Cleanup {
    std::string ns;
    ~Cleanup() {
      (void)std::system(("ip netns delete " + ns + " 2>/dev/null").c_str());
      (void)std::system("ip link delete hullcli0 2>/dev/null");
    }
  } cleanup{ns};
  for (const std::string& command : std::vector<std::string>{
           "ip link add name hullcli0 type veth peer name eth0 netns " + ns,
           "ip addr add 10.88.0.1/24 dev hullcli0", "ip link set hullcli0 up",
           in_ns + "link set eth0 address 02:88:00:00:00:02",
           in_ns + "addr add 10.88.0.2/24 dev eth0", in_ns + "link set eth0 up",
           in_ns + "route add default via 10.88.0.1"}) {
    ASSERT_TRUE(Shell(command)) << command;
  }

  // The host end of a TCP stream from the container: every byte is checked
  // against the pattern the container sends.
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = 0;
  ASSERT_EQ(::inet_pton(AF_INET, "10.88.0.1", &address.sin_addr), 1);
  // SAFETY: sockaddr_in is the sockaddr of an AF_INET socket.
  ASSERT_EQ(::bind(listener, reinterpret_cast<const sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(::listen(listener, 1), 0);
  socklen_t length = sizeof(address);
  // SAFETY: as above.
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const unsigned port = ntohs(address.sin_port);
  constexpr size_t kStreamBytes = 8u << 20;
  const std::string line = "hull-network-test\n";
  size_t received = 0;
  size_t first_wrong = std::string::npos;
  std::thread server([&] {
    pollfd ready{listener, POLLIN, 0};
    if (::poll(&ready, 1, 600000) != 1) return;
    const int connection = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (connection < 0) return;
    char buffer[65536];
    ssize_t n = 0;
    while ((n = ::read(connection, buffer, sizeof(buffer))) > 0) {
      for (ssize_t i = 0; i < n; ++i, ++received) {
        if (first_wrong == std::string::npos && buffer[i] != line[received % line.size()]) {
          first_wrong = received;
        }
      }
    }
    ::close(connection);
  });

  const std::string bundle =
      Bundle("net",
             {"sh", "-c",
              "ip -o addr show dev eth0; ip -o link show dev eth0; ip route; "
              "ping -c 1 -W 20 10.88.0.1 >/dev/null && echo ping-ok; "
              "yes hull-network-test | head -c " +
                  std::to_string(kStreamBytes) + " | nc 10.88.0.1 " + std::to_string(port) +
                  " && echo sent"},
             [&](Json& spec) {
               spec["linux"]["namespaces"][1] = {{"type", "network"}, {"path", "/run/netns/" + ns}};
               for (const char* set : {"bounding", "effective", "permitted"}) {
                 spec["process"]["capabilities"][set].push_back("CAP_NET_RAW");
               }
             });
  Outcome run = Hull({"run", "--bundle", bundle, "net1"});
  ::shutdown(listener, SHUT_RDWR);
  server.join();
  ::close(listener);
  EXPECT_EQ(run.status, 0) << run.out << run.err;
  // The guest's eth0 is the namespace's: its MAC, address and route.
  EXPECT_NE(run.out.find("inet 10.88.0.2/24"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("02:88:00:00:00:02"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("default via 10.88.0.1 dev eth0"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("ping-ok"), std::string::npos) << run.out << run.err;
  EXPECT_NE(run.out.find("sent"), std::string::npos) << run.out << run.err;
  EXPECT_EQ(received, kStreamBytes);
  EXPECT_EQ(first_wrong, std::string::npos) << "the stream differs from byte " << first_wrong;

  // Nothing left in the namespace: no tap, no redirect on eth0.
  const std::string links = ShellOutput(in_ns + "link show");
  EXPECT_EQ(links.find("hull_tap"), std::string::npos) << links;
  const std::string qdiscs = ShellOutput("ip netns exec " + ns + " tc qdisc show dev eth0");
  EXPECT_EQ(qdiscs.find("ingress"), std::string::npos) << qdiscs;
}

TEST_F(HullCli, TheHostsOwnNetworkNamespaceIsRefused) {
  const std::string bundle = Bundle("hostnet", {"true"}, [](Json& spec) {
    spec["linux"]["namespaces"][1] = {{"type", "network"}, {"path", "/proc/1/ns/net"}};
  });
  Outcome run = Hull({"run", "--bundle", bundle, "hostnet1"});
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.err.find("host's own network namespace"), std::string::npos) << run.err;
}

}  // namespace
