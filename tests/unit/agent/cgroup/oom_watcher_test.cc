// OomWatcher on fake memory.events files: inotify reports a write to a
// regular file as the kernel reports a changed counter in cgroupfs.

#include "hull/cgroup/oom_watcher.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <thread>

#include "fake_cgroup_tree.h"

namespace hull::cgroup {
namespace {

using std::chrono::milliseconds;
using testing::FakeCgroupTree;

std::string Events(int max, int oom, int oom_kill) {
  return "low 0\nhigh 0\nmax " + std::to_string(max) + "\noom " + std::to_string(oom) +
         "\noom_kill " + std::to_string(oom_kill) + "\n";
}

class OomWatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tree_.MakeCgroup("c1", "memory");
    tree_.MakeCgroup("c2", "memory");
    Result<std::unique_ptr<OomWatcher>> watcher = OomWatcher::Create();
    ASSERT_TRUE(watcher.ok()) << watcher.error().ToString();
    watcher_ = std::move(watcher).value();
  }

  std::vector<std::string> Wait(milliseconds timeout) {
    Result<std::vector<std::string>> ids = watcher_->Wait(timeout);
    EXPECT_TRUE(ids.ok()) << ids.error().ToString();
    return ids.ok() ? *ids : std::vector<std::string>();
  }

  FakeCgroupTree tree_;
  std::unique_ptr<OomWatcher> watcher_;
};

TEST_F(OomWatcherTest, ReportsAnIdWhenItsOomKillCountGrows) {
  ASSERT_TRUE(watcher_->Add("ctr1", tree_.Path("c1")).ok());
  ASSERT_TRUE(watcher_->Add("ctr2", tree_.Path("c2")).ok());
  tree_.Overwrite("c1/memory.events", Events(3, 1, 1));
  EXPECT_EQ(Wait(milliseconds(5000)), std::vector<std::string>{"ctr1"});
  tree_.Overwrite("c2/memory.events", Events(0, 1, 1));
  tree_.Overwrite("c1/memory.events", Events(3, 2, 2));
  std::vector<std::string> ids = Wait(milliseconds(5000));
  if (ids.size() == 1) {  // the two writes may come in two reads
    const std::vector<std::string> more = Wait(milliseconds(5000));
    ids.insert(ids.end(), more.begin(), more.end());
  }
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{"ctr1", "ctr2"}));
}

TEST_F(OomWatcherTest, CountsFromTheValueAtAdd) {
  tree_.Write("c1/memory.events", Events(9, 4, 4));
  ASSERT_TRUE(watcher_->Add("ctr1", tree_.Path("c1")).ok());
  tree_.Overwrite("c1/memory.events", Events(9, 4, 4));
  EXPECT_TRUE(Wait(milliseconds(200)).empty()) << "no kill since Add";
  tree_.Overwrite("c1/memory.events", Events(9, 5, 5));
  EXPECT_EQ(Wait(milliseconds(5000)), std::vector<std::string>{"ctr1"});
}

TEST_F(OomWatcherTest, IgnoresOtherCounters) {
  ASSERT_TRUE(watcher_->Add("ctr1", tree_.Path("c1")).ok());
  tree_.Overwrite("c1/memory.events", Events(7, 1, 0));
  EXPECT_TRUE(Wait(milliseconds(200)).empty());
}

TEST_F(OomWatcherTest, ReportsEveryIdWatchingTheSameCgroup) {
  ASSERT_TRUE(watcher_->Add("a", tree_.Path("c1")).ok());
  ASSERT_TRUE(watcher_->Add("b", tree_.Path("c1")).ok());
  tree_.Overwrite("c1/memory.events", Events(0, 1, 1));
  EXPECT_EQ(Wait(milliseconds(5000)), (std::vector<std::string>{"a", "b"}));
  watcher_->Remove("a");
  tree_.Overwrite("c1/memory.events", Events(0, 2, 2));
  EXPECT_EQ(Wait(milliseconds(5000)), std::vector<std::string>{"b"});
}

TEST_F(OomWatcherTest, RemovedIdsAreNotReported) {
  ASSERT_TRUE(watcher_->Add("ctr1", tree_.Path("c1")).ok());
  watcher_->Remove("ctr1");
  watcher_->Remove("never-added");
  EXPECT_EQ(watcher_->WatchedCountForTesting(), 0u);
  tree_.Overwrite("c1/memory.events", Events(0, 1, 1));
  EXPECT_TRUE(Wait(milliseconds(200)).empty());
}

TEST_F(OomWatcherTest, AddRejectsADuplicateIdAndAMissingFile) {
  ASSERT_TRUE(watcher_->Add("ctr1", tree_.Path("c1")).ok());
  Result<void> again = watcher_->Add("ctr1", tree_.Path("c2"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), EEXIST);
  Result<void> missing = watcher_->Add("ctr3", tree_.Path("nowhere"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ENOENT);
  EXPECT_NE(missing.error().message().find("nowhere/memory.events"), std::string::npos)
      << missing.error().message();
  EXPECT_EQ(watcher_->WatchedCountForTesting(), 1u);
}

TEST_F(OomWatcherTest, AddRejectsAFileThatIsNotMemoryEvents) {
  tree_.Write("c1/memory.events", "garbage\n");
  Result<void> added = watcher_->Add("ctr1", tree_.Path("c1"));
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.error().code(), EINVAL);
  EXPECT_EQ(watcher_->WatchedCountForTesting(), 0u);
}

TEST_F(OomWatcherTest, ARemovedCgroupDropsOut) {
  ASSERT_TRUE(watcher_->Add("ctr1", tree_.Path("c1")).ok());
  std::filesystem::remove_all(tree_.Path("c1"));
  EXPECT_TRUE(Wait(milliseconds(200)).empty());
  EXPECT_EQ(watcher_->WatchedCountForTesting(), 0u);
}

TEST_F(OomWatcherTest, StopWakesABlockedWait) {
  ASSERT_TRUE(watcher_->Add("ctr1", tree_.Path("c1")).ok());
  std::thread stopper([&] {
    std::this_thread::sleep_for(milliseconds(50));
    watcher_->Stop();
  });
  Result<std::vector<std::string>> ids = watcher_->Wait();  // no timeout
  stopper.join();
  ASSERT_TRUE(ids.ok());
  EXPECT_TRUE(ids->empty());
  EXPECT_TRUE(watcher_->stopped());
  EXPECT_TRUE(Wait(milliseconds(10000)).empty()) << "returns at once once stopped";
}

TEST_F(OomWatcherTest, AddAndRemoveWhileAnotherThreadWaits) {
  std::thread waiter([&] {
    const std::vector<std::string> ids = Wait(milliseconds(5000));
    EXPECT_EQ(ids, std::vector<std::string>{"late"});
  });
  std::this_thread::sleep_for(milliseconds(20));
  ASSERT_TRUE(watcher_->Add("late", tree_.Path("c2")).ok());
  ASSERT_TRUE(watcher_->Add("gone", tree_.Path("c1")).ok());
  watcher_->Remove("gone");
  tree_.Overwrite("c2/memory.events", Events(0, 1, 1));
  waiter.join();
}

}  // namespace
}  // namespace hull::cgroup
