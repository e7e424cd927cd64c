// Fuzzes what a ttrpc peer reads off its socket: the first byte picks how
// the rest is cut into reads (1 to 64 bytes, or all at once) and a small or
// the real maximum message length; the rest is the byte stream. Every frame
// that decodes goes on as the server or client would take it: Request data
// through ParseRequest, the handler context and the service table, Response
// data through ParseResponse.
//
// Checked beyond the sanitizers: reads cut anywhere give the same frames as
// one read of everything; a frame's data is exactly its header's length,
// never over the maximum; an unknown message type ends the stream for good;
// a request that parses survives a serialize/parse round trip; any bytes as
// a status message make a response that parses.

#include <google/protobuf/stubs/logging.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "hull/common/check.h"
#include "hull/ttrpc/frame.h"
#include "hull/ttrpc/services.h"
#include "hull/ttrpc/wire.h"

namespace {

using namespace hull::ttrpc;

// One decode event in comparable form (NeedMoreBytes is not recorded).
struct Event {
  int kind;  // 0 frame, 1 too long, 2 unknown type
  FrameHeader header;
  std::string data;
  bool operator==(const Event&) const = default;
};

std::vector<Event> DecodeAll(std::string_view stream, size_t chunk, uint32_t max_length) {
  FrameDecoder decoder(max_length);
  std::vector<Event> events;
  for (size_t at = 0; at < stream.size(); at += chunk) {
    decoder.Feed(stream.substr(at, chunk));
    for (;;) {
      DecodeEvent event = decoder.Next();
      if (std::holds_alternative<NeedMoreBytes>(event)) break;
      if (auto* frame = std::get_if<Frame>(&event)) {
        HULL_CHECK(frame->data.size() == frame->header.length);
        HULL_CHECK(frame->header.length <= max_length);
        events.push_back({0, frame->header, std::move(frame->data)});
      } else if (auto* too_long = std::get_if<FrameTooLong>(&event)) {
        HULL_CHECK(too_long->header.length > max_length);
        events.push_back({1, too_long->header, {}});
      } else {
        events.push_back({2, std::get<UnknownMessageType>(event).header, {}});
        // Sticky: nothing decodes after it.
        decoder.Feed(stream);
        HULL_CHECK(std::holds_alternative<UnknownMessageType>(decoder.Next()));
        return events;
      }
    }
  }
  return events;
}

const Services& EchoServices() {
  static const Services services = [] {
    Services s;
    (void)s.Register(
        "containerd.task.v2.Task", "Create",
        [](const CallContext&, std::string_view payload) -> Reply { return std::string(payload); });
    return s;
  }();
  return services;
}

void TakeRequest(const std::string& data) {
  auto request = ParseRequest(data);
  if (!request.ok()) return;
  const CallContext call = MakeCallContext(*request, std::chrono::steady_clock::now());
  Metadata metadata;
  for (const auto& kv : call.metadata) metadata.push_back(kv);
  const auto timeout = std::chrono::nanoseconds(request->timeout_nano());
  auto again = ParseRequest(SerializeRequest(request->service(), request->method(),
                                             request->payload(), timeout, metadata));
  HULL_CHECK(again.ok());
  HULL_CHECK(again->service() == request->service());
  HULL_CHECK(again->method() == request->method());
  HULL_CHECK(again->payload() == request->payload());
  HULL_CHECK(again->metadata_size() == request->metadata_size());
  const Reply reply = EchoServices().Call(call, request->payload());
  HULL_CHECK(ParseResponse(SerializeResponse(reply)).ok());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // protobuf logs every proto3 string that is not UTF-8; the fuzzer makes
  // many, and they are refused as they should be.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // SAFETY: libFuzzer's input, read as the bytes of a socket stream.
  const std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);
  const size_t chunk = (data[0] & 0x40) != 0 ? stream.size() + 1 : 1u + (data[0] & 0x3f);
  const uint32_t max_length = (data[0] & 0x80) != 0 ? 64 : kMaxMessageLength;

  const std::vector<Event> events = DecodeAll(stream, chunk, max_length);
  HULL_CHECK(events == DecodeAll(stream, stream.size() + 1, max_length));
  for (const Event& event : events) {
    if (event.kind != 0) continue;
    if (event.header.type == MessageType::kRequest) TakeRequest(event.data);
    if (event.header.type == MessageType::kResponse) (void)ParseResponse(event.data);
    // Whatever a handler's error says, the response it makes parses.
    const std::string valid = ToValidUtf8(event.data);
    HULL_CHECK(ToValidUtf8(valid) == valid);
    auto reply = ParseResponse(SerializeResponse(Status{StatusCode::kInternal, event.data}));
    HULL_CHECK(reply.ok() && reply->status().message == valid);
  }
  return 0;
}
