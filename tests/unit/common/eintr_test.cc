#include "hull/common/eintr.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace hull {
namespace {

TEST(RetryOnEintr, RetriesUntilTheCallStopsFailingWithEintr) {
  int calls = 0;
  const int result = RetryOnEintr([&] {
    ++calls;
    if (calls < 3) {
      errno = EINTR;
      return -1;
    }
    return 42;
  });
  EXPECT_EQ(result, 42);
  EXPECT_EQ(calls, 3);
}

TEST(RetryOnEintr, ReturnsOtherFailuresAtOnce) {
  int calls = 0;
  const long result = RetryOnEintr([&] {
    ++calls;
    errno = EBADF;
    return -1L;
  });
  EXPECT_EQ(result, -1);
  EXPECT_EQ(errno, EBADF);
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace hull
