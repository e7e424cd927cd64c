#include "hull/vmm/virtio/rng/rng_device.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "split_ring.h"

namespace hull::vmm::virtio::rng {
namespace {

using virtio::testing::Bytes;
using virtio::testing::FakeInterrupt;
using virtio::testing::kDataBase;
using virtio::testing::kModernFeatures;
using virtio::testing::MakeMemory;
using virtio::testing::SplitRing;

bool AllZero(const std::vector<uint8_t>& bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
}

class RngDeviceTest : public ::testing::Test {
 protected:
  RngDeviceTest() : memory_(MakeMemory()), ring_(memory_, 8), device_(8) {
    queues_.push_back(ring_.MakeQueue(kModernFeatures, 8));
    HULL_CHECK(device_.Activate(memory_, queues_, kModernFeatures, interrupt_).ok());
  }

  GuestMemory memory_;
  SplitRing ring_;
  std::vector<Queue> queues_;
  FakeInterrupt interrupt_;
  RngDevice device_;
};

TEST_F(RngDeviceTest, FillsEveryWritableBufferWithRandomBytes) {
  const uint16_t head = ring_.AddChain({{kDataBase, 64, true}, {kDataBase + 0x1000, 64, true}});
  ASSERT_TRUE(device_.ProcessQueue(0).ok());
  ASSERT_EQ(ring_.UsedIdx(), 1);
  EXPECT_EQ(ring_.Used(0), (virtio::testing::UsedElem{head, 128}));
  // 2^-512 odds of a false failure.
  EXPECT_FALSE(AllZero(Bytes(memory_, kDataBase, 64)));
  EXPECT_FALSE(AllZero(Bytes(memory_, kDataBase + 0x1000, 64)));
  EXPECT_NE(Bytes(memory_, kDataBase, 64), Bytes(memory_, kDataBase + 0x1000, 64));
  EXPECT_EQ(device_.metrics().bytes.load(), 128u);
  EXPECT_EQ(interrupt_.used_buffer, 1);
}

TEST_F(RngDeviceTest, GivesAtMost64KiBPerRequest) {
  ring_.AddChain({{kDataBase, 0x20000, true}});
  ASSERT_TRUE(device_.ProcessQueue(0).ok());
  EXPECT_EQ(ring_.Used(0).len, kMaxBytesPerRequest);
  EXPECT_FALSE(AllZero(Bytes(memory_, kDataBase + kMaxBytesPerRequest - 64, 64)));
  EXPECT_TRUE(AllZero(Bytes(memory_, kDataBase + kMaxBytesPerRequest, 0x20000 - 0x10000)));
}

TEST_F(RngDeviceTest, ReturnsAChainWithReadableBuffersUnfilled) {
  const uint16_t head = ring_.AddChain({{kDataBase, 16, false}, {kDataBase + 0x1000, 64, true}});
  ASSERT_TRUE(device_.ProcessQueue(0).ok());
  EXPECT_EQ(ring_.Used(0), (virtio::testing::UsedElem{head, 0}));
  EXPECT_TRUE(AllZero(Bytes(memory_, kDataBase + 0x1000, 64)));
  EXPECT_EQ(device_.metrics().invalid_requests.load(), 1u);
}

TEST_F(RngDeviceTest, ReturnsAReadableOnlyChainWithLengthZero) {
  const uint16_t head = ring_.AddChain({{kDataBase, 64, false}});
  ASSERT_TRUE(device_.ProcessQueue(0).ok());
  EXPECT_EQ(ring_.Used(0), (virtio::testing::UsedElem{head, 0}));
  EXPECT_TRUE(AllZero(Bytes(memory_, kDataBase, 64)));
  EXPECT_EQ(device_.metrics().invalid_requests.load(), 1u);
}

TEST_F(RngDeviceTest, ServesEveryAvailableRequestThenInterruptsOnce) {
  for (int i = 0; i < 8; ++i) ring_.AddChain({{kDataBase + 0x100 * uint64_t(i), 32, true}});
  ASSERT_TRUE(device_.ProcessQueue(0).ok());
  EXPECT_EQ(ring_.UsedIdx(), 8);
  EXPECT_EQ(interrupt_.used_buffer, 1);
  EXPECT_EQ(device_.metrics().requests.load(), 8u);
}

TEST_F(RngDeviceTest, ReportsABrokenRingAsADeviceError) {
  ring_.SetAvailIdx(100);
  EXPECT_FALSE(device_.ProcessQueue(0).ok());
}

TEST(RngDevice, IsAnEntropyDeviceWithoutFeaturesOrConfig) {
  RngDevice device;
  EXPECT_EQ(device.device_id(), 4u);
  EXPECT_EQ(device.device_features(), 0u);
  ASSERT_EQ(device.queue_max_sizes().size(), 1u);
  EXPECT_EQ(device.queue_max_sizes()[0], 256);
  std::array<uint8_t, 4> config{};
  device.ReadConfig(0, config);
  EXPECT_EQ(config, (std::array<uint8_t, 4>{0xff, 0xff, 0xff, 0xff}));
}

}  // namespace
}  // namespace hull::vmm::virtio::rng
