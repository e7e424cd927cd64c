#include <gtest/gtest.h>

#include <cerrno>
#include <string>

#include "hull/vmm/kvm/vm.h"

namespace hull::kvm {
namespace {

using vmm::GuestAddress;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(KvmIoeventfd, MmioWithDatamatchSetsTheFlagAndValue) {
  Result<Ioeventfd> io = MakeIoeventfd(7, GuestAddress(0xD000'0050), 4, 3, false, false);
  ASSERT_TRUE(io.ok()) << io.error().ToString();
  EXPECT_EQ(io->addr, 0xD000'0050u);
  EXPECT_EQ(io->len, 4u);
  EXPECT_EQ(io->fd, 7);
  EXPECT_EQ(io->datamatch, 3u);
  EXPECT_EQ(io->flags, static_cast<uint32_t>(KVM_IOEVENTFD_FLAG_DATAMATCH));
}

TEST(KvmIoeventfd, PioWithoutDatamatchSetsOnlyThePioFlag) {
  Result<Ioeventfd> io = MakeIoeventfd(7, GuestAddress(0x3F8), 1, std::nullopt, true, false);
  ASSERT_TRUE(io.ok());
  EXPECT_EQ(io->flags, static_cast<uint32_t>(KVM_IOEVENTFD_FLAG_PIO));
  EXPECT_EQ(io->datamatch, 0u);
}

TEST(KvmIoeventfd, DeassignAddsItsFlag) {
  Result<Ioeventfd> io = MakeIoeventfd(7, GuestAddress(0x1000), 8, 1, false, true);
  ASSERT_TRUE(io.ok());
  EXPECT_EQ(io->flags,
            static_cast<uint32_t>(KVM_IOEVENTFD_FLAG_DATAMATCH | KVM_IOEVENTFD_FLAG_DEASSIGN));
}

TEST(KvmIoeventfd, AnyLengthIsForMmioWithoutDatamatch) {
  EXPECT_TRUE(MakeIoeventfd(7, GuestAddress(0x1000), 0, std::nullopt, false, false).ok());
  EXPECT_FALSE(MakeIoeventfd(7, GuestAddress(0x1000), 0, 1, false, false).ok());
  EXPECT_FALSE(MakeIoeventfd(7, GuestAddress(0x80), 0, std::nullopt, true, false).ok());
}

TEST(KvmIoeventfd, RejectsOddLengths) {
  Result<Ioeventfd> io = MakeIoeventfd(7, GuestAddress(0x1000), 3, std::nullopt, false, false);
  ASSERT_FALSE(io.ok());
  EXPECT_EQ(io.error().code(), EINVAL);
  EXPECT_TRUE(Contains(io.error().message(), "mmio 0x1000/3: length must be 1, 2, 4 or 8"))
      << io.error().message();
}

TEST(KvmIoeventfd, RejectsADatamatchWiderThanTheAccess) {
  EXPECT_TRUE(MakeIoeventfd(7, GuestAddress(0x1000), 2, 0xFFFF, false, false).ok());
  EXPECT_FALSE(MakeIoeventfd(7, GuestAddress(0x1000), 2, 0x10000, false, false).ok());
  EXPECT_TRUE(MakeIoeventfd(7, GuestAddress(0x1000), 8, UINT64_MAX, false, false).ok());
}

TEST(KvmIoeventfd, RejectsPortsOutsideTheIoSpace) {
  EXPECT_TRUE(MakeIoeventfd(7, GuestAddress(0xFFFC), 4, std::nullopt, true, false).ok());
  EXPECT_FALSE(MakeIoeventfd(7, GuestAddress(0xFFFE), 4, std::nullopt, true, false).ok());
  EXPECT_FALSE(MakeIoeventfd(7, GuestAddress(0x10000), 1, std::nullopt, true, false).ok());
  EXPECT_FALSE(MakeIoeventfd(7, GuestAddress(UINT64_MAX), 4, std::nullopt, true, false).ok());
}

TEST(KvmIoeventfd, RejectsMmioPastTheTopOfTheAddressSpace) {
  EXPECT_FALSE(MakeIoeventfd(7, GuestAddress(UINT64_MAX - 1), 4, std::nullopt, false, false).ok());
}

TEST(KvmIoeventfd, RejectsAClosedEventfd) {
  Result<Ioeventfd> io = MakeIoeventfd(-1, GuestAddress(0x1000), 4, std::nullopt, false, false);
  ASSERT_FALSE(io.ok());
  EXPECT_EQ(io.error().code(), EBADF);
}

}  // namespace
}  // namespace hull::kvm
