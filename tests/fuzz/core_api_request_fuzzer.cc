// Fuzzes the control API's request parser: any bytes a client sends on one
// line. It must return a request or an error, never crash or throw, and the
// error must make a well-formed response line.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string_view>

#include "hull/vmm/core/api_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // SAFETY: the fuzzer's bytes viewed as chars, read-only.
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  hull::Result<hull::vmm::ApiRequest> request = hull::vmm::ParseApiRequest(line);
  if (request.ok()) {
    if (hull::vmm::ApiOpName(request->op) == "unknown") std::abort();
    if (request->force && request->op != hull::vmm::ApiOp::kStop) std::abort();
    return 0;
  }
  const std::string response = hull::vmm::ApiErrorResponse(request.error().message());
  if (response.empty() || response.back() != '\n') std::abort();
  const auto parsed = nlohmann::json::parse(response, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object() || parsed["ok"] != false || !parsed["error"].is_string()) std::abort();
  return 0;
}
