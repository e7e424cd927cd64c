#include "hull/vmm/memory/guest_address.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <type_traits>

namespace hull::vmm {
namespace {

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

static_assert(!std::is_convertible_v<uint64_t, GuestAddress>, "no implicit construction");
static_assert(!std::is_convertible_v<GuestAddress, uint64_t>, "no implicit conversion out");

TEST(GuestAddress, CheckedAddReturnsTheSum) {
  EXPECT_EQ(GuestAddress(0x1000).CheckedAdd(0x10), GuestAddress(0x1010));
}

TEST(GuestAddress, CheckedAddReachesTheLastAddress) {
  EXPECT_EQ(GuestAddress(kMax - 1).CheckedAdd(1), GuestAddress(kMax));
}

TEST(GuestAddress, CheckedAddRejectsWrapAround) {
  EXPECT_EQ(GuestAddress(kMax).CheckedAdd(1), std::nullopt);
  EXPECT_EQ(GuestAddress(1).CheckedAdd(kMax), std::nullopt);
}

TEST(GuestAddress, CheckedOffsetFromRejectsABaseAbove) {
  EXPECT_EQ(GuestAddress(0x2010).CheckedOffsetFrom(GuestAddress(0x2000)), 0x10u);
  EXPECT_EQ(GuestAddress(0x1000).CheckedOffsetFrom(GuestAddress(0x2000)), std::nullopt);
}

TEST(GuestAddress, ComparesByValue) {
  EXPECT_LT(GuestAddress(1), GuestAddress(2));
  EXPECT_EQ(GuestAddress(3), GuestAddress(3));
}

TEST(GuestAddress, FormatsAsHex) {
  EXPECT_EQ(fmt::format("{}", GuestAddress(0x3f8)), "0x3f8");
  EXPECT_EQ(GuestAddress(0).ToString(), "0x0");
}

TEST(GuestAddress, IsAlignedChecksLowBits) {
  EXPECT_TRUE(GuestAddress(0x2000).IsAligned(0x1000));
  EXPECT_FALSE(GuestAddress(0x2008).IsAligned(0x1000));
}

}  // namespace
}  // namespace hull::vmm
