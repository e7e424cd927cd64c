#include "hull/vmm/virtio/balloon/balloon_device.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "hull/vmm/virtio/mmio_transport.h"
#include "split_ring.h"

namespace hull::vmm::virtio::balloon {
namespace {

using virtio::testing::Buffer;
using virtio::testing::Bytes;
using virtio::testing::CountingIrqLine;
using virtio::testing::FakeInterrupt;
using virtio::testing::Fill;
using virtio::testing::SplitRing;
using virtio::testing::UsedElem;

// Guest RAM as a VMM lays it out, small: low RAM [0, 1 MiB) with a second
// region touching it at 1 MiB, the MMIO hole, then RAM above 4 GiB.
constexpr uint64_t kLowSize = 0x100000;
constexpr uint64_t kTouchingBase = kLowSize;  // [1 MiB, 1 MiB + 256 KiB)
constexpr uint64_t kTouchingSize = 0x40000;
constexpr uint64_t kHighBase = 0x1'0000'0000;  // [4 GiB, 4 GiB + 1 MiB)
constexpr uint64_t kHighSize = 0x100000;

constexpr uint32_t Pfn(uint64_t addr) { return static_cast<uint32_t>(addr >> 12); }
constexpr uint32_t kHighPfn = Pfn(kHighBase);
constexpr uint32_t kHolePfn = Pfn(0xd000'0000);               // in the MMIO hole
constexpr uint32_t kPastRamPfn = Pfn(kHighBase + kHighSize);  // first page after RAM

// Rings low; page lists and stats buffers from kListBase; the pages the
// guest gives away in the high region (and the touching one).
constexpr uint64_t kListBase = 0x10000;
constexpr uint64_t kStatsBuffer = 0x20000;
constexpr uint16_t kQueueSize = 8;

constexpr uint64_t kFeatures = kFeatureVersion1 | kFeatureStatsVq;

GuestMemory MakeMemory() {
  Result<GuestMemory> memory = GuestMemory::Create({{GuestAddress(0), kLowSize},
                                                    {GuestAddress(kTouchingBase), kTouchingSize},
                                                    {GuestAddress(kHighBase), kHighSize}});
  HULL_CHECK(memory.ok());
  return std::move(memory).value();
}

int64_t AllocatedBlocks(const GuestMemory& memory, uint64_t addr) {
  struct stat st {};
  HULL_CHECK(::fstat(memory.FindRegion(GuestAddress(addr))->memfd(), &st) == 0);
  return static_cast<int64_t>(st.st_blocks);
}

std::vector<uint8_t> Le32s(std::initializer_list<uint32_t> values) {
  std::vector<uint8_t> bytes(values.size() * 4);
  size_t at = 0;
  for (uint32_t v : values) {
    std::memcpy(bytes.data() + at, &v, 4);
    at += 4;
  }
  return bytes;
}

struct Stat {
  uint16_t tag;
  uint64_t value;
};
std::vector<uint8_t> StatBytes(std::initializer_list<Stat> stats) {
  std::vector<uint8_t> bytes(stats.size() * kStatEntrySize);
  size_t at = 0;
  for (const Stat& s : stats) {
    std::memcpy(bytes.data() + at, &s.tag, 2);
    std::memcpy(bytes.data() + at + 2, &s.value, 8);
    at += kStatEntrySize;
  }
  return bytes;
}

class BalloonDeviceTest : public ::testing::Test {
 protected:
  BalloonDeviceTest()
      : memory_(MakeMemory()),
        inflate_(memory_, kQueueSize, GuestAddress(0x1000), GuestAddress(0x1200),
                 GuestAddress(0x1400)),
        deflate_(memory_, kQueueSize, GuestAddress(0x2000), GuestAddress(0x2200),
                 GuestAddress(0x2400)),
        stats_(memory_, kQueueSize, GuestAddress(0x3000), GuestAddress(0x3200),
               GuestAddress(0x3400)) {
    Result<std::unique_ptr<BalloonDevice>> device = BalloonDevice::Create({.queue_size = 8});
    HULL_CHECK(device.ok());
    device_ = std::move(device).value();
  }

  void Activate(uint64_t features = kFeatures) {
    for (SplitRing* ring : {&inflate_, &deflate_, &stats_}) {
      queues_.push_back(ring->MakeQueue(kFeatureVersion1, kQueueSize));
    }
    ASSERT_TRUE(device_->Activate(memory_, queues_, features, interrupt_).ok());
  }

  // The driver's side of §5.5.6: one page list per chain.
  void Send(SplitRing& ring, const std::vector<uint8_t>& list, uint64_t at = kListBase) {
    Fill(memory_, at, list);
    ring.AddChain({{at, static_cast<uint32_t>(list.size()), false}});
  }
  void Inflate(const std::vector<uint8_t>& list) {
    Send(inflate_, list);
    ASSERT_TRUE(device_->ProcessQueue(kInflateQueue).ok());
  }
  void QueueStats(const std::vector<uint8_t>& stats, uint64_t at = kStatsBuffer) {
    Fill(memory_, at, stats);
    stats_.AddChain({{at, static_cast<uint32_t>(stats.size()), false}});
  }

  // Fills [addr, addr + len) with a pattern, as a guest using the pages.
  void Touch(uint64_t addr, uint64_t len) { Fill(memory_, addr, std::vector<uint8_t>(len, 0xa5)); }
  bool ReadsZero(uint64_t addr, uint64_t len) {
    const std::vector<uint8_t> bytes = Bytes(memory_, addr, len);
    return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
  }
  bool ReadsPattern(uint64_t addr, uint64_t len) {
    const std::vector<uint8_t> bytes = Bytes(memory_, addr, len);
    return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0xa5; });
  }

  uint32_t ReadConfig32(uint64_t offset) {
    std::array<uint8_t, 4> bytes{};
    device_->ReadConfig(offset, bytes);
    uint32_t value;
    std::memcpy(&value, bytes.data(), 4);
    return value;
  }
  void WriteConfig(uint64_t offset, std::vector<uint8_t> bytes) {
    device_->WriteConfig(offset, bytes);
  }

  const BalloonMetrics& metrics() const { return device_->metrics(); }

  GuestMemory memory_;
  SplitRing inflate_;
  SplitRing deflate_;
  SplitRing stats_;
  std::vector<Queue> queues_;
  FakeInterrupt interrupt_;
  std::unique_ptr<BalloonDevice> device_;
};

// --- Identity and configuration (§5.5.1-§5.5.4) ---

TEST(BalloonDevice, IsABalloonWithThreeQueuesOfferingStats) {
  Result<std::unique_ptr<BalloonDevice>> device = BalloonDevice::Create();
  ASSERT_TRUE(device.ok());
  EXPECT_EQ((*device)->device_id(), 5u);
  EXPECT_EQ((*device)->device_features(), kFeatureStatsVq);
  ASSERT_EQ((*device)->queue_max_sizes().size(), 3u);
  for (uint16_t size : (*device)->queue_max_sizes()) EXPECT_EQ(size, 256);
}

TEST(BalloonDevice, OffersDeflateOnOomOnlyWhenAskedAndStatsUnlessTurnedOff) {
  auto both = BalloonDevice::Create({.deflate_on_oom = true});
  ASSERT_TRUE(both.ok());
  EXPECT_EQ((*both)->device_features(), kFeatureStatsVq | kFeatureDeflateOnOom);
  auto neither = BalloonDevice::Create({.stats = false});
  ASSERT_TRUE(neither.ok());
  EXPECT_EQ((*neither)->device_features(), 0u);
}

TEST(BalloonDevice, RejectsQueueSizesThatAreNotPowersOfTwo) {
  for (uint16_t size : {uint16_t{0}, uint16_t{3}, uint16_t{65535}}) {
    auto device = BalloonDevice::Create({.queue_size = size});
    ASSERT_FALSE(device.ok()) << size;
    EXPECT_EQ(device.error().code(), EINVAL);
  }
}

TEST_F(BalloonDeviceTest, SetTargetPagesSaysWhetherTheTargetChanged) {
  EXPECT_EQ(device_->target_pages(), 0u);
  EXPECT_FALSE(device_->SetTargetPages(0));
  EXPECT_TRUE(device_->SetTargetPages(0x1234));
  EXPECT_FALSE(device_->SetTargetPages(0x1234));
  EXPECT_TRUE(device_->SetTargetPages(7));
  EXPECT_EQ(device_->target_pages(), 7u);
}

TEST_F(BalloonDeviceTest, ConfigReadsTheTargetAndActualLittleEndian) {
  ASSERT_TRUE(device_->SetTargetPages(0x01020304));
  WriteConfig(kConfigActualOffset, {0x0d, 0x0c, 0x0b, 0x0a});
  EXPECT_EQ(ReadConfig32(kConfigNumPagesOffset), 0x01020304u);
  EXPECT_EQ(ReadConfig32(kConfigActualOffset), 0x0a0b0c0du);
  std::array<uint8_t, 8> whole{};
  device_->ReadConfig(0, whole);
  EXPECT_EQ(whole, (std::array<uint8_t, 8>{4, 3, 2, 1, 0x0d, 0x0c, 0x0b, 0x0a}));
  std::array<uint8_t, 1> byte{};
  device_->ReadConfig(1, byte);
  EXPECT_EQ(byte[0], 3);
  // Past the two fields, or straddling the end: all-ones.
  EXPECT_EQ(ReadConfig32(8), 0xffff'ffffu);
  EXPECT_EQ(ReadConfig32(6), 0xffff'ffffu);
}

TEST_F(BalloonDeviceTest, TheDriverMayWriteOnlyActualAsAnAlignedLe32) {
  ASSERT_TRUE(device_->SetTargetPages(100));
  WriteConfig(kConfigActualOffset, {42, 0, 0, 0});
  EXPECT_EQ(device_->actual_pages(), 42u);
  WriteConfig(kConfigNumPagesOffset, {1, 0, 0, 0});            // num_pages is the device's
  WriteConfig(kConfigActualOffset, {9, 0});                    // too narrow
  WriteConfig(kConfigActualOffset + 1, {9});                   // unaligned
  WriteConfig(kConfigActualOffset, {9, 0, 0, 0, 0, 0, 0, 0});  // too wide
  WriteConfig(2, {9, 0, 0, 0});                                // straddling both
  WriteConfig(8, {9, 0, 0, 0});                                // past the end
  EXPECT_EQ(device_->target_pages(), 100u);
  EXPECT_EQ(device_->actual_pages(), 42u);
  EXPECT_EQ(metrics().ignored_config_writes, 6u);
}

// --- Inflate (§5.5.6) ---

TEST_F(BalloonDeviceTest, InflateReleasesThePagesToTheHost) {
  Activate();
  Touch(kHighBase, 0x20000);
  const int64_t before = AllocatedBlocks(memory_, kHighBase);
  // Pages 2..5 in the allocator's descending order, page 9 alone, and page
  // 3 again.
  Inflate(
      Le32s({kHighPfn + 5, kHighPfn + 4, kHighPfn + 3, kHighPfn + 2, kHighPfn + 9, kHighPfn + 3}));

  ASSERT_EQ(inflate_.UsedIdx(), 1);
  EXPECT_EQ(inflate_.Used(0), (UsedElem{0, 0}));
  EXPECT_EQ(interrupt_.used_buffer, 1);
  EXPECT_EQ(AllocatedBlocks(memory_, kHighBase), before - 5 * 4096 / 512);
  EXPECT_TRUE(ReadsZero(kHighBase + 0x2000, 0x4000));
  EXPECT_TRUE(ReadsZero(kHighBase + 0x9000, 0x1000));
  EXPECT_TRUE(ReadsPattern(kHighBase, 0x2000));
  EXPECT_TRUE(ReadsPattern(kHighBase + 0x6000, 0x3000));
  EXPECT_TRUE(ReadsPattern(kHighBase + 0xa000, 0x16000));
  EXPECT_EQ(metrics().inflate_requests, 1u);
  EXPECT_EQ(metrics().inflated_pages, 6u);
  EXPECT_EQ(metrics().released_bytes, 5u * 4096);
  EXPECT_EQ(metrics().discard_errors, 0u);
}

TEST_F(BalloonDeviceTest, ARunAcrossTwoTouchingRegionsIsReleasedFromBoth) {
  Activate();
  Touch(kTouchingBase - 0x1000, 0x1000);  // one access may not span two regions
  Touch(kTouchingBase, 0x1000);
  Inflate(Le32s({Pfn(kTouchingBase) - 1, Pfn(kTouchingBase)}));
  EXPECT_TRUE(ReadsZero(kTouchingBase - 0x1000, 0x1000));
  EXPECT_TRUE(ReadsZero(kTouchingBase, 0x1000));
  EXPECT_EQ(metrics().released_bytes, 2u * 4096);
  EXPECT_EQ(metrics().discard_errors, 0u);
}

TEST_F(BalloonDeviceTest, APageListMayBeSplitAcrossDescriptorsAnywhere) {
  Activate();
  Touch(kHighBase, 0x2000);
  // §2.7.4: the device must not assume the driver's split.
  Fill(memory_, kListBase, Le32s({kHighPfn}));
  Fill(memory_, kListBase + 0x100, Le32s({kHighPfn + 1}));
  inflate_.AddChain(
      {{kListBase, 3, false}, {kListBase + 3, 1, false}, {kListBase + 0x100, 4, false}});
  ASSERT_TRUE(device_->ProcessQueue(kInflateQueue).ok());
  EXPECT_TRUE(ReadsZero(kHighBase, 0x2000));
  EXPECT_EQ(metrics().inflated_pages, 2u);
}

TEST_F(BalloonDeviceTest, PfnsOutsideGuestRamAreCountedAndSkipped) {
  Activate();
  Touch(kHighBase, 0x1000);
  Inflate(
      Le32s({kHolePfn, kPastRamPfn, 0xffff'ffff, kHighPfn, Pfn(kTouchingBase + kTouchingSize)}));
  ASSERT_EQ(inflate_.UsedIdx(), 1);
  EXPECT_EQ(metrics().invalid_pfns, 4u);
  EXPECT_EQ(metrics().inflated_pages, 1u);
  EXPECT_TRUE(ReadsZero(kHighBase, 0x1000));
  EXPECT_EQ(metrics().released_bytes, 4096u);
}

TEST_F(BalloonDeviceTest, PageListsThatAreNotWholePfnsAreSkippedWhole) {
  Activate();
  Touch(kHighBase, 0x1000);
  std::vector<uint8_t> odd = Le32s({kHighPfn, kHighPfn});
  odd.resize(6);
  Inflate(odd);
  // One PFN and a writable buffer: not a page list either.
  Fill(memory_, kListBase, Le32s({kHighPfn}));
  inflate_.AddChain({{kListBase, 4, false}, {kListBase + 0x100, 4, true}});
  // More PFNs than one request may carry.
  std::vector<uint8_t> huge(4 * (kMaxPfnsPerRequest + 1), 0);
  for (size_t i = 0; i < huge.size(); i += 4) std::memcpy(&huge[i], &kHighPfn, 4);
  Send(inflate_, huge, kListBase + 0x1000);
  ASSERT_TRUE(device_->ProcessQueue(kInflateQueue).ok());

  EXPECT_EQ(inflate_.UsedIdx(), 3);
  EXPECT_EQ(metrics().invalid_requests, 3u);
  EXPECT_EQ(metrics().inflated_pages, 0u);
  EXPECT_TRUE(ReadsPattern(kHighBase, 0x1000));
}

TEST_F(BalloonDeviceTest, TheLongestAllowedPageListIsServed) {
  Activate();
  Touch(kHighBase, 0x1000);
  std::vector<uint8_t> full(4 * kMaxPfnsPerRequest, 0);
  for (size_t i = 0; i < full.size(); i += 4) std::memcpy(&full[i], &kHighPfn, 4);
  Inflate(full);
  EXPECT_EQ(metrics().inflated_pages, kMaxPfnsPerRequest);
  EXPECT_EQ(metrics().released_bytes, 4096u);  // the same page, once
  EXPECT_TRUE(ReadsZero(kHighBase, 0x1000));
}

TEST_F(BalloonDeviceTest, AnEmptyPageListIsANoOp) {
  Activate();
  inflate_.AddChain({{kListBase, 0, false}});
  ASSERT_TRUE(device_->ProcessQueue(kInflateQueue).ok());
  EXPECT_EQ(inflate_.UsedIdx(), 1);
  EXPECT_EQ(metrics().invalid_requests, 0u);
  EXPECT_EQ(metrics().inflated_pages, 0u);
}

TEST_F(BalloonDeviceTest, ABrokenRingIsADeviceError) {
  Activate();
  inflate_.SetAvailIdx(100);
  EXPECT_FALSE(device_->ProcessQueue(kInflateQueue).ok());
}

// --- Deflate (§5.5.6) ---

TEST_F(BalloonDeviceTest, DeflateCountsPagesAndTouchesNothing) {
  Activate();
  Touch(kHighBase, 0x2000);
  Send(deflate_, Le32s({kHighPfn, kHighPfn + 1, kHolePfn}));
  ASSERT_TRUE(device_->ProcessQueue(kDeflateQueue).ok());
  ASSERT_EQ(deflate_.UsedIdx(), 1);
  EXPECT_EQ(deflate_.Used(0), (UsedElem{0, 0}));
  EXPECT_EQ(interrupt_.used_buffer, 1);
  EXPECT_EQ(metrics().deflate_requests, 1u);
  EXPECT_EQ(metrics().deflated_pages, 2u);
  EXPECT_EQ(metrics().invalid_pfns, 1u);
  EXPECT_EQ(metrics().released_bytes, 0u);
  EXPECT_TRUE(ReadsPattern(kHighBase, 0x2000));
}

TEST_F(BalloonDeviceTest, ADeflatedPageIsTheGuestsAgainStartingZeroed) {
  Activate();
  Touch(kHighBase, 0x1000);
  Inflate(Le32s({kHighPfn}));
  Send(deflate_, Le32s({kHighPfn}));
  ASSERT_TRUE(device_->ProcessQueue(kDeflateQueue).ok());
  EXPECT_TRUE(ReadsZero(kHighBase, 0x1000));
  Touch(kHighBase, 0x1000);
  EXPECT_TRUE(ReadsPattern(kHighBase, 0x1000));
  EXPECT_EQ(metrics().inflated_pages, 1u);
  EXPECT_EQ(metrics().deflated_pages, 1u);
}

// --- Statistics (§5.5.6.3) ---

TEST(BalloonParseStats, ReadsEveryTagTheSpecDefines) {
  const ParsedStats parsed = ParseStats(StatBytes({{kStatSwapIn, 1},
                                                   {kStatSwapOut, 2},
                                                   {kStatMajorFaults, 3},
                                                   {kStatMinorFaults, 4},
                                                   {kStatFreeMemory, 5},
                                                   {kStatTotalMemory, 6},
                                                   {kStatAvailableMemory, 7},
                                                   {kStatDiskCaches, 8},
                                                   {kStatHugetlbAllocations, 9},
                                                   {kStatHugetlbFailures, 10}}));
  EXPECT_EQ(parsed.entries, 10u);
  EXPECT_EQ(parsed.unknown_tags, 0u);
  EXPECT_FALSE(parsed.partial_entry);
  const BalloonStats& s = parsed.stats;
  EXPECT_EQ(s.swap_in_bytes, 1u);
  EXPECT_EQ(s.swap_out_bytes, 2u);
  EXPECT_EQ(s.major_faults, 3u);
  EXPECT_EQ(s.minor_faults, 4u);
  EXPECT_EQ(s.free_bytes, 5u);
  EXPECT_EQ(s.total_bytes, 6u);
  EXPECT_EQ(s.available_bytes, 7u);
  EXPECT_EQ(s.disk_caches_bytes, 8u);
  EXPECT_EQ(s.hugetlb_allocations, 9u);
  EXPECT_EQ(s.hugetlb_failures, 10u);
  EXPECT_FALSE(s.received.has_value());
}

TEST(BalloonParseStats, SkipsUnknownTagsAndLetsALaterEntryWin) {
  const ParsedStats parsed =
      ParseStats(StatBytes({{kStatFreeMemory, 1}, {10, 99}, {0xffff, 98}, {kStatFreeMemory, 2}}));
  EXPECT_EQ(parsed.entries, 4u);
  EXPECT_EQ(parsed.unknown_tags, 2u);
  EXPECT_EQ(parsed.stats.free_bytes, 2u);
  EXPECT_FALSE(parsed.stats.total_bytes.has_value());
}

TEST(BalloonParseStats, IgnoresAPartialTrailingEntry) {
  std::vector<uint8_t> bytes =
      StatBytes({{kStatTotalMemory, 0x1122334455667788}, {kStatFreeMemory, 1}});
  bytes.resize(bytes.size() - 1);
  const ParsedStats parsed = ParseStats(bytes);
  EXPECT_EQ(parsed.entries, 1u);
  EXPECT_TRUE(parsed.partial_entry);
  EXPECT_EQ(parsed.stats.total_bytes, 0x1122334455667788u);
  EXPECT_FALSE(parsed.stats.free_bytes.has_value());
}

TEST(BalloonParseStats, OfNothingIsEmpty) {
  for (size_t len : {size_t{0}, size_t{1}, size_t{9}}) {
    const std::vector<uint8_t> bytes(len, 0);
    const ParsedStats parsed = ParseStats(bytes);
    EXPECT_EQ(parsed.entries, 0u);
    EXPECT_EQ(parsed.partial_entry, len != 0);
    EXPECT_EQ(parsed.stats, BalloonStats{});
  }
}

TEST_F(BalloonDeviceTest, ReadsTheStatsBufferQueuedBeforeDriverOk) {
  // Linux primes statsq in probe and kicks before DRIVER_OK.
  QueueStats(StatBytes({{kStatTotalMemory, 1 << 30}, {kStatFreeMemory, 1 << 20}}));
  Activate();
  const BalloonStats& stats = device_->LastStats();
  EXPECT_EQ(stats.total_bytes, uint64_t{1} << 30);
  EXPECT_EQ(stats.free_bytes, uint64_t{1} << 20);
  EXPECT_TRUE(stats.received.has_value());
  EXPECT_EQ(metrics().stats_updates, 1u);
  // The device keeps the buffer.
  EXPECT_EQ(stats_.UsedIdx(), 0);
  EXPECT_EQ(interrupt_.used_buffer, 0);
}

TEST_F(BalloonDeviceTest, RequestStatsHandsTheBufferBackForFreshNumbers) {
  Activate();
  Result<bool> none = device_->RequestStats();
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(*none);  // no buffer yet

  QueueStats(StatBytes({{kStatFreeMemory, 100}}));
  ASSERT_TRUE(device_->ProcessQueue(kStatsQueue).ok());
  EXPECT_EQ(stats_.UsedIdx(), 0);
  Result<bool> returned = device_->RequestStats();
  ASSERT_TRUE(returned.ok());
  EXPECT_TRUE(*returned);
  ASSERT_EQ(stats_.UsedIdx(), 1);
  EXPECT_EQ(stats_.Used(0), (UsedElem{0, 0}));
  EXPECT_EQ(interrupt_.used_buffer, 1);
  // Not again until the driver answers.
  Result<bool> again = device_->RequestStats();
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);

  // The driver refills the buffer and queues it again.
  QueueStats(StatBytes({{kStatFreeMemory, 50}, {kStatAvailableMemory, 70}}));
  ASSERT_TRUE(device_->ProcessQueue(kStatsQueue).ok());
  EXPECT_EQ(device_->LastStats().free_bytes, 50u);
  EXPECT_EQ(device_->LastStats().available_bytes, 70u);
  EXPECT_EQ(metrics().stats_updates, 2u);
  EXPECT_EQ(metrics().stats_requests, 1u);
  EXPECT_EQ(stats_.UsedIdx(), 1);
}

TEST_F(BalloonDeviceTest, EachStatsBufferReplacesTheWholeSet) {
  Activate();
  QueueStats(StatBytes({{kStatFreeMemory, 1}, {kStatSwapIn, 2}}));
  ASSERT_TRUE(device_->ProcessQueue(kStatsQueue).ok());
  ASSERT_TRUE(device_->RequestStats().ok());
  QueueStats(StatBytes({{kStatFreeMemory, 3}}));
  ASSERT_TRUE(device_->ProcessQueue(kStatsQueue).ok());
  EXPECT_EQ(device_->LastStats().free_bytes, 3u);
  EXPECT_FALSE(device_->LastStats().swap_in_bytes.has_value());
}

TEST_F(BalloonDeviceTest, ASecondStatsBufferReplacesTheFirstWhichGoesBack) {
  Activate();
  QueueStats(StatBytes({{kStatFreeMemory, 1}}), kStatsBuffer);
  QueueStats(StatBytes({{kStatFreeMemory, 2}}), kStatsBuffer + 0x100);
  ASSERT_TRUE(device_->ProcessQueue(kStatsQueue).ok());
  ASSERT_EQ(stats_.UsedIdx(), 1);
  EXPECT_EQ(stats_.Used(0), (UsedElem{0, 0}));
  EXPECT_EQ(interrupt_.used_buffer, 1);
  EXPECT_EQ(device_->LastStats().free_bytes, 2u);
  ASSERT_TRUE(device_->RequestStats().ok());
  EXPECT_EQ(stats_.Used(1), (UsedElem{1, 0}));
}

TEST_F(BalloonDeviceTest, TruncatedAndOverlongStatsBuffersAreClampedToWholeEntries) {
  Activate();
  std::vector<uint8_t> partial = StatBytes({{kStatFreeMemory, 7}, {kStatTotalMemory, 8}});
  partial.resize(15);
  QueueStats(partial);
  ASSERT_TRUE(device_->ProcessQueue(kStatsQueue).ok());
  EXPECT_EQ(device_->LastStats().free_bytes, 7u);
  EXPECT_FALSE(device_->LastStats().total_bytes.has_value());
  EXPECT_EQ(metrics().stats_truncated, 1u);

  // Entries past kMaxStatEntries are not read.
  ASSERT_TRUE(device_->RequestStats().ok());
  std::vector<uint8_t> overlong;
  for (size_t i = 0; i < kMaxStatEntries; ++i) {
    const std::vector<uint8_t> entry = StatBytes({{kStatFreeMemory, i}});
    overlong.insert(overlong.end(), entry.begin(), entry.end());
  }
  const std::vector<uint8_t> last = StatBytes({{kStatTotalMemory, 1}, {kStatFreeMemory, 999}});
  overlong.insert(overlong.end(), last.begin(), last.end());
  QueueStats(overlong);
  ASSERT_TRUE(device_->ProcessQueue(kStatsQueue).ok());
  EXPECT_EQ(device_->LastStats().free_bytes, kMaxStatEntries - 1);
  EXPECT_FALSE(device_->LastStats().total_bytes.has_value());
  EXPECT_EQ(metrics().stats_truncated, 2u);
}

TEST_F(BalloonDeviceTest, UnknownStatTagsAreCounted) {
  Activate();
  QueueStats(StatBytes({{kStatFreeMemory, 7}, {12, 1}, {200, 2}}));
  ASSERT_TRUE(device_->ProcessQueue(kStatsQueue).ok());
  EXPECT_EQ(device_->LastStats().free_bytes, 7u);
  EXPECT_EQ(metrics().stats_unknown_tags, 2u);
}

TEST_F(BalloonDeviceTest, StatsqIsIgnoredWhenStatsWereNotNegotiated) {
  QueueStats(StatBytes({{kStatFreeMemory, 7}}));
  Activate(kFeatureVersion1);
  ASSERT_TRUE(device_->ProcessQueue(kStatsQueue).ok());
  EXPECT_FALSE(device_->LastStats().received.has_value());
  Result<bool> requested = device_->RequestStats();
  ASSERT_TRUE(requested.ok());
  EXPECT_FALSE(*requested);
}

// --- Life cycle and the VMM's side ---

TEST_F(BalloonDeviceTest, ResetForgetsTheDriverButKeepsTheTarget) {
  ASSERT_TRUE(device_->SetTargetPages(64));
  QueueStats(StatBytes({{kStatFreeMemory, 7}}));
  Activate();
  WriteConfig(kConfigActualOffset, {10, 0, 0, 0});
  device_->Reset();
  EXPECT_EQ(device_->target_pages(), 64u);
  EXPECT_EQ(device_->actual_pages(), 0u);
  EXPECT_EQ(device_->LastStats().free_bytes, 7u);
  Result<bool> requested = device_->RequestStats();
  ASSERT_TRUE(requested.ok());
  EXPECT_FALSE(*requested);
  EXPECT_TRUE(device_->ProcessQueue(kInflateQueue).ok());  // inactive: nothing
}

TEST_F(BalloonDeviceTest, ActivationWantsThreeQueues) {
  std::vector<Queue> two;
  two.push_back(inflate_.MakeQueue(kFeatureVersion1, kQueueSize));
  two.push_back(deflate_.MakeQueue(kFeatureVersion1, kQueueSize));
  EXPECT_FALSE(device_->Activate(memory_, two, kFeatures, interrupt_).ok());
}

TEST_F(BalloonDeviceTest, CountersNameWhatHappened) {
  Activate();
  Touch(kHighBase, 0x1000);
  Inflate(Le32s({kHighPfn, kHolePfn}));
  const std::vector<VirtioDevice::Counter> counters = device_->counters();
  auto value = [&](const std::string& name) -> uint64_t {
    for (const VirtioDevice::Counter& c : counters) {
      if (name == c.name) return c.value;
    }
    ADD_FAILURE() << "no counter " << name;
    return 0;
  };
  EXPECT_EQ(value("inflated_pages"), 1u);
  EXPECT_EQ(value("released_bytes"), 4096u);
  EXPECT_EQ(value("invalid_pfns"), 1u);
  EXPECT_EQ(value("deflated_pages"), 0u);
  EXPECT_EQ(value("stats_updates"), 0u);
  EXPECT_EQ(value("discard_errors"), 0u);
}

// Through the transport, as hull-vmm drives it: a new target raises the
// configuration interrupt once the driver runs; the same target does not.
TEST(BalloonThroughTransport, ANewTargetRaisesAConfigInterrupt) {
  const GuestMemory memory = MakeMemory();
  int irqs = 0;
  auto device = BalloonDevice::Create();
  ASSERT_TRUE(device.ok());
  MmioTransport transport("virtio-balloon0", std::move(device).value(), memory,
                          std::make_unique<CountingIrqLine>(&irqs));
  auto write = [&](uint64_t offset, uint32_t value) {
    std::array<uint8_t, 4> bytes;
    std::memcpy(bytes.data(), &value, 4);
    transport.Write(offset, bytes);
  };
  auto set_target = [&](uint32_t pages) {
    return transport.UpdateDevice([pages](VirtioDevice& d) -> Result<bool> {
      return static_cast<BalloonDevice&>(d).SetTargetPages(pages);
    });
  };
  // §3.1.1: ACKNOWLEDGE, DRIVER, features (VERSION_1 | STATS_VQ), FEATURES_OK, DRIVER_OK.
  write(0x070, 1);
  write(0x070, 3);
  write(0x024, 0);
  write(0x020, static_cast<uint32_t>(kFeatureStatsVq));
  write(0x024, 1);
  write(0x020, 1);
  write(0x070, 11);
  write(0x070, 15);
  ASSERT_EQ(transport.status(), 15u);

  ASSERT_TRUE(set_target(256).ok());
  EXPECT_EQ(irqs, 1);
  EXPECT_EQ(transport.interrupt_status() & kInterruptConfig, kInterruptConfig);
  ASSERT_TRUE(set_target(256).ok());
  EXPECT_EQ(irqs, 1);
  const uint32_t target = transport.InspectDevice(
      [](const VirtioDevice& d) { return static_cast<const BalloonDevice&>(d).target_pages(); });
  EXPECT_EQ(target, 256u);
  std::array<uint8_t, 4> config{};
  transport.Read(MmioTransport::kConfigOffset + kConfigNumPagesOffset, config);
  EXPECT_EQ(config, (std::array<uint8_t, 4>{0, 1, 0, 0}));
  // No stats buffer yet: RequestStats answers false, no config change.
  ASSERT_TRUE(transport
                  .UpdateDevice([](VirtioDevice& d) -> Result<bool> {
                    HULL_ASSIGN_OR_RETURN(const bool returned,
                                          static_cast<BalloonDevice&>(d).RequestStats());
                    EXPECT_FALSE(returned);
                    return false;
                  })
                  .ok());
  EXPECT_EQ(irqs, 1);
}

}  // namespace
}  // namespace hull::vmm::virtio::balloon
