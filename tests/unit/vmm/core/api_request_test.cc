#include "hull/vmm/core/api_request.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <nlohmann/json.hpp>
#include <string>

namespace hull::vmm {
namespace {

std::string ErrorOf(std::string_view line) {
  Result<ApiRequest> request = ParseApiRequest(line);
  EXPECT_FALSE(request.ok()) << line;
  return request.ok() ? "" : request.error().message();
}

TEST(ParseApiRequest, ReadsEveryOp) {
  struct Case {
    const char* line;
    ApiRequest expected;
  };
  for (const Case& c : {
           Case{R"({"op":"state"})", {ApiOp::kState, false, std::nullopt}},
           Case{R"({"op":"pause"})", {ApiOp::kPause, false, std::nullopt}},
           Case{R"({"op":"resume"})", {ApiOp::kResume, false, std::nullopt}},
           Case{R"({"op":"stop"})", {ApiOp::kStop, false, std::nullopt}},
           Case{R"({"op":"stop","force":false})", {ApiOp::kStop, false, std::nullopt}},
           Case{R"({"force":true,"op":"stop"})", {ApiOp::kStop, true, std::nullopt}},
           Case{R"(  {"op" : "metrics"}  )", {ApiOp::kMetrics, false, std::nullopt}},
           Case{R"({"op":"balloon"})", {ApiOp::kBalloon, false, std::nullopt}},
           Case{R"({"op":"balloon","target_mib":64})", {ApiOp::kBalloon, false, 64}},
       }) {
    Result<ApiRequest> request = ParseApiRequest(c.line);
    ASSERT_TRUE(request.ok()) << c.line << ": " << request.error().ToString();
    EXPECT_EQ(*request, c.expected) << c.line;
  }
}

TEST(ParseApiRequest, RejectsAnUnknownOpAndListsTheKnownOnes) {
  const std::string error = ErrorOf(R"({"op":"reboot"})");
  EXPECT_NE(error.find("unknown op \"reboot\""), std::string::npos);
  EXPECT_NE(error.find("state, pause, resume, stop, metrics or balloon"), std::string::npos);
}

TEST(ParseApiRequest, RejectsAMissingOrMistypedOp) {
  EXPECT_NE(ErrorOf("{}").find("no \"op\""), std::string::npos);
  EXPECT_NE(ErrorOf(R"({"op":1})").find("\"op\" must be a string, not number"), std::string::npos);
}

TEST(ParseApiRequest, AcceptsForceOnlyOnStopAndOnlyAsABoolean) {
  EXPECT_NE(
      ErrorOf(R"({"op":"pause","force":true})").find("unknown key \"force\" for op \"pause\""),
      std::string::npos);
  EXPECT_NE(ErrorOf(R"({"op":"stop","force":"yes"})").find("\"force\" must be true or false"),
            std::string::npos);
}

TEST(ParseApiRequest, AcceptsTargetMibOnlyOnBalloonAndOnlyAsAWholeNumber) {
  EXPECT_NE(ErrorOf(R"({"op":"stop","target_mib":1})").find("unknown key \"target_mib\""),
            std::string::npos);
  EXPECT_NE(ErrorOf(R"({"op":"balloon","target_mib":-1})").find("non-negative whole number"),
            std::string::npos);
  EXPECT_NE(ErrorOf(R"({"op":"balloon","target_mib":"64"})").find("not string"), std::string::npos);
}

TEST(ParseApiRequest, RejectsUnknownKeys) {
  EXPECT_NE(ErrorOf(R"({"op":"state","verbose":1})").find("unknown key \"verbose\""),
            std::string::npos);
}

TEST(ParseApiRequest, RejectsWhatIsNotAJsonObject) {
  EXPECT_NE(ErrorOf("[]").find("not array"), std::string::npos);
  EXPECT_NE(ErrorOf("\"state\"").find("not string"), std::string::npos);
  for (const char* bad : {"", "{", "state", "{\"op\":\"state\"} {}", "{\"op\":\"\xc3\x28\"}"}) {
    EXPECT_NE(ErrorOf(bad).find("malformed JSON"), std::string::npos) << bad;
  }
}

TEST(ParseApiRequest, RejectsAnOverlongLine) {
  std::string line = R"({"op":"state"})" + std::string(kMaxApiRequestBytes, ' ');
  Result<ApiRequest> request = ParseApiRequest(line);
  ASSERT_FALSE(request.ok());
  EXPECT_EQ(request.error().code(), E2BIG);
}

TEST(ApiResponses, AreOneJsonObjectPerLine) {
  EXPECT_EQ(ApiOkResponse(), "{\"ok\":true}\n");
  const std::string error = ApiErrorResponse("bad \"thing\"\n");
  ASSERT_TRUE(error.ends_with("\n"));
  EXPECT_EQ(error.find('\n'), error.size() - 1) << "the message's newline is escaped";
  const auto parsed = nlohmann::json::parse(error);
  EXPECT_EQ(parsed["ok"], false);
  EXPECT_EQ(parsed["error"], "bad \"thing\"\n");
  // Bytes that are not UTF-8 are replaced, never thrown about.
  EXPECT_TRUE(ApiErrorResponse("\xff").starts_with("{\"ok\":false,\"error\":"));
  EXPECT_EQ(ApiOkResponse("state", "running"), "{\"ok\":true,\"state\":\"running\"}\n");
  EXPECT_EQ(ApiOkResponse("metrics", nlohmann::json{{"a", 1}}),
            "{\"ok\":true,\"metrics\":{\"a\":1}}\n");
}

TEST(ApiOpName, NamesEveryOp) {
  EXPECT_EQ(ApiOpName(ApiOp::kState), "state");
  EXPECT_EQ(ApiOpName(ApiOp::kPause), "pause");
  EXPECT_EQ(ApiOpName(ApiOp::kResume), "resume");
  EXPECT_EQ(ApiOpName(ApiOp::kStop), "stop");
  EXPECT_EQ(ApiOpName(ApiOp::kMetrics), "metrics");
}

}  // namespace
}  // namespace hull::vmm
