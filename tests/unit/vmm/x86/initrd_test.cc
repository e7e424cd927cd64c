#include "hull/vmm/x86/initrd.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <string>

#include "hull/vmm/x86/layout.h"

namespace hull::vmm::x86 {
namespace {

constexpr uint64_t kNoLimit = 0xFFFF'FFFF;

TEST(X86Initrd, GoesAsHighAsPossibleAndPageAligned) {
  Result<GuestAddress> addr = PlaceInitrd(5000, GuestAddress(32 * kMiB), 128 * kMiB, kNoLimit);
  ASSERT_TRUE(addr.ok()) << addr.error().ToString();
  EXPECT_EQ(*addr, GuestAddress(128 * kMiB - 8192));
  EXPECT_TRUE(addr->IsAligned(4096));
}

TEST(X86Initrd, RespectsInitrdAddrMaxAsTheLastUsableByte) {
  // initrd_addr_max 0x37FFFFFF: a 128 KiB initrd may start at 0x37FE0000.
  Result<GuestAddress> addr = PlaceInitrd(0x20000, GuestAddress(32 * kMiB), 3 * kGiB, 0x37FF'FFFF);
  ASSERT_TRUE(addr.ok());
  EXPECT_EQ(*addr, GuestAddress(0x37FE'0000));
}

TEST(X86Initrd, MayStartExactlyAtTheKernelEnd) {
  Result<GuestAddress> addr = PlaceInitrd(16 * kMiB, GuestAddress(48 * kMiB), 64 * kMiB, kNoLimit);
  ASSERT_TRUE(addr.ok());
  EXPECT_EQ(*addr, GuestAddress(48 * kMiB));
}

TEST(X86Initrd, FailsByOnePageSayingToRaiseMem) {
  Result<GuestAddress> addr =
      PlaceInitrd(16 * kMiB + 1, GuestAddress(48 * kMiB), 64 * kMiB, kNoLimit);
  ASSERT_FALSE(addr.ok());
  EXPECT_EQ(addr.error().code(), ENOMEM);
  EXPECT_EQ(addr.error().message(),
            "initramfs of 17 MiB does not fit in 64 MiB of guest memory (the kernel takes the "
            "first 48 MiB): raise --mem");
}

TEST(X86Initrd, FailsWhenLargerThanAllMemory) {
  EXPECT_FALSE(PlaceInitrd(UINT64_MAX, GuestAddress(kMiB), 64 * kMiB, kNoLimit).ok());
  EXPECT_FALSE(PlaceInitrd(128 * kMiB, GuestAddress(0), 64 * kMiB, kNoLimit).ok());
}

TEST(X86Initrd, FailsWhenTheKernelEndsAboveTheLimit) {
  EXPECT_FALSE(PlaceInitrd(4096, GuestAddress(65 * kMiB), 64 * kMiB, kNoLimit).ok());
}

TEST(X86Initrd, FailsBelowALowInitrdAddrMaxNamingIt) {
  Result<GuestAddress> addr = PlaceInitrd(8 * kMiB, GuestAddress(30 * kMiB), 3 * kGiB, 0x1FF'FFFF);
  ASSERT_FALSE(addr.ok());
  EXPECT_NE(addr.error().message().find("0x1ffffff"), std::string::npos) << addr.error().message();
}

TEST(X86Initrd, RejectsAnEmptyInitramfs) {
  EXPECT_FALSE(PlaceInitrd(0, GuestAddress(kMiB), 64 * kMiB, kNoLimit).ok());
}

TEST(X86Initrd, AcceptsTheLargestInitrdAddrMax) {
  Result<GuestAddress> addr = PlaceInitrd(4096, GuestAddress(kMiB), 64 * kMiB, UINT64_MAX);
  ASSERT_TRUE(addr.ok());
  EXPECT_EQ(*addr, GuestAddress(64 * kMiB - 4096));
}

}  // namespace
}  // namespace hull::vmm::x86
