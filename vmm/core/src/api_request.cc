#include "hull/vmm/core/api_request.h"

#include <fmt/format.h>

#include <cerrno>
#include <exception>
#include <new>
#include <nlohmann/json.hpp>

namespace hull::vmm {
namespace {

using nlohmann::json;

Result<ApiOp> ParseOp(const json& value) {
  if (!value.is_string()) {
    return Error(EINVAL, fmt::format("\"op\" must be a string, not {}", value.type_name()));
  }
  const std::string& name = value.get_ref<const std::string&>();
  for (ApiOp op : {ApiOp::kState, ApiOp::kPause, ApiOp::kResume, ApiOp::kStop, ApiOp::kMetrics,
                   ApiOp::kBalloon}) {
    if (name == ApiOpName(op)) return op;
  }
  return Error(EINVAL, fmt::format("unknown op \"{}\": use state, pause, resume, stop, metrics "
                                   "or balloon",
                                   name));
}

Result<ApiRequest> ParseOrThrow(std::string_view line) {
  const json root = json::parse(line.begin(), line.end());
  if (!root.is_object()) {
    return Error(EINVAL, fmt::format("a request is a JSON object, not {}", root.type_name()));
  }
  auto op = root.find("op");
  if (op == root.end()) return Error(EINVAL, "the request has no \"op\"");
  ApiRequest request;
  HULL_ASSIGN_OR_RETURN(request.op, ParseOp(*op));
  for (const auto& [key, value] : root.items()) {
    if (key == "op") continue;
    if (key == "force" && request.op == ApiOp::kStop) {
      if (!value.is_boolean()) {
        return Error(EINVAL,
                     fmt::format("\"force\" must be true or false, not {}", value.type_name()));
      }
      request.force = value.get<bool>();
      continue;
    }
    if (key == "target_mib" && request.op == ApiOp::kBalloon) {
      if (!value.is_number_unsigned()) {
        return Error(EINVAL, fmt::format("\"target_mib\" must be a non-negative whole number, "
                                         "not {}",
                                         value.type_name()));
      }
      request.target_mib = value.get<uint64_t>();
      continue;
    }
    return Error(EINVAL,
                 fmt::format("unknown key \"{}\" for op \"{}\"", key, ApiOpName(request.op)));
  }
  return request;
}

// Replace, never throw, should a message carry bytes that are not UTF-8.
std::string Dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

std::string_view ApiOpName(ApiOp op) {
  switch (op) {
    case ApiOp::kState:
      return "state";
    case ApiOp::kPause:
      return "pause";
    case ApiOp::kResume:
      return "resume";
    case ApiOp::kStop:
      return "stop";
    case ApiOp::kMetrics:
      return "metrics";
    case ApiOp::kBalloon:
      return "balloon";
  }
  return "unknown";
}

Result<ApiRequest> ParseApiRequest(std::string_view line) {
  if (line.size() > kMaxApiRequestBytes) {
    return Error(E2BIG, fmt::format("request longer than {} bytes", kMaxApiRequestBytes));
  }
  try {
    return ParseOrThrow(line);
  } catch (const json::exception& e) {
    return Error(EINVAL, fmt::format("malformed JSON: {}", e.what()));
  } catch (const std::bad_alloc&) {
    return Error(ENOMEM, "out of memory parsing the request");
  } catch (const std::exception& e) {
    return Error(EINVAL, e.what());
  }
}

std::string ApiOkResponse() { return "{\"ok\":true}\n"; }

std::string ApiOkResponse(std::string_view key, const nlohmann::json& value) {
  // Built by hand so that "ok" leads (nlohmann sorts keys).
  return fmt::format("{{\"ok\":true,{}:{}}}\n", Dump(json(std::string(key))), Dump(value));
}

std::string ApiErrorResponse(std::string_view message) {
  return fmt::format("{{\"ok\":false,\"error\":{}}}\n", Dump(json(std::string(message))));
}

}  // namespace hull::vmm
