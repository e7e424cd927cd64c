#include "hull/container/credentials.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <string>

#include "child_process.h"
#include "hull/common/unique_fd.h"
#include "hull/container/capabilities.h"

namespace hull::container {
namespace {

using testing::Expect;
using testing::ExpectEq;
using testing::ExpectMask;
using testing::MissingCapabilities;
using testing::RunInChild;
using testing::StatusField;
using testing::StatusMask;

constexpr uint64_t kNetBindService = CapabilityBit(CAP_NET_BIND_SERVICE);
constexpr uint64_t kSetuid = CapabilityBit(CAP_SETUID);
constexpr uint64_t kSetgid = CapabilityBit(CAP_SETGID);
constexpr uint64_t kSetpcap = CapabilityBit(CAP_SETPCAP);
constexpr uint64_t kSwitchUserCaps = kSetuid | kSetgid;

// Binds a TCP socket to some port below 1024 on 127.0.0.1: what
// CAP_NET_BIND_SERVICE allows. Ports already in use are passed over.
Result<void> BindPrivilegedPort() {
  for (uint16_t port = 1000; port > 900; --port) {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return Error::FromErrno(errno, "socket");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // SAFETY: sockaddr_in is a sockaddr for bind(2); the kernel reads sizeof(address) bytes.
    if (::bind(fd.Get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0) {
      return Ok();
    }
    if (errno != EADDRINUSE) {
      return Error::FromErrno(errno, "bind 127.0.0.1:" + std::to_string(port));
    }
  }
  return Error(EADDRINUSE, "every port of 901..1000 is in use");
}

TEST(SwitchUser, KeepsTheGivenCapabilitiesAcrossTheSwitchToANonRootUser) {
  if (std::string why = MissingCapabilities(kSwitchUserCaps | kSetpcap | kNetBindService);
      !why.empty()) {
    GTEST_SKIP() << why;
  }
  const auto outcome = RunInChild([]() -> Result<void> {
    // The container's order (credentials.h).
    HULL_TRY(DropBoundingSet(kNetBindService));
    HULL_TRY(SwitchUser(1000, 1000, {1000, 2000}));
    HULL_TRY(ApplyCapabilities({.effective = kNetBindService, .permitted = kNetBindService}));

    HULL_ASSIGN_OR_RETURN(const std::string uid, StatusField("Uid"));
    HULL_TRY(
        ExpectEq(uid, std::string("1000\t1000\t1000\t1000"), "Uid (real, effective, saved, fs)"));
    HULL_ASSIGN_OR_RETURN(const std::string gid, StatusField("Gid"));
    HULL_TRY(
        ExpectEq(gid, std::string("1000\t1000\t1000\t1000"), "Gid (real, effective, saved, fs)"));
    HULL_ASSIGN_OR_RETURN(const std::string groups, StatusField("Groups"));
    HULL_TRY(ExpectEq(groups, std::string("1000 2000"), "Groups"));
    for (const char* set : {"CapEff", "CapPrm", "CapBnd"}) {
      HULL_ASSIGN_OR_RETURN(const uint64_t mask, StatusMask(set));
      HULL_TRY(ExpectMask(mask, kNetBindService, set));
    }
    HULL_ASSIGN_OR_RETURN(const uint64_t ambient, StatusMask("CapAmb"));
    HULL_TRY(ExpectMask(ambient, 0, "CapAmb"));
    HULL_TRY(ExpectEq(::prctl(PR_GET_KEEPCAPS, 0UL, 0UL, 0UL, 0UL), 0, "PR_GET_KEEPCAPS"));
    return BindPrivilegedPort().WithContext("uid 1000 with CAP_NET_BIND_SERVICE");
  });
  EXPECT_TRUE(outcome.Succeeded()) << outcome.Describe();
}

TEST(SwitchUser, LeavesANonRootUserPermittedButNotEffectiveCapabilities) {
  if (std::string why = MissingCapabilities(kSwitchUserCaps | kNetBindService); !why.empty()) {
    GTEST_SKIP() << why;
  }
  const auto outcome = RunInChild([]() -> Result<void> {
    HULL_ASSIGN_OR_RETURN(const uint64_t permitted_before, StatusMask("CapPrm"));
    HULL_TRY(SwitchUser(1000, 1000, {}));
    HULL_ASSIGN_OR_RETURN(const uint64_t permitted, StatusMask("CapPrm"));
    HULL_TRY(ExpectMask(permitted, permitted_before, "CapPrm (kept by PR_SET_KEEPCAPS)"));
    HULL_ASSIGN_OR_RETURN(const uint64_t effective, StatusMask("CapEff"));
    HULL_TRY(ExpectMask(effective, 0, "CapEff"));
    Result<void> bound = BindPrivilegedPort();
    HULL_TRY(Expect(!bound.ok(), "bound a port below 1024 without effective capabilities"));
    return ExpectEq(bound.error().code(), EACCES, "bind error");
  });
  EXPECT_TRUE(outcome.Succeeded()) << outcome.Describe();
}

TEST(SwitchUser, GivesAmbientCapabilitiesToTheNonRootUser) {
  if (std::string why = MissingCapabilities(kSwitchUserCaps | kNetBindService); !why.empty()) {
    GTEST_SKIP() << why;
  }
  const auto outcome = RunInChild([]() -> Result<void> {
    HULL_TRY(SwitchUser(1000, 1000, {}));
    HULL_TRY(ApplyCapabilities({.effective = kNetBindService,
                                .permitted = kNetBindService,
                                .inheritable = kNetBindService,
                                .ambient = kNetBindService}));
    HULL_ASSIGN_OR_RETURN(const uint64_t ambient, StatusMask("CapAmb"));
    return ExpectMask(ambient, kNetBindService, "CapAmb");
  });
  EXPECT_TRUE(outcome.Succeeded()) << outcome.Describe();
}

TEST(SwitchUser, WithoutAdditionalGidsClearsTheGroups) {
  if (std::string why = MissingCapabilities(kSwitchUserCaps); !why.empty()) GTEST_SKIP() << why;
  const auto outcome = RunInChild([]() -> Result<void> {
    HULL_TRY(SwitchUser(0, 0, {1, 2, 3}));
    HULL_ASSIGN_OR_RETURN(const std::string some, StatusField("Groups"));
    HULL_TRY(ExpectEq(some, std::string("1 2 3"), "Groups"));
    HULL_TRY(SwitchUser(1000, 1001, {}));
    HULL_ASSIGN_OR_RETURN(const std::string none, StatusField("Groups"));
    HULL_TRY(ExpectEq(none, std::string(), "Groups"));
    HULL_ASSIGN_OR_RETURN(const std::string gid, StatusField("Gid"));
    return ExpectEq(gid, std::string("1001\t1001\t1001\t1001"), "Gid");
  });
  EXPECT_TRUE(outcome.Succeeded()) << outcome.Describe();
}

TEST(SwitchUser, WithoutCapSetgidFailsNamingSetgroups) {
  if (std::string why = MissingCapabilities(kSwitchUserCaps); !why.empty()) GTEST_SKIP() << why;
  const auto outcome = RunInChild([]() -> Result<void> {
    HULL_ASSIGN_OR_RETURN(const uint64_t permitted, StatusMask("CapPrm"));
    HULL_TRY(ApplyCapabilities({.effective = permitted & ~kSetgid, .permitted = permitted}));
    Result<void> result = SwitchUser(1000, 1000, {5, 6});
    HULL_TRY(Expect(!result.ok(), "setgroups without CAP_SETGID"));
    return ExpectEq(result.error().message(),
                    std::string("setgroups [5, 6]: Operation not permitted"), "error message");
  });
  EXPECT_TRUE(outcome.Succeeded()) << outcome.Describe();
}

TEST(SwitchUser, WithoutCapSetuidFailsNamingSetresuid) {
  if (std::string why = MissingCapabilities(kSwitchUserCaps); !why.empty()) GTEST_SKIP() << why;
  const auto outcome = RunInChild([]() -> Result<void> {
    HULL_ASSIGN_OR_RETURN(const uint64_t permitted, StatusMask("CapPrm"));
    HULL_TRY(ApplyCapabilities({.effective = permitted & ~kSetuid, .permitted = permitted}));
    Result<void> result = SwitchUser(1000, 1000, {});
    HULL_TRY(Expect(!result.ok(), "setresuid without CAP_SETUID"));
    return ExpectEq(result.error().message(),
                    std::string("setresuid 1000: Operation not permitted"), "error message");
  });
  EXPECT_TRUE(outcome.Succeeded()) << outcome.Describe();
}

TEST(SetNoNewPrivileges, ShowsInProcStatus) {
  const auto outcome = RunInChild([]() -> Result<void> {
    HULL_ASSIGN_OR_RETURN(const std::string before, StatusField("NoNewPrivs"));
    HULL_TRY(ExpectEq(before, std::string("0"), "NoNewPrivs before"));
    HULL_TRY(SetNoNewPrivileges());
    HULL_ASSIGN_OR_RETURN(const std::string after, StatusField("NoNewPrivs"));
    return ExpectEq(after, std::string("1"), "NoNewPrivs after");
  });
  EXPECT_TRUE(outcome.Succeeded()) << outcome.Describe();
}

TEST(SetOomScoreAdj, IsReadBack) {
  const auto outcome = RunInChild([]() -> Result<void> {
    HULL_TRY(SetOomScoreAdj(678));
    std::string text;
    std::ifstream("/proc/self/oom_score_adj") >> text;
    return ExpectEq(text, std::string("678"), "/proc/self/oom_score_adj");
  });
  EXPECT_TRUE(outcome.Succeeded()) << outcome.Describe();
}

TEST(SetOomScoreAdj, RefusesScoresOutsideTheRange) {
  for (const int score : {-1001, 1001}) {
    Result<void> result = SetOomScoreAdj(score);
    ASSERT_FALSE(result.ok()) << score;
    EXPECT_EQ(result.error().code(), EINVAL);
    EXPECT_EQ(result.error().message(),
              "oom_score_adj " + std::to_string(score) + " is outside -1000..1000");
  }
}

TEST(SetUmask, KeepsThePermissionBits) {
  const auto outcome = RunInChild([]() -> Result<void> {
    SetUmask(07027);
    HULL_ASSIGN_OR_RETURN(const std::string umask, StatusField("Umask"));
    return ExpectEq(umask, std::string("0027"), "Umask");
  });
  EXPECT_TRUE(outcome.Succeeded()) << outcome.Describe();
}

}  // namespace
}  // namespace hull::container
