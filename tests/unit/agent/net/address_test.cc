#include "hull/agent/net/address.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <cerrno>
#include <string>

namespace hull::agent::net {
namespace {

struct CidrCase {
  const char* text;
  int family;
  const char* address;  // FormatIp of the result
  uint8_t prefix_len;
};

TEST(ParseCidr, AcceptsCanonicalIpv4AndIpv6) {
  const CidrCase cases[] = {
      {"10.0.0.2/24", AF_INET, "10.0.0.2", 24},
      {"0.0.0.0/0", AF_INET, "0.0.0.0", 0},
      {"255.255.255.255/32", AF_INET, "255.255.255.255", 32},
      {"192.168.1.0/31", AF_INET, "192.168.1.0", 31},
      {"fd00::2/64", AF_INET6, "fd00::2", 64},
      {"FD00:0:0:0:0:0:0:2/64", AF_INET6, "fd00::2", 64},
      {"::/0", AF_INET6, "::", 0},
      {"::1/128", AF_INET6, "::1", 128},
      {"2001:db8::/32", AF_INET6, "2001:db8::", 32},
      {"::ffff:10.0.0.1/96", AF_INET6, "::ffff:10.0.0.1", 96},
  };
  for (const CidrCase& c : cases) {
    SCOPED_TRACE(c.text);
    Result<Address> parsed = ParseCidr(c.text);
    ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
    EXPECT_EQ(parsed->family, c.family);
    EXPECT_EQ(FormatIp(*parsed), c.address);
    EXPECT_EQ(parsed->prefix_len, c.prefix_len);
    EXPECT_EQ(FormatCidr(*parsed), std::string(c.address) + "/" + std::to_string(c.prefix_len));
  }
}

TEST(ParseCidr, StoresNetworkOrderBytes) {
  Result<Address> parsed = ParseCidr("10.1.2.3/8");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->bytes[0], 10);
  EXPECT_EQ(parsed->bytes[3], 3);
  EXPECT_EQ(parsed->bytes[4], 0);
  EXPECT_EQ(parsed->size(), 4u);
}

TEST(ParseCidr, RejectsAnythingElseNamingTheText) {
  const char* cases[] = {
      "",
      "10.0.0.2",         // no prefix
      "10.0.0.2/",        // empty prefix
      "/24",              // empty address
      "10.0.0.2/33",      // prefix too long
      "fd00::2/129",      //
      "10.0.0.2/024",     // leading zero
      "10.0.0.2/+24",     // sign
      "10.0.0.2/-1",      //
      "10.0.0.2/2 4",     //
      "10.0.0.2/24/1",    // two slashes
      "10.0.0.2/1000",    //
      "10.0.0/24",        // three parts
      "10.0.0.256/24",    // octet out of range
      "010.0.0.1/8",      // leading zero in an octet
      "10.0.0.2 /24",     // space
      " 10.0.0.2/24",     //
      "fe80::1%eth0/64",  // zone
      "fd00:::2/64",      //
      "fd00::g/64",       //
      "1.2.3.4.5/24",     //
      "0x0a.0.0.1/8",     //
      "localhost/8",      //
  };
  for (const char* text : cases) {
    SCOPED_TRACE(text);
    Result<Address> parsed = ParseCidr(text);
    ASSERT_FALSE(parsed.ok()) << FormatCidr(*parsed);
    EXPECT_EQ(parsed.error().code(), EINVAL);
    EXPECT_NE(parsed.error().message().find("\"" + std::string(text) + "\""), std::string::npos)
        << parsed.error().message();
  }
}

TEST(ParseCidr, RejectsEmbeddedNulAndQuotesItEscaped) {
  Result<Address> parsed = ParseCidr(std::string_view("10.0.0.1\0/8", 11));
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message().find("\\x00"), std::string::npos) << parsed.error().message();
}

TEST(ParseCidr, BoundsTheQuotedTextOfLongInput) {
  const std::string text(5000, '1');
  Result<Address> parsed = ParseCidr(text + "/8");
  ASSERT_FALSE(parsed.ok());
  EXPECT_LT(parsed.error().message().size(), 200u);
}

TEST(Address, KnowsItsHostBitsAndNetwork) {
  Result<Address> host = ParseCidr("10.0.0.5/24");
  Result<Address> network = ParseCidr("10.0.0.0/24");
  Result<Address> odd = ParseCidr("10.0.1.255/23");
  Result<Address> v6 = ParseCidr("fd00::1:2/112");
  ASSERT_TRUE(host.ok() && network.ok() && odd.ok() && v6.ok());
  EXPECT_TRUE(host->has_host_bits());
  EXPECT_FALSE(network->has_host_bits());
  EXPECT_EQ(host->network(), *network);
  EXPECT_EQ(FormatCidr(odd->network()), "10.0.0.0/23");
  EXPECT_EQ(FormatCidr(v6->network()), "fd00::1:0/112");
}

TEST(ParseIp, AcceptsAddressesWithFullPrefix) {
  Result<Address> v4 = ParseIp("10.0.0.1");
  Result<Address> v6 = ParseIp("fd00::1");
  ASSERT_TRUE(v4.ok() && v6.ok());
  EXPECT_EQ(v4->prefix_len, 32);
  EXPECT_EQ(v6->prefix_len, 128);
  EXPECT_EQ(v6->family, AF_INET6);
}

TEST(ParseIp, RejectsPrefixesAndJunk) {
  for (const char* text : {"", "10.0.0.1/32", "fd00::1/128", "10.0.0", "::g", "10.0.0.1 ",
                           "1.2.3.04", "example.com"}) {
    SCOPED_TRACE(text);
    Result<Address> parsed = ParseIp(text);
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.error().code(), EINVAL);
    EXPECT_NE(parsed.error().message().find("IP address"), std::string::npos);
  }
}

TEST(ParseMac, AcceptsEitherCase) {
  Result<MacAddress> lower = ParseMac("aa:bb:cc:dd:ee:0f");
  Result<MacAddress> upper = ParseMac("AA:BB:CC:DD:EE:0F");
  ASSERT_TRUE(lower.ok() && upper.ok());
  EXPECT_EQ(*lower, *upper);
  EXPECT_EQ(*lower, (MacAddress{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x0f}));
  EXPECT_EQ(FormatMac(*upper), "aa:bb:cc:dd:ee:0f");
}

TEST(ParseMac, RejectsOtherForms) {
  for (const char* text :
       {"", "aa:bb:cc:dd:ee", "aa:bb:cc:dd:ee:ff:00", "aa-bb-cc-dd-ee-ff", "aabb.ccdd.eeff",
        "aa:bb:cc:dd:ee:fg", "a:bb:cc:dd:ee:ff0", "aa:bb:cc:dd:ee:f", " aa:bb:cc:dd:ee:f",
        "aa:bb:cc:dd:ee:ff ", "aa:bb:cc:dd:eeeff", "aabbccddeeff"}) {
    SCOPED_TRACE(text);
    Result<MacAddress> parsed = ParseMac(text);
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.error().code(), EINVAL);
    EXPECT_NE(parsed.error().message().find("MAC address \"" + std::string(text) + "\""),
              std::string::npos)
        << parsed.error().message();
  }
}

}  // namespace
}  // namespace hull::agent::net
