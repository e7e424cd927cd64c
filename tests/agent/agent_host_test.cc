// hull-agent on a host (a Unix socket, a busybox rootfs), driven through its
// gRPC API: the container behaviour the shim relies on, checked end to end.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "agent_test_support.h"

namespace hull::agent::testing {
namespace {

using namespace std::chrono_literals;

class Agent : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string& why = AgentEnvironment::Get().unavailable();
    if (why.empty()) return;
    if (std::getenv("HULL_REQUIRE_CGROUP2") != nullptr)
      FAIL() << "hull-agent tests cannot run: " << why;
    GTEST_SKIP() << why;
  }
  v1::Agent::Stub& stub() { return AgentEnvironment::Get().stub(); }
};

// Stops the agent (and its VM) after the last test.
class StopAgent : public ::testing::Environment {
 public:
  void TearDown() override { AgentEnvironment::Get().Stop(); }
};
const auto* const kStopAgent = ::testing::AddGlobalTestEnvironment(new StopAgent);

Json Shell(const std::string& script) { return DefaultSpec({"sh", "-c", script}); }

// Whether `path` is a mount point in this process's mount namespace.
bool IsMountPoint(const std::string& path) {
  std::ifstream mountinfo("/proc/self/mountinfo");
  std::string line;
  while (std::getline(mountinfo, line)) {
    std::istringstream fields(line);
    std::string id, parent, device, root, mount_point;
    fields >> id >> parent >> device >> root >> mount_point;
    if (mount_point == path) return true;
  }
  return false;
}

TEST_F(Agent, RunsEchoAndReportsExitCodes) {
  RunResult ok = RunContainer("echo", Shell("echo hello; echo oops >&2"));
  EXPECT_EQ(ok.exit_status, 0) << ok.err;
  EXPECT_EQ(ok.out, "hello\n");
  EXPECT_EQ(ok.err, "oops\n");
  RunResult three = RunContainer("exit3", Shell("exit 3"));
  EXPECT_EQ(three.exit_status, 3) << three.err;
  // The container's init ignores signals from inside its PID namespace that
  // it has no handler for (SIGKILL included): kill it from outside.
  ASSERT_TRUE(CreateContainer("kill9", DefaultSpec({"sleep", "30"})).ok());
  ASSERT_TRUE(StartContainer("kill9").ok());
  grpc::ClientContext context;
  v1::SignalProcessRequest request;
  request.set_container_id("kill9");
  request.set_signal(SIGKILL);
  v1::Empty empty;
  ASSERT_TRUE(stub().SignalProcess(&context, request, &empty).ok());
  int status = -1;
  ASSERT_TRUE(WaitProcess("kill9", "", &status).ok());
  EXPECT_EQ(status, 128 + 9);
  EXPECT_TRUE(DeleteContainer("kill9").ok());
}

TEST_F(Agent, AppliesEnvCwdUserAndHostname) {
  Json spec = Shell("echo $FOO; pwd; id -u; id -g; id -G; hostname; echo $HOME");
  spec["process"]["env"].push_back("FOO=bar baz");
  spec["process"]["cwd"] = "/tmp";
  spec["process"]["user"] = {{"uid", 1000}, {"gid", 1000}, {"additionalGids", {1000, 2000}}};
  spec["hostname"] = "box-1";
  RunResult result = RunContainer("identity", spec);
  EXPECT_EQ(result.exit_status, 0) << result.err;
  EXPECT_EQ(result.out, "bar baz\n/tmp\n1000\n1000\n1000 2000\nbox-1\n/home/user\n");
}

TEST_F(Agent, ReadOnlyRootRejectsWrites) {
  Json spec = Shell("touch /newfile; echo $?; touch /tmp/x 2>/dev/null; echo done");
  spec["root"]["readonly"] = true;
  RunResult result = RunContainer("readonly", spec);
  EXPECT_EQ(result.exit_status, 0) << result.err;
  EXPECT_EQ(result.out, "1\ndone\n");
  EXPECT_NE(result.err.find("Read-only file system"), std::string::npos) << result.err;
}

TEST_F(Agent, BindMountIsVisibleAndReadOnlyWhenAsked) {
  const std::string dir = AgentEnvironment::Get().host_shared();
  std::ofstream(dir + "/hello.txt") << "from the host\n";
  Json spec = Shell("cat /data/hello.txt; touch /data/new 2>&1 | grep -c Read-only");
  spec["mounts"].push_back({{"destination", "/data"},
                            {"type", "bind"},
                            {"source", AgentEnvironment::Get().agent_shared()},
                            {"options", {"rbind", "ro"}}});
  RunResult result = RunContainer("bind", spec);
  EXPECT_EQ(result.exit_status, 0) << result.err;
  EXPECT_EQ(result.out, "from the host\n1\n");
}

TEST_F(Agent, TmpcopyupStartsATmpfsWithWhatItCovers) {
  // A writable /etc on a read-only root, seeded from the image's /etc.
  Json spec = Shell("cat /etc/secret; ls /etc/secret.d; echo new > /etc/added && cat /etc/added");
  spec["root"]["readonly"] = true;
  spec["mounts"].push_back({{"destination", "/etc"},
                            {"type", "tmpfs"},
                            {"source", "tmpfs"},
                            {"options", {"tmpcopyup", "mode=755"}}});
  RunResult result = RunContainer("tmpcopyup", spec);
  EXPECT_EQ(result.exit_status, 0) << result.err;
  EXPECT_EQ(result.out, "password\nkey\nnew\n");
  // The image itself is unchanged.
  RunResult after =
      RunContainer("tmpcopyup-after", Shell("ls /etc/added 2>/dev/null || echo absent"));
  EXPECT_EQ(after.out, "absent\n");
}

TEST_F(Agent, MasksAndProtectsPaths) {
  // The rootfs has /etc/secret and /etc/secret.d/key (agent_test_support.cc).
  Json spec = Shell(
      "wc -c < /etc/secret; ls /etc/secret.d | wc -l; echo 1 > /proc/sys/kernel/panic 2>&1 || echo "
      "ro");
  spec["linux"]["maskedPaths"].push_back("/etc/secret");
  spec["linux"]["maskedPaths"].push_back("/etc/secret.d");
  RunResult result = RunContainer("masked", spec);
  EXPECT_EQ(result.exit_status, 0) << result.err;
  EXPECT_EQ(result.out, "0\n0\nro\n");
}

TEST_F(Agent, ContainerGetsItsOwnPidNamespace) {
  RunResult result = RunContainer("pidns", Shell("echo $$; ps -o pid= | wc -l"));
  EXPECT_EQ(result.exit_status, 0) << result.err;
  EXPECT_EQ(result.out.substr(0, 2), "1\n") << result.out;
}

TEST_F(Agent, AppliesCapabilitiesNoNewPrivilegesAndRlimits) {
  Json spec = Shell("grep -E '^(CapEff|CapBnd|NoNewPrivs)' /proc/self/status; ulimit -n");
  RunResult result = RunContainer("caps", spec);
  EXPECT_EQ(result.exit_status, 0) << result.err;
  // The 13 default capabilities: bits 0,1,3-8,10,13,18,27,29 = 0x280425fb.
  EXPECT_NE(result.out.find("CapEff:\t00000000280425fb"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("CapBnd:\t00000000280425fb"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("NoNewPrivs:\t1"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("\n1024\n"), std::string::npos) << result.out;
}

TEST_F(Agent, SeccompProfileDeniesASyscall) {
  Json spec = Shell("mkdir /tmp/sc 2>&1; echo rc=$?");
  spec["linux"]["seccomp"] = {
      {"defaultAction", "SCMP_ACT_ALLOW"},
      {"architectures", {"SCMP_ARCH_X86_64"}},
      {"syscalls",
       {{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 1}}}}};
  RunResult result = RunContainer("seccomp", spec);
  EXPECT_EQ(result.exit_status, 0) << result.err;
  EXPECT_NE(result.out.find("Operation not permitted"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("rc=1"), std::string::npos) << result.out;
}

TEST_F(Agent, DeviceCgroupAllowsTheDefaultsAndDeniesTheRest) {
  // /dev/null works; a node for /dev/mem (c 1:1) can be made (mknod is
  // allowed) but not opened.
  RunResult result =
      RunContainer("devices", Shell("echo x > /dev/null && echo null-ok; mknod /tmp/mem c 1 1; "
                                    "head -c 1 /tmp/mem; rm -f /tmp/mem"));
  EXPECT_EQ(result.out, "null-ok\n");
  EXPECT_NE(result.err.find("Operation not permitted"), std::string::npos) << result.err;
}

TEST_F(Agent, UpdateChangesResourcesOfARunningContainer) {
  ASSERT_TRUE(CreateContainer("update", DefaultSpec({"sleep", "30"})).ok());
  ASSERT_TRUE(StartContainer("update").ok());
  grpc::ClientContext context;
  v1::UpdateContainerRequest update;
  update.set_container_id("update");
  update.set_resources_json(R"({"pids":{"limit":42},"memory":{"limit":67108864}})");
  v1::Empty empty;
  grpc::Status status = stub().UpdateContainer(&context, update, &empty);
  ASSERT_TRUE(status.ok()) << status.error_message();
  grpc::ClientContext stats_context;
  v1::ContainerRequest request;
  request.set_container_id("update");
  v1::StatsResponse stats;
  ASSERT_TRUE(stub().StatsContainer(&stats_context, request, &stats).ok());
  EXPECT_EQ(stats.pids().limit(), 42u);
  EXPECT_EQ(stats.memory().limit(), 67108864u);
  grpc::ClientContext bad_context;
  update.set_resources_json(R"({"pids":{"limit":"many"}})");
  EXPECT_EQ(stub().UpdateContainer(&bad_context, update, &empty).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(DeleteContainer("update", true).ok());
}

TEST_F(Agent, SignalReachesTheProcess) {
  ASSERT_TRUE(CreateContainer(
                  "signal", Shell("trap 'echo got-term; exit 7' TERM; while :; do sleep 0.1; done"))
                  .ok());
  OutputCollector out(stub(), "signal", "", v1::ReadOutputRequest::STDOUT);
  ASSERT_TRUE(StartContainer("signal").ok());
  std::this_thread::sleep_for(500ms);
  grpc::ClientContext context;
  v1::SignalProcessRequest request;
  request.set_container_id("signal");
  request.set_signal(SIGTERM);
  v1::Empty empty;
  ASSERT_TRUE(stub().SignalProcess(&context, request, &empty).ok());
  int status = -1;
  ASSERT_TRUE(WaitProcess("signal", "", &status).ok());
  EXPECT_EQ(status, 7);
  EXPECT_EQ(out.Finish(), "got-term\n");
  EXPECT_TRUE(DeleteContainer("signal").ok());
}

TEST_F(Agent, ExecJoinsTheContainersNamespaces) {
  Json spec = Shell("echo ready; sleep 30");
  spec["hostname"] = "exec-host";
  ASSERT_TRUE(CreateContainer("exec", spec).ok());
  ASSERT_TRUE(StartContainer("exec").ok());
  grpc::ClientContext context;
  v1::ExecProcessRequest request;
  request.set_container_id("exec");
  request.set_exec_id("e1");
  Json process = spec["process"];
  process["args"] = {"sh", "-c", "hostname; cat /proc/1/cmdline | tr '\\0' ' '; echo; exit 5"};
  request.set_process_json(process.dump());
  v1::ExecProcessResponse response;
  grpc::Status status = stub().ExecProcess(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  OutputCollector out(stub(), "exec", "e1", v1::ReadOutputRequest::STDOUT);
  int exit_status = -1;
  ASSERT_TRUE(WaitProcess("exec", "e1", &exit_status).ok());
  EXPECT_EQ(exit_status, 5);
  // PID 1 as the exec'd process sees it: the container's init (the shell
  // exec'd its last command).
  EXPECT_EQ(out.Finish(), "exec-host\nsleep 30 \n");
  EXPECT_EQ(DeleteContainer("exec").error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(DeleteContainer("exec", /*force=*/true).ok());
}

TEST_F(Agent, LargeOutputArrivesIntact) {
  // 10 MiB on stdout and 1 MiB on stderr at once: neither blocks the other,
  // and every byte arrives in order.
  RunResult result = RunContainer(
      "large", Shell("head -c 1048576 /dev/zero | tr '\\0' e >&2 & yes 0123456789abcdef | head -c "
                     "10485760; wait"));
  EXPECT_EQ(result.exit_status, 0);
  std::string expected;
  expected.reserve(10485760 + 17);
  while (expected.size() < 10485760) expected += "0123456789abcdef\n";
  expected.resize(10485760);
  EXPECT_EQ(result.out.size(), expected.size());
  EXPECT_TRUE(result.out == expected) << "stdout differs from what the container wrote";
  EXPECT_EQ(result.err, std::string(1048576, 'e'));
}

TEST_F(Agent, OutputNobodyReadsHoldsTheProcessBack) {
  // Back-pressure: the agent reads a process's output only for a reader, so
  // 8 MiB (far more than the 1 MiB pipe) keep the writer waiting until one
  // comes; then every byte arrives.
  ASSERT_TRUE(CreateContainer("backpressure", Shell("head -c 8388608 /dev/zero")).ok());
  ASSERT_TRUE(StartContainer("backpressure").ok());
  std::this_thread::sleep_for(1500ms);
  {
    grpc::ClientContext context;
    v1::ContainerRequest request;
    request.set_container_id("backpressure");
    v1::ContainerStateResponse state;
    ASSERT_TRUE(stub().ContainerState(&context, request, &state).ok());
    EXPECT_EQ(state.status(), v1::ContainerStateResponse::RUNNING);
  }
  OutputCollector out(stub(), "backpressure", "", v1::ReadOutputRequest::STDOUT);
  int status = -1;
  ASSERT_TRUE(WaitProcess("backpressure", "", &status).ok());
  EXPECT_EQ(status, 0);
  EXPECT_EQ(out.Finish(), std::string(8388608, '\0'));
  EXPECT_TRUE(DeleteContainer("backpressure").ok());
}

TEST_F(Agent, PodContainersShareTheNamespacesTheirSpecsName) {
  Json first = Shell("sleep 30");
  first["hostname"] = "pod-host";
  grpc::ClientContext context;
  v1::CreateContainerRequest request;
  request.set_container_id("pod-a");
  request.set_spec_json(first.dump());
  v1::CreateContainerResponse created;
  ASSERT_TRUE(stub().CreateContainer(&context, request, &created).ok());
  ASSERT_TRUE(StartContainer("pod-a").ok());
  const std::string ns = "/proc/" + std::to_string(created.pid()) + "/ns/";
  // The second container joins the first's UTS, IPC and network namespaces
  // and has its own PID, mount and cgroup namespaces.
  Json second = Shell("hostname; for n in uts ipc net; do readlink /proc/self/ns/$n; done");
  second.erase("hostname");
  second["linux"]["namespaces"] = {{{"type", "pid"}},
                                   {{"type", "mount"}},
                                   {{"type", "cgroup"}},
                                   {{"type", "uts"}, {"path", ns + "uts"}},
                                   {{"type", "ipc"}, {"path", ns + "ipc"}},
                                   {{"type", "network"}, {"path", ns + "net"}}};
  RunResult joined = RunContainer("pod-b", second);
  EXPECT_EQ(joined.exit_status, 0) << joined.err;
  // The first container's namespaces, seen from inside it.
  grpc::ClientContext exec_context;
  v1::ExecProcessRequest exec;
  exec.set_container_id("pod-a");
  exec.set_exec_id("ns");
  Json process = first["process"];
  process["args"] = {"sh", "-c",
                     "hostname; for n in uts ipc net; do readlink /proc/self/ns/$n; done"};
  exec.set_process_json(process.dump());
  v1::ExecProcessResponse exec_response;
  ASSERT_TRUE(stub().ExecProcess(&exec_context, exec, &exec_response).ok());
  OutputCollector out(stub(), "pod-a", "ns", v1::ReadOutputRequest::STDOUT);
  int status = -1;
  ASSERT_TRUE(WaitProcess("pod-a", "ns", &status).ok());
  std::string original = out.Finish();
  EXPECT_EQ(joined.out, original);
  EXPECT_EQ(original.substr(0, 9), "pod-host\n");
  EXPECT_TRUE(DeleteContainer("pod-a", true).ok());
}

TEST_F(Agent, SandboxNetworkHostnameAndDnsReachAContainerSharingThem) {
  if (!AgentEnvironment::Get().in_vm()) {
    GTEST_SKIP() << "the sandbox's network and hostname belong to the guest (agent.vm)";
  }
  // No UTS namespace of its own (the sandbox's hostname); the guest's network
  // namespace, where CreateSandbox configured eth0; the guest's resolv.conf.
  Json spec = Shell(
      "hostname; cat /sys/class/net/eth0/mtu; ip -4 addr show eth0 | grep -o 10.0.9.2/24; "
      "ip route | grep -o 'default via 10.0.9.1'; ping -c 1 -W 10 10.0.9.1 >/dev/null && echo "
      "ping-ok; "
      "cat /etc/resolv.conf");
  spec.erase("hostname");
  spec["linux"]["namespaces"] = {{{"type", "pid"}},
                                 {{"type", "mount"}},
                                 {{"type", "ipc"}},
                                 {{"type", "cgroup"}},
                                 {{"type", "network"}, {"path", "/proc/1/ns/net"}}};
  spec["mounts"].push_back({{"destination", "/etc/resolv.conf"},
                            {"type", "bind"},
                            {"source", "/etc/resolv.conf"},
                            {"options", {"rbind", "ro"}}});
  RunResult result = RunContainer("sandbox-net", spec);
  EXPECT_EQ(result.exit_status, 0) << result.err;
  EXPECT_EQ(result.out,
            "hull-sandbox\n1400\n10.0.9.2/24\ndefault via 10.0.9.1\nping-ok\n"
            "nameserver 10.0.9.1\nsearch example.test\n")
      << result.err;
}

TEST_F(Agent, DestroySandboxRefusesWhileContainersLive) {
  ASSERT_TRUE(CreateContainer("alive", DefaultSpec({"sleep", "30"})).ok());
  grpc::ClientContext context;
  v1::DestroySandboxRequest request;
  v1::Empty empty;
  EXPECT_EQ(stub().DestroySandbox(&context, request, &empty).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(DeleteContainer("alive", true).ok());
}

TEST_F(Agent, StdinIsDeliveredAndClosed) {
  ASSERT_TRUE(CreateContainer("stdin", Shell("wc -c; echo end"), false, /*open_stdin=*/true).ok());
  OutputCollector out(stub(), "stdin", "", v1::ReadOutputRequest::STDOUT);
  ASSERT_TRUE(StartContainer("stdin").ok());
  grpc::ClientContext context;
  v1::WriteStdinResponse response;
  auto writer = stub().WriteStdin(&context, &response);
  v1::StdinChunk chunk;
  chunk.set_container_id("stdin");
  chunk.set_data(std::string(100000, 'x'));
  ASSERT_TRUE(writer->Write(chunk));
  v1::StdinChunk last;
  last.set_data("yz");
  last.set_close_stdin(true);
  ASSERT_TRUE(writer->Write(last));
  writer->WritesDone();
  ASSERT_TRUE(writer->Finish().ok());
  EXPECT_EQ(response.bytes_written(), 100002u);
  int status = -1;
  ASSERT_TRUE(WaitProcess("stdin", "", &status).ok());
  EXPECT_EQ(out.Finish(), "100002\nend\n");
  EXPECT_TRUE(DeleteContainer("stdin").ok());
}

TEST_F(Agent, TtyWithResize) {
  Json spec = Shell("stty size; read line; stty size; tty");
  spec["process"]["terminal"] = true;
  spec["process"]["consoleSize"] = {{"height", 30}, {"width", 100}};
  ASSERT_TRUE(CreateContainer("tty", spec, /*terminal=*/true, /*open_stdin=*/true).ok());
  grpc::ClientContext output_context;
  v1::ReadOutputRequest output_request;
  output_request.set_container_id("tty");
  auto reader = stub().ReadOutput(&output_context, output_request);
  ASSERT_TRUE(StartContainer("tty").ok());
  // The size the spec asked for, before any resize.
  std::string text;
  v1::OutputChunk chunk;
  while (text.find("30 100\r\n") == std::string::npos && reader->Read(&chunk)) text += chunk.data();
  EXPECT_NE(text.find("30 100\r\n"), std::string::npos) << text;
  {
    grpc::ClientContext context;
    v1::ResizeTtyRequest request;
    request.set_container_id("tty");
    request.set_rows(40);
    request.set_columns(120);
    v1::Empty empty;
    ASSERT_TRUE(stub().ResizeTty(&context, request, &empty).ok());
  }
  {
    grpc::ClientContext context;
    v1::WriteStdinResponse response;
    auto writer = stub().WriteStdin(&context, &response);
    v1::StdinChunk input;
    input.set_container_id("tty");
    input.set_data("go\n");
    ASSERT_TRUE(writer->Write(input));
    writer->WritesDone();
    ASSERT_TRUE(writer->Finish().ok());
  }
  while (reader->Read(&chunk)) text += chunk.data();
  EXPECT_TRUE(reader->Finish().ok());
  int status = -1;
  ASSERT_TRUE(WaitProcess("tty", "", &status).ok());
  EXPECT_EQ(status, 0);
  EXPECT_NE(text.find("40 120\r\n"), std::string::npos) << text;
  EXPECT_NE(text.find("/dev/console"), std::string::npos) << text;
  EXPECT_TRUE(DeleteContainer("tty").ok());
}

TEST_F(Agent, PauseResumeStatsAndProcessList) {
  ASSERT_TRUE(CreateContainer("pause", Shell("while :; do :; done")).ok());
  ASSERT_TRUE(StartContainer("pause").ok());
  std::this_thread::sleep_for(300ms);
  v1::Empty empty;
  v1::ContainerRequest request;
  request.set_container_id("pause");
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub().PauseContainer(&context, request, &empty).ok());
  }
  {
    grpc::ClientContext context;
    v1::ContainerStateResponse state;
    ASSERT_TRUE(stub().ContainerState(&context, request, &state).ok());
    EXPECT_EQ(state.status(), v1::ContainerStateResponse::PAUSED);
  }
  v1::StatsResponse first;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub().StatsContainer(&context, request, &first).ok());
  }
  std::this_thread::sleep_for(300ms);
  v1::StatsResponse second;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub().StatsContainer(&context, request, &second).ok());
  }
  EXPECT_GT(first.cpu().usage_usec(), 0u);
  EXPECT_EQ(first.cpu().usage_usec(), second.cpu().usage_usec()) << "a frozen container used CPU";
  EXPECT_GT(second.memory().current(), 0u);
  EXPECT_EQ(second.pids().current(), 1u);
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub().ResumeContainer(&context, request, &empty).ok());
  }
  std::this_thread::sleep_for(300ms);
  {
    grpc::ClientContext context;
    v1::StatsResponse third;
    ASSERT_TRUE(stub().StatsContainer(&context, request, &third).ok());
    EXPECT_GT(third.cpu().usage_usec(), second.cpu().usage_usec());
  }
  {
    grpc::ClientContext context;
    v1::ListProcessesResponse list;
    ASSERT_TRUE(stub().ListProcesses(&context, request, &list).ok());
    EXPECT_EQ(list.processes_size(), 1);
  }
  EXPECT_TRUE(DeleteContainer("pause", true).ok());
}

TEST_F(Agent, PidsLimitStopsAForkBomb) {
  // Counts the forks that succeed; the shell gives up at the first refused.
  Json spec = Shell("i=0; while [ $i -lt 50 ]; do sleep 30 & i=$((i+1)); echo $i; done");
  spec["linux"]["resources"] = {{"pids", {{"limit", 10}}}};
  RunResult result = RunContainer("pids", spec);
  EXPECT_NE(result.exit_status, 0);
  EXPECT_NE(result.err.find("fork"), std::string::npos) << result.err;
  // The shell itself plus at most 9 sleeps.
  EXPECT_NE(result.out.find("\n9\n"), std::string::npos) << result.out;
  EXPECT_EQ(result.out.find("\n10\n"), std::string::npos) << result.out;
}

TEST_F(Agent, MemoryLimitTriggersAnOomEvent) {
  grpc::ClientContext events_context;
  v1::Empty empty;
  auto events = stub().OomEvents(&events_context, empty);
  events->WaitForInitialMetadata();
  // tail keeps the last line of a file without newlines: all of it.
  Json spec = DefaultSpec({"tail", "/dev/zero"});
  spec["linux"]["resources"] = {
      {"memory", {{"limit", 32 * 1024 * 1024}, {"swap", 32 * 1024 * 1024}}}};
  RunResult result = RunContainer("oom", spec);
  EXPECT_EQ(result.exit_status, 128 + 9) << result.err;
  v1::OomEvent event;
  ASSERT_TRUE(events->Read(&event));
  EXPECT_EQ(event.container_id(), "oom");
  events_context.TryCancel();
}

TEST_F(Agent, BadRequestsGetPreciseStatuses) {
  Json bad = Shell("true");
  bad["process"]["cwd"] = "relative";
  grpc::Status status = CreateContainer("bad", bad);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("process.cwd"), std::string::npos)
      << status.error_message();

  status = CreateContainer("../escape", Shell("true"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  status = StartContainer("nonexistent");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);

  status = CreateContainer("missing-binary", DefaultSpec({"/no/such/program"}));
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.error_message().find("/no/such/program"), std::string::npos)
      << status.error_message();

  ASSERT_TRUE(CreateContainer("twice", Shell("true")).ok());
  EXPECT_EQ(CreateContainer("twice", Shell("true")).error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_TRUE(DeleteContainer("twice").ok());
}

TEST_F(Agent, HealthAndGuestDetails) {
  grpc::ClientContext context;
  v1::Empty empty;
  v1::HealthResponse health;
  ASSERT_TRUE(stub().Health(&context, empty, &health).ok());
  EXPECT_EQ(health.status(), v1::HealthResponse::SERVING);
  grpc::ClientContext details_context;
  v1::GuestDetailsResponse details;
  ASSERT_TRUE(stub().GuestDetails(&details_context, empty, &details).ok());
  EXPECT_FALSE(details.kernel_release().empty());
  EXPECT_GT(details.cpus(), 0u);
  EXPECT_GT(details.agent_rss_bytes(), 0u);
  if (AgentEnvironment::Get().in_vm()) {
    EXPECT_EQ(details.cpus(), 2u);
    EXPECT_GT(details.ready_ms(), 0u);
    EXPECT_NE(std::find(details.cgroup_controllers().begin(), details.cgroup_controllers().end(),
                        "memory"),
              details.cgroup_controllers().end());
    // Figures for docs/performance.md.
    std::printf("hull-agent in the guest: ready %llu ms after kernel start, RSS %llu KiB\n",
                static_cast<unsigned long long>(details.ready_ms()),
                static_cast<unsigned long long>(details.agent_rss_bytes() / 1024));
  }
}

TEST_F(Agent, SysctlsUmaskAndOomScoreAdjReachTheProcess) {
  Json spec = Shell(
      "cat /proc/sys/kernel/shmmax /proc/sys/net/ipv4/tcp_keepalive_time; umask; "
      "cat /proc/self/oom_score_adj");
  spec["linux"]["sysctl"] = {{"kernel.shmmax", "123456789"},
                             {"net.ipv4.tcp_keepalive_time", "321"}};
  spec["process"]["user"]["umask"] = 027;
  spec["process"]["oomScoreAdj"] = 123;
  RunResult result = RunContainer("sysctl", spec);
  EXPECT_EQ(result.exit_status, 0) << result.err;
  EXPECT_EQ(result.out, "123456789\n321\n0027\n123\n");
  // They were the container's own IPC and network namespaces' values.
  RunResult other = RunContainer(
      "sysctl-other", Shell("cat /proc/sys/kernel/shmmax /proc/sys/net/ipv4/tcp_keepalive_time"));
  EXPECT_EQ(other.exit_status, 0) << other.err;
  EXPECT_EQ(other.out.find("123456789"), std::string::npos) << other.out;
  EXPECT_EQ(other.out.find("\n321\n"), std::string::npos) << other.out;
  // A sysctl of a namespace the container shares with the guest is refused.
  Json shared = Shell("true");
  shared.erase("hostname");
  shared["linux"]["namespaces"] = {{{"type", "pid"}}, {{"type", "mount"}}};
  shared["linux"]["sysctl"] = {{"kernel.shmmax", "1"}};
  grpc::Status status = CreateContainer("sysctl-shared", shared);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_NE(status.error_message().find("kernel.shmmax"), std::string::npos)
      << status.error_message();
}

TEST_F(Agent, CpuLimitsReachTheCgroupAndThrottleTheContainer) {
  // 20 ms of CPU each 100 ms, shares 512 (cpu.weight 20 by runc's
  // conversion), CPU 0 only; then two seconds of a busy loop.
  Json spec = Shell(
      "cat /sys/fs/cgroup/cpu.max /sys/fs/cgroup/cpu.weight /sys/fs/cgroup/cpuset.cpus; "
      "grep Cpus_allowed_list /proc/self/status; "
      "end=$(( $(cut -d. -f1 /proc/uptime) + 2 )); "
      "while [ $(cut -d. -f1 /proc/uptime) -lt $end ]; do :; done");
  spec["linux"]["resources"] = {
      {"cpu", {{"quota", 20000}, {"period", 100000}, {"shares", 512}, {"cpus", "0"}}}};
  ASSERT_TRUE(CreateContainer("cpu", spec).ok());
  OutputCollector out(stub(), "cpu", "", v1::ReadOutputRequest::STDOUT);
  ASSERT_TRUE(StartContainer("cpu").ok());
  int status = -1;
  ASSERT_TRUE(WaitProcess("cpu", "", &status).ok());
  EXPECT_EQ(status, 0);
  EXPECT_EQ(out.Finish(), "20000 100000\n20\n0\nCpus_allowed_list:\t0\n");
  grpc::ClientContext context;
  v1::ContainerRequest request;
  request.set_container_id("cpu");
  v1::StatsResponse stats;
  ASSERT_TRUE(stub().StatsContainer(&context, request, &stats).ok());
  EXPECT_GT(stats.cpu().nr_periods(), 0u);
  EXPECT_GT(stats.cpu().nr_throttled(), 0u) << "a busy loop under a 20% quota was never throttled";
  EXPECT_GT(stats.cpu().throttled_usec(), 0u);
  EXPECT_TRUE(DeleteContainer("cpu").ok());
}

TEST_F(Agent, IoLimitsThrottleReadsAndStatsCountThem) {
  const std::string& device = AgentEnvironment::Get().block_device();
  if (device.empty()) {
    if (std::getenv("HULL_REQUIRE_CGROUP2") != nullptr)
      FAIL() << AgentEnvironment::Get().block_device_missing();
    GTEST_SKIP() << AgentEnvironment::Get().block_device_missing();
  }
  RunResult probe = RunContainer("io-probe", Shell("cat /sys/class/block/" + device + "/dev"));
  ASSERT_EQ(probe.exit_status, 0) << probe.err;
  unsigned major = 0;
  unsigned minor = 0;
  ASSERT_EQ(std::sscanf(probe.out.c_str(), "%u:%u", &major, &minor), 2) << probe.out;
  // 3 MiB read through a 1 MiB/s limit: about 3 s, where the disk alone
  // gives it in a fraction of that.
  Json spec = Shell(
      "cat /sys/fs/cgroup/io.max; a=$(cut -d' ' -f1 /proc/uptime); "
      "dd if=/dev/disk0 of=/dev/null bs=64k count=48 2>/dev/null; "
      "b=$(cut -d' ' -f1 /proc/uptime); echo $a $b");
  spec["linux"]["devices"] = {{{"path", "/dev/disk0"},
                               {"type", "b"},
                               {"major", major},
                               {"minor", minor},
                               {"fileMode", 0660},
                               {"uid", 0},
                               {"gid", 0}}};
  const Json rate = {{{"major", major}, {"minor", minor}, {"rate", 1 << 20}}};
  spec["linux"]["resources"] = {
      {"devices",
       {{{"allow", true}, {"type", "b"}, {"major", major}, {"minor", minor}, {"access", "r"}}}},
      {"blockIO", {{"throttleReadBpsDevice", rate}}}};
  ASSERT_TRUE(CreateContainer("io", spec).ok());
  OutputCollector out(stub(), "io", "", v1::ReadOutputRequest::STDOUT);
  OutputCollector err(stub(), "io", "", v1::ReadOutputRequest::STDERR);
  ASSERT_TRUE(StartContainer("io").ok());
  int status = -1;
  ASSERT_TRUE(WaitProcess("io", "", &status).ok());
  EXPECT_EQ(status, 0) << err.Finish();
  const std::string text = out.Finish();
  const std::string limit = std::to_string(major) + ":" + std::to_string(minor) +
                            " rbps=1048576 wbps=max riops=max wiops=max\n";
  ASSERT_TRUE(text.starts_with(limit)) << text;
  double before = 0;
  double after = 0;
  ASSERT_EQ(std::sscanf(text.c_str() + limit.size(), "%lf %lf", &before, &after), 2) << text;
  EXPECT_GE(after - before, 2.0) << "3 MiB at 1 MiB/s took " << after - before << " s";
  grpc::ClientContext context;
  v1::ContainerRequest request;
  request.set_container_id("io");
  v1::StatsResponse stats;
  ASSERT_TRUE(stub().StatsContainer(&context, request, &stats).ok());
  bool found = false;
  for (const v1::IoDeviceStats& io : stats.io()) {
    if (io.major() != major || io.minor() != minor) continue;
    found = true;
    EXPECT_GE(io.rbytes(), 3u << 20);
    EXPECT_GT(io.rios(), 0u);
  }
  EXPECT_TRUE(found) << "no io stats for " << major << ":" << minor << ": "
                     << stats.ShortDebugString();
  EXPECT_TRUE(DeleteContainer("io").ok());
}

// Last (gtest runs tests in order of definition): whatever the tests above
// created must be gone.
TEST_F(Agent, ZzDeletedContainersLeaveNothingBehind) {
  if (AgentEnvironment::Get().in_vm()) GTEST_SKIP() << "looks at this host's cgroups and processes";
  std::this_thread::sleep_for(200ms);
  std::vector<std::string> left = Leftovers();
  EXPECT_TRUE(left.empty()) << ::testing::PrintToString(left);
}

// The sandbox's end, after everything else: DestroySandbox unmounts the
// storages CreateSandbox made; Shutdown ends the agent (and its VM) by itself.
TEST_F(Agent, ZzzDestroySandboxThenShutdown) {
  const bool in_vm = AgentEnvironment::Get().in_vm();
  const std::string storage = "/run/hull/storage/test-" + std::to_string(::getpid());
  if (!in_vm) {
    // On a host the suite made no sandbox: one with a tmpfs storage.
    grpc::ClientContext context;
    v1::CreateSandboxRequest request;
    request.set_sandbox_id("host-sandbox");
    v1::Storage* tmpfs = request.add_storages();
    tmpfs->set_source("tmpfs");
    tmpfs->set_fstype("tmpfs");
    tmpfs->set_mount_point(storage);
    tmpfs->add_options("size=1m");
    v1::Empty empty;
    grpc::Status status = stub().CreateSandbox(&context, request, &empty);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_TRUE(IsMountPoint(storage));
  }
  {
    grpc::ClientContext context;
    v1::DestroySandboxRequest request;
    v1::Empty empty;
    grpc::Status status = stub().DestroySandbox(&context, request, &empty);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  if (in_vm) {
    // The share (with the rootfs) is gone from the guest.
    grpc::Status status = CreateContainer("after-destroy", Shell("true"));
    EXPECT_FALSE(status.ok());
    EXPECT_NE(status.error_message().find(AgentEnvironment::Get().rootfs()), std::string::npos)
        << status.error_message();
  } else {
    EXPECT_FALSE(IsMountPoint(storage));
    EXPECT_NE(::access(storage.c_str(), F_OK), 0) << storage << " is left behind";
  }
  const std::string problem = AgentEnvironment::Get().Shutdown(std::chrono::seconds(60));
  EXPECT_TRUE(problem.empty()) << problem;
}

}  // namespace
}  // namespace hull::agent::testing
