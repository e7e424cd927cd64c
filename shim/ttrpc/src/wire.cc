#include "hull/ttrpc/wire.h"

#include <algorithm>
#include <cerrno>
#include <limits>

namespace hull::ttrpc {
namespace {

// Length of the well-formed UTF-8 sequence at the start of `text` (RFC 3629:
// no overlong forms, no surrogates, nothing past U+10FFFF, as Go's
// utf8.Valid), or 0 when it starts with an ill-formed one.
size_t Utf8SequenceLength(std::string_view text) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
  const auto continuation = [&](size_t i) { return i < text.size() && (byte(i) & 0xc0) == 0x80; };
  const uint8_t lead = byte(0);
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return continuation(1) ? 2 : 0;
  if (lead >= 0xe0 && lead <= 0xef) {
    if (!continuation(1) || !continuation(2)) return 0;
    if (lead == 0xe0 && byte(1) < 0xa0) return 0;  // overlong
    if (lead == 0xed && byte(1) > 0x9f) return 0;  // surrogate
    return 3;
  }
  if (lead >= 0xf0 && lead <= 0xf4) {
    if (!continuation(1) || !continuation(2) || !continuation(3)) return 0;
    if (lead == 0xf0 && byte(1) < 0x90) return 0;  // overlong
    if (lead == 0xf4 && byte(1) > 0x8f) return 0;  // past U+10FFFF
    return 4;
  }
  return 0;
}

bool ParseMessage(std::string_view data, google::protobuf::MessageLite* message) {
  return data.size() <= static_cast<size_t>(std::numeric_limits<int>::max()) &&
         message->ParseFromArray(data.data(), static_cast<int>(data.size()));
}

}  // namespace

std::string ToValidUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    const size_t n = Utf8SequenceLength(text);
    if (n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
      text.remove_prefix(1);
    } else {
      out.append(text.substr(0, n));
      text.remove_prefix(n);
    }
  }
  return out;
}

Result<wire::Request> ParseRequest(std::string_view data) {
  wire::Request request;
  if (!ParseMessage(data, &request)) {
    return Error(EINVAL, "ttrpc request of " + std::to_string(data.size()) +
                             " bytes does not parse as ttrpc.Request");
  }
  return request;
}

std::string SerializeRequest(std::string_view service, std::string_view method,
                             std::string_view payload, std::chrono::nanoseconds timeout,
                             const Metadata& metadata) {
  wire::Request request;
  request.set_service(std::string(service));
  request.set_method(std::string(method));
  request.set_payload(std::string(payload));
  request.set_timeout_nano(timeout.count() > 0 ? timeout.count() : 0);
  for (const auto& [key, value] : metadata) {
    wire::KeyValue* kv = request.add_metadata();
    kv->set_key(key);
    kv->set_value(value);
  }
  return request.SerializeAsString();
}

CallContext MakeCallContext(const wire::Request& request,
                            std::chrono::steady_clock::time_point now) {
  CallContext call;
  call.service = request.service();
  call.method = request.method();
  if (request.timeout_nano() > 0) {
    // Clamped so that a hostile timeout cannot overflow the time point.
    constexpr int64_t kMaxTimeout = std::chrono::nanoseconds(std::chrono::hours(24 * 365)).count();
    call.deadline = now + std::chrono::nanoseconds(std::min(request.timeout_nano(), kMaxTimeout));
  }
  call.metadata.reserve(static_cast<size_t>(request.metadata_size()));
  for (const wire::KeyValue& kv : request.metadata())
    call.metadata.emplace_back(kv.key(), kv.value());
  return call;
}

std::string SerializeResponse(const Reply& reply) {
  wire::Response response;
  google::rpc::Status* status = response.mutable_status();
  status->set_code(static_cast<int32_t>(reply.status().code));
  status->set_message(ToValidUtf8(reply.status().message));
  if (reply.ok()) response.set_payload(reply.payload());
  return response.SerializeAsString();
}

Result<Reply> ParseResponse(std::string_view data) {
  wire::Response response;
  if (!ParseMessage(data, &response)) {
    return Error(EINVAL, "ttrpc response of " + std::to_string(data.size()) +
                             " bytes does not parse as ttrpc.Response");
  }
  const StatusCode code = static_cast<StatusCode>(response.status().code());
  if (code != StatusCode::kOk) return Reply(Status{code, response.status().message()});
  return Reply(std::move(*response.mutable_payload()));
}

}  // namespace hull::ttrpc
