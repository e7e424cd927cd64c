#pragma once

// Runs a test body in a fork()ed child, so that what it does to the process
// (credentials, capabilities, limits, seccomp filters) cannot harm the test
// binary, and small helpers for such bodies, which report failures as Errors
// (gtest's assertions do not reach the parent from a child).

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>

#include "hull/common/result.h"

namespace hull::container::testing {

struct ChildOutcome {
  bool exited = false;  // else killed by `signal`
  int exit_code = -1;
  int signal = 0;
  std::string message;  // the body's error, if it returned one

  bool Succeeded() const { return exited && exit_code == 0; }
  // "exit 1: <message>" or "killed by signal 31 (Bad system call)".
  std::string Describe() const;
};

// Forks; the child runs `body` and _exits 0 on success or 1 after sending the
// error's text to the parent (through a pipe). _exit: no atexit handlers, no
// leak check, no flushing of the parent's buffered output twice.
ChildOutcome RunInChild(const std::function<Result<void>()>& body);

// The value of a /proc/self/status line ("Uid", "CapEff", ...), without the
// key, the tab and surrounding whitespace.
Result<std::string> StatusField(std::string_view key);
// A hex mask field of /proc/self/status ("CapEff", "CapBnd", ...).
Result<uint64_t> StatusMask(std::string_view key);

// An Error (EINVAL) saying `what` when `condition` is false.
Result<void> Expect(bool condition, std::string_view what);

template <typename T>
Result<void> ExpectEq(const T& actual, const T& expected, std::string_view what) {
  if (actual == expected) return Ok();
  using std::to_string;
  if constexpr (std::is_convertible_v<T, std::string>) {
    return Expect(false, std::string(what) + ": got \"" + actual + "\", want \"" + expected + "\"");
  } else {
    return Expect(
        false, std::string(what) + ": got " + to_string(actual) + ", want " + to_string(expected));
  }
}

// ExpectEq for capability masks: the message shows them in hex.
Result<void> ExpectMask(uint64_t actual, uint64_t expected, std::string_view what);

// The reason a test cannot run, or empty: the capabilities it needs (mask)
// must be effective in the test process (it runs as root on the test machines).
std::string MissingCapabilities(uint64_t needed);

}  // namespace hull::container::testing
