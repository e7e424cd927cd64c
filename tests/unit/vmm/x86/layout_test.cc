#include "hull/vmm/x86/layout.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <string>
#include <vector>

namespace hull::vmm::x86 {
namespace {

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(X86Layout, SmallGuestsHaveOneRegionFromZero) {
  Result<std::vector<RegionSpec>> regions = GuestRamRegions(128 * kMiB);
  ASSERT_TRUE(regions.ok()) << regions.error().ToString();
  ASSERT_EQ(regions->size(), 1u);
  EXPECT_EQ((*regions)[0].base, GuestAddress(0));
  EXPECT_EQ((*regions)[0].size, 128 * kMiB);
}

TEST(X86Layout, ExactlyThreeGiBStaysBelowTheHole) {
  Result<std::vector<RegionSpec>> regions = GuestRamRegions(3 * kGiB);
  ASSERT_TRUE(regions.ok());
  ASSERT_EQ(regions->size(), 1u);
  EXPECT_EQ((*regions)[0].size, 3 * kGiB);
}

TEST(X86Layout, MemoryAboveThreeGiBContinuesAtFourGiB) {
  Result<std::vector<RegionSpec>> regions = GuestRamRegions(5 * kGiB);
  ASSERT_TRUE(regions.ok());
  ASSERT_EQ(regions->size(), 2u);
  EXPECT_EQ((*regions)[0].base, GuestAddress(0));
  EXPECT_EQ((*regions)[0].size, 3 * kGiB);
  EXPECT_EQ((*regions)[1].base, GuestAddress(4 * kGiB));
  EXPECT_EQ((*regions)[1].size, 2 * kGiB);
}

TEST(X86Layout, RejectsLessThan64MiBSayingTheMinimum) {
  Result<std::vector<RegionSpec>> regions = GuestRamRegions(63 * kMiB);
  ASSERT_FALSE(regions.ok());
  EXPECT_EQ(regions.error().code(), EINVAL);
  EXPECT_TRUE(Contains(regions.error().message(), "at least 64 MiB")) << regions.error().message();
}

TEST(X86Layout, RejectsSizesThatAreNotWholePages) {
  Result<std::vector<RegionSpec>> regions = GuestRamRegions(128 * kMiB + 512);
  ASSERT_FALSE(regions.ok());
  EXPECT_TRUE(Contains(regions.error().message(), "4096-byte pages")) << regions.error().message();
}

TEST(X86Layout, RejectsMoreThanTheMaximum) {
  EXPECT_FALSE(GuestRamRegions(kMaxGuestMemory + kGuestPageSize).ok());
  EXPECT_TRUE(GuestRamRegions(kMaxGuestMemory).ok());
  EXPECT_FALSE(GuestRamRegions(UINT64_MAX & ~(kGuestPageSize - 1)).ok());
}

TEST(X86Layout, VirtioSlotsArePagesApartWithLinesFromFive) {
  EXPECT_EQ(VirtioMmioAddress(0), 0xD000'0000u);
  EXPECT_EQ(VirtioMmioAddress(2), 0xD000'2000u);
  EXPECT_EQ(VirtioMmioGsi(0), 5u);
  EXPECT_EQ(VirtioMmioGsi(kMaxVirtioMmioDevices - 1), 23u);
}

TEST(E820Map, For128MiBHasTheLegacyHolesAndOneRamRangeAboveOneMiB) {
  Result<std::vector<E820Entry>> map = BuildE820(128 * kMiB);
  ASSERT_TRUE(map.ok());
  const std::vector<E820Entry> expected = {
      {.addr = 0, .size = 0x9FC00, .type = kE820Ram},
      {.addr = 0x9FC00, .size = 0x400, .type = kE820Reserved},
      {.addr = 0xF0000, .size = 0x10000, .type = kE820Reserved},
      {.addr = 0x100000, .size = 127 * kMiB, .type = kE820Ram},
  };
  EXPECT_EQ(*map, expected);
}

TEST(E820Map, For3GiBEndsRamAtTheHole) {
  Result<std::vector<E820Entry>> map = BuildE820(3 * kGiB);
  ASSERT_TRUE(map.ok());
  ASSERT_EQ(map->size(), 4u);
  EXPECT_EQ(map->back().addr + map->back().size, 0xC000'0000u);
}

TEST(E820Map, For5GiBAddsTwoGiBAtFourGiB) {
  Result<std::vector<E820Entry>> map = BuildE820(5 * kGiB);
  ASSERT_TRUE(map.ok());
  ASSERT_EQ(map->size(), 5u);
  EXPECT_EQ((*map)[3], (E820Entry{.addr = kMiB, .size = 3 * kGiB - kMiB, .type = kE820Ram}));
  EXPECT_EQ((*map)[4], (E820Entry{.addr = 4 * kGiB, .size = 2 * kGiB, .type = kE820Ram}));
}

TEST(E820Map, RejectsWhatGuestRamRegionsRejects) {
  EXPECT_FALSE(BuildE820(16 * kMiB).ok());
  EXPECT_FALSE(BuildE820(128 * kMiB + 1).ok());
}

}  // namespace
}  // namespace hull::vmm::x86
