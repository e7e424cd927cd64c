#include "hull/common/check.h"

#include <cstdio>
#include <cstdlib>

namespace hull::internal {

void CheckFailed(const char* condition, const char* file, int line) noexcept {
  std::fprintf(stderr, "hull: check failed at %s:%d: %s\n", file, line, condition);
  std::abort();
}

}  // namespace hull::internal
