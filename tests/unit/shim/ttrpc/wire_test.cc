#include "hull/ttrpc/wire.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>

namespace hull::ttrpc {
namespace {

using namespace std::chrono_literals;

TEST(Wire, RequestsRoundTripWithTimeoutAndMetadata) {
  const std::string bytes =
      SerializeRequest("containerd.task.v2.Task", "Wait", "payload", 2s, {{"k", "v"}, {"k", "w"}});
  auto request = ParseRequest(bytes);
  ASSERT_TRUE(request.ok()) << request.error().ToString();
  EXPECT_EQ(request->service(), "containerd.task.v2.Task");
  EXPECT_EQ(request->method(), "Wait");
  EXPECT_EQ(request->payload(), "payload");
  EXPECT_EQ(request->timeout_nano(), 2'000'000'000);
  ASSERT_EQ(request->metadata_size(), 2);
  EXPECT_EQ(request->metadata(1).value(), "w");
}

TEST(Wire, RequestFieldNumbersAreTtrpcs) {
  // service=1, method=2, payload=3 (length-delimited), timeout_nano=4 (varint).
  const std::string bytes = SerializeRequest("s", "m", "p", 5ns, {});
  EXPECT_EQ(bytes, std::string("\x0a\x01s\x12\x01m\x1a\x01p\x20\x05", 11));
}

TEST(Wire, RefusesARequestThatDoesNotParse) {
  auto request =
      ParseRequest(std::string("\x0a\x05"
                               "ab",
                               4));  // length past the end
  ASSERT_FALSE(request.ok());
  EXPECT_EQ(request.error().code(), EINVAL);
}

TEST(Wire, ContextCarriesDeadlineAndMetadata) {
  wire::Request request;
  request.set_service("s");
  request.set_method("m");
  request.set_timeout_nano(1'000'000);
  auto* kv = request.add_metadata();
  kv->set_key("containerd-namespace");
  kv->set_value("k8s.io");
  const auto now = std::chrono::steady_clock::now();
  const CallContext call = MakeCallContext(request, now);
  EXPECT_EQ(call.service, "s");
  EXPECT_EQ(call.method, "m");
  ASSERT_TRUE(call.deadline.has_value());
  EXPECT_EQ(*call.deadline, now + 1ms);
  ASSERT_EQ(call.metadata.size(), 1u);
  EXPECT_EQ(call.metadata[0].second, "k8s.io");

  request.set_timeout_nano(0);
  EXPECT_FALSE(MakeCallContext(request, now).deadline.has_value());
  request.set_timeout_nano(-5);
  EXPECT_FALSE(MakeCallContext(request, now).deadline.has_value());
  request.set_timeout_nano(INT64_MAX);  // clamped, no overflow
  EXPECT_GT(*MakeCallContext(request, now).deadline, now);
}

TEST(Wire, ResponsesAlwaysCarryAStatusAsTtrpcSendsThem) {
  // An OK response: status {} (field 1, empty) then the payload (field 2).
  EXPECT_EQ(SerializeResponse(Reply(std::string("hi"))), std::string("\x0a\x00\x12\x02hi", 6));
  auto ok = ParseResponse(SerializeResponse(Reply(std::string("hi"))));
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok->ok());
  EXPECT_EQ(ok->payload(), "hi");

  auto failed = ParseResponse(SerializeResponse(Status{StatusCode::kNotFound, "gone"}));
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->status().code, StatusCode::kNotFound);
  EXPECT_EQ(failed->status().message, "gone");
}

TEST(Wire, AResponseWithoutStatusIsOk) {
  auto reply = ParseResponse(std::string("\x12\x02hi", 4));
  ASSERT_TRUE(reply.ok());
  EXPECT_TRUE(reply->ok());
  EXPECT_EQ(reply->payload(), "hi");
  EXPECT_FALSE(ParseResponse(std::string("\xff", 1)).ok());
}

TEST(Wire, SendsStatusMessagesAsValidUtf8SoThatGoCanReadThem) {
  const std::string path_with_latin1 = "open /bundle/caf\xe9: No such file";
  auto reply = ParseResponse(SerializeResponse(Status{StatusCode::kNotFound, path_with_latin1}));
  ASSERT_TRUE(reply.ok()) << reply.error().ToString();
  EXPECT_EQ(reply->status().message, "open /bundle/caf\xEF\xBF\xBD: No such file");
}

TEST(ToValidUtf8, KeepsWellFormedTextAndReplacesEachBadByte) {
  const struct {
    std::string in;
    std::string out;
  } cases[] = {
      {"", ""},
      {"plain ascii", "plain ascii"},
      {"\xc3\xa9t\xc3\xa9", "\xc3\xa9t\xc3\xa9"},                          // été
      {"\xe2\x82\xac \xf0\x9f\x98\x80", "\xe2\x82\xac \xf0\x9f\x98\x80"},  // € 😀
      {"\xff", "\xEF\xBF\xBD"},
      {"a\xc3", "a\xEF\xBF\xBD"},                                                // cut short
      {"\xc0\xaf", "\xEF\xBF\xBD\xEF\xBF\xBD"},                                  // overlong '/'
      {"\xe0\x80\xaf", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},                  // overlong
      {"\xed\xa0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},                  // surrogate
      {"\xf4\x90\x80\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},  // > U+10FFFF
  };
  for (const auto& c : cases) EXPECT_EQ(ToValidUtf8(c.in), c.out) << c.in;
}

}  // namespace
}  // namespace hull::ttrpc
