#include "hull/oci/names.h"

#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <set>
#include <string>

namespace hull::oci {
namespace {

TEST(Capabilities, EveryNumberRoundTripsThroughItsName) {
  std::set<std::string_view> names;
  for (int cap = 0; cap <= kLastCapability; ++cap) {
    const std::string_view name = CapabilityName(cap);
    ASSERT_FALSE(name.empty()) << cap;
    EXPECT_TRUE(name.starts_with("CAP_")) << name;
    EXPECT_EQ(CapabilityFromName(name), cap) << name;
    names.insert(name);
  }
  EXPECT_EQ(names.size(), 41u);
}

TEST(Capabilities, MatchTheKernelHeaderNumbers) {
  EXPECT_EQ(CapabilityFromName("CAP_CHOWN"), CAP_CHOWN);
  EXPECT_EQ(CapabilityFromName("CAP_NET_ADMIN"), CAP_NET_ADMIN);
  EXPECT_EQ(CapabilityFromName("CAP_SYS_ADMIN"), CAP_SYS_ADMIN);
  EXPECT_EQ(CapabilityFromName("CAP_AUDIT_READ"), CAP_AUDIT_READ);
  EXPECT_EQ(CapabilityFromName("CAP_PERFMON"), 38);
  EXPECT_EQ(CapabilityFromName("CAP_BPF"), 39);
  EXPECT_EQ(CapabilityFromName("CAP_CHECKPOINT_RESTORE"), 40);
  EXPECT_EQ(kLastCapability, 40);
}

TEST(Capabilities, UnknownNamesAndNumbersHaveNoEntry) {
  for (const char* name : {"", "CHOWN", "cap_chown", "CAP_CHOWN ", "CAP_FOO", "CAP_41"}) {
    EXPECT_FALSE(CapabilityFromName(name).has_value()) << name;
  }
  EXPECT_EQ(CapabilityName(-1), "");
  EXPECT_EQ(CapabilityName(kLastCapability + 1), "");
}

TEST(Rlimits, AllSixteenNamesMapToTheirResource) {
  const std::pair<const char*, int> expected[] = {
      {"RLIMIT_CPU", RLIMIT_CPU},           {"RLIMIT_FSIZE", RLIMIT_FSIZE},
      {"RLIMIT_DATA", RLIMIT_DATA},         {"RLIMIT_STACK", RLIMIT_STACK},
      {"RLIMIT_CORE", RLIMIT_CORE},         {"RLIMIT_RSS", RLIMIT_RSS},
      {"RLIMIT_NPROC", RLIMIT_NPROC},       {"RLIMIT_NOFILE", RLIMIT_NOFILE},
      {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},   {"RLIMIT_AS", RLIMIT_AS},
      {"RLIMIT_LOCKS", RLIMIT_LOCKS},       {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
      {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
      {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},     {"RLIMIT_RTTIME", RLIMIT_RTTIME},
  };
  for (const auto& [name, resource] : expected) {
    EXPECT_EQ(RlimitFromName(name), resource) << name;
    EXPECT_EQ(RlimitName(resource), name);
  }
  EXPECT_FALSE(RlimitFromName("RLIMIT_FOO").has_value());
  EXPECT_FALSE(RlimitFromName("nofile").has_value());
  EXPECT_EQ(RlimitName(16), "");
}

TEST(Namespaces, NamesAndCloneFlagsMatchTheSpecAndTheKernel) {
  const struct {
    NamespaceType type;
    const char* name;
    const char* proc_file;
    int flag;
  } expected[] = {
      {NamespaceType::kPid, "pid", "pid", CLONE_NEWPID},
      {NamespaceType::kNetwork, "network", "net", CLONE_NEWNET},
      {NamespaceType::kMount, "mount", "mnt", CLONE_NEWNS},
      {NamespaceType::kIpc, "ipc", "ipc", CLONE_NEWIPC},
      {NamespaceType::kUts, "uts", "uts", CLONE_NEWUTS},
      {NamespaceType::kUser, "user", "user", CLONE_NEWUSER},
      {NamespaceType::kCgroup, "cgroup", "cgroup", CLONE_NEWCGROUP},
      {NamespaceType::kTime, "time", "time", CLONE_NEWTIME},
  };
  for (const auto& entry : expected) {
    EXPECT_EQ(NamespaceTypeName(entry.type), entry.name);
    EXPECT_EQ(NamespaceTypeFromName(entry.name), entry.type);
    EXPECT_EQ(NamespaceCloneFlag(entry.type), entry.flag) << entry.name;
    EXPECT_EQ(NamespaceProcFileName(entry.type), entry.proc_file);
    // The kernel names the file so (Debian 12's kernel has every type).
    EXPECT_EQ(::access((std::string("/proc/self/ns/") + entry.proc_file).c_str(), F_OK), 0)
        << entry.proc_file;
  }
  EXPECT_FALSE(NamespaceTypeFromName("net").has_value());
  EXPECT_FALSE(NamespaceTypeFromName("").has_value());
}

TEST(Seccomp, ActionNamesRoundTrip) {
  for (const SeccompAction action :
       {SeccompAction::kKill, SeccompAction::kKillProcess, SeccompAction::kKillThread,
        SeccompAction::kTrap, SeccompAction::kErrno, SeccompAction::kTrace, SeccompAction::kAllow,
        SeccompAction::kLog, SeccompAction::kNotify}) {
    const std::string_view name = SeccompActionName(action);
    EXPECT_TRUE(name.starts_with("SCMP_ACT_")) << name;
    EXPECT_EQ(SeccompActionFromName(name), action) << name;
  }
  EXPECT_EQ(SeccompActionName(SeccompAction::kKillProcess), "SCMP_ACT_KILL_PROCESS");
  EXPECT_FALSE(SeccompActionFromName("SCMP_ACT_KILL ").has_value());
}

TEST(Seccomp, OperatorNamesRoundTrip) {
  for (const SeccompOperator op :
       {SeccompOperator::kNotEqual, SeccompOperator::kLessThan, SeccompOperator::kLessEqual,
        SeccompOperator::kEqualTo, SeccompOperator::kGreaterEqual, SeccompOperator::kGreaterThan,
        SeccompOperator::kMaskedEqual}) {
    const std::string_view name = SeccompOperatorName(op);
    EXPECT_TRUE(name.starts_with("SCMP_CMP_")) << name;
    EXPECT_EQ(SeccompOperatorFromName(name), op) << name;
  }
  EXPECT_EQ(SeccompOperatorName(SeccompOperator::kMaskedEqual), "SCMP_CMP_MASKED_EQ");
  EXPECT_FALSE(SeccompOperatorFromName("SCMP_CMP_EQUAL").has_value());
}

std::string SysctlError(std::string_view name, bool ipc, bool net, bool uts) {
  Result<void> valid = ValidateSysctl(name, ipc, net, uts);
  EXPECT_FALSE(valid.ok()) << name;
  return valid.ok() ? "" : valid.error().message();
}

TEST(ValidateSysctl, AllowsIpcSysctlsWithAnIpcNamespace) {
  for (const char* name : {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
                           "kernel.shmall", "kernel.shmmax", "kernel.shmmni",
                           "kernel.shm_rmid_forced", "fs.mqueue.msg_max", "fs.mqueue.queues_max"}) {
    EXPECT_TRUE(ValidateSysctl(name, true, false, false).ok()) << name;
    EXPECT_NE(SysctlError(name, false, true, true).find("needs the container's own IPC namespace"),
              std::string::npos)
        << name;
  }
}

TEST(ValidateSysctl, AllowsNetSysctlsWithANetworkNamespace) {
  for (const char* name : {"net.ipv4.ip_forward", "net.core.somaxconn",
                           "net.ipv4.conf.eth0.route_localnet", "net.ipv6.conf.all.disable_ipv6"}) {
    EXPECT_TRUE(ValidateSysctl(name, false, true, false).ok()) << name;
    EXPECT_NE(SysctlError(name, true, false, true).find("network namespace"), std::string::npos);
  }
}

TEST(ValidateSysctl, AllowsHostAndDomainNameWithAUtsNamespace) {
  for (const char* name : {"kernel.hostname", "kernel.domainname"}) {
    EXPECT_TRUE(ValidateSysctl(name, false, false, true).ok()) << name;
    EXPECT_NE(SysctlError(name, true, true, false).find("UTS namespace"), std::string::npos);
  }
}

TEST(ValidateSysctl, RejectsSysctlsThatAreNotNamespaced) {
  for (const char* name : {"vm.swappiness", "kernel.pid_max", "kernel.shm_next_id_x", "fs.file-max",
                           "kernel.msgmax2", "fs.mqueue", "netfoo.x"}) {
    EXPECT_NE(SysctlError(name, true, true, true).find("not namespaced"), std::string::npos)
        << name;
  }
}

TEST(ValidateSysctl, RejectsNamesThatWouldLeaveProcSys) {
  for (const char* name :
       {"net.ipv4/../../x", "net/ipv4/ip_forward", "net..x", "net.", ".net.x", "fs.mqueue.", ""}) {
    const std::string error = SysctlError(name, true, true, true);
    EXPECT_TRUE(error.find("'/'") != std::string::npos ||
                error.find("empty component") != std::string::npos ||
                error.find("empty") != std::string::npos)
        << name << " -> " << error;
  }
  EXPECT_NE(SysctlError(std::string_view("net.a\0b", 7), true, true, true).find("NUL"),
            std::string::npos);
}

TEST(ValidateSysctl, ErrorsNameTheSysctl) {
  EXPECT_NE(SysctlError("vm.swappiness", true, true, true).find("sysctl \"vm.swappiness\": "),
            std::string::npos);
}

}  // namespace
}  // namespace hull::oci
