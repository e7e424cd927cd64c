#include "hull/ttrpc/status.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace hull::ttrpc {
namespace {

TEST(StatusCodeName, NamesCodesAsGrpcDoes) {
  EXPECT_EQ(StatusCodeName(StatusCode::kOk), "OK");
  EXPECT_EQ(StatusCodeName(StatusCode::kNotFound), "NOT_FOUND");
  EXPECT_EQ(StatusCodeName(StatusCode::kResourceExhausted), "RESOURCE_EXHAUSTED");
  EXPECT_EQ(StatusCodeName(StatusCode::kUnauthenticated), "UNAUTHENTICATED");
  EXPECT_EQ(StatusCodeName(static_cast<StatusCode>(42)), "CODE(42)");
}

TEST(Status, ReadsCodeThenMessage) {
  EXPECT_EQ((Status{StatusCode::kNotFound, "container abc"}).ToString(),
            "NOT_FOUND: container abc");
  EXPECT_EQ(Status{}.ToString(), "OK");
  EXPECT_TRUE(Status{}.ok());
}

TEST(StatusFromError, MapsErrnoToTheCodesContainerdUnderstands) {
  const struct {
    int errnum;
    StatusCode code;
  } cases[] = {
      {ENOENT, StatusCode::kNotFound},
      {ESRCH, StatusCode::kNotFound},
      {EEXIST, StatusCode::kAlreadyExists},
      {EINVAL, StatusCode::kInvalidArgument},
      {EBUSY, StatusCode::kFailedPrecondition},
      {ENOSYS, StatusCode::kUnimplemented},
      {EOPNOTSUPP, StatusCode::kUnimplemented},
      {EPERM, StatusCode::kPermissionDenied},
      {EACCES, StatusCode::kPermissionDenied},
      {ETIMEDOUT, StatusCode::kDeadlineExceeded},
      {ECANCELED, StatusCode::kCancelled},
      {ENOSPC, StatusCode::kResourceExhausted},
      {EMSGSIZE, StatusCode::kResourceExhausted},
      {EAGAIN, StatusCode::kUnavailable},
      {EPIPE, StatusCode::kUnavailable},
      {ERANGE, StatusCode::kOutOfRange},
      {EIO, StatusCode::kUnknown},
      {EXDEV, StatusCode::kUnknown},
  };
  for (const auto& c : cases) {
    const Status status = StatusFromError(Error(c.errnum, "starting task"));
    EXPECT_EQ(status.code, c.code) << Error(c.errnum, "").ToString();
    EXPECT_NE(status.message.find("starting task"), std::string::npos);
  }
}

TEST(ErrnoFromStatusCode, InvertsStatusFromErrorForItsFirstErrno) {
  for (int errnum : {ENOENT, EEXIST, EINVAL, EBUSY, EOPNOTSUPP, EPERM, ETIMEDOUT, ECANCELED, ENOSPC,
                     EAGAIN, ERANGE}) {
    EXPECT_EQ(ErrnoFromStatusCode(StatusFromError(Error(errnum, "x")).code), errnum)
        << Error(errnum, "").ToString();
  }
  EXPECT_EQ(ErrnoFromStatusCode(StatusCode::kInternal), EIO);
  EXPECT_EQ(ErrnoFromStatusCode(static_cast<StatusCode>(99)), EIO);
}

}  // namespace
}  // namespace hull::ttrpc
