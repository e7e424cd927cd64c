#include <gtest/gtest.h>

#include <cerrno>
#include <functional>
#include <string>

#include "hull/oci/spec_parse.h"
#include "test_specs.h"

namespace hull::oci {
namespace {

Spec FullSpec() {
  Result<Spec> spec = ParseSpec(testing::kFullConfig);
  EXPECT_TRUE(spec.ok()) << spec.error().ToString();
  return spec.ok() ? std::move(spec).value() : Spec{};
}

Spec MinimalSpec() {
  Result<Spec> spec = ParseSpec(testing::kMinimalConfig);
  EXPECT_TRUE(spec.ok()) << spec.error().ToString();
  return spec.ok() ? std::move(spec).value() : Spec{};
}

struct Mutation {
  const char* expected;  // part of the error message
  std::function<void(Spec&)> apply;
};

void ExpectEachRejected(const std::vector<Mutation>& mutations) {
  for (const Mutation& mutation : mutations) {
    Spec spec = FullSpec();
    mutation.apply(spec);
    Result<void> valid = ValidateSpec(spec);
    ASSERT_FALSE(valid.ok()) << "accepted; expected: " << mutation.expected;
    EXPECT_EQ(valid.error().code(), EINVAL);
    EXPECT_NE(valid.error().message().find(mutation.expected), std::string::npos)
        << "expected: " << mutation.expected << "\n     got: " << valid.error().message();
  }
}

TEST(ValidateSpec, AcceptsTheFullRuncStyleConfig) {
  Result<void> valid = ValidateSpec(FullSpec());
  EXPECT_TRUE(valid.ok()) << valid.error().ToString();
}

TEST(ValidateSpec, AcceptsTheMinimalConfig) {
  Result<void> valid = ValidateSpec(MinimalSpec());
  EXPECT_TRUE(valid.ok()) << valid.error().ToString();
}

TEST(ValidateSpec, AcceptsVersionsFromOneZeroToOneTwo) {
  for (const char* version : {"1.0.0", "1.0.2-dev", "1.1.0", "1.1.0-rc.1", "1.2.0", "1.2.1+dev"}) {
    Spec spec = MinimalSpec();
    spec.oci_version = version;
    Result<void> valid = ValidateSpec(spec);
    EXPECT_TRUE(valid.ok()) << version << ": " << valid.error().ToString();
  }
}

TEST(ValidateSpec, RejectsOtherVersions) {
  for (const char* version : {"0.6.0", "2.0.0", "1.3.0", "1.0", "1", "1.0.x", "v1.0.0", "1..0",
                              "1.0.0.0", "01.0.0", "-1.0.0"}) {
    Spec spec = MinimalSpec();
    spec.oci_version = version;
    Result<void> valid = ValidateSpec(spec);
    ASSERT_FALSE(valid.ok()) << version;
    EXPECT_NE(valid.error().message().find("ociVersion: "), std::string::npos)
        << valid.error().message();
  }
}

TEST(ValidateSpec, RejectsTopLevelProblemsNamingTheField) {
  ExpectEachRejected({
      {"ociVersion: required", [](Spec& s) { s.oci_version.clear(); }},
      {"process: required", [](Spec& s) { s.process.reset(); }},
      {"root.path: required", [](Spec& s) { s.root.path.clear(); }},
      {"root.path: contains a NUL byte", [](Spec& s) { s.root.path = std::string("a\0b", 3); }},
      {"hostname: 65 bytes is more than the 64",
       [](Spec& s) { s.hostname = std::string(65, 'h'); }},
      {"hostname: set, but the container has no UTS namespace of its own",
       [](Spec& s) {
         std::erase_if(s.linux->namespaces,
                       [](const Namespace& ns) { return ns.type == NamespaceType::kUts; });
         s.domainname.clear();
       }},
      {"domainname: set, but the container has no UTS namespace",
       [](Spec& s) {
         std::erase_if(s.linux->namespaces,
                       [](const Namespace& ns) { return ns.type == NamespaceType::kUts; });
         s.hostname.clear();
       }},
      {"linux: required",
       [](Spec& s) {
         s.linux.reset();
         s.hostname.clear();
         s.domainname.clear();
       }},
      {"hooks.prestart[0].path: must be an absolute path",
       [](Spec& s) { s.hooks->prestart[0].path = "fix-mounts"; }},
      {"hooks.prestart[0].timeout: 0 is not a positive number",
       [](Spec& s) { s.hooks->prestart[0].timeout = 0; }},
      {"hooks.poststop[0].args[0]: contains a NUL byte",
       [](Spec& s) { s.hooks->poststop[0].args = {std::string("\0", 1)}; }},
  });
}

TEST(ValidateSpec, RejectsProcessProblemsNamingTheField) {
  ExpectEachRejected({
      {"process.args: required", [](Spec& s) { s.process->args.clear(); }},
      {"process.args[0]: the program to run is empty", [](Spec& s) { s.process->args[0] = ""; }},
      {"process.args[2]: contains a NUL byte",
       [](Spec& s) { s.process->args[2] = std::string("echo\0x", 6); }},
      {"process.cwd: must be an absolute path, got \"\"", [](Spec& s) { s.process->cwd = ""; }},
      {"process.cwd: must be an absolute path, got \"tmp\"",
       [](Spec& s) { s.process->cwd = "tmp"; }},
      {"process.env[1]: expected \"NAME=value\", got \"TERM\"",
       [](Spec& s) { s.process->env[1] = "TERM"; }},
      {"process.env[0]: expected \"NAME=value\", got \"=x\"",
       [](Spec& s) { s.process->env[0] = "=x"; }},
      {"process.env[0]: contains a NUL byte",
       [](Spec& s) { s.process->env[0] = std::string("A=\0", 3); }},
      {"process.consoleSize: set, but process.terminal is false",
       [](Spec& s) { s.process->terminal = false; }},
      {"process.user.umask: 01000 has bits outside 0777",
       [](Spec& s) { s.process->user.umask = 01000; }},
      {"process.capabilities.bounding[1]: unknown capability \"CAP_FOO\"",
       [](Spec& s) { s.process->capabilities->bounding[1] = "CAP_FOO"; }},
      {"process.capabilities.ambient[0]: unknown capability \"cap_kill\"",
       [](Spec& s) { s.process->capabilities->ambient[0] = "cap_kill"; }},
      {"process.rlimits[0].type: unknown rlimit type \"RLIMIT_FOO\"",
       [](Spec& s) { s.process->rlimits[0].type = "RLIMIT_FOO"; }},
      {"process.rlimits[1].type: RLIMIT_NOFILE appears twice (also process.rlimits[0])",
       [](Spec& s) { s.process->rlimits[1].type = "RLIMIT_NOFILE"; }},
      {"process.rlimits[0]: soft limit 2048 is above the hard limit 1024",
       [](Spec& s) { s.process->rlimits[0].soft = 2048; }},
      {"process.oomScoreAdj: 1001 is outside -1000..1000",
       [](Spec& s) { s.process->oom_score_adj = 1001; }},
  });
}

TEST(ValidateSpec, RejectsMountProblemsNamingTheField) {
  ExpectEachRejected({
      {"mounts[1].destination: must be an absolute path, got \"dev\"",
       [](Spec& s) { s.mounts[1].destination = "dev"; }},
      {"mounts[1].destination: must not contain \"..\" components",
       [](Spec& s) { s.mounts[1].destination = "/dev/../etc"; }},
      {"mounts[1].destination: must not contain \"..\" components",
       [](Spec& s) { s.mounts[1].destination = "/dev/.."; }},
      {"mounts[0].source: contains a NUL byte",
       [](Spec& s) { s.mounts[0].source = std::string("p\0", 2); }},
      {"mounts[7].options[3]: \"idmap\": idmapped mounts are not supported",
       [](Spec& s) { s.mounts[7].options.push_back("idmap"); }},
      {"mounts[1].options[0]: \"nosuid,nodev\" contains ','",
       [](Spec& s) { s.mounts[1].options[0] = "nosuid,nodev"; }},
  });
}

TEST(ValidateSpec, RejectsNamespaceProblemsNamingTheField) {
  ExpectEachRejected({
      {"linux.namespaces: user namespaces are not supported by hull-agent; remove the \"user\" "
       "namespace",
       [](Spec& s) {
         s.linux->namespaces.push_back({NamespaceType::kUser, ""});
       }},
      {"linux.namespaces[6].type: \"pid\" appears twice (also linux.namespaces[0])",
       [](Spec& s) {
         s.linux->namespaces.push_back({NamespaceType::kPid, ""});
       }},
      {"linux.namespaces[1].path: must be an absolute path",
       [](Spec& s) { s.linux->namespaces[1].path = "netns"; }},
      {"linux.namespaces: hull-agent needs a \"mount\" namespace",
       [](Spec& s) { s.linux->namespaces.erase(s.linux->namespaces.begin() + 4); }},
      {"linux.uidMappings: set, but the container has no user namespace",
       [](Spec& s) {
         s.linux->uid_mappings.push_back({0, 1000, 1});
       }},
      {"linux.gidMappings: set, but the container has no user namespace",
       [](Spec& s) {
         s.linux->gid_mappings.push_back({0, 1000, 1});
       }},
  });
}

TEST(ValidateSpec, RejectsSysctlsTheContainerMayNotSet) {
  ExpectEachRejected({
      {"linux.sysctl[\"vm.swappiness\"]: not namespaced",
       [](Spec& s) { s.linux->sysctl["vm.swappiness"] = "10"; }},
      {"linux.sysctl[\"kernel.shmmax\"]: needs the container's own IPC namespace",
       [](Spec& s) { s.linux->namespaces.erase(s.linux->namespaces.begin() + 2); }},
      {"linux.sysctl[\"net.ipv4.ip_forward\"]: needs the container's own network namespace",
       [](Spec& s) { s.linux->namespaces.erase(s.linux->namespaces.begin() + 1); }},
      {"linux.sysctl[\"net.ipv4/conf\"]: write the name with dots",
       [](Spec& s) { s.linux->sysctl["net.ipv4/conf"] = "1"; }},
      {"linux.sysctl[\"kernel.hostname\"]: conflicts with the hostname field",
       [](Spec& s) { s.linux->sysctl["kernel.hostname"] = "other"; }},
      {"linux.sysctl[\"net.core.somaxconn\"]: contains a NUL byte",
       [](Spec& s) { s.linux->sysctl["net.core.somaxconn"] = std::string("1\0", 2); }},
  });
}

TEST(ValidateSpec, RejectsLinuxProblemsNamingTheField) {
  ExpectEachRejected({
      {"linux.cgroupsPath: must not contain \"..\" components",
       [](Spec& s) { s.linux->cgroups_path = "/hull/../../escape"; }},
      {"linux.cgroupsPath: contains a NUL byte",
       [](Spec& s) { s.linux->cgroups_path = std::string("a\0", 2); }},
      {"linux.devices[0].path: must be under /dev, got \"/etc/fuse\"",
       [](Spec& s) { s.linux->devices[0].path = "/etc/fuse"; }},
      {"linux.devices[0].path: must be an absolute path",
       [](Spec& s) { s.linux->devices[0].path = "dev/fuse"; }},
      {"linux.devices[0].path: must not contain \"..\" components",
       [](Spec& s) { s.linux->devices[0].path = "/dev/../etc/shadow"; }},
      {"linux.devices[1].major: -1 is outside 0..4095",
       [](Spec& s) { s.linux->devices[1].major = -1; }},
      {"linux.devices[1].minor: 1048576 is outside 0..1048575",
       [](Spec& s) { s.linux->devices[1].minor = 1048576; }},
      {"linux.devices[0].fileMode: 010000 has bits outside 07777",
       [](Spec& s) { s.linux->devices[0].file_mode = 010000; }},
      {"linux.rootfsPropagation: unknown propagation \"rfoo\"",
       [](Spec& s) { s.linux->rootfs_propagation = "rfoo"; }},
      {"linux.maskedPaths[1]: must be an absolute path",
       [](Spec& s) { s.linux->masked_paths[1] = "proc/latency_stats"; }},
      {"linux.readonlyPaths[0]: must not contain \"..\" components",
       [](Spec& s) { s.linux->readonly_paths[0] = "/proc/../etc"; }},
      {"linux.resources.memory.limit: -2 is neither -1",
       [](Spec& s) { s.linux->resources->memory->limit = -2; }},
  });
}

TEST(ValidateSpec, RejectsSeccompProblemsNamingTheField) {
  ExpectEachRejected({
      {"linux.seccomp.syscalls[1].args[0].index: 6 is outside 0..5",
       [](Spec& s) { s.linux->seccomp->syscalls[1].args[0].index = 6; }},
      {"linux.seccomp.syscalls[0].errnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE return a "
       "value, not SCMP_ACT_ALLOW",
       [](Spec& s) { s.linux->seccomp->syscalls[0].errno_ret = 1; }},
      {"linux.seccomp.defaultErrnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE",
       [](Spec& s) { s.linux->seccomp->default_action = SeccompAction::kKillProcess; }},
      {"linux.seccomp.defaultAction: SCMP_ACT_NOTIFY is not supported by hull-agent",
       [](Spec& s) {
         s.linux->seccomp->default_action = SeccompAction::kNotify;
         s.linux->seccomp->default_errno_ret.reset();
       }},
      {"linux.seccomp.syscalls[3].action: SCMP_ACT_NOTIFY is not supported",
       [](Spec& s) { s.linux->seccomp->syscalls[3].action = SeccompAction::kNotify; }},
      {"linux.seccomp.listenerPath: seccomp notify listeners are not supported",
       [](Spec& s) { s.linux->seccomp->listener_path = "/run/seccomp.sock"; }},
      {"linux.seccomp.architectures[1]: unknown architecture \"SCMP_ARCH_Z80\"",
       [](Spec& s) { s.linux->seccomp->architectures[1] = "SCMP_ARCH_Z80"; }},
      {"linux.seccomp.flags[0]: unknown flag \"SECCOMP_FILTER_FLAG_FOO\"",
       [](Spec& s) { s.linux->seccomp->flags[0] = "SECCOMP_FILTER_FLAG_FOO"; }},
      {"linux.seccomp.syscalls[0].names: empty",
       [](Spec& s) { s.linux->seccomp->syscalls[0].names.clear(); }},
      {"linux.seccomp.syscalls[0].names[1]: empty",
       [](Spec& s) { s.linux->seccomp->syscalls[0].names[1].clear(); }},
  });
}

TEST(ValidateSpec, AllowsErrnoRetWithTrace) {
  Spec spec = FullSpec();
  spec.linux->seccomp->syscalls[3].action = SeccompAction::kTrace;
  Result<void> valid = ValidateSpec(spec);
  EXPECT_TRUE(valid.ok()) << valid.error().ToString();
}

TEST(ValidateSpec, AllowsAHostnameWithAJoinedUtsNamespace) {
  Spec spec = FullSpec();
  spec.linux->namespaces[3].path = "/proc/42/ns/uts";
  Result<void> valid = ValidateSpec(spec);
  EXPECT_TRUE(valid.ok()) << valid.error().ToString();
}

TEST(ValidateSpec, AllowsRelativeCgroupsPathsAndDotDotInCwd) {
  Spec spec = FullSpec();
  spec.linux->cgroups_path = "pod1/ctr1";
  spec.process->cwd = "/srv/../app";
  Result<void> valid = ValidateSpec(spec);
  EXPECT_TRUE(valid.ok()) << valid.error().ToString();
}

TEST(ValidateProcess, AcceptsAnExecProcess) {
  Result<Process> process = ParseProcess(R"({"args": ["ls"], "cwd": "/", "env": ["A=b=c"]})");
  ASSERT_TRUE(process.ok());
  Result<void> valid = ValidateProcess(*process);
  EXPECT_TRUE(valid.ok()) << valid.error().ToString();
}

TEST(ValidateProcess, NamesPathsFromProcess) {
  Process process;
  process.args = {"ls"};
  process.cwd = "relative";
  Result<void> valid = ValidateProcess(process);
  ASSERT_FALSE(valid.ok());
  EXPECT_NE(valid.error().message().find("process.cwd: must be an absolute path"),
            std::string::npos)
      << valid.error().message();
}

}  // namespace
}  // namespace hull::oci
