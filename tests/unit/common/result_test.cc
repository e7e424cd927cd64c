#include "hull/common/result.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <memory>
#include <string>

namespace hull {
namespace {

Result<int> ParsePositive(int value) {
  if (value <= 0) return Error(EINVAL, "not positive");
  return value;
}

Result<int> DoubleIt(int value) {
  HULL_ASSIGN_OR_RETURN(int parsed, ParsePositive(value));
  return parsed * 2;
}

Result<void> CheckBoth(int a, int b) {
  HULL_TRY(ParsePositive(a).WithContext("first"));
  HULL_TRY(ParsePositive(b).WithContext("second"));
  return {};
}

TEST(Error, FromErrnoNamesTheOperationAndTheSystemMessage) {
  const Error error = Error::FromErrno(ENOENT, "open /dev/kvm");
  EXPECT_EQ(error.code(), ENOENT);
  EXPECT_EQ(error.message(), "open /dev/kvm: No such file or directory");
}

TEST(Error, ContextIsPrependedOutermostFirst) {
  const Error error =
      Error::FromErrno(ENOENT, "open /dev/kvm").WithContext("creating VM").WithContext("starting");
  EXPECT_EQ(error.message(), "starting: creating VM: open /dev/kvm: No such file or directory");
  EXPECT_EQ(error.code(), ENOENT);
}

TEST(Error, WithContextOnAConstErrorLeavesTheOriginalUnchanged) {
  const Error original(EIO, "read");
  const Error wrapped = original.WithContext("loading kernel");
  EXPECT_EQ(original.message(), "read");
  EXPECT_EQ(wrapped.message(), "loading kernel: read");
}

TEST(Error, ToStringEndsWithTheErrnoName) {
  EXPECT_EQ(Error(EACCES, "open x").ToString(), "open x [EACCES]");
}

TEST(Error, ToStringShowsAnUnknownCodeAsANumber) {
  EXPECT_EQ(Error(123456, "odd").ToString(), "odd [error 123456]");
}

TEST(Result, HoldsAValue) {
  Result<int> result = ParsePositive(7);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.value(), 7);
  EXPECT_EQ(*result, 7);
}

TEST(Result, HoldsAnError) {
  Result<int> result = ParsePositive(-1);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), EINVAL);
  EXPECT_EQ(result.error().message(), "not positive");
}

TEST(Result, HoldsMoveOnlyValues) {
  Result<std::unique_ptr<int>> result = std::make_unique<int>(5);
  ASSERT_TRUE(result.ok());
  std::unique_ptr<int> taken = std::move(result).value();
  EXPECT_EQ(*taken, 5);
}

TEST(Result, ConvertsFromAConvertibleValue) {
  Result<std::string> result = "text";
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->size(), 4u);
}

TEST(Result, WithContextAnnotatesOnlyFailures) {
  Result<int> good = ParsePositive(1).WithContext("ctx");
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 1);
  Result<int> bad = ParsePositive(0).WithContext("ctx");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message(), "ctx: not positive");
}

TEST(ResultVoid, DefaultIsSuccess) {
  Result<void> result;
  EXPECT_TRUE(result.ok());
  EXPECT_TRUE(Ok().ok());
}

TEST(ResultVoid, HoldsAnErrorWithContext) {
  Result<void> result = Result<void>(Error(EIO, "write")).WithContext("flushing");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message(), "flushing: write");
}

TEST(HullAssignOrReturn, AssignsTheValueOnSuccess) {
  Result<int> result = DoubleIt(21);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(*result, 42);
}

TEST(HullAssignOrReturn, ReturnsTheErrorOnFailure) {
  Result<int> result = DoubleIt(-3);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message(), "not positive");
}

TEST(HullTry, PassesWhenEveryStepSucceeds) { EXPECT_TRUE(CheckBoth(1, 2).ok()); }

TEST(HullTry, StopsAtTheFirstFailureWithItsContext) {
  Result<void> result = CheckBoth(1, -2);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message(), "second: not positive");
}

TEST(ResultDeathTest, ReadingTheValueOfAFailureAborts) {
  Result<int> result = ParsePositive(0);
  EXPECT_DEATH((void)result.value(), "check failed");
}

}  // namespace
}  // namespace hull
