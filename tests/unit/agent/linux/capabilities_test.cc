#include "hull/container/capabilities.h"

#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>

#include "child_process.h"

namespace hull::container {
namespace {

using testing::ExpectMask;
using testing::MissingCapabilities;
using testing::RunInChild;
using testing::StatusMask;

constexpr uint64_t kChown = CapabilityBit(CAP_CHOWN);
constexpr uint64_t kNetBindService = CapabilityBit(CAP_NET_BIND_SERVICE);
constexpr uint64_t kNetRaw = CapabilityBit(CAP_NET_RAW);
constexpr uint64_t kSetpcap = CapabilityBit(CAP_SETPCAP);

TEST(LastCapability, IsTheKernelsLastCapability) {
  Result<int> last = LastCapability();
  ASSERT_TRUE(last.ok()) << last.error().ToString();
  int from_proc = -1;
  std::ifstream("/proc/sys/kernel/cap_last_cap") >> from_proc;
  EXPECT_EQ(*last, from_proc);
  EXPECT_GE(::prctl(PR_CAPBSET_READ, static_cast<unsigned long>(*last), 0UL, 0UL, 0UL), 0);
  EXPECT_EQ(::prctl(PR_CAPBSET_READ, static_cast<unsigned long>(*last + 1), 0UL, 0UL, 0UL), -1)
      << "the capability after the last is unknown to the kernel";
}

TEST(LastCapability, IsProbedWithoutProcSys) {
  if (std::string why = MissingCapabilities(CapabilityBit(CAP_SYS_ADMIN)); !why.empty()) {
    GTEST_SKIP() << why;
  }
  Result<int> with_proc = LastCapability();
  ASSERT_TRUE(with_proc.ok()) << with_proc.error().ToString();
  const auto outcome = RunInChild([want = *with_proc]() -> Result<void> {
    // Hide /proc/sys/kernel/cap_last_cap under an empty tmpfs, in a mount
    // namespace of the child's own.
    if (::unshare(CLONE_NEWNS) != 0) return Error::FromErrno(errno, "unshare(CLONE_NEWNS)");
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
      return Error::FromErrno(errno, "make / private");
    }
    if (::mount("tmpfs", "/proc/sys/kernel", "tmpfs", 0, nullptr) != 0) {
      return Error::FromErrno(errno, "mount tmpfs on /proc/sys/kernel");
    }
    HULL_TRY(testing::Expect(::access("/proc/sys/kernel/cap_last_cap", F_OK) != 0,
                             "cap_last_cap is hidden"));
    HULL_ASSIGN_OR_RETURN(const int probed, LastCapability());
    return testing::ExpectEq(probed, want, "probed last capability");
  });
  EXPECT_TRUE(outcome.Succeeded()) << outcome.Describe();
}

TEST(DropBoundingSet, KeepsOnlyTheRequestedCapabilities) {
  if (std::string why = MissingCapabilities(kSetpcap); !why.empty()) GTEST_SKIP() << why;
  const auto outcome = RunInChild([]() -> Result<void> {
    HULL_ASSIGN_OR_RETURN(const uint64_t bounding_before, StatusMask("CapBnd"));
    HULL_ASSIGN_OR_RETURN(const uint64_t effective_before, StatusMask("CapEff"));
    HULL_TRY(DropBoundingSet(kChown | kNetBindService));
    HULL_ASSIGN_OR_RETURN(const uint64_t bounding, StatusMask("CapBnd"));
    HULL_TRY(ExpectMask(bounding, (kChown | kNetBindService) & bounding_before, "CapBnd"));
    HULL_ASSIGN_OR_RETURN(const uint64_t effective, StatusMask("CapEff"));
    return ExpectMask(effective, effective_before, "CapEff (the bounding set alone changes)");
  });
  EXPECT_TRUE(outcome.Succeeded()) << outcome.Describe();
}

TEST(DropBoundingSet, SkipsDroppedCapabilitiesAndNamesTheOneItCannotDrop) {
  if (std::string why = MissingCapabilities(kSetpcap); !why.empty()) GTEST_SKIP() << why;
  const auto outcome = RunInChild([]() -> Result<void> {
    HULL_TRY(DropBoundingSet(kChown | kNetBindService));
    // Without CAP_SETPCAP nothing more can be dropped ...
    HULL_ASSIGN_OR_RETURN(const uint64_t permitted, StatusMask("CapPrm"));
    HULL_TRY(ApplyCapabilities({.effective = permitted & ~kSetpcap, .permitted = permitted}));
    // ... but asking again for what is already dropped is no error.
    HULL_TRY(DropBoundingSet(kChown | kNetBindService).WithContext("dropping again"));
    Result<void> result = DropBoundingSet(kChown);
    HULL_TRY(testing::Expect(!result.ok(), "dropping CAP_NET_BIND_SERVICE without CAP_SETPCAP"));
    HULL_TRY(testing::ExpectEq(result.error().code(), EPERM, "error code"));
    return testing::ExpectEq(result.error().message(),
                             std::string("PR_CAPBSET_DROP capability 10 (CAP_NET_BIND_SERVICE): "
                                         "Operation not permitted"),
                             "error message");
  });
  EXPECT_TRUE(outcome.Succeeded()) << outcome.Describe();
}

TEST(ApplyCapabilities, SetsEffectivePermittedInheritableAndAmbient) {
  if (std::string why = MissingCapabilities(kChown | kNetBindService | kNetRaw); !why.empty()) {
    GTEST_SKIP() << why;
  }
  const auto outcome = RunInChild([]() -> Result<void> {
    HULL_TRY(ApplyCapabilities({.effective = kChown | kNetBindService,
                                .permitted = kChown | kNetBindService | kNetRaw,
                                .inheritable = kNetBindService,
                                .ambient = kNetBindService}));
    HULL_ASSIGN_OR_RETURN(const uint64_t effective, StatusMask("CapEff"));
    HULL_ASSIGN_OR_RETURN(const uint64_t permitted, StatusMask("CapPrm"));
    HULL_ASSIGN_OR_RETURN(const uint64_t inheritable, StatusMask("CapInh"));
    HULL_ASSIGN_OR_RETURN(const uint64_t ambient, StatusMask("CapAmb"));
    HULL_TRY(ExpectMask(effective, kChown | kNetBindService, "CapEff"));
    HULL_TRY(ExpectMask(permitted, kChown | kNetBindService | kNetRaw, "CapPrm"));
    HULL_TRY(ExpectMask(inheritable, kNetBindService, "CapInh"));
    return ExpectMask(ambient, kNetBindService, "CapAmb");
  });
  EXPECT_TRUE(outcome.Succeeded()) << outcome.Describe();
}

TEST(ApplyCapabilities, ReplacesAnEarlierAmbientSet) {
  if (std::string why = MissingCapabilities(kChown | kNetBindService); !why.empty()) {
    GTEST_SKIP() << why;
  }
  const auto outcome = RunInChild([]() -> Result<void> {
    const uint64_t both = kChown | kNetBindService;
    HULL_TRY(ApplyCapabilities(
        {.effective = both, .permitted = both, .inheritable = both, .ambient = both}));
    HULL_TRY(ApplyCapabilities(
        {.effective = both, .permitted = both, .inheritable = both, .ambient = kChown}));
    HULL_ASSIGN_OR_RETURN(const uint64_t ambient, StatusMask("CapAmb"));
    return ExpectMask(ambient, kChown, "CapAmb");
  });
  EXPECT_TRUE(outcome.Succeeded()) << outcome.Describe();
}

TEST(ApplyCapabilities, RefusesAmbientOutsidePermittedAndInheritableBeforeChangingAnything) {
  const auto outcome = RunInChild([]() -> Result<void> {
    HULL_ASSIGN_OR_RETURN(const uint64_t permitted_before, StatusMask("CapPrm"));
    Result<void> result = ApplyCapabilities({.effective = kChown,
                                             .permitted = kChown | kNetBindService,
                                             .inheritable = kChown,
                                             .ambient = kChown | kNetBindService});
    HULL_TRY(testing::Expect(!result.ok(), "ambient CAP_NET_BIND_SERVICE is not inheritable"));
    HULL_TRY(testing::ExpectEq(result.error().code(), EINVAL, "error code"));
    HULL_TRY(testing::ExpectEq(
        result.error().message(),
        std::string("ambient capability 10 (CAP_NET_BIND_SERVICE) is not both permitted and "
                    "inheritable"),
        "error message"));
    HULL_ASSIGN_OR_RETURN(const uint64_t permitted, StatusMask("CapPrm"));
    return ExpectMask(permitted, permitted_before, "CapPrm after the refusal");
  });
  EXPECT_TRUE(outcome.Succeeded()) << outcome.Describe();
}

TEST(ApplyCapabilities, RefusesEffectiveOutsidePermitted) {
  const auto outcome = RunInChild([]() -> Result<void> {
    Result<void> result = ApplyCapabilities({.effective = kChown | kNetRaw, .permitted = kChown});
    HULL_TRY(testing::Expect(!result.ok(), "effective CAP_NET_RAW is not permitted"));
    return testing::ExpectEq(result.error().message(),
                             std::string("effective capability 13 (CAP_NET_RAW) is not permitted"),
                             "error message");
  });
  EXPECT_TRUE(outcome.Succeeded()) << outcome.Describe();
}

TEST(ApplyCapabilities, CannotTakeBackADroppedPermittedCapability) {
  if (std::string why = MissingCapabilities(kChown | kNetRaw); !why.empty()) GTEST_SKIP() << why;
  const auto outcome = RunInChild([]() -> Result<void> {
    HULL_TRY(ApplyCapabilities({.effective = kChown, .permitted = kChown}));
    Result<void> result = ApplyCapabilities({.effective = kChown, .permitted = kChown | kNetRaw});
    HULL_TRY(testing::Expect(!result.ok(), "CAP_NET_RAW came back into the permitted set"));
    HULL_TRY(testing::ExpectEq(result.error().code(), EPERM, "error code"));
    return testing::ExpectEq(
        result.error().message(),
        std::string("capset (effective 0x1, permitted 0x2001, inheritable 0x0): "
                    "Operation not permitted"),
        "error message");
  });
  EXPECT_TRUE(outcome.Succeeded()) << outcome.Describe();
}

}  // namespace
}  // namespace hull::container
