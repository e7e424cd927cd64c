#include "hull/ttrpc/status.h"

#include <cerrno>

namespace hull::ttrpc {

std::string StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return "OK";
    case StatusCode::kCancelled:
      return "CANCELLED";
    case StatusCode::kUnknown:
      return "UNKNOWN";
    case StatusCode::kInvalidArgument:
      return "INVALID_ARGUMENT";
    case StatusCode::kDeadlineExceeded:
      return "DEADLINE_EXCEEDED";
    case StatusCode::kNotFound:
      return "NOT_FOUND";
    case StatusCode::kAlreadyExists:
      return "ALREADY_EXISTS";
    case StatusCode::kPermissionDenied:
      return "PERMISSION_DENIED";
    case StatusCode::kResourceExhausted:
      return "RESOURCE_EXHAUSTED";
    case StatusCode::kFailedPrecondition:
      return "FAILED_PRECONDITION";
    case StatusCode::kAborted:
      return "ABORTED";
    case StatusCode::kOutOfRange:
      return "OUT_OF_RANGE";
    case StatusCode::kUnimplemented:
      return "UNIMPLEMENTED";
    case StatusCode::kInternal:
      return "INTERNAL";
    case StatusCode::kUnavailable:
      return "UNAVAILABLE";
    case StatusCode::kDataLoss:
      return "DATA_LOSS";
    case StatusCode::kUnauthenticated:
      return "UNAUTHENTICATED";
  }
  return "CODE(" + std::to_string(static_cast<int32_t>(code)) + ")";
}

std::string Status::ToString() const {
  return message.empty() ? StatusCodeName(code) : StatusCodeName(code) + ": " + message;
}

Status StatusFromError(const Error& error) {
  StatusCode code = StatusCode::kUnknown;
  switch (error.code()) {
    case ENOENT:
    case ESRCH:
      code = StatusCode::kNotFound;
      break;
    case EEXIST:
      code = StatusCode::kAlreadyExists;
      break;
    case EINVAL:
      code = StatusCode::kInvalidArgument;
      break;
    case EPERM:
    case EACCES:
      code = StatusCode::kPermissionDenied;
      break;
    case ENOSYS:
    case EOPNOTSUPP:
      code = StatusCode::kUnimplemented;
      break;
    case ETIMEDOUT:
      code = StatusCode::kDeadlineExceeded;
      break;
    case ECANCELED:
      code = StatusCode::kCancelled;
      break;
    case ENOMEM:
    case ENOSPC:
    case EMFILE:
    case ENFILE:
    case EMSGSIZE:
      code = StatusCode::kResourceExhausted;
      break;
    case EBUSY:
      code = StatusCode::kFailedPrecondition;
      break;
    case EAGAIN:
    case ECONNREFUSED:
    case ECONNRESET:
    case EPIPE:
    case ENOTCONN:
      code = StatusCode::kUnavailable;
      break;
    case ERANGE:
    case EOVERFLOW:
      code = StatusCode::kOutOfRange;
      break;
    default:
      break;
  }
  return Status{code, error.ToString()};
}

int ErrnoFromStatusCode(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return 0;
    case StatusCode::kCancelled:
      return ECANCELED;
    case StatusCode::kInvalidArgument:
      return EINVAL;
    case StatusCode::kDeadlineExceeded:
      return ETIMEDOUT;
    case StatusCode::kNotFound:
      return ENOENT;
    case StatusCode::kAlreadyExists:
      return EEXIST;
    case StatusCode::kPermissionDenied:
    case StatusCode::kUnauthenticated:
      return EPERM;
    case StatusCode::kResourceExhausted:
      return ENOSPC;
    case StatusCode::kFailedPrecondition:
      return EBUSY;
    case StatusCode::kAborted:
      return ECANCELED;
    case StatusCode::kOutOfRange:
      return ERANGE;
    case StatusCode::kUnimplemented:
      return EOPNOTSUPP;
    case StatusCode::kUnavailable:
      return EAGAIN;
    case StatusCode::kUnknown:
    case StatusCode::kInternal:
    case StatusCode::kDataLoss:
      return EIO;
  }
  return EIO;
}

}  // namespace hull::ttrpc
