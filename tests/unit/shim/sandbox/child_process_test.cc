#include "hull/sandbox/child_process.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>

namespace hull::sandbox {
namespace {

using namespace std::chrono_literals;

class ChildProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/hull-child-test.XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { (void)std::system(("rm -rf " + dir_).c_str()); }
  std::string dir_;
};

TEST_F(ChildProcessTest, OutputGoesToTheLogAndTheStatusIsKept) {
  Result<ChildProcess> child =
      ChildProcess::Spawn({"/bin/sh", "-c", "echo to-out; echo to-err >&2; exit 3"}, dir_ + "/log");
  ASSERT_TRUE(child.ok()) << child.error().message();
  EXPECT_EQ(child->name(), "sh");
  std::optional<int> status = child->WaitFor(10s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(DescribeWaitStatus(*status), "exit 3");
  EXPECT_FALSE(child->running());
  EXPECT_EQ(FileTail(dir_ + "/log"), "to-out\nto-err\n");
  EXPECT_EQ(FileTail(dir_ + "/log", 7), "to-err\n");
}

TEST_F(ChildProcessTest, StopEndsAChildThatIgnoresSigterm) {
  Result<ChildProcess> child =
      ChildProcess::Spawn({"/bin/sh", "-c", "trap '' TERM; sleep 100"}, dir_ + "/log");
  ASSERT_TRUE(child.ok());
  const pid_t pid = child->pid();
  EXPECT_FALSE(child->WaitFor(100ms).has_value());
  const int status = child->Stop(200ms);
  EXPECT_EQ(DescribeWaitStatus(status), "killed by SIGKILL");
  EXPECT_NE(::kill(pid, 0), 0) << "the child is still there";
}

TEST_F(ChildProcessTest, TheDestructorLeavesNoProcess) {
  pid_t pid = -1;
  {
    Result<ChildProcess> child = ChildProcess::Spawn({"/bin/sleep", "100"}, dir_ + "/log");
    ASSERT_TRUE(child.ok());
    pid = child->pid();
    ChildProcess moved = std::move(*child);
    EXPECT_EQ(moved.pid(), pid);
    EXPECT_FALSE(child->running());
  }
  EXPECT_NE(::kill(pid, 0), 0);
}

TEST_F(ChildProcessTest, AMissingProgramIsAnErrorNamingIt) {
  Result<ChildProcess> child = ChildProcess::Spawn({"/no/such/hull-vmm"}, dir_ + "/log");
  // posix_spawn reports exec failures (glibc uses CLONE_VFORK and passes errno back).
  ASSERT_FALSE(child.ok());
  EXPECT_NE(child.error().message().find("/no/such/hull-vmm"), std::string::npos)
      << child.error().message();
  Result<ChildProcess> no_log = ChildProcess::Spawn({"/bin/true"}, dir_ + "/missing/dir/log");
  ASSERT_FALSE(no_log.ok());
  EXPECT_NE(no_log.error().message().find("missing/dir/log"), std::string::npos);
}

}  // namespace
}  // namespace hull::sandbox
