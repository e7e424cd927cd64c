#pragma once

// Runs a test body in a fork()ed child inside a fresh network namespace, so
// that the devices, addresses and routes it makes never touch the test
// machine's network, and they all vanish when the child exits. gtest's
// assertions do not reach the parent from a child, so bodies report
// failures as Errors (see Expect below), which come back through a pipe.

#include <functional>
#include <string>
#include <string_view>

#include "hull/common/result.h"
#include "hull/common/unique_fd.h"

namespace hull::agent::net::testing {

struct ChildOutcome {
  enum class Kind { kPassed, kFailed, kSkipped };
  Kind kind = Kind::kFailed;
  std::string message;  // the failure, or why the body could not run
};

// Forks; the child unshares its network namespace (a skip when the kernel
// says EPERM: not root, or namespaces are off) and runs `body`. A body may
// return Skip(...) when something it needs is missing.
ChildOutcome RunInNewNetworkNamespace(const std::function<Result<void>()>& body);

// What a body returns when it cannot run here (no /dev/net/tun, ...).
Error Skip(std::string_view reason);

// An Error (EINVAL) saying `what` when `condition` is false.
Result<void> Expect(bool condition, std::string_view what);

// A tap device `name` with MAC `mac`, alive while the returned fd is open.
// Skip when /dev/net/tun is missing.
Result<UniqueFd> CreateTap(const std::string& name, const std::string& mac);

}  // namespace hull::agent::net::testing

// In a TEST: runs its argument (a lambda returning Result<void>; variadic
// because the lambda's body may hold commas) in a new network namespace, and
// skips or fails the test as the child says.
#define HULL_EXPECT_IN_NEW_NETNS(...)                                                       \
  do {                                                                                      \
    const ::hull::agent::net::testing::ChildOutcome hull_outcome_ =                         \
        ::hull::agent::net::testing::RunInNewNetworkNamespace(__VA_ARGS__);                 \
    if (hull_outcome_.kind == ::hull::agent::net::testing::ChildOutcome::Kind::kSkipped) {  \
      GTEST_SKIP() << hull_outcome_.message;                                                \
    }                                                                                       \
    EXPECT_EQ(hull_outcome_.kind, ::hull::agent::net::testing::ChildOutcome::Kind::kPassed) \
        << hull_outcome_.message;                                                           \
  } while (false)
