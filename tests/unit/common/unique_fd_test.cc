#include "hull/common/unique_fd.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <type_traits>
#include <utility>

namespace hull {
namespace {

bool IsOpen(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

int OpenDevNull() {
  const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  EXPECT_GE(fd, 0);
  return fd;
}

static_assert(std::is_nothrow_move_constructible_v<UniqueFd>);
static_assert(std::is_nothrow_move_assignable_v<UniqueFd>);
static_assert(!std::is_copy_constructible_v<UniqueFd>);
static_assert(!std::is_copy_assignable_v<UniqueFd>);

TEST(UniqueFd, DefaultOwnsNothing) {
  UniqueFd fd;
  EXPECT_FALSE(fd.valid());
  EXPECT_EQ(fd.Get(), -1);
}

TEST(UniqueFd, ClosesOnDestruction) {
  const int raw = OpenDevNull();
  {
    UniqueFd fd(raw);
    EXPECT_TRUE(IsOpen(raw));
  }
  EXPECT_FALSE(IsOpen(raw));
  EXPECT_EQ(errno, EBADF);
}

TEST(UniqueFd, MoveTransfersOwnership) {
  const int raw = OpenDevNull();
  UniqueFd first(raw);
  UniqueFd second(std::move(first));
  EXPECT_EQ(first.Get(), -1);  // NOLINT(bugprone-use-after-move): checking the moved-from state
  EXPECT_EQ(second.Get(), raw);
  EXPECT_TRUE(IsOpen(raw));
}

TEST(UniqueFd, MoveAssignmentClosesThePreviousDescriptor) {
  const int old_raw = OpenDevNull();
  const int new_raw = OpenDevNull();
  UniqueFd target(old_raw);
  UniqueFd source(new_raw);
  target = std::move(source);
  EXPECT_FALSE(IsOpen(old_raw));
  EXPECT_EQ(target.Get(), new_raw);
  EXPECT_TRUE(IsOpen(new_raw));
}

TEST(UniqueFd, ReleaseGivesUpOwnershipWithoutClosing) {
  const int raw = OpenDevNull();
  int released = -1;
  {
    UniqueFd fd(raw);
    released = fd.Release();
    EXPECT_FALSE(fd.valid());
  }
  EXPECT_EQ(released, raw);
  EXPECT_TRUE(IsOpen(raw));
  ::close(raw);
}

TEST(UniqueFd, ResetClosesAndAdoptsTheNewDescriptor) {
  const int first = OpenDevNull();
  const int second = OpenDevNull();
  UniqueFd fd(first);
  fd.Reset(second);
  EXPECT_FALSE(IsOpen(first));
  EXPECT_EQ(fd.Get(), second);
  fd.Reset();
  EXPECT_FALSE(IsOpen(second));
  EXPECT_FALSE(fd.valid());
}

}  // namespace
}  // namespace hull
