#include "hull/agent/net/resolv_conf.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <string>

namespace hull::agent::net {
namespace {

TEST(FormatResolvConf, WritesServersSearchesAndOptions) {
  Result<std::string> text =
      FormatResolvConf({"10.0.0.1", "FD00::53"}, {"example.com", "corp"}, {"ndots:2", "rotate"});
  ASSERT_TRUE(text.ok()) << text.error().ToString();
  EXPECT_EQ(*text,
            "nameserver 10.0.0.1\n"
            "nameserver fd00::53\n"
            "search example.com corp\n"
            "options ndots:2 rotate\n");
}

TEST(FormatResolvConf, LeavesOutEmptyLines) {
  Result<std::string> only_servers = FormatResolvConf({"1.1.1.1"}, {}, {});
  ASSERT_TRUE(only_servers.ok());
  EXPECT_EQ(*only_servers, "nameserver 1.1.1.1\n");
  Result<std::string> only_options = FormatResolvConf({}, {}, {"edns0"});
  ASSERT_TRUE(only_options.ok());
  EXPECT_EQ(*only_options, "options edns0\n");
  Result<std::string> nothing = FormatResolvConf({}, {}, {});
  ASSERT_TRUE(nothing.ok());
  EXPECT_EQ(*nothing, "");
}

TEST(FormatResolvConf, RejectsServersThatAreNoIpAddress) {
  for (const char* server : {"dns.google", "10.0.0.1/32", "", "10.0.0.1\nnameserver 6.6.6.6"}) {
    SCOPED_TRACE(server);
    Result<std::string> text = FormatResolvConf({server}, {}, {});
    ASSERT_FALSE(text.ok());
    EXPECT_EQ(text.error().code(), EINVAL);
    EXPECT_NE(text.error().message().find("DNS server"), std::string::npos);
  }
}

TEST(FormatResolvConf, RejectsWordsThatWouldBreakTheFile) {
  const std::string too_long(254, 'a');
  for (const std::string& bad : {std::string(""), std::string("a b"), std::string("a\nnameserver"),
                                 std::string("tab\there"), too_long}) {
    SCOPED_TRACE(bad);
    Result<std::string> search = FormatResolvConf({}, {bad}, {});
    ASSERT_FALSE(search.ok());
    EXPECT_EQ(search.error().code(), EINVAL);
    EXPECT_NE(search.error().message().find("DNS search domain"), std::string::npos);
    if (bad != too_long) {
      Result<std::string> option = FormatResolvConf({}, {}, {bad});
      ASSERT_FALSE(option.ok());
      EXPECT_NE(option.error().message().find("DNS option"), std::string::npos);
    }
  }
}

TEST(FormatResolvConf, AcceptsTheLongestDomain) {
  const std::string longest(253, 'a');
  Result<std::string> text = FormatResolvConf({}, {longest}, {});
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "search " + longest + "\n");
}

}  // namespace
}  // namespace hull::agent::net
