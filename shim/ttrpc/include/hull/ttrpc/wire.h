#pragma once

// The data of Request and Response frames: ttrpc's Request and Response
// protobuf messages (proto/ttrpc.proto), parsed and built. Pure.

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hull/common/result.h"
#include "hull/ttrpc/services.h"
#include "ttrpc.pb.h"

namespace hull::ttrpc {

using Metadata = std::vector<std::pair<std::string, std::string>>;

// EINVAL when `data` is no Request message.
Result<wire::Request> ParseRequest(std::string_view data);

// `timeout` 0 means none (timeout_nano 0).
std::string SerializeRequest(std::string_view service, std::string_view method,
                             std::string_view payload, std::chrono::nanoseconds timeout,
                             const Metadata& metadata);

// The context a handler sees for `request` (stop token left unset), with
// its deadline counted from `now`.
CallContext MakeCallContext(const wire::Request& request,
                            std::chrono::steady_clock::time_point now);

// A Response message: status always set (code 0 when OK), as ttrpc sends it.
// The status message goes out as valid UTF-8 (ToValidUtf8): it is a proto3
// string, which Go's protobuf refuses to unmarshal otherwise, and hull's
// error messages may quote paths or ids that are not.
std::string SerializeResponse(const Reply& reply);

// EINVAL when `data` is no Response message. A missing status means OK.
// (protobuf's C++ parser refuses proto3 strings that are not UTF-8, so a
// status message that is not fails the whole response.)
Result<Reply> ParseResponse(std::string_view data);

// `text` with each byte that does not start a well-formed UTF-8 sequence
// replaced by U+FFFD.
std::string ToValidUtf8(std::string_view text);

}  // namespace hull::ttrpc
