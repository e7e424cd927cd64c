#pragma once

// Call status: gRPC's codes, which ttrpc carries in google.rpc.Status and
// containerd maps to its errdefs (NOT_FOUND -> ErrNotFound, ...).
//
// hull code fails with Errors carrying errno values; StatusFromError is the
// one place those become status codes (ENOENT -> NOT_FOUND, ...), and
// ErrnoFromStatusCode the way back for a client.

#include <cstdint>
#include <string>
#include <string_view>

#include "hull/common/result.h"

namespace hull::ttrpc {

enum class StatusCode : int32_t {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

// "NOT_FOUND"; "CODE(42)" for a code gRPC does not define.
std::string StatusCodeName(StatusCode code);

struct Status {
  StatusCode code = StatusCode::kOk;
  std::string message;

  bool ok() const { return code == StatusCode::kOk; }
  // "NOT_FOUND: container abc"
  std::string ToString() const;
};

// ENOENT/ESRCH -> NOT_FOUND, EEXIST -> ALREADY_EXISTS, EINVAL ->
// INVALID_ARGUMENT, EBUSY -> FAILED_PRECONDITION, ENOSYS/EOPNOTSUPP ->
// UNIMPLEMENTED, ... (status.cc has the table); anything else is UNKNOWN,
// as in ttrpc. The message is the Error's, with its errno name.
Status StatusFromError(const Error& error);

// The errno a client reports a failed call with: the inverse of
// StatusFromError for the codes it produces, EIO for the rest.
int ErrnoFromStatusCode(StatusCode code);

}  // namespace hull::ttrpc
