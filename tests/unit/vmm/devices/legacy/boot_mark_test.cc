#include "hull/vmm/devices/legacy/boot_mark.h"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

namespace hull::vmm {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::steady_clock;

struct Mark {
  BootStage stage;
  nanoseconds since_start;
};

class BootMarkTest : public ::testing::Test {
 protected:
  void Out(uint8_t value) { device_.Write(0, std::span<const uint8_t>(&value, 1)); }

  // A VMM that started 50 ms ago.
  steady_clock::time_point start_ = steady_clock::now() - milliseconds(50);
  BootMarkMetrics metrics_;
  std::vector<Mark> marks_;
  BootMark device_{start_, metrics_, [this](BootStage stage, nanoseconds since) {
                     marks_.push_back({stage, since});
                   }};
};

TEST_F(BootMarkTest, RecordsTheFirstBootedAndReadyMarksFromTheVmmStart) {
  Out(1);
  Out(2);
  ASSERT_EQ(marks_.size(), 2u);
  EXPECT_EQ(marks_[0].stage, BootStage::kBooted);
  EXPECT_EQ(marks_[1].stage, BootStage::kReady);
  EXPECT_GE(marks_[0].since_start, milliseconds(50));
  EXPECT_LT(marks_[0].since_start, milliseconds(50) + std::chrono::seconds(30));
  EXPECT_GE(marks_[1].since_start, marks_[0].since_start);
  ASSERT_TRUE(device_.TimeOf(BootStage::kBooted).has_value());
  EXPECT_EQ(*device_.TimeOf(BootStage::kBooted), marks_[0].since_start);
  EXPECT_GE(metrics_.booted_us.load(), 50'000);
  EXPECT_GE(metrics_.ready_us.load(), metrics_.booted_us.load());
}

TEST_F(BootMarkTest, ReportsEachStageOnlyOnce) {
  Out(1);
  const nanoseconds first = *device_.TimeOf(BootStage::kBooted);
  Out(1);
  EXPECT_EQ(marks_.size(), 1u);
  EXPECT_EQ(*device_.TimeOf(BootStage::kBooted), first);
  EXPECT_EQ(metrics_.ignored_writes.load(), 1u);
}

TEST_F(BootMarkTest, IgnoresUnknownValuesAndWideWrites) {
  Out(0);
  Out(3);
  Out(0xFF);
  const uint8_t wide[2] = {1, 0};
  device_.Write(0, wide);
  EXPECT_TRUE(marks_.empty());
  EXPECT_FALSE(device_.TimeOf(BootStage::kBooted).has_value());
  EXPECT_EQ(metrics_.booted_us.load(), -1);
  EXPECT_EQ(metrics_.ignored_writes.load(), 4u);
}

TEST_F(BootMarkTest, ReadsReturnAllOnes) {
  Out(1);
  uint8_t value[2] = {0, 0};
  device_.Read(0, value);
  EXPECT_EQ(value[0], 0xFF);
  EXPECT_EQ(value[1], 0xFF);
}

TEST(BootStageName, NamesBothStages) {
  EXPECT_EQ(BootStageName(BootStage::kBooted), "booted");
  EXPECT_EQ(BootStageName(BootStage::kReady), "ready");
}

}  // namespace
}  // namespace hull::vmm
