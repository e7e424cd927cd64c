#include <gtest/gtest.h>

#include <cerrno>
#include <vector>

#include "hull/vmm/kvm/vcpu.h"

namespace hull::kvm {
namespace {

const std::vector<Msr> kMsrs = {
    {.index = 0x174, .value = 0}, {.index = 0x1A0, .value = 1}, {.index = 0x2FF, .value = 0x806}};

TEST(KvmMsrs, AllSetIsSuccess) { EXPECT_TRUE(CheckMsrsSet(3, kMsrs, 0).ok()); }

TEST(KvmMsrs, FewerSetNamesTheFirstMsrKvmRefused) {
  Result<void> result = CheckMsrsSet(1, kMsrs, 2);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), EINVAL);
  EXPECT_EQ(result.error().message(),
            "KVM_SET_MSRS vCPU 2: KVM refused MSR 0x1a0 = 0x1 (set 1 of 3 MSRs)");
}

TEST(KvmMsrs, NoneSetNamesTheFirstMsr) {
  Result<void> result = CheckMsrsSet(0, kMsrs, 0);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message().find("MSR 0x174"), std::string::npos);
}

TEST(KvmMsrs, ACountBeyondTheListIsAProtocolError) {
  Result<void> result = CheckMsrsSet(4, kMsrs, 0);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), EPROTO);
}

}  // namespace
}  // namespace hull::kvm
