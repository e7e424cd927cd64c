#include "hull/container/sysctl.h"

#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sched.h>

#include <cerrno>
#include <fstream>
#include <map>
#include <string>

#include "child_process.h"
#include "hull/container/capabilities.h"

namespace hull::container {
namespace {

using testing::ExpectEq;
using testing::MissingCapabilities;
using testing::RunInChild;

TEST(Sysctl, DotsBecomeDirectoriesUnderProcSys) {
  EXPECT_EQ(SysctlPath("net.ipv4.ip_forward"), "/proc/sys/net/ipv4/ip_forward");
  EXPECT_EQ(SysctlPath("kernel.shmmax"), "/proc/sys/kernel/shmmax");
  EXPECT_EQ(SysctlPath("fs.mqueue.queues_max"), "/proc/sys/fs/mqueue/queues_max");
}

TEST(Sysctl, AnUnknownNameIsAnErrorNamingIt) {
  Result<void> result = WriteSysctl("kernel.no_such_sysctl", "1");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), ENOENT);
  EXPECT_NE(result.error().message().find("kernel.no_such_sysctl=1"), std::string::npos)
      << result.error().message();
}

// Writes in a child with its own UTS and IPC namespaces, so the host keeps
// its values.
TEST(Sysctl, WritesEachValueInTheProcessNamespaces) {
  if (std::string why = MissingCapabilities(CapabilityBit(CAP_SYS_ADMIN)); !why.empty()) {
    GTEST_SKIP() << why;
  }
  testing::ChildOutcome outcome = RunInChild([]() -> Result<void> {
    if (::unshare(CLONE_NEWUTS | CLONE_NEWIPC) != 0) return Error::FromErrno(errno, "unshare");
    HULL_TRY(WriteSysctls({{"kernel.hostname", "sysctl-test"}, {"kernel.shmmni", "1234"}}));
    std::string hostname;
    std::string shmmni;
    std::ifstream("/proc/sys/kernel/hostname") >> hostname;
    std::ifstream("/proc/sys/kernel/shmmni") >> shmmni;
    HULL_TRY(ExpectEq(hostname, std::string("sysctl-test"), "kernel.hostname"));
    return ExpectEq(shmmni, std::string("1234"), "kernel.shmmni");
  });
  EXPECT_TRUE(outcome.Succeeded()) << outcome.Describe();
}

TEST(Sysctl, ARefusedValueStopsTheList) {
  if (std::string why = MissingCapabilities(CapabilityBit(CAP_SYS_ADMIN)); !why.empty()) {
    GTEST_SKIP() << why;
  }
  testing::ChildOutcome outcome = RunInChild([]() -> Result<void> {
    if (::unshare(CLONE_NEWIPC) != 0) return Error::FromErrno(errno, "unshare");
    std::string before;
    std::ifstream("/proc/sys/kernel/shmmni") >> before;
    // The map orders the names: kernel.msgmax (refused) comes first.
    Result<void> result =
        WriteSysctls({{"kernel.msgmax", "not-a-number"}, {"kernel.shmmni", "99"}});
    if (result.ok()) return Error(EINVAL, "a non-number for kernel.msgmax was accepted");
    HULL_TRY(ExpectEq(result.error().code(), EINVAL, "errno of the refusal"));
    std::string after;
    std::ifstream("/proc/sys/kernel/shmmni") >> after;
    return ExpectEq(after, before, "kernel.shmmni after the refusal");
  });
  EXPECT_TRUE(outcome.Succeeded()) << outcome.Describe();
}

}  // namespace
}  // namespace hull::container
