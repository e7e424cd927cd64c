#include "hull/vmm/memory/guest_memory.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <limits>
#include <ostream>
#include <utility>
#include <vector>

namespace hull::vmm {
namespace {

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
constexpr uint64_t kLowSize = 0x10000;                // [0, 0x10000)
constexpr uint64_t kHighBase = 0x20000;               // [0x20000, 0x30000)
constexpr uint64_t kTopBase = 0xffff'ffff'ffff'0000;  // [kTopBase, kTopBase + 0x1000)

// Low RAM, a hole, RAM right after it, a gap, and a page near the top of the
// address space for the overflow cases.
GuestMemory MakeMemory() {
  Result<GuestMemory> memory = GuestMemory::Create({
      {GuestAddress(0), kLowSize},
      {GuestAddress(kHighBase), 0x10000},
      {GuestAddress(kHighBase + 0x10000), 0x1000},
      {GuestAddress(kTopBase), 0x1000},
  });
  EXPECT_TRUE(memory.ok()) << memory.error().ToString();
  return std::move(memory).value();
}

struct SliceCase {
  const char* name;
  uint64_t addr;
  uint64_t len;
  bool ok;
};

// Names the case in test listings (gtest would otherwise print raw bytes,
// pointers included, which makes the discovered test names unstable).
void PrintTo(const SliceCase& c, std::ostream* os) { *os << c.name; }

class GuestMemorySlice : public ::testing::TestWithParam<SliceCase> {};

TEST_P(GuestMemorySlice, AcceptsExactlyTheRangesInsideOneRegion) {
  const GuestMemory memory = MakeMemory();
  const SliceCase& c = GetParam();
  Result<std::span<uint8_t>> slice = memory.Slice(GuestAddress(c.addr), c.len);
  EXPECT_EQ(slice.ok(), c.ok);
  if (slice.ok()) {
    EXPECT_EQ(slice->size(), c.len);
  } else {
    EXPECT_EQ(slice.error().code(), EFAULT);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Ranges, GuestMemorySlice,
    ::testing::Values(
        SliceCase{"InRange", 0x1000, 0x100, true}, SliceCase{"WholeRegion", 0, kLowSize, true},
        SliceCase{"TouchingTheEnd", kLowSize - 0x10, 0x10, true},
        SliceCase{"OneBytePastTheEnd", kLowSize - 0x10, 0x11, false},
        SliceCase{"StartingAtTheEnd", kLowSize, 1, false}, SliceCase{"InAHole", 0x18000, 1, false},
        SliceCase{"ZeroLengthInside", 0x1000, 0, true},
        SliceCase{"ZeroLengthInAHole", 0x18000, 0, false},
        SliceCase{"SpanningTwoAdjacentRegions", kHighBase + 0xfff0, 0x20, false},
        SliceCase{"HugeLengthFromLowRam", 0x1000, kMax, false},
        SliceCase{"AddrPlusLenOverflowsNearTheTop", kTopBase + 0x800, kMax - 0x10, false},
        SliceCase{"LastByteOfTheTopRegion", kTopBase + 0xfff, 1, true},
        SliceCase{"LastAddressOfTheSpace", kMax, 1, false}),
    [](const ::testing::TestParamInfo<SliceCase>& param_info) { return param_info.param.name; });

TEST(GuestMemoryCreate, RejectsOverlappingRegions) {
  Result<GuestMemory> memory = GuestMemory::Create({
      {GuestAddress(0x10000), 0x10000},
      {GuestAddress(0), 0x11000},
  });
  ASSERT_FALSE(memory.ok());
  EXPECT_EQ(memory.error().code(), EINVAL);
  EXPECT_NE(memory.error().message().find("overlap"), std::string::npos);
}

TEST(GuestMemoryCreate, RejectsTwoRegionsAtTheSameBase) {
  EXPECT_FALSE(GuestMemory::Create({{GuestAddress(0), 0x1000}, {GuestAddress(0), 0x1000}}).ok());
}

TEST(GuestMemoryCreate, AcceptsRegionsThatTouch) {
  EXPECT_TRUE(
      GuestMemory::Create({{GuestAddress(0), 0x1000}, {GuestAddress(0x1000), 0x1000}}).ok());
}

TEST(GuestMemoryCreate, RejectsEmptyUnalignedAndWrappingRegions) {
  EXPECT_FALSE(GuestMemory::Create(std::span<const RegionSpec>()).ok());
  EXPECT_FALSE(GuestMemory::Create({{GuestAddress(0), 0}}).ok());
  EXPECT_FALSE(GuestMemory::Create({{GuestAddress(0x800), 0x1000}}).ok());
  EXPECT_FALSE(GuestMemory::Create({{GuestAddress(0), 0x1800}}).ok());
  EXPECT_FALSE(GuestMemory::Create({{GuestAddress(kTopBase), 0x10000}}).ok());
}

TEST(GuestMemoryCreate, SortsRegionsByBase) {
  Result<GuestMemory> memory =
      GuestMemory::Create({{GuestAddress(0x10000), 0x1000}, {GuestAddress(0), 0x1000}});
  ASSERT_TRUE(memory.ok());
  ASSERT_EQ(memory->regions().size(), 2u);
  EXPECT_EQ(memory->regions()[0].base(), GuestAddress(0));
  EXPECT_EQ(memory->regions()[1].base(), GuestAddress(0x10000));
}

TEST(GuestMemory, WritesAreVisibleThroughTheMemfd) {
  const GuestMemory memory = MakeMemory();
  const std::array<uint8_t, 4> data = {0xde, 0xad, 0xbe, 0xef};
  ASSERT_TRUE(memory.Write(GuestAddress(kHighBase + 0x123), data).ok());

  const GuestRegion* region = memory.FindRegion(GuestAddress(kHighBase));
  ASSERT_NE(region, nullptr);
  std::array<uint8_t, 4> seen = {};
  ASSERT_EQ(::pread(region->memfd(), seen.data(), seen.size(), 0x123), 4);
  EXPECT_EQ(seen, data);
}

TEST(GuestMemory, WritesThroughTheMemfdAreVisibleToReads) {
  const GuestMemory memory = MakeMemory();
  const uint8_t byte = 0x5a;
  ASSERT_EQ(::pwrite(memory.regions()[0].memfd(), &byte, 1, 0x42), 1);
  std::array<uint8_t, 1> seen = {};
  ASSERT_TRUE(memory.Read(GuestAddress(0x42), seen).ok());
  EXPECT_EQ(seen[0], 0x5a);
}

struct Header {
  uint32_t magic;
  uint16_t version;
  uint16_t flags;
};

TEST(GuestMemory, ObjectsRoundTrip) {
  const GuestMemory memory = MakeMemory();
  const Header written = {.magic = 0x74726976, .version = 2, .flags = 7};
  ASSERT_TRUE(memory.WriteObject(GuestAddress(0x3000), written).ok());
  Result<Header> read = memory.ReadObject<Header>(GuestAddress(0x3000));
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->magic, written.magic);
  EXPECT_EQ(read->version, written.version);
  EXPECT_EQ(read->flags, written.flags);
  Result<uint32_t> magic = memory.ReadObject<uint32_t>(GuestAddress(0x3000));
  ASSERT_TRUE(magic.ok());
  EXPECT_EQ(*magic, 0x74726976u);  // little-endian, as the guest sees it
}

TEST(GuestMemory, ObjectAccessStraddlingTheEndFails) {
  const GuestMemory memory = MakeMemory();
  EXPECT_FALSE(memory.ReadObject<uint64_t>(GuestAddress(kLowSize - 4)).ok());
  EXPECT_FALSE(memory.WriteObject(GuestAddress(kLowSize - 4), uint64_t{1}).ok());
  EXPECT_TRUE(memory.ReadObject<uint32_t>(GuestAddress(kLowSize - 4)).ok());
}

TEST(GuestMemory, AFailedWriteChangesNothing) {
  const GuestMemory memory = MakeMemory();
  const std::vector<uint8_t> data(0x20, 0xff);
  ASSERT_FALSE(memory.Write(GuestAddress(kLowSize - 0x10), data).ok());
  Result<uint8_t> last = memory.ReadObject<uint8_t>(GuestAddress(kLowSize - 1));
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, 0);
}

TEST(GuestMemory, ErrorsNameTheRange) {
  const GuestMemory memory = MakeMemory();
  Result<std::span<uint8_t>> slice = memory.Slice(GuestAddress(0xfff0), 0x20);
  ASSERT_FALSE(slice.ok());
  EXPECT_NE(slice.error().message().find("0xfff0+0x20"), std::string::npos)
      << slice.error().message();
}

TEST(GuestMemory, FindRegionReturnsTheRegionHoldingTheAddress) {
  const GuestMemory memory = MakeMemory();
  const GuestRegion* region = memory.FindRegion(GuestAddress(kHighBase + 0x10000));
  ASSERT_NE(region, nullptr);
  EXPECT_EQ(region->base(), GuestAddress(kHighBase + 0x10000));
  EXPECT_EQ(memory.FindRegion(GuestAddress(0x18000)), nullptr);
}

// 512-byte blocks the memfd behind `region` holds (tmpfs counts whole pages).
int64_t AllocatedBlocks(const GuestRegion& region) {
  struct stat st {};
  EXPECT_EQ(::fstat(region.memfd(), &st), 0);
  return static_cast<int64_t>(st.st_blocks);
}

TEST(GuestMemoryDiscard, PunchesTheRangeOutOfTheMemfdSoItReadsZero) {
  const GuestMemory memory = MakeMemory();
  const GuestRegion& region = *memory.FindRegion(GuestAddress(kHighBase));
  std::vector<uint8_t> pattern(0x10000, 0xa5);
  ASSERT_TRUE(memory.Write(GuestAddress(kHighBase), pattern).ok());
  const int64_t before = AllocatedBlocks(region);
  ASSERT_GE(before, 0x10000 / 512);

  ASSERT_TRUE(memory.Discard(GuestAddress(kHighBase + 0x2000), 0x3000).ok());

  EXPECT_EQ(AllocatedBlocks(region), before - 0x3000 / 512);
  std::vector<uint8_t> seen(0x5000);
  ASSERT_TRUE(memory.Read(GuestAddress(kHighBase + 0x1000), seen).ok());
  // The pages around the hole keep their bytes; the hole reads as zeros.
  for (size_t i = 0; i < seen.size(); ++i) {
    const bool in_hole = i >= 0x1000 && i < 0x4000;
    ASSERT_EQ(seen[i], in_hole ? 0 : 0xa5) << "at offset " << i;
  }
  // Touching the hole (even reading: shmem has no shared zero page) brings
  // fresh pages back.
  EXPECT_EQ(AllocatedBlocks(region), before);
}

TEST(GuestMemoryDiscard, OfPagesNeverTouchedSucceeds) {
  const GuestMemory memory = MakeMemory();
  EXPECT_TRUE(memory.Discard(GuestAddress(0), kLowSize).ok());
  EXPECT_EQ(AllocatedBlocks(memory.regions()[0]), 0);
}

TEST(GuestMemoryDiscard, RejectsRangesThatAreNotWholePages) {
  const GuestMemory memory = MakeMemory();
  for (const auto& [addr, len] : std::vector<std::pair<uint64_t, uint64_t>>{
           {0x1800, 0x1000}, {0x1000, 0x800}, {0x1000, 0}, {0x1001, 0x1fff}}) {
    const Result<void> discarded = memory.Discard(GuestAddress(addr), len);
    ASSERT_FALSE(discarded.ok()) << addr << "+" << len;
    EXPECT_EQ(discarded.error().code(), EINVAL);
  }
}

TEST(GuestMemoryDiscard, RejectsRangesOutsideOneRegion) {
  const GuestMemory memory = MakeMemory();
  for (const auto& [addr, len] : std::vector<std::pair<uint64_t, uint64_t>>{
           {0x18000, 0x1000},               // in the hole
           {kLowSize - 0x1000, 0x2000},     // past the end of low RAM
           {kHighBase + 0xf000, 0x2000},    // across two regions that touch
           {kTopBase, 0x1'0000'0000'0000},  // addr + len wraps
           {0x1000, kMax - 0xfff}}) {       // huge
    const Result<void> discarded = memory.Discard(GuestAddress(addr), len);
    ASSERT_FALSE(discarded.ok()) << addr << "+" << len;
    EXPECT_EQ(discarded.error().code(), EFAULT);
  }
}

}  // namespace
}  // namespace hull::vmm

namespace hull::vmm {
namespace {

TEST(GuestMemoryAnonymous, IsHugePageAlignedHasNoMemfdAndDiscardsToZero) {
  Result<GuestMemory> created =
      GuestMemory::Create({{GuestAddress(0), 4 << 20}}, MemoryBacking::kAnonymous);
  ASSERT_TRUE(created.ok()) << created.error().ToString();
  const GuestMemory& memory = *created;
  const GuestRegion& region = memory.regions()[0];
  EXPECT_EQ(region.backing(), MemoryBacking::kAnonymous);
  EXPECT_EQ(region.memfd(), -1);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(region.host_address()) % (2 << 20), 0u);
  std::vector<uint8_t> pattern(0x4000, 0x3c);
  ASSERT_TRUE(memory.Write(GuestAddress(0x10000), pattern).ok());
  ASSERT_TRUE(memory.Discard(GuestAddress(0x11000), 0x2000).ok());
  std::vector<uint8_t> seen(0x4000);
  ASSERT_TRUE(memory.Read(GuestAddress(0x10000), seen).ok());
  for (size_t i = 0; i < seen.size(); ++i) {
    const bool in_hole = i >= 0x1000 && i < 0x3000;
    ASSERT_EQ(seen[i], in_hole ? 0 : 0x3c) << "at offset " << i;
  }
  EXPECT_FALSE(memory.Discard(GuestAddress(0x11000), 0x100).ok());
}

TEST(GuestMemoryMemfd, IsTheDefaultAndHugePageAligned) {
  Result<GuestMemory> created = GuestMemory::Create({{GuestAddress(0), 4 << 20}});
  ASSERT_TRUE(created.ok()) << created.error().ToString();
  EXPECT_EQ(created->regions()[0].backing(), MemoryBacking::kMemfd);
  EXPECT_GE(created->regions()[0].memfd(), 0);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(created->regions()[0].host_address()) % (2 << 20), 0u);
}

}  // namespace
}  // namespace hull::vmm
