#pragma once

// The control API's requests: one JSON object per line.
//
//   {"op":"state"}   {"op":"pause"}   {"op":"resume"}   {"op":"metrics"}
//   {"op":"stop"}    {"op":"stop","force":true}
//   {"op":"balloon","target_mib":64}   {"op":"balloon"} (status and stats)
//
// Parsing is a pure function (fuzzed: tests/fuzz/core_api_request_fuzzer.cc);
// nlohmann's exceptions stay inside it.

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "hull/common/result.h"

namespace hull::vmm {

// A request line (without its newline) longer than this is refused and the
// connection closed: no legitimate request comes near it.
inline constexpr size_t kMaxApiRequestBytes = 4096;

enum class ApiOp { kState, kPause, kResume, kStop, kMetrics, kBalloon };

// "state", "pause", ...
std::string_view ApiOpName(ApiOp op);

struct ApiRequest {
  ApiOp op = ApiOp::kState;
  bool force = false;  // stop only: skip the graceful attempt
  // balloon only: the guest memory the balloon should take, in MiB
  // (absent: report the balloon's state without changing it).
  std::optional<uint64_t> target_mib;
  bool operator==(const ApiRequest&) const = default;
};

// EINVAL with a message fit for the client for malformed JSON, a missing or
// unknown "op", unknown keys, wrong types; E2BIG for an over-long line.
Result<ApiRequest> ParseApiRequest(std::string_view line);

// Responses, one line each (with the trailing newline).
//   {"ok":true}               {"ok":true,"state":"running"}
//   {"ok":true,"metrics":{...}}   {"ok":false,"error":"..."}
std::string ApiOkResponse();
// {"ok":true,"<key>":<value>}
std::string ApiOkResponse(std::string_view key, const nlohmann::json& value);
std::string ApiErrorResponse(std::string_view message);

}  // namespace hull::vmm
