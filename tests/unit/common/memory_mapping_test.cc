#include "hull/common/memory_mapping.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace hull {
namespace {

// mincore() fails with ENOMEM on an unmapped page.
bool IsMapped(void* page) {
  unsigned char vec = 0;
  return ::mincore(page, 1, &vec) == 0;
}

TEST(MemoryMapping, MapsAnonymousMemoryAndUnmapsOnDestruction) {
  void* address = nullptr;
  {
    Result<MemoryMapping> mapping =
        MemoryMapping::Map(4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_TRUE(mapping.ok()) << mapping.error().ToString();
    EXPECT_EQ(mapping->size(), 4096u);
    mapping->data()[4095] = 1;
    address = mapping->data();
    EXPECT_TRUE(IsMapped(address));
  }
  EXPECT_FALSE(IsMapped(address));
}

TEST(MemoryMapping, MoveKeepsTheAddress) {
  Result<MemoryMapping> mapping =
      MemoryMapping::Map(4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_TRUE(mapping.ok());
  uint8_t* address = mapping->data();
  MemoryMapping moved = std::move(mapping).value();
  EXPECT_EQ(moved.data(), address);
}

TEST(MemoryMapping, FailureNamesTheFd) {
  Result<MemoryMapping> mapping = MemoryMapping::Map(4096, PROT_READ, MAP_SHARED, 9999, 0);
  ASSERT_FALSE(mapping.ok());
  EXPECT_EQ(mapping.error().code(), EBADF);
  EXPECT_NE(mapping.error().message().find("fd 9999"), std::string::npos);
}

TEST(MemoryMapping, RejectsZeroLength) {
  EXPECT_FALSE(MemoryMapping::Map(0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0).ok());
}

}  // namespace
}  // namespace hull

namespace hull {
namespace {

TEST(MemoryMapping, MapAlignedAlignsAndGivesBackTheRestOfTheReservation) {
  constexpr size_t kAlign = size_t{2} << 20;
  constexpr size_t kLength = 3 * 4096;
  void* address = nullptr;
  {
    Result<MemoryMapping> mapping = MemoryMapping::MapAligned(
        kLength, kAlign, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_TRUE(mapping.ok()) << mapping.error().ToString();
    address = mapping->data();
    EXPECT_EQ(reinterpret_cast<uintptr_t>(address) % kAlign, 0u);
    EXPECT_EQ(mapping->size(), kLength);
    mapping->data()[kLength - 1] = 7;
    EXPECT_TRUE(IsMapped(address));
    // Nothing of the reservation is left around it.
    EXPECT_FALSE(IsMapped(static_cast<uint8_t*>(address) + kLength));
  }
  EXPECT_FALSE(IsMapped(address));
}

TEST(MemoryMapping, MapAlignedRejectsBadAlignmentsAndFixedMappings) {
  EXPECT_FALSE(
      MemoryMapping::MapAligned(4096, 3 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
          .ok());
  EXPECT_FALSE(MemoryMapping::MapAligned(4096, 4096, PROT_READ,
                                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)
                   .ok());
  EXPECT_FALSE(
      MemoryMapping::MapAligned(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0).ok());
}

}  // namespace
}  // namespace hull
