#include "hull/container/rlimits.h"

#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstdint>
#include <string>

#include "child_process.h"
#include "hull/container/capabilities.h"

namespace hull::container {
namespace {

using testing::Expect;
using testing::ExpectEq;
using testing::RunInChild;
using testing::StatusMask;

Result<rlimit> ReadLimit(int resource) {
  rlimit limit{};
  if (::getrlimit(resource, &limit) != 0) return Error::FromErrno(errno, "getrlimit");
  return limit;
}

TEST(ApplyRlimit, SetsTheSoftAndHardLimits) {
  const auto outcome = RunInChild([]() -> Result<void> {
    HULL_TRY(ApplyRlimit(RLIMIT_NOFILE, 64, 128));
    HULL_ASSIGN_OR_RETURN(const rlimit limit, ReadLimit(RLIMIT_NOFILE));
    HULL_TRY(ExpectEq(limit.rlim_cur, rlim_t{64}, "soft RLIMIT_NOFILE"));
    return ExpectEq(limit.rlim_max, rlim_t{128}, "hard RLIMIT_NOFILE");
  });
  EXPECT_TRUE(outcome.Succeeded()) << outcome.Describe();
}

TEST(ApplyRlimit, TakesUint64MaxAsUnlimited) {
  rlimit current{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &current), 0);
  if (current.rlim_max != RLIM_INFINITY) {
    GTEST_SKIP() << "the hard RLIMIT_FSIZE is not unlimited here, and raising it needs "
                    "CAP_SYS_RESOURCE";
  }
  const auto outcome = RunInChild([]() -> Result<void> {
    HULL_TRY(ApplyRlimit(RLIMIT_FSIZE, 1 << 20, UINT64_MAX));
    HULL_TRY(ApplyRlimit(RLIMIT_FSIZE, UINT64_MAX, UINT64_MAX));
    HULL_ASSIGN_OR_RETURN(const rlimit limit, ReadLimit(RLIMIT_FSIZE));
    HULL_TRY(Expect(limit.rlim_cur == RLIM_INFINITY, "soft RLIMIT_FSIZE is unlimited"));
    return Expect(limit.rlim_max == RLIM_INFINITY, "hard RLIMIT_FSIZE is unlimited");
  });
  EXPECT_TRUE(outcome.Succeeded()) << outcome.Describe();
}

TEST(ApplyRlimit, RefusesASoftLimitAboveTheHardOneNamingTheResource) {
  Result<void> result = ApplyRlimit(RLIMIT_NOFILE, 200, 100);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), EINVAL);
  EXPECT_EQ(result.error().message(),
            "setting RLIMIT_NOFILE to soft 200, hard 100: soft limit above hard limit");
}

TEST(ApplyRlimit, RefusesAnUnknownResource) {
  for (const int resource : {-1, static_cast<int>(RLIM_NLIMITS), 1000}) {
    Result<void> result = ApplyRlimit(resource, 1, 1);
    ASSERT_FALSE(result.ok()) << resource;
    EXPECT_EQ(result.error().code(), EINVAL);
    EXPECT_EQ(result.error().message(), "unknown resource " + std::to_string(resource));
  }
}

TEST(ApplyRlimit, NamesTheResourceWhenTheKernelRefuses) {
  const auto outcome = RunInChild([]() -> Result<void> {
    // Raising a hard limit needs CAP_SYS_RESOURCE, which this child gives up.
    HULL_ASSIGN_OR_RETURN(const uint64_t permitted, StatusMask("CapPrm"));
    const uint64_t without = permitted & ~CapabilityBit(CAP_SYS_RESOURCE);
    HULL_TRY(ApplyCapabilities({.effective = without, .permitted = without}));
    HULL_TRY(ApplyRlimit(RLIMIT_NOFILE, 64, 128));
    Result<void> result = ApplyRlimit(RLIMIT_NOFILE, 64, UINT64_MAX);
    HULL_TRY(Expect(!result.ok(), "raised the hard RLIMIT_NOFILE without CAP_SYS_RESOURCE"));
    HULL_TRY(ExpectEq(result.error().code(), EPERM, "error code"));
    return ExpectEq(
        result.error().message(),
        std::string("setting RLIMIT_NOFILE to soft 64, hard unlimited: Operation not permitted"),
        "error message");
  });
  EXPECT_TRUE(outcome.Succeeded()) << outcome.Describe();
}

}  // namespace
}  // namespace hull::container
