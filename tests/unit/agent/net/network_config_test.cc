// ConfigureNetwork's checks (pure), then the real thing: tap devices in a
// fresh network namespace of a forked child, configured and read back
// through RTM_GETLINK / RTM_GETADDR / RTM_GETROUTE dumps. Needs root, as the
// test machines have; without it the namespace tests skip.

#include "hull/agent/net/network_config.h"

#include <gtest/gtest.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include "net_namespace_child.h"

namespace hull::agent::net {
namespace {

using testing::CreateTap;
using testing::Expect;

constexpr char kMacA[] = "02:00:00:aa:bb:01";
constexpr char kMacB[] = "02:00:00:aa:bb:02";

InterfaceConfig Interface(std::string name, std::string mac, std::vector<std::string> addresses,
                          uint32_t mtu = 0) {
  InterfaceConfig config;
  config.name = std::move(name);
  config.mac = std::move(mac);
  config.mtu = mtu;
  config.addresses = std::move(addresses);
  return config;
}

RouteConfig Route(std::string destination, std::string gateway, std::string device,
                  uint32_t metric = 0) {
  RouteConfig config;
  config.destination = std::move(destination);
  config.gateway = std::move(gateway);
  config.device = std::move(device);
  config.metric = metric;
  return config;
}

struct BadConfig {
  const char* why;
  std::vector<InterfaceConfig> interfaces;
  std::vector<RouteConfig> routes;
  const char* message_part;
};

TEST(ValidateNetworkConfig, AcceptsAGoodConfiguration) {
  const Result<void> result =
      ValidateNetworkConfig({Interface("eth0", kMacA, {"10.0.0.2/24", "fd00::2/64"}, 1400),
                             Interface("net1", "02:00:00:AA:BB:02", {})},
                            {Route("default", "10.0.0.1", ""), Route("10.1.0.0/16", "", "eth0"),
                             Route("default", "fd00::1", "eth0", 5)});
  EXPECT_TRUE(result.ok()) << result.error().ToString();
}

TEST(ValidateNetworkConfig, RejectsBadConfigurationsNamingWhatIsWrong) {
  const std::vector<BadConfig> cases = {
      {"empty name", {Interface("", kMacA, {})}, {}, "the name is empty"},
      {"long name", {Interface("a23456789012345x", kMacA, {})}, {}, "longer than 15"},
      {"slash", {Interface("eth/0", kMacA, {})}, {}, "character"},
      {"space", {Interface("eth 0", kMacA, {})}, {}, "character"},
      {"dot", {Interface(".", kMacA, {})}, {}, "no device name"},
      {"bad mac", {Interface("eth0", "02:00:00:aa:bb", {})}, {}, "interface eth0: MAC address"},
      {"bad cidr", {Interface("eth0", kMacA, {"10.0.0.2"})}, {}, "interface eth0: CIDR"},
      {"tiny mtu", {Interface("eth0", kMacA, {}, 67)}, {}, "MTU 67 is under 68"},
      {"ipv6 mtu", {Interface("eth0", kMacA, {"fd00::2/64"}, 1279)}, {}, "IPv6"},
      {"same name", {Interface("eth0", kMacA, {}), Interface("eth0", kMacB, {})}, {}, "two"},
      {"same mac", {Interface("eth0", kMacA, {}), Interface("eth1", kMacA, {})}, {}, "MAC"},
      {"host bits", {}, {Route("10.1.0.5/16", "", "eth0")}, "did you mean 10.1.0.0/16?"},
      {"bad gateway", {}, {Route("default", "10.0.0.256", "")}, "route default via 10.0.0.256"},
      {"mixed", {}, {Route("10.1.0.0/16", "fd00::1", "")}, "mix IPv4 and IPv6"},
      {"nowhere", {}, {Route("10.1.0.0/16", "", "")}, "needs a device"},
      {"bad device", {}, {Route("default", "10.0.0.1", "a:b")}, "character"},
      {"bad destination", {}, {Route("everywhere", "10.0.0.1", "")}, "CIDR \"everywhere\""},
  };
  for (const BadConfig& c : cases) {
    SCOPED_TRACE(c.why);
    const Result<void> result = ValidateNetworkConfig(c.interfaces, c.routes);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code(), EINVAL);
    EXPECT_NE(result.error().message().find(c.message_part), std::string::npos)
        << result.error().message();
  }
}

// ---- In a network namespace ------------------------------------------------

Result<Link> FindLink(Netlink& netlink, const std::string& name) {
  HULL_ASSIGN_OR_RETURN(std::vector<Link> links, netlink.ListLinks());
  for (const Link& link : links) {
    if (link.name == name) return link;
  }
  return Error(ENODEV, "no link named " + name);
}

bool HasAddress(const std::vector<InterfaceAddress>& addresses, int index, const char* cidr) {
  return std::any_of(addresses.begin(), addresses.end(), [&](const InterfaceAddress& a) {
    return a.index == index && FormatCidr(a.address) == cidr;
  });
}

const RouteEntry* FindRoute(const std::vector<RouteEntry>& routes, const char* destination,
                            int oif) {
  for (const RouteEntry& route : routes) {
    const std::string text =
        route.destination.prefix_len == 0 ? "default" : FormatCidr(route.destination);
    if (text == destination && route.oif == oif && route.table == RT_TABLE_MAIN) return &route;
  }
  return nullptr;
}

TEST(ConfigureNetwork, ConfiguresTheDeviceWithTheMac) {
  HULL_EXPECT_IN_NEW_NETNS([]() -> Result<void> {
    HULL_ASSIGN_OR_RETURN(UniqueFd tap, CreateTap("hulltap0", kMacA));
    HULL_ASSIGN_OR_RETURN(Netlink netlink, Netlink::Open());
    // The MAC in upper case, and the gateway route of 10.2.0.0/16 listed
    // before the link route that makes its gateway reachable.
    HULL_TRY(ConfigureNetwork(
        netlink, {Interface("eth0", "02:00:00:AA:BB:01", {"10.0.0.2/24", "fd00::2/64"}, 1400)},
        {Route("10.2.0.0/16", "10.1.0.1", "eth0"), Route("default", "10.0.0.1", "eth0", 10),
         Route("10.1.0.0/16", "", "eth0"), Route("default", "fd00::1", "")}));

    HULL_ASSIGN_OR_RETURN(const Link eth0, FindLink(netlink, "eth0"));
    HULL_TRY(Expect(eth0.mac.has_value() && FormatMac(*eth0.mac) == kMacA, "eth0 has the MAC"));
    HULL_TRY(Expect(eth0.mtu == 1400, "eth0's MTU is 1400, not " + std::to_string(eth0.mtu)));
    HULL_TRY(Expect(eth0.up(), "eth0 is up"));
    HULL_TRY(Expect(!FindLink(netlink, "hulltap0").ok(), "the old name is gone"));
    HULL_ASSIGN_OR_RETURN(const Link lo, FindLink(netlink, "lo"));
    HULL_TRY(Expect(lo.up(), "lo is up"));

    HULL_ASSIGN_OR_RETURN(std::vector<InterfaceAddress> addresses,
                          netlink.ListAddresses(AF_UNSPEC));
    HULL_TRY(Expect(HasAddress(addresses, eth0.index, "10.0.0.2/24"), "eth0 has 10.0.0.2/24"));
    HULL_TRY(Expect(HasAddress(addresses, eth0.index, "fd00::2/64"), "eth0 has fd00::2/64"));
    HULL_TRY(Expect(HasAddress(addresses, lo.index, "127.0.0.1/8"), "lo has 127.0.0.1/8"));
    for (const InterfaceAddress& address : addresses) {
      if (address.index == eth0.index && address.address.family == AF_INET6 &&
          address.scope == RT_SCOPE_UNIVERSE) {
        HULL_TRY(Expect((address.flags & IFA_F_TENTATIVE) == 0, "fd00::2 is not tentative"));
      }
    }

    HULL_ASSIGN_OR_RETURN(std::vector<RouteEntry> v4, netlink.ListRoutes(AF_INET));
    const RouteEntry* link_route = FindRoute(v4, "10.1.0.0/16", eth0.index);
    HULL_TRY(Expect(link_route != nullptr, "a route to 10.1.0.0/16 on eth0"));
    HULL_TRY(Expect(!link_route->gateway.has_value() && link_route->scope == RT_SCOPE_LINK &&
                        link_route->protocol == RTPROT_BOOT,
                    "10.1.0.0/16 is a link route of protocol boot"));
    const RouteEntry* via = FindRoute(v4, "10.2.0.0/16", eth0.index);
    HULL_TRY(
        Expect(via != nullptr && via->gateway.has_value() && FormatIp(*via->gateway) == "10.1.0.1",
               "10.2.0.0/16 via 10.1.0.1"));
    const RouteEntry* default4 = FindRoute(v4, "default", eth0.index);
    HULL_TRY(Expect(default4 != nullptr && default4->gateway.has_value() &&
                        FormatIp(*default4->gateway) == "10.0.0.1" && default4->metric == 10 &&
                        default4->scope == RT_SCOPE_UNIVERSE,
                    "default via 10.0.0.1 metric 10"));
    HULL_ASSIGN_OR_RETURN(std::vector<RouteEntry> v6, netlink.ListRoutes(AF_INET6));
    const RouteEntry* default6 = FindRoute(v6, "default", eth0.index);
    HULL_TRY(Expect(default6 != nullptr && default6->gateway.has_value() &&
                        FormatIp(*default6->gateway) == "fd00::1",
                    "default via fd00::1 on eth0 (the kernel picked the device)"));
    return Ok();
  });
}

TEST(ConfigureNetwork, RunsTwiceWithTheSameResult) {
  HULL_EXPECT_IN_NEW_NETNS([]() -> Result<void> {
    HULL_ASSIGN_OR_RETURN(UniqueFd tap, CreateTap("hulltap0", kMacA));
    HULL_ASSIGN_OR_RETURN(Netlink netlink, Netlink::Open());
    const std::vector<InterfaceConfig> interfaces = {
        Interface("eth0", kMacA, {"10.0.0.2/24"}, 1400)};
    const std::vector<RouteConfig> routes = {Route("10.0.0.0/24", "", "eth0"),
                                             Route("default", "10.0.0.1", "eth0")};
    HULL_TRY(ConfigureNetwork(netlink, interfaces, routes).WithContext("first time"));
    HULL_TRY(ConfigureNetwork(netlink, interfaces, routes).WithContext("second time"));
    return Ok();
  });
}

TEST(ConfigureNetwork, SwapsNamesTheKernelGaveTheOtherWayRound) {
  HULL_EXPECT_IN_NEW_NETNS([]() -> Result<void> {
    HULL_ASSIGN_OR_RETURN(UniqueFd tap0, CreateTap("eth0", kMacA));
    HULL_ASSIGN_OR_RETURN(UniqueFd tap1, CreateTap("eth1", kMacB));
    HULL_ASSIGN_OR_RETURN(Netlink netlink, Netlink::Open());
    HULL_TRY(ConfigureNetwork(
        netlink,
        {Interface("eth0", kMacB, {"10.0.1.2/24"}), Interface("eth1", kMacA, {"10.0.0.2/24"})},
        {}));
    HULL_ASSIGN_OR_RETURN(const Link eth0, FindLink(netlink, "eth0"));
    HULL_ASSIGN_OR_RETURN(const Link eth1, FindLink(netlink, "eth1"));
    HULL_TRY(Expect(eth0.mac.has_value() && FormatMac(*eth0.mac) == kMacB, "eth0 has MAC B"));
    HULL_TRY(Expect(eth1.mac.has_value() && FormatMac(*eth1.mac) == kMacA, "eth1 has MAC A"));
    HULL_TRY(Expect(eth0.up() && eth1.up(), "both are up"));
    HULL_ASSIGN_OR_RETURN(std::vector<InterfaceAddress> addresses, netlink.ListAddresses(AF_INET));
    HULL_TRY(Expect(HasAddress(addresses, eth0.index, "10.0.1.2/24"), "eth0 has 10.0.1.2/24"));
    return Ok();
  });
}

TEST(ConfigureNetwork, NamesTheMissingMacAndTheFix) {
  HULL_EXPECT_IN_NEW_NETNS([]() -> Result<void> {
    HULL_ASSIGN_OR_RETURN(UniqueFd tap, CreateTap("hulltap0", kMacA));
    HULL_ASSIGN_OR_RETURN(Netlink netlink, Netlink::Open());
    const Result<void> result =
        ConfigureNetwork(netlink, {Interface("eth0", "02:00:00:AA:BB:99", {"10.0.0.2/24"})}, {});
    HULL_TRY(Expect(!result.ok(), "an unknown MAC fails"));
    HULL_TRY(Expect(result.error().code() == ENODEV, "ENODEV"));
    const std::string& message = result.error().message();
    HULL_TRY(Expect(message.starts_with("interface eth0: no network device with MAC "
                                        "02:00:00:aa:bb:99: does the VM have a --net device "
                                        "with that mac?"),
                    "the message names the MAC and the fix: " + message));
    HULL_TRY(Expect(message.find("hulltap0 02:00:00:aa:bb:01") != std::string::npos,
                    "the message lists the devices there are: " + message));
    return Ok();
  });
}

TEST(ConfigureNetwork, BringsUpLoopbackWithNothingElse) {
  HULL_EXPECT_IN_NEW_NETNS([]() -> Result<void> {
    HULL_ASSIGN_OR_RETURN(Netlink netlink, Netlink::Open());
    HULL_ASSIGN_OR_RETURN(const Link before, FindLink(netlink, "lo"));
    HULL_TRY(Expect(!before.up(), "lo starts down in a new namespace"));
    HULL_TRY(ConfigureNetwork(netlink, {}, {}));
    HULL_ASSIGN_OR_RETURN(const Link after, FindLink(netlink, "lo"));
    HULL_TRY(Expect(after.up(), "lo is up"));
    return Ok();
  });
}

TEST(ConfigureNetwork, ExplainsAnUnreachableGateway) {
  HULL_EXPECT_IN_NEW_NETNS([]() -> Result<void> {
    HULL_ASSIGN_OR_RETURN(UniqueFd tap, CreateTap("hulltap0", kMacA));
    HULL_ASSIGN_OR_RETURN(Netlink netlink, Netlink::Open());
    const Result<void> result =
        ConfigureNetwork(netlink, {Interface("eth0", kMacA, {"10.0.0.2/24"})},
                         {Route("default", "192.168.9.1", "eth0")});
    HULL_TRY(Expect(!result.ok(), "an unreachable gateway fails"));
    const std::string& message = result.error().message();
    HULL_TRY(Expect(result.error().code() == ENETUNREACH, "ENETUNREACH: " + message));
    HULL_TRY(Expect(message.starts_with("route default via 192.168.9.1 dev eth0: RTM_NEWROUTE"),
                    "the message names the route: " + message));
    HULL_TRY(Expect(message.find("is the gateway inside the subnet") != std::string::npos,
                    "the message says the fix: " + message));
    return Ok();
  });
}

TEST(ConfigureNetwork, NamesAMissingRouteDevice) {
  HULL_EXPECT_IN_NEW_NETNS([]() -> Result<void> {
    HULL_ASSIGN_OR_RETURN(Netlink netlink, Netlink::Open());
    const Result<void> result = ConfigureNetwork(netlink, {}, {Route("10.1.0.0/16", "", "eth3")});
    HULL_TRY(Expect(!result.ok() && result.error().code() == ENODEV, "ENODEV"));
    HULL_TRY(Expect(result.error().message() ==
                        "route 10.1.0.0/16 dev eth3: no network device named eth3 (devices: lo)",
                    "the message names the device: " + result.error().message()));
    return Ok();
  });
}

TEST(Netlink, NamesTheOperationTheKernelRefused) {
  HULL_EXPECT_IN_NEW_NETNS([]() -> Result<void> {
    HULL_ASSIGN_OR_RETURN(Netlink netlink, Netlink::Open());
    const Result<void> missing = netlink.AddAddress(4242, *ParseCidr("10.0.0.2/24"));
    HULL_TRY(Expect(!missing.ok() && missing.error().code() == ENODEV, "no device 4242: ENODEV"));
    HULL_TRY(
        Expect(missing.error().message().starts_with("RTM_NEWADDR 10.0.0.2/24 on index 4242: "),
               "the message names the request: " + missing.error().message()));

    HULL_ASSIGN_OR_RETURN(UniqueFd tap, CreateTap("hulltap0", kMacA));
    HULL_ASSIGN_OR_RETURN(const Link link, FindLink(netlink, "hulltap0"));
    const Result<void> too_big = netlink.SetMtu(link.index, 70000);
    HULL_TRY(Expect(!too_big.ok() && too_big.error().code() == EINVAL,
                    "an MTU over the tap's maximum: EINVAL"));
    HULL_TRY(Expect(too_big.error().message().starts_with(
                        "RTM_NEWLINK index " + std::to_string(link.index) + " mtu 70000: "),
                    "the message names the request: " + too_big.error().message()));

    const Result<void> again = netlink.AddAddress(link.index, *ParseCidr("10.0.0.2/24"));
    HULL_TRY(again);
    const Result<void> twice = netlink.AddAddress(link.index, *ParseCidr("10.0.0.2/24"));
    HULL_TRY(Expect(!twice.ok() && twice.error().code() == EEXIST, "adding it twice: EEXIST"));
    return Ok();
  });
}

}  // namespace
}  // namespace hull::agent::net
