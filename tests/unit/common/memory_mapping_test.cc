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
