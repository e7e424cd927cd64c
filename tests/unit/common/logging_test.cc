#include "hull/common/logging.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <string>

namespace hull {
namespace {

TEST(ParseLogLevel, AcceptsEveryDocumentedLevel) {
  EXPECT_EQ(*ParseLogLevel("trace"), spdlog::level::trace);
  EXPECT_EQ(*ParseLogLevel("debug"), spdlog::level::debug);
  EXPECT_EQ(*ParseLogLevel("info"), spdlog::level::info);
  EXPECT_EQ(*ParseLogLevel("warn"), spdlog::level::warn);
  EXPECT_EQ(*ParseLogLevel("error"), spdlog::level::err);
  EXPECT_EQ(*ParseLogLevel("off"), spdlog::level::off);
}

TEST(InitLogging, RejectsAnUnknownLevelNamingIt) {
  Result<void> result = InitLogging("loud");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), EINVAL);
  EXPECT_NE(result.error().message().find("\"loud\""), std::string::npos);
}

TEST(InitLogging, SetsTheDefaultLoggerLevel) {
  ASSERT_TRUE(InitLogging("debug", "hull-test").ok());
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::debug);
  EXPECT_EQ(spdlog::default_logger()->name(), "hull-test");
  ASSERT_TRUE(InitLogging().ok());  // twice is fine
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::warn);
}

TEST(FormatLogEvent, WritesKeyValuePairsAfterTheEvent) {
  const int port = 0x3f8;
  EXPECT_EQ(FormatLogEvent("vcpu_exit", Kv("vcpu", 0), Kv("port", port), Kv("kind", "IoOut")),
            "vcpu_exit vcpu=0 port=1016 kind=IoOut");
}

TEST(FormatLogEvent, QuotesValuesThatWouldBreakTheLine) {
  const std::string message = "no such \"file\"\n";
  EXPECT_EQ(FormatLogEvent("error", Kv("msg", message), Kv("empty", "")),
            "error msg=\"no such \\\"file\\\"\\n\" empty=\"\"");
}

}  // namespace
}  // namespace hull
