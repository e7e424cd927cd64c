#include "hull/vmm/kvm/vcpu_exit.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>

namespace hull::kvm {
namespace {

TEST(ExitName, NamesEveryAlternative) {
  EXPECT_EQ(ExitName(IoOut{}), "IoOut");
  EXPECT_EQ(ExitName(IoIn{}), "IoIn");
  EXPECT_EQ(ExitName(MmioWrite{}), "MmioWrite");
  EXPECT_EQ(ExitName(MmioRead{}), "MmioRead");
  EXPECT_EQ(ExitName(Hlt{}), "Hlt");
  EXPECT_EQ(ExitName(Shutdown{}), "Shutdown");
  EXPECT_EQ(ExitName(SystemEvent{}), "SystemEvent");
  EXPECT_EQ(ExitName(FailEntry{}), "FailEntry");
  EXPECT_EQ(ExitName(InternalError{}), "InternalError");
  EXPECT_EQ(ExitName(Intr{}), "Intr");
  EXPECT_EQ(ExitName(Unknown{}), "Unknown");
}

TEST(DescribeExit, ShowsTheFieldsOfAnExit) {
  const std::array<uint8_t, 2> bytes = {'H', 'i'};
  EXPECT_EQ(DescribeExit(IoOut{.port = 0x3f8, .size = 1, .count = 2, .bytes = bytes}),
            "IoOut port=0x3f8 size=1 count=2 bytes=4869");
  EXPECT_EQ(DescribeExit(MmioRead{.addr = vmm::GuestAddress(0x10010), .len = 1}),
            "MmioRead addr=0x10010 len=1");
  EXPECT_EQ(DescribeExit(Hlt{}), "Hlt");
  EXPECT_EQ(DescribeExit(Unknown{.reason = 4}), "Unknown reason=4");
}

}  // namespace
}  // namespace hull::kvm
