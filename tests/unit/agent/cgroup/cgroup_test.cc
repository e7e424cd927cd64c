// Cgroup against a fake tree of regular files (fake_cgroup_tree.h). The
// kernel's own behaviour is checked in cgroup_kernel_test.cc.

#include "hull/cgroup/cgroup.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <thread>

#include "fake_cgroup_tree.h"

namespace hull::cgroup {
namespace {

using std::chrono::milliseconds;
using testing::FakeCgroupTree;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Create("hull/c1") in `tree`, playing the kernel: "hull" exists with its
// files, and c1 gets its files once made.
Cgroup CreateLeaf(FakeCgroupTree& tree, const std::string& controllers = "cpu memory pids") {
  tree.MakeCgroup("hull", controllers);
  Result<Cgroup> cgroup = Cgroup::Create(tree.root(), "hull/c1");
  EXPECT_TRUE(cgroup.ok()) << cgroup.error().ToString();
  tree.MakeCgroup("hull/c1", controllers);
  return std::move(cgroup).value();
}

TEST(Cgroup, CreateEnablesTheOfferedControllersOnTheWayDown) {
  FakeCgroupTree tree("cpuset cpu io memory pids rdma misc");
  tree.MakeCgroup("hull", "cpuset cpu io memory pids");
  Result<Cgroup> cgroup = Cgroup::Create(tree.root(), "hull/c1");
  ASSERT_TRUE(cgroup.ok()) << cgroup.error().ToString();
  EXPECT_EQ(cgroup->path(), tree.root() + "/hull/c1");
  EXPECT_TRUE(std::filesystem::is_directory(cgroup->path()));
  // In the managed order; hugetlb is not offered, rdma and misc not managed.
  EXPECT_EQ(tree.Read("cgroup.subtree_control"), "+cpu +cpuset +io +memory +pids");
  EXPECT_EQ(tree.Read("hull/cgroup.subtree_control"), "+cpu +cpuset +io +memory +pids");
  EXPECT_FALSE(tree.Exists("hull/c1/cgroup.subtree_control")) << "nothing is enabled in the leaf";
}

TEST(Cgroup, CreateEnablesOnlyWhatIsNotOnAlready) {
  FakeCgroupTree tree("cpu memory pids");
  tree.Write("cgroup.subtree_control", "cpu memory pids\n");
  tree.MakeCgroup("hull", "cpu memory pids");
  tree.Write("hull/cgroup.subtree_control", "memory\n");
  ASSERT_TRUE(Cgroup::Create(tree.root(), "hull/c1").ok());
  EXPECT_EQ(tree.Read("cgroup.subtree_control"), "cpu memory pids\n") << "untouched";
  EXPECT_EQ(tree.Read("hull/cgroup.subtree_control"), "+cpu +pids");
}

TEST(Cgroup, CreateOfAnExistingCgroupOpensIt) {
  FakeCgroupTree tree;
  Cgroup first = CreateLeaf(tree);
  Result<Cgroup> again = Cgroup::Create(tree.root(), "hull/c1");
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  EXPECT_EQ(again->path(), first.path());
}

TEST(Cgroup, CreateRejectsPathsThatLeaveTheRoot) {
  FakeCgroupTree tree;
  for (const std::string& bad :
       {std::string(""), std::string("/hull"), std::string("hull/"), std::string("a//b"),
        std::string(".."), std::string("a/../b"), std::string("./a"), std::string("a\0b", 3)}) {
    Result<Cgroup> cgroup = Cgroup::Create(tree.root(), bad);
    ASSERT_FALSE(cgroup.ok()) << bad;
    EXPECT_EQ(cgroup.error().code(), EINVAL);
    EXPECT_FALSE(Cgroup::Open(tree.root(), bad).ok()) << bad;
  }
  EXPECT_FALSE(tree.Exists("a"));
}

TEST(Cgroup, CreateNamesAMissingRoot) {
  Result<Cgroup> cgroup = Cgroup::Create("/nonexistent/cgroup", "c1");
  ASSERT_FALSE(cgroup.ok());
  EXPECT_EQ(cgroup.error().code(), ENOENT);
  EXPECT_TRUE(Contains(cgroup.error().message(), "/nonexistent/cgroup"))
      << cgroup.error().message();
}

TEST(Cgroup, OpenFindsOnlyExistingCgroups) {
  FakeCgroupTree tree;
  Result<Cgroup> missing = Cgroup::Open(tree.root() + "/", "hull/c1");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ENOENT);
  tree.MakeCgroup("hull/c1", "memory");
  Result<Cgroup> cgroup = Cgroup::Open(tree.root() + "/", "hull/c1");
  ASSERT_TRUE(cgroup.ok()) << cgroup.error().ToString();
  EXPECT_EQ(cgroup->path(), tree.root() + "/hull/c1");
}

TEST(Cgroup, ApplyWritesTheTranslatedFiles) {
  FakeCgroupTree tree;
  Cgroup cgroup = CreateLeaf(tree);
  oci::Resources resources;
  resources.memory = oci::MemoryResources{.limit = 64 << 20, .reservation = 1 << 20};
  resources.pids = oci::PidsResources{.limit = 100};
  resources.cpu = oci::CpuResources{.shares = 1024, .quota = 50000};
  ASSERT_TRUE(cgroup.Apply(resources).ok());
  EXPECT_EQ(tree.Read("hull/c1/memory.max"), "67108864");
  EXPECT_EQ(tree.Read("hull/c1/memory.low"), "1048576");
  EXPECT_EQ(tree.Read("hull/c1/memory.swap.max"), "max\n") << "swap unset: untouched";
  EXPECT_EQ(tree.Read("hull/c1/pids.max"), "100");
  EXPECT_EQ(tree.Read("hull/c1/cpu.weight"), "39");
  EXPECT_EQ(tree.Read("hull/c1/cpu.max"), "50000 100000");
}

TEST(Cgroup, ApplySkipsAnAbsentSwapFileWhenTheValueIsNoLimit) {
  FakeCgroupTree tree;
  Cgroup cgroup = CreateLeaf(tree);
  std::filesystem::remove(tree.Path("hull/c1/memory.swap.max"));
  oci::Resources resources;
  resources.memory = oci::MemoryResources{.limit = -1};
  Result<void> applied = cgroup.Apply(resources);
  ASSERT_TRUE(applied.ok()) << applied.error().ToString();
  EXPECT_EQ(tree.Read("hull/c1/memory.max"), "max");

  resources.memory = oci::MemoryResources{.limit = 100, .swap = 200};
  applied = cgroup.Apply(resources);
  ASSERT_FALSE(applied.ok()) << "a real swap limit needs the file";
  EXPECT_EQ(applied.error().code(), ENOENT);
}

TEST(Cgroup, ApplyNamesAControllerThatIsNotEnabled) {
  FakeCgroupTree tree("cpu memory pids");
  Cgroup cgroup = CreateLeaf(tree, "memory");
  oci::Resources resources;
  resources.pids = oci::PidsResources{.limit = 10};
  Result<void> applied = cgroup.Apply(resources);
  ASSERT_FALSE(applied.ok());
  EXPECT_EQ(applied.error().code(), ENOTSUP);
  EXPECT_TRUE(
      Contains(applied.error().message(),
               "cgroup controller \"pids\" (for pids.max) is not enabled in " + cgroup.path()))
      << applied.error().message();
  EXPECT_TRUE(Contains(applied.error().message(), "not enabled in the cgroup.subtree_control"))
      << applied.error().message();

  resources = {};
  resources.hugepage_limits = {{.page_size = "2MB", .limit = 0}};
  applied = cgroup.Apply(resources);
  ASSERT_FALSE(applied.ok());
  EXPECT_TRUE(Contains(applied.error().message(), "the kernel does not offer it"))
      << applied.error().message();
  EXPECT_FALSE(tree.Exists("hull/c1/hugetlb.2MB.max"));
}

TEST(Cgroup, ApplyNamesTheFileAndValueThatFailed) {
  FakeCgroupTree tree;
  Cgroup cgroup = CreateLeaf(tree);
  std::filesystem::remove(tree.Path("hull/c1/cpu.max"));
  std::filesystem::create_directory(tree.Path("hull/c1/cpu.max"));  // writing fails: EISDIR
  oci::Resources resources;
  resources.cpu = oci::CpuResources{.quota = -1};
  Result<void> applied = cgroup.Apply(resources);
  ASSERT_FALSE(applied.ok());
  EXPECT_EQ(applied.error().message(),
            "writing \"max 100000\" to " + cgroup.path() + "/cpu.max: Is a directory");
}

TEST(Cgroup, ApplyRejectsInvalidResourcesBeforeWritingAnything) {
  FakeCgroupTree tree;
  Cgroup cgroup = CreateLeaf(tree);
  oci::Resources resources;
  resources.pids = oci::PidsResources{.limit = 10};
  resources.unified = {{"cgroup.procs", "1"}};
  ASSERT_FALSE(cgroup.Apply(resources).ok());
  EXPECT_EQ(tree.Read("hull/c1/pids.max"), "max\n");
  EXPECT_EQ(tree.Read("hull/c1/cgroup.procs"), "");
}

TEST(Cgroup, AddProcessAndProcesses) {
  FakeCgroupTree tree;
  Cgroup cgroup = CreateLeaf(tree);
  ASSERT_TRUE(cgroup.AddProcess(1234).ok());
  EXPECT_EQ(tree.Read("hull/c1/cgroup.procs"), "1234");
  tree.Write("hull/c1/cgroup.procs", "1234\n99\n");
  Result<std::vector<pid_t>> pids = cgroup.Processes();
  ASSERT_TRUE(pids.ok()) << pids.error().ToString();
  EXPECT_EQ(*pids, (std::vector<pid_t>{1234, 99}));
  tree.Write("hull/c1/cgroup.procs", "1234\nbogus\n");
  ASSERT_FALSE(cgroup.Processes().ok());
  EXPECT_TRUE(Contains(cgroup.Processes().error().message(), "cgroup.procs"));
}

TEST(Cgroup, FreezeWritesTheFileAndWaitsForTheEvent) {
  FakeCgroupTree tree;
  Cgroup cgroup = CreateLeaf(tree);
  std::thread kernel([&] {
    std::this_thread::sleep_for(milliseconds(60));
    tree.Write("hull/c1/cgroup.events", "populated 1\nfrozen 1\n");
  });
  Result<void> frozen = cgroup.Freeze(milliseconds(5000));
  kernel.join();
  ASSERT_TRUE(frozen.ok()) << frozen.error().ToString();
  EXPECT_EQ(tree.Read("hull/c1/cgroup.freeze"), "1");
  EXPECT_TRUE(*cgroup.IsFrozen());

  tree.Write("hull/c1/cgroup.events", "populated 1\nfrozen 0\n");
  ASSERT_TRUE(cgroup.Thaw(milliseconds(1000)).ok());
  EXPECT_EQ(tree.Read("hull/c1/cgroup.freeze"), "0");
  EXPECT_FALSE(*cgroup.IsFrozen());
}

TEST(Cgroup, FreezeTimesOutIfTheCgroupDoesNotFreeze) {
  FakeCgroupTree tree;
  Cgroup cgroup = CreateLeaf(tree);
  const auto start = std::chrono::steady_clock::now();
  Result<void> frozen = cgroup.Freeze(milliseconds(100));
  ASSERT_FALSE(frozen.ok());
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(100));
  EXPECT_EQ(frozen.error().code(), ETIMEDOUT);
  EXPECT_EQ(frozen.error().message(), "cgroup " + cgroup.path() + " is not frozen after 100 ms");
}

TEST(Cgroup, ReadStatsReadsTheEnabledControllers) {
  FakeCgroupTree tree;
  Cgroup cgroup = CreateLeaf(tree, "cpu memory pids io");
  tree.Write("hull/c1/cpu.stat",
             "usage_usec 10\nuser_usec 7\nsystem_usec 3\nnr_periods 4\nnr_throttled 1\n"
             "throttled_usec 9\n");
  tree.Write("hull/c1/memory.current", "8192\n");
  tree.Write("hull/c1/memory.max", "67108864\n");
  tree.Write("hull/c1/memory.stat", "anon 4096\nfile 2048\npgfault 12\n");
  tree.Write("hull/c1/memory.events", "low 0\nhigh 0\nmax 5\noom 2\noom_kill 1\n");
  tree.Write("hull/c1/memory.swap.current", "1024\n");
  tree.Write("hull/c1/pids.current", "3\n");
  tree.Write("hull/c1/io.stat", "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=5 dios=6\n");
  Result<CgroupStats> stats = cgroup.ReadStats();
  ASSERT_TRUE(stats.ok()) << stats.error().ToString();
  EXPECT_EQ(stats->cpu, (CpuStats{10, 7, 3, 4, 1, 9}));
  ASSERT_TRUE(stats->memory.has_value());
  EXPECT_EQ(stats->memory->current, 8192u);
  EXPECT_EQ(stats->memory->max, std::optional<uint64_t>(67108864));
  EXPECT_EQ(stats->memory->anon, 4096u);
  EXPECT_EQ(stats->memory->pgfault, 12u);
  EXPECT_EQ(stats->memory->swap_current, 1024u);
  EXPECT_EQ(stats->memory->events, (MemoryEvents{0, 0, 5, 2, 1}));
  ASSERT_TRUE(stats->pids.has_value());
  EXPECT_EQ(*stats->pids, (PidsStats{3, std::nullopt}));
  ASSERT_EQ(stats->io.size(), 1u);
  EXPECT_EQ(stats->io[0], (IoDeviceStats{8, 0, 1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(*cgroup.OomKillCount(), 1u);
}

TEST(Cgroup, ReadStatsLeavesOutControllersThatAreOff) {
  FakeCgroupTree tree;
  Cgroup cgroup = CreateLeaf(tree, "cpu");
  Result<CgroupStats> stats = cgroup.ReadStats();
  ASSERT_TRUE(stats.ok()) << stats.error().ToString();
  EXPECT_FALSE(stats->memory.has_value());
  EXPECT_FALSE(stats->pids.has_value());
  EXPECT_TRUE(stats->io.empty());
}

TEST(Cgroup, ReadStatsNamesTheFileItCannotParse) {
  FakeCgroupTree tree;
  Cgroup cgroup = CreateLeaf(tree);
  tree.Write("hull/c1/memory.stat", "anon lots\n");
  Result<CgroupStats> stats = cgroup.ReadStats();
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.error().code(), EINVAL);
  EXPECT_TRUE(Contains(stats.error().message(), "parsing " + cgroup.path() + "/memory.stat"))
      << stats.error().message();
}

TEST(Cgroup, KillWritesCgroupKill) {
  FakeCgroupTree tree;
  Cgroup cgroup = CreateLeaf(tree);
  ASSERT_TRUE(cgroup.Kill().ok());
  EXPECT_EQ(tree.Read("hull/c1/cgroup.kill"), "1");
}

TEST(Cgroup, KillWithoutCgroupKillSignalsEachProcess) {
  FakeCgroupTree tree;
  Cgroup cgroup = CreateLeaf(tree);
  std::filesystem::remove(tree.Path("hull/c1/cgroup.kill"));  // a kernel before 5.14
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    for (;;) ::pause();
  }
  tree.Write("hull/c1/cgroup.procs", std::to_string(child) + "\n");
  Result<void> killed = cgroup.Kill();
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(killed.ok()) << killed.error().ToString();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  EXPECT_EQ(tree.Read("hull/c1/cgroup.freeze"), "0") << "frozen during the kill, thawed after";
}

TEST(Cgroup, DestroyNamesTheProcessesThatStay) {
  FakeCgroupTree tree;
  Cgroup cgroup = CreateLeaf(tree);
  tree.Write("hull/c1/cgroup.events", "populated 1\nfrozen 0\n");
  tree.Write("hull/c1/cgroup.procs", "4242\n4243\n");
  Result<void> destroyed = cgroup.Destroy(milliseconds(50));
  ASSERT_FALSE(destroyed.ok());
  EXPECT_EQ(destroyed.error().code(), ETIMEDOUT);
  EXPECT_EQ(destroyed.error().message(),
            "cgroup " + cgroup.path() + " still has processes 50 ms after SIGKILL: 4242 4243");
  EXPECT_EQ(tree.Read("hull/c1/cgroup.kill"), "1");
  EXPECT_TRUE(tree.Exists("hull/c1"));
}

TEST(Cgroup, DestroyOfARemovedCgroupSucceeds) {
  FakeCgroupTree tree;
  Cgroup cgroup = CreateLeaf(tree);
  std::filesystem::remove_all(tree.Path("hull/c1"));
  Result<void> destroyed = cgroup.Destroy(milliseconds(50));
  EXPECT_TRUE(destroyed.ok()) << destroyed.error().ToString();
}

TEST(Cgroup, MovesKeepTheHandle) {
  FakeCgroupTree tree;
  Cgroup cgroup = CreateLeaf(tree);
  const int fd = cgroup.dir_fd();
  Cgroup moved = std::move(cgroup);
  EXPECT_EQ(moved.dir_fd(), fd);
  EXPECT_TRUE(moved.AddProcess(1).ok());
}

}  // namespace
}  // namespace hull::cgroup
