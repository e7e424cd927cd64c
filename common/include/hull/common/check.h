#pragma once

// HULL_CHECK guards invariants of our own code. A failed check is a bug in
// hull, never a reaction to guest or environment input (those are Errors), so
// it aborts with the condition and its location.
#define HULL_CHECK(condition)                                        \
  do {                                                               \
    if (!(condition)) [[unlikely]] {                                 \
      ::hull::internal::CheckFailed(#condition, __FILE__, __LINE__); \
    }                                                                \
  } while (false)

namespace hull::internal {

[[noreturn]] void CheckFailed(const char* condition, const char* file, int line) noexcept;

}  // namespace hull::internal
