#include "hull/oci/spec_parse.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <limits>
#include <string>

#include "test_specs.h"

namespace hull::oci {
namespace {

using testing::kFullConfig;

std::string SpecErrorOf(std::string_view json) {
  Result<Spec> spec = ParseSpec(json);
  EXPECT_FALSE(spec.ok()) << json;
  return spec.ok() ? "" : spec.error().message();
}

TEST(ParseSpec, ReadsAFullRuncStyleConfig) {
  Result<Spec> spec = ParseSpec(kFullConfig);
  ASSERT_TRUE(spec.ok()) << spec.error().ToString();
  EXPECT_EQ(spec->oci_version, "1.0.2-dev");
  EXPECT_EQ(spec->root.path, "rootfs");
  EXPECT_TRUE(spec->root.readonly);
  EXPECT_EQ(spec->hostname, "runc");
  EXPECT_EQ(spec->domainname, "example.org");
  EXPECT_EQ(spec->annotations.size(), 2u);
  EXPECT_EQ(spec->annotations.at("com.example.key1"), "value1");
}

TEST(ParseSpec, ReadsTheProcess) {
  Result<Spec> spec = ParseSpec(kFullConfig);
  ASSERT_TRUE(spec.ok()) << spec.error().ToString();
  ASSERT_TRUE(spec->process.has_value());
  const Process& process = *spec->process;
  EXPECT_TRUE(process.terminal);
  ASSERT_TRUE(process.console_size.has_value());
  EXPECT_EQ(process.console_size->height, 25u);
  EXPECT_EQ(process.console_size->width, 80u);
  EXPECT_EQ(process.user.uid, 1000u);
  EXPECT_EQ(process.user.gid, 1000u);
  EXPECT_EQ(process.user.umask, 18u);
  EXPECT_EQ(process.user.additional_gids, (std::vector<uint32_t>{5, 10}));
  EXPECT_EQ(process.args, (std::vector<std::string>{"sh", "-c", "echo hello"}));
  ASSERT_EQ(process.env.size(), 2u);
  EXPECT_EQ(process.env[1], "TERM=xterm");
  EXPECT_EQ(process.cwd, "/");
  ASSERT_TRUE(process.capabilities.has_value());
  EXPECT_EQ(process.capabilities->bounding.size(), 3u);
  EXPECT_EQ(process.capabilities->bounding[1], "CAP_KILL");
  EXPECT_TRUE(process.capabilities->inheritable.empty());
  EXPECT_EQ(process.capabilities->ambient, (std::vector<std::string>{"CAP_NET_BIND_SERVICE"}));
  ASSERT_EQ(process.rlimits.size(), 2u);
  EXPECT_EQ(process.rlimits[0].type, "RLIMIT_NOFILE");
  EXPECT_EQ(process.rlimits[0].hard, 1024u);
  EXPECT_EQ(process.rlimits[1].hard, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(process.rlimits[1].soft, 0u);
  EXPECT_TRUE(process.no_new_privileges);
  EXPECT_EQ(process.oom_score_adj, -500);
  EXPECT_EQ(process.apparmor_profile, "docker-default");
  EXPECT_EQ(process.selinux_label, "system_u:system_r:container_t:s0");
}

TEST(ParseSpec, ReadsMountsAndHooks) {
  Result<Spec> spec = ParseSpec(kFullConfig);
  ASSERT_TRUE(spec.ok()) << spec.error().ToString();
  ASSERT_EQ(spec->mounts.size(), 8u);
  EXPECT_EQ(spec->mounts[0].destination, "/proc");
  EXPECT_EQ(spec->mounts[0].type, "proc");
  EXPECT_EQ(spec->mounts[0].source, "proc");
  EXPECT_TRUE(spec->mounts[0].options.empty());
  EXPECT_EQ(spec->mounts[2].options,
            (std::vector<std::string>{"nosuid", "noexec", "newinstance", "ptmxmode=0666",
                                      "mode=0620", "gid=5"}));
  EXPECT_EQ(spec->mounts[7].source, "/mnt/data");
  ASSERT_TRUE(spec->hooks.has_value());
  ASSERT_EQ(spec->hooks->prestart.size(), 1u);
  EXPECT_EQ(spec->hooks->prestart[0].path, "/usr/bin/fix-mounts");
  EXPECT_EQ(spec->hooks->prestart[0].args, (std::vector<std::string>{"fix-mounts", "arg1"}));
  EXPECT_EQ(spec->hooks->prestart[0].env, (std::vector<std::string>{"key1=value1"}));
  EXPECT_EQ(spec->hooks->prestart[0].timeout, 5);
  ASSERT_EQ(spec->hooks->poststop.size(), 1u);
  EXPECT_FALSE(spec->hooks->poststop[0].timeout.has_value());
  EXPECT_TRUE(spec->hooks->create_runtime.empty());
}

TEST(ParseSpec, ReadsTheLinuxSection) {
  Result<Spec> spec = ParseSpec(kFullConfig);
  ASSERT_TRUE(spec.ok()) << spec.error().ToString();
  ASSERT_TRUE(spec->linux.has_value());
  const Linux& linux_part = *spec->linux;
  ASSERT_EQ(linux_part.namespaces.size(), 6u);
  EXPECT_EQ(linux_part.namespaces[0].type, NamespaceType::kPid);
  EXPECT_EQ(linux_part.namespaces[1].type, NamespaceType::kNetwork);
  EXPECT_EQ(linux_part.namespaces[1].path, "/var/run/netns/pod");
  EXPECT_EQ(linux_part.namespaces[4].type, NamespaceType::kMount);
  EXPECT_EQ(linux_part.namespaces[5].type, NamespaceType::kCgroup);
  EXPECT_TRUE(linux_part.uid_mappings.empty());
  EXPECT_EQ(linux_part.sysctl.at("net.ipv4.ip_forward"), "1");
  EXPECT_EQ(linux_part.cgroups_path, "/hull/pod1/ctr1");
  ASSERT_EQ(linux_part.devices.size(), 3u);
  EXPECT_EQ(linux_part.devices[0].path, "/dev/fuse");
  EXPECT_EQ(linux_part.devices[0].type, 'c');
  EXPECT_EQ(linux_part.devices[0].major, 10);
  EXPECT_EQ(linux_part.devices[0].minor, 229);
  EXPECT_EQ(linux_part.devices[0].file_mode, 0666u);
  EXPECT_EQ(linux_part.devices[0].uid, 0u);
  EXPECT_EQ(linux_part.devices[1].type, 'b');
  EXPECT_FALSE(linux_part.devices[1].file_mode.has_value());
  EXPECT_EQ(linux_part.devices[2].type, 'p');
  EXPECT_EQ(linux_part.rootfs_propagation, "rslave");
  EXPECT_EQ(linux_part.masked_paths.size(), 3u);
  EXPECT_EQ(linux_part.readonly_paths[2], "/proc/sys");
  EXPECT_EQ(linux_part.mount_label, "system_u:object_r:container_file_t:s0");
}

TEST(ParseSpec, ReadsSeccomp) {
  Result<Spec> spec = ParseSpec(kFullConfig);
  ASSERT_TRUE(spec.ok()) << spec.error().ToString();
  ASSERT_TRUE(spec->linux->seccomp.has_value());
  const Seccomp& seccomp = *spec->linux->seccomp;
  EXPECT_EQ(seccomp.default_action, SeccompAction::kErrno);
  EXPECT_EQ(seccomp.default_errno_ret, 1u);
  EXPECT_EQ(seccomp.architectures.size(), 3u);
  EXPECT_EQ(seccomp.flags, (std::vector<std::string>{"SECCOMP_FILTER_FLAG_LOG"}));
  EXPECT_TRUE(seccomp.listener_path.empty());
  ASSERT_EQ(seccomp.syscalls.size(), 4u);
  EXPECT_EQ(seccomp.syscalls[0].names, (std::vector<std::string>{"read", "write", "exit_group"}));
  EXPECT_EQ(seccomp.syscalls[0].action, SeccompAction::kAllow);
  EXPECT_TRUE(seccomp.syscalls[0].args.empty());
  ASSERT_EQ(seccomp.syscalls[2].args.size(), 1u);
  EXPECT_EQ(seccomp.syscalls[2].args[0].index, 0u);
  EXPECT_EQ(seccomp.syscalls[2].args[0].value, 2114060288u);
  EXPECT_EQ(seccomp.syscalls[2].args[0].value_two, 0u);
  EXPECT_EQ(seccomp.syscalls[2].args[0].op, SeccompOperator::kMaskedEqual);
  EXPECT_EQ(seccomp.syscalls[3].action, SeccompAction::kErrno);
  EXPECT_EQ(seccomp.syscalls[3].errno_ret, 38u);
}

TEST(ParseSpec, ReadsResources) {
  Result<Spec> spec = ParseSpec(kFullConfig);
  ASSERT_TRUE(spec.ok()) << spec.error().ToString();
  ASSERT_TRUE(spec->linux->resources.has_value());
  const Resources& resources = *spec->linux->resources;
  ASSERT_EQ(resources.devices.size(), 2u);
  EXPECT_FALSE(resources.devices[0].allow);
  EXPECT_TRUE(resources.devices[0].type.empty());
  EXPECT_FALSE(resources.devices[0].major.has_value());
  EXPECT_EQ(resources.devices[1].type, "c");
  EXPECT_EQ(resources.devices[1].major, 10);
  EXPECT_EQ(resources.devices[1].access, "rw");
  ASSERT_TRUE(resources.memory.has_value());
  EXPECT_EQ(resources.memory->limit, 536870912);
  EXPECT_EQ(resources.memory->reservation, 268435456);
  EXPECT_EQ(resources.memory->swap, 1073741824);
  EXPECT_EQ(resources.memory->swappiness, 0u);
  EXPECT_EQ(resources.memory->disable_oom_killer, false);
  EXPECT_FALSE(resources.memory->kernel.has_value());
  ASSERT_TRUE(resources.cpu.has_value());
  EXPECT_EQ(resources.cpu->shares, 1024u);
  EXPECT_EQ(resources.cpu->quota, 100000);
  EXPECT_EQ(resources.cpu->period, 100000u);
  EXPECT_EQ(resources.cpu->cpus, "0-3,5");
  EXPECT_EQ(resources.cpu->mems, "0");
  ASSERT_TRUE(resources.pids.has_value());
  EXPECT_EQ(resources.pids->limit, 32768);
  ASSERT_TRUE(resources.block_io.has_value());
  EXPECT_EQ(resources.block_io->weight, 500);
  EXPECT_EQ(resources.block_io->leaf_weight, 300);
  ASSERT_EQ(resources.block_io->weight_device.size(), 1u);
  EXPECT_EQ(resources.block_io->weight_device[0].major, 8);
  EXPECT_EQ(resources.block_io->weight_device[0].weight, 500);
  EXPECT_FALSE(resources.block_io->weight_device[0].leaf_weight.has_value());
  ASSERT_EQ(resources.block_io->throttle_read_bps_device.size(), 1u);
  EXPECT_EQ(resources.block_io->throttle_read_bps_device[0].rate, 600u);
  EXPECT_TRUE(resources.block_io->throttle_write_bps_device.empty());
  ASSERT_EQ(resources.block_io->throttle_write_iops_device.size(), 1u);
  EXPECT_EQ(resources.block_io->throttle_write_iops_device[0].minor, 16);
  ASSERT_EQ(resources.hugepage_limits.size(), 1u);
  EXPECT_EQ(resources.hugepage_limits[0].page_size, "2MB");
  EXPECT_EQ(resources.hugepage_limits[0].limit, 209715200u);
  EXPECT_EQ(resources.unified.at("io.max"), "8:0 rbps=1048576");
}

TEST(ParseSpec, AnEmptyObjectGivesAnEmptySpec) {
  Result<Spec> spec = ParseSpec("{}");
  ASSERT_TRUE(spec.ok()) << spec.error().ToString();
  EXPECT_TRUE(spec->oci_version.empty());
  EXPECT_FALSE(spec->process.has_value());
  EXPECT_FALSE(spec->linux.has_value());
  EXPECT_TRUE(spec->mounts.empty());
}

TEST(ParseSpec, NullMembersAreTreatedAsAbsent) {
  Result<Spec> spec = ParseSpec(R"({"ociVersion": null, "process": null, "mounts": null,
      "linux": {"seccomp": null, "resources": {"memory": {"limit": null}},
                "namespaces": [{"type": "pid", "path": null}]}})");
  ASSERT_TRUE(spec.ok()) << spec.error().ToString();
  EXPECT_FALSE(spec->process.has_value());
  EXPECT_FALSE(spec->linux->seccomp.has_value());
  ASSERT_TRUE(spec->linux->resources->memory.has_value());
  EXPECT_FALSE(spec->linux->resources->memory->limit.has_value());
  EXPECT_TRUE(spec->linux->namespaces[0].path.empty());
}

TEST(ParseSpec, IgnoresUnknownMembers) {
  Result<Spec> spec = ParseSpec(R"({"ociVersion": "1.0.0", "solaris": {"milestone": 1},
      "process": {"args": ["a"], "cwd": "/", "ioPriority": {"class": "IOPRIO_CLASS_RT"}},
      "linux": {"personality": {"domain": "LINUX"}, "netDevices": {"eth0": {}}}})");
  ASSERT_TRUE(spec.ok()) << spec.error().ToString();
  EXPECT_EQ(spec->process->args, (std::vector<std::string>{"a"}));
}

TEST(ParseSpec, AcceptsEveryNamespaceSeccompActionAndOperatorName) {
  Result<Spec> spec = ParseSpec(R"({"linux": {
      "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "mount"}, {"type": "ipc"},
                     {"type": "uts"}, {"type": "user"}, {"type": "cgroup"}, {"type": "time"}],
      "seccomp": {"defaultAction": "SCMP_ACT_KILL_PROCESS", "syscalls": [
        {"names": ["a"], "action": "SCMP_ACT_KILL", "args": [{"index": 1, "value": 2, "op": "SCMP_CMP_NE"}]},
        {"names": ["b"], "action": "SCMP_ACT_KILL_THREAD", "args": [{"index": 1, "value": 2, "op": "SCMP_CMP_LT"}]},
        {"names": ["c"], "action": "SCMP_ACT_TRAP", "args": [{"index": 1, "value": 2, "op": "SCMP_CMP_LE"}]},
        {"names": ["d"], "action": "SCMP_ACT_TRACE", "args": [{"index": 1, "value": 2, "op": "SCMP_CMP_GE"}]},
        {"names": ["e"], "action": "SCMP_ACT_LOG", "args": [{"index": 1, "value": 2, "op": "SCMP_CMP_GT"}]},
        {"names": ["f"], "action": "SCMP_ACT_NOTIFY"}]}}})");
  ASSERT_TRUE(spec.ok()) << spec.error().ToString();
  ASSERT_EQ(spec->linux->namespaces.size(), 8u);
  EXPECT_EQ(spec->linux->namespaces[5].type, NamespaceType::kUser);
  EXPECT_EQ(spec->linux->namespaces[7].type, NamespaceType::kTime);
  const Seccomp& seccomp = *spec->linux->seccomp;
  EXPECT_EQ(seccomp.default_action, SeccompAction::kKillProcess);
  EXPECT_EQ(seccomp.syscalls[0].action, SeccompAction::kKill);
  EXPECT_EQ(seccomp.syscalls[0].args[0].op, SeccompOperator::kNotEqual);
  EXPECT_EQ(seccomp.syscalls[1].action, SeccompAction::kKillThread);
  EXPECT_EQ(seccomp.syscalls[1].args[0].op, SeccompOperator::kLessThan);
  EXPECT_EQ(seccomp.syscalls[2].action, SeccompAction::kTrap);
  EXPECT_EQ(seccomp.syscalls[2].args[0].op, SeccompOperator::kLessEqual);
  EXPECT_EQ(seccomp.syscalls[3].action, SeccompAction::kTrace);
  EXPECT_EQ(seccomp.syscalls[3].args[0].op, SeccompOperator::kGreaterEqual);
  EXPECT_EQ(seccomp.syscalls[4].action, SeccompAction::kLog);
  EXPECT_EQ(seccomp.syscalls[4].args[0].op, SeccompOperator::kGreaterThan);
  EXPECT_EQ(seccomp.syscalls[5].action, SeccompAction::kNotify);
}

TEST(ParseSpec, ReadsTheExtremesOfEachIntegerRange) {
  Result<Spec> spec = ParseSpec(R"({
      "process": {"user": {"uid": 4294967295, "gid": 0}, "oomScoreAdj": -2147483648},
      "linux": {"resources": {"memory": {"limit": -1, "swap": 9223372036854775807},
                              "blockIO": {"weight": 65535}}}})");
  ASSERT_TRUE(spec.ok()) << spec.error().ToString();
  EXPECT_EQ(spec->process->user.uid, 4294967295u);
  EXPECT_EQ(spec->process->oom_score_adj, std::numeric_limits<int32_t>::min());
  EXPECT_EQ(spec->linux->resources->memory->limit, -1);
  EXPECT_EQ(spec->linux->resources->memory->swap, std::numeric_limits<int64_t>::max());
  EXPECT_EQ(spec->linux->resources->block_io->weight, 65535);
}

TEST(ParseSpec, BadValuesGiveErrorsNamingTheJsonPath) {
  struct Case {
    const char* json;
    const char* expected;
  };
  for (const Case& c : {
           Case{R"([])", "top level: expected an object, got an array"},
           Case{R"({"ociVersion": 1})", "ociVersion: expected a string, got 1"},
           Case{R"({"process": []})", "process: expected an object, got an array"},
           Case{R"({"process": {"terminal": "yes"}})",
                "process.terminal: expected true or false, got the string \"yes\""},
           Case{R"({"process": {"user": {"uid": -1}}})",
                "process.user.uid: expected an unsigned 32-bit integer, got -1"},
           Case{R"({"process": {"user": {"uid": 4294967296}}})",
                "process.user.uid: expected an unsigned 32-bit integer, got 4294967296"},
           Case{R"({"process": {"user": {"gid": 1.5}}})",
                "process.user.gid: expected an unsigned 32-bit integer, got 1.5"},
           Case{R"({"process": {"user": {"uid": "1000"}}})",
                "process.user.uid: expected an unsigned 32-bit integer, got the string \"1000\""},
           Case{R"({"process": {"user": {"additionalGids": [1, -2]}}})",
                "process.user.additionalGids[1]: expected an unsigned 32-bit integer, got -2"},
           Case{R"({"process": {"args": ["a", 2]}})", "process.args[1]: expected a string, got 2"},
           Case{R"({"process": {"env": "A=b"}})",
                "process.env: expected an array of strings, got the string"},
           Case{R"({"process": {"consoleSize": {"height": 1}}})",
                "process.consoleSize.width: required"},
           Case{R"({"process": {"rlimits": [{"type": "RLIMIT_NOFILE", "soft": 1}]}})",
                "process.rlimits[0].hard: required"},
           Case{R"({"process": {"rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1, "soft": -1}]}})",
                "process.rlimits[0].soft: expected an unsigned 64-bit integer, got -1"},
           Case{R"({"process": {"oomScoreAdj": 2147483648}})",
                "process.oomScoreAdj: expected a signed 32-bit integer, got 2147483648"},
           Case{R"({"process": {"capabilities": {"bounding": [true]}}})",
                "process.capabilities.bounding[0]: expected a string, got true"},
           Case{R"({"root": {"readonly": 1}})", "root.readonly: expected true or false, got 1"},
           Case{R"({"mounts": {}})", "mounts: expected an array, got an object"},
           Case{R"({"mounts": [{"type": "proc"}]})", "mounts[0].destination: required"},
           Case{R"({"mounts": [{"destination": "/a", "options": "ro"}]})",
                "mounts[0].options: expected an array of strings"},
           Case{R"({"mounts": [{"destination": "/a", "uidMappings": [{"containerID": 0}]}]})",
                "mounts[0].uidMappings: idmapped mounts are not supported by hull-agent"},
           Case{R"({"annotations": {"a": 1}})", "annotations[\"a\"]: expected a string, got 1"},
           Case{R"({"hooks": {"prestart": [{"args": []}]}})", "hooks.prestart[0].path: required"},
           Case{R"({"hooks": {"poststop": [{"path": "/x", "timeout": "5"}]}})",
                "hooks.poststop[0].timeout: expected a signed 64-bit integer"},
           Case{R"({"linux": {"namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "foo"}]}})",
                "linux.namespaces[2].type: unknown namespace type \"foo\""},
           Case{R"({"linux": {"namespaces": [{"path": "/proc/1/ns/net"}]}})",
                "linux.namespaces[0].type: required"},
           Case{R"({"linux": {"namespaces": [{"type": "PID"}]}})",
                "linux.namespaces[0].type: unknown namespace type \"PID\""},
           Case{R"({"linux": {"uidMappings": [{"containerID": 0, "hostID": 1000}]}})",
                "linux.uidMappings[0].size: required"},
           Case{R"({"linux": {"sysctl": {"net.ipv4.ip_forward": 1}}})",
                "linux.sysctl[\"net.ipv4.ip_forward\"]: expected a string, got 1"},
           Case{R"({"linux": {"devices": [{"path": "/dev/x", "type": "x"}]}})",
                "linux.devices[0].type: expected one of \"c\", \"b\", \"u\", \"p\", got \"x\""},
           Case{R"({"linux": {"devices": [{"path": "/dev/x", "type": "cc"}]}})",
                "linux.devices[0].type: expected one of"},
           Case{R"({"linux": {"devices": [{"path": "/dev/x", "type": "c", "major": 1}]}})",
                "linux.devices[0].minor: required for a \"c\" device"},
           Case{R"({"linux": {"devices": [{"path": "/dev/x", "type": "c", "major": 1, "minor": 2,
                    "fileMode": -1}]}})",
                "linux.devices[0].fileMode: expected an unsigned 32-bit integer, got -1"},
           Case{R"({"linux": {"seccomp": {}}})", "linux.seccomp.defaultAction: required"},
           Case{R"({"linux": {"seccomp": {"defaultAction": "SCMP_ACT_FOO"}}})",
                "linux.seccomp.defaultAction: unknown seccomp action \"SCMP_ACT_FOO\""},
           Case{R"({"linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW",
                    "syscalls": [{"names": ["a"], "action": "allow"}]}}})",
                "linux.seccomp.syscalls[0].action: unknown seccomp action \"allow\""},
           Case{R"({"linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW",
                    "syscalls": [{"action": "SCMP_ACT_ALLOW"}]}}})",
                "linux.seccomp.syscalls[0].names: required"},
           Case{R"({"linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW",
                    "syscalls": [{"names": ["a"], "action": "SCMP_ACT_ALLOW",
                                  "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_FOO"}]}]}}})",
                "linux.seccomp.syscalls[0].args[0].op: unknown seccomp operator \"SCMP_CMP_FOO\""},
           Case{R"({"linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW",
                    "syscalls": [{"names": ["a"], "action": "SCMP_ACT_ALLOW",
                                  "args": [{"index": -1, "value": 1, "op": "SCMP_CMP_EQ"}]}]}}})",
                "linux.seccomp.syscalls[0].args[0].index: expected an unsigned 32-bit integer"},
           Case{R"({"linux": {"seccomp": {"defaultAction": "SCMP_ACT_ERRNO",
                    "defaultErrnoRet": -1}}})",
                "linux.seccomp.defaultErrnoRet: expected an unsigned 32-bit integer, got -1"},
           Case{R"({"linux": {"resources": {"memory": {"limit": "1G"}}}})",
                "linux.resources.memory.limit: expected a signed 64-bit integer"},
           Case{R"({"linux": {"resources": {"memory": {"limit": 9223372036854775808}}}})",
                "linux.resources.memory.limit: expected a signed 64-bit integer, got "
                "9223372036854775808"},
           Case{R"({"linux": {"resources": {"memory": {"swappiness": -1}}}})",
                "linux.resources.memory.swappiness: expected an unsigned 64-bit integer, got -1"},
           Case{R"({"linux": {"resources": {"cpu": {"shares": -2}}}})",
                "linux.resources.cpu.shares: expected an unsigned 64-bit integer, got -2"},
           Case{R"({"linux": {"resources": {"cpu": {"cpus": 3}}}})",
                "linux.resources.cpu.cpus: expected a string, got 3"},
           Case{R"({"linux": {"resources": {"blockIO": {"weight": 65536}}}})",
                "linux.resources.blockIO.weight: expected an unsigned 16-bit integer, got 65536"},
           Case{R"({"linux": {"resources": {"blockIO": {"throttleReadBpsDevice": [{"major": 8,
                    "minor": 0}]}}}})",
                "linux.resources.blockIO.throttleReadBpsDevice[0].rate: required"},
           Case{R"({"linux": {"resources": {"devices": [{"access": "rwm"}]}}})",
                "linux.resources.devices[0].allow: required"},
           Case{R"({"linux": {"resources": {"pids": {"limit": 1e3}}}})",
                "linux.resources.pids.limit: expected a signed 64-bit integer, got 1000.0"},
           Case{R"({"linux": {"resources": {"hugepageLimits": [{"pageSize": "2MB"}]}}})",
                "linux.resources.hugepageLimits[0].limit: required"},
           Case{R"({"linux": {"resources": {"unified": {"memory.high": false}}}})",
                "linux.resources.unified[\"memory.high\"]: expected a string, got false"},
       }) {
    const std::string error = SpecErrorOf(c.json);
    EXPECT_NE(error.find(c.expected), std::string::npos) << c.json << "\n -> " << error;
  }
}

TEST(ParseSpec, ErrorsAreEinval) {
  Result<Spec> spec = ParseSpec(R"({"process": {"user": {"uid": -1}}})");
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.error().code(), EINVAL);
}

TEST(ParseSpec, InvalidJsonIsAnErrorNotACrash) {
  for (const char* json : {"", "{", "{\"a\":}", "nul", "{\"a\": \"\xff\"}", "{} {}",
                           "{\"process\": {\"args\": [\"a\"],}}"}) {
    const std::string error = SpecErrorOf(json);
    EXPECT_NE(error.find("config.json"), std::string::npos) << json << " -> " << error;
  }
}

TEST(ParseSpec, RejectsInputLargerThanFourMebibytes) {
  std::string json = "{\"annotations\": {\"a\": \"";
  json.append(kMaxSpecBytes, 'x');
  json += "\"}}";
  Result<Spec> spec = ParseSpec(json);
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.error().code(), E2BIG);
  EXPECT_NE(spec.error().message().find("more than the 4194304"), std::string::npos)
      << spec.error().message();
}

TEST(ParseSpec, RejectsDeepNestingBeforeParsing) {
  std::string json = "{\"x\": ";
  json.append(100000, '[');
  Result<Spec> spec = ParseSpec(json);
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.error().message().find("nested deeper than 64"), std::string::npos)
      << spec.error().message();
}

TEST(ParseSpec, BracketsInsideStringsDoNotCountAsNesting) {
  std::string json = "{\"annotations\": {\"a\": \"";
  json.append(1000, '[');
  json += "\\\"{{{\"}}";
  Result<Spec> spec = ParseSpec(json);
  ASSERT_TRUE(spec.ok()) << spec.error().ToString();
  EXPECT_EQ(spec->annotations.at("a").size(), 1004u);
}

TEST(ParseSpec, AcceptsNestingUpToTheLimit) {
  std::string json = "{\"x\": ";
  json.append(kMaxJsonDepth - 1, '[');
  json.append(kMaxJsonDepth - 1, ']');
  json += "}";
  EXPECT_TRUE(ParseSpec(json).ok());
}

TEST(ParseSpec, KeepsNulBytesInStringsForValidationToReject) {
  Result<Spec> spec = ParseSpec(R"({"process": {"args": ["a\u0000b"]}})");
  ASSERT_TRUE(spec.ok()) << spec.error().ToString();
  EXPECT_EQ(spec->process->args[0], std::string("a\0b", 3));
}

TEST(ParseProcess, ReadsAnExecProcess) {
  Result<Process> process = ParseProcess(R"({"args": ["/bin/ls", "-l"], "cwd": "/tmp",
      "env": ["A=1"], "user": {"uid": 5}, "terminal": false})");
  ASSERT_TRUE(process.ok()) << process.error().ToString();
  EXPECT_EQ(process->args, (std::vector<std::string>{"/bin/ls", "-l"}));
  EXPECT_EQ(process->cwd, "/tmp");
  EXPECT_EQ(process->user.uid, 5u);
}

TEST(ParseProcess, NamesPathsFromProcess) {
  Result<Process> process = ParseProcess(R"({"user": {"uid": -1}})");
  ASSERT_FALSE(process.ok());
  EXPECT_NE(process.error().message().find(
                "process.user.uid: expected an unsigned 32-bit integer, got -1"),
            std::string::npos)
      << process.error().message();
  process = ParseProcess("[1]");
  ASSERT_FALSE(process.ok());
  EXPECT_NE(process.error().message().find("process: expected an object, got an array"),
            std::string::npos)
      << process.error().message();
}

TEST(ParseResources, ReadsAnUpdate) {
  Result<Resources> resources =
      ParseResources(R"({"memory": {"limit": 1048576}, "cpu": {"quota": -1}, "pids": {}})");
  ASSERT_TRUE(resources.ok()) << resources.error().ToString();
  EXPECT_EQ(resources->memory->limit, 1048576);
  EXPECT_EQ(resources->cpu->quota, -1);
  ASSERT_TRUE(resources->pids.has_value());
  EXPECT_EQ(resources->pids->limit, 0);
  EXPECT_FALSE(resources->block_io.has_value());
}

TEST(ParseResources, NamesPathsFromResources) {
  Result<Resources> resources = ParseResources(R"({"cpu": {"period": -5}})");
  ASSERT_FALSE(resources.ok());
  EXPECT_NE(resources.error().message().find(
                "resources.cpu.period: expected an unsigned 64-bit integer, got -5"),
            std::string::npos)
      << resources.error().message();
}

TEST(ParseResources, RejectsOversizedInput) {
  const std::string json(kMaxSpecBytes + 1, ' ');
  Result<Resources> resources = ParseResources(json);
  ASSERT_FALSE(resources.ok());
  EXPECT_EQ(resources.error().code(), E2BIG);
}

}  // namespace
}  // namespace hull::oci
