// Request bytes and reply parsing, without a socket. Expected bytes are
// little-endian (netlink uses host order; hull runs on x86-64 and arm64).

#include "hull/agent/net/netlink_message.h"

#include <gtest/gtest.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

namespace hull::agent::net {
namespace {

using Bytes = std::vector<uint8_t>;

void Put16(Bytes& out, uint16_t value) {
  out.push_back(static_cast<uint8_t>(value));
  out.push_back(static_cast<uint8_t>(value >> 8));
}
void Put32(Bytes& out, uint32_t value) {
  for (int shift = 0; shift < 32; shift += 8) out.push_back(static_cast<uint8_t>(value >> shift));
}
void Pad(Bytes& out) {
  while (out.size() % 4 != 0) out.push_back(0);
}

Bytes Attr(uint16_t type, const Bytes& data) {
  Bytes out;
  Put16(out, static_cast<uint16_t>(4 + data.size()));
  Put16(out, type);
  out.insert(out.end(), data.begin(), data.end());
  Pad(out);
  return out;
}
Bytes U32Attr(uint16_t type, uint32_t value) {
  Bytes data;
  Put32(data, value);
  return Attr(type, data);
}
Bytes StringAttr(uint16_t type, const std::string& text) {
  Bytes data(text.begin(), text.end());
  data.push_back(0);
  return Attr(type, data);
}

// One message: header, payload (already padded where it matters).
Bytes Msg(uint16_t type, uint16_t flags, uint32_t seq, const Bytes& payload) {
  Bytes out;
  Put32(out, static_cast<uint32_t>(16 + payload.size()));
  Put16(out, type);
  Put16(out, flags);
  Put32(out, seq);
  Put32(out, 0);
  out.insert(out.end(), payload.begin(), payload.end());
  Pad(out);
  return out;
}

Bytes LinkPayload(int index, const std::string& name, uint32_t mtu, uint32_t flags,
                  const Bytes& mac) {
  Bytes out;
  out.push_back(AF_UNSPEC);
  out.push_back(0);
  Put16(out, 1);  // ARPHRD_ETHER
  Put32(out, static_cast<uint32_t>(index));
  Put32(out, flags);
  Put32(out, 0);
  for (const Bytes& attr :
       {StringAttr(IFLA_IFNAME, name), U32Attr(IFLA_MTU, mtu), Attr(IFLA_ADDRESS, mac)}) {
    out.insert(out.end(), attr.begin(), attr.end());
  }
  return out;
}

Bytes Concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

Bytes ErrorPayload(int32_t error) {
  Bytes out;
  Put32(out, static_cast<uint32_t>(error));
  // The request's header, echoed.
  Put32(out, 16);
  Put16(out, RTM_NEWADDR);
  Put16(out, NLM_F_REQUEST | NLM_F_ACK);
  Put32(out, 5);
  Put32(out, 0);
  return out;
}

Bytes Done() {
  Bytes status;
  Put32(status, 0);
  return status;
}

const Bytes kMac = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};

TEST(BuildNewAddress, Ipv4HasLocalAddressAndBroadcast) {
  Result<Address> address = ParseCidr("10.0.0.2/24");
  ASSERT_TRUE(address.ok());
  const Bytes expected = {
      48,
      0,
      0,
      0,  // nlmsg_len
      RTM_NEWADDR,
      0,  // type
      0x05,
      0x06,  // NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE
      7,
      0,
      0,
      0,  // seq
      0,
      0,
      0,
      0,  // pid
      AF_INET,
      24,
      0,
      RT_SCOPE_UNIVERSE,
      3,
      0,
      0,
      0,  // ifaddrmsg
      8,
      0,
      IFA_LOCAL,
      0,
      10,
      0,
      0,
      2,  // IFA_LOCAL
      8,
      0,
      IFA_ADDRESS,
      0,
      10,
      0,
      0,
      2,  // IFA_ADDRESS
      8,
      0,
      IFA_BROADCAST,
      0,
      10,
      0,
      0,
      255,  // IFA_BROADCAST
  };
  EXPECT_EQ(BuildNewAddress(7, 3, *address), expected);
}

TEST(BuildNewAddress, Ipv6SkipsDuplicateAddressDetection) {
  Result<Address> address = ParseCidr("fd00::2/64");
  ASSERT_TRUE(address.ok());
  const Bytes bytes = BuildNewAddress(1, 2, *address);
  ASSERT_EQ(bytes.size(), 16u + 8 + 20);
  EXPECT_EQ(bytes[0], 44);
  const Bytes ifaddrmsg(bytes.begin() + 16, bytes.begin() + 24);
  EXPECT_EQ(ifaddrmsg, (Bytes{AF_INET6, 64, IFA_F_NODAD, RT_SCOPE_UNIVERSE, 2, 0, 0, 0}));
  const Bytes attr(bytes.begin() + 24, bytes.end());
  EXPECT_EQ(attr, Attr(IFA_ADDRESS, Bytes{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}));
}

TEST(BuildNewAddress, NoBroadcastForPointToPointPrefixes) {
  Result<Address> address = ParseCidr("10.0.0.1/31");
  ASSERT_TRUE(address.ok());
  EXPECT_EQ(BuildNewAddress(1, 2, *address).size(), 16u + 8 + 8 + 8);
}

TEST(BuildChangeLink, SetsOnlyWhatChanges) {
  LinkChange change;
  change.index = 4;
  change.up = true;
  change.mtu = 1400;
  change.name = "eth0";
  const Bytes bytes = BuildChangeLink(9, change);
  const Bytes expected = Concat({
      Bytes{52, 0, 0, 0, RTM_NEWLINK, 0, 0x05, 0x00, 9, 0, 0, 0, 0, 0, 0, 0},
      Bytes{AF_UNSPEC, 0, 0, 0, 4, 0, 0, 0, IFF_UP, 0, 0, 0, IFF_UP, 0, 0, 0},
      U32Attr(IFLA_MTU, 1400), StringAttr(IFLA_IFNAME, "eth0"),  // 4 + 5 bytes, padded to 12
  });
  EXPECT_EQ(bytes, expected);
  LinkChange down;
  down.index = 4;
  down.up = false;
  const Bytes down_bytes = BuildChangeLink(1, down);
  EXPECT_EQ(down_bytes[16 + 8], 0);        // ifi_flags
  EXPECT_EQ(down_bytes[16 + 12], IFF_UP);  // ifi_change
}

TEST(BuildNewRoute, GatewayRouteHasUniverseScopeAndNoDestination) {
  RouteSpec route;
  route.destination.family = AF_INET;
  route.gateway = *ParseIp("10.0.0.1");
  route.oif = 2;
  route.metric = 100;
  const Bytes bytes = BuildNewRoute(3, route);
  const Bytes expected = Concat({
      Bytes{52, 0, 0, 0, RTM_NEWROUTE, 0, 0x05, 0x06, 3, 0, 0, 0, 0, 0, 0, 0},
      Bytes{AF_INET, 0, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE, RTN_UNICAST, 0, 0, 0,
            0},
      Attr(RTA_GATEWAY, Bytes{10, 0, 0, 1}),
      U32Attr(RTA_OIF, 2),
      U32Attr(RTA_PRIORITY, 100),
  });
  EXPECT_EQ(bytes, expected);
}

TEST(BuildNewRoute, LinkRouteHasLinkScopeAndDestination) {
  RouteSpec route;
  route.destination = *ParseCidr("fd01::/64");
  route.oif = 5;
  const Bytes bytes = BuildNewRoute(3, route);
  ASSERT_GE(bytes.size(), 28u);
  EXPECT_EQ(bytes[16], AF_INET6);
  EXPECT_EQ(bytes[17], 64);             // rtm_dst_len
  EXPECT_EQ(bytes[22], RT_SCOPE_LINK);  // rtm_scope
  EXPECT_EQ(Bytes(bytes.begin() + 28, bytes.begin() + 48),
            Attr(RTA_DST, Bytes{0xfd, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
}

TEST(BuildDumps, AreRequestsWithDumpFlag) {
  const Bytes links = BuildGetLinks(11);
  ASSERT_EQ(links.size(), 32u);
  EXPECT_EQ(links[4], RTM_GETLINK);
  EXPECT_EQ(links[6] | (links[7] << 8), NLM_F_REQUEST | NLM_F_DUMP);
  EXPECT_EQ(links[8], 11);
  const Bytes addresses = BuildGetAddresses(1, AF_INET6);
  ASSERT_EQ(addresses.size(), 24u);
  EXPECT_EQ(addresses[16], AF_INET6);
  const Bytes routes = BuildGetRoutes(1, AF_INET);
  ASSERT_EQ(routes.size(), 28u);
  EXPECT_EQ(routes[4], RTM_GETROUTE);
}

TEST(BuildNewAddress, ParsesBackToTheAddress) {
  for (const char* cidr : {"10.0.0.2/24", "10.0.0.1/31", "fd00::2/64", "::1/128"}) {
    SCOPED_TRACE(cidr);
    const Address address = *ParseCidr(cidr);
    Result<std::vector<InterfaceAddress>> parsed =
        ParseAddressDump(BuildNewAddress(4, 9, address), 4);
    ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
    ASSERT_EQ(parsed->size(), 1u);
    EXPECT_EQ((*parsed)[0].address, address);
    EXPECT_EQ((*parsed)[0].index, 9);
  }
}

TEST(BuildNewRoute, ParsesBackToTheRoute) {
  RouteSpec spec;
  spec.destination = *ParseCidr("fd01::/48");
  spec.gateway = *ParseIp("fd00::1");
  spec.source = *ParseIp("fd00::2");
  spec.oif = 6;
  spec.metric = 1024;
  Result<std::vector<RouteEntry>> parsed = ParseRouteDump(BuildNewRoute(2, spec), 2);
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  ASSERT_EQ(parsed->size(), 1u);
  const RouteEntry& route = (*parsed)[0];
  EXPECT_EQ(route.destination, spec.destination);
  EXPECT_EQ(route.gateway, spec.gateway);
  EXPECT_EQ(route.source, spec.source);
  EXPECT_EQ(route.oif, 6);
  EXPECT_EQ(route.metric, 1024u);
  EXPECT_EQ(route.table, static_cast<uint32_t>(RT_TABLE_MAIN));
  EXPECT_EQ(route.protocol, RTPROT_BOOT);
  EXPECT_EQ(route.scope, RT_SCOPE_UNIVERSE);
  EXPECT_EQ(route.type, RTN_UNICAST);
}

TEST(ParseReply, AckEndsTheReply) {
  Result<ReplyChunk> chunk = ParseReply(Msg(NLMSG_ERROR, 0, 5, ErrorPayload(0)), 5);
  ASSERT_TRUE(chunk.ok()) << chunk.error().ToString();
  EXPECT_TRUE(chunk->done);
  EXPECT_TRUE(chunk->messages.empty());
}

TEST(ParseReply, ErrorCarriesTheKernelsErrno) {
  Result<ReplyChunk> chunk = ParseReply(Msg(NLMSG_ERROR, 0, 5, ErrorPayload(-EEXIST)), 5);
  ASSERT_FALSE(chunk.ok());
  EXPECT_EQ(chunk.error().code(), EEXIST);
  EXPECT_EQ(chunk.error().message(), std::strerror(EEXIST));
}

TEST(ParseReply, ErrorCarriesTheExtendedAckText) {
  const Bytes payload = Concat(
      {ErrorPayload(-ENETUNREACH), StringAttr(NLMSGERR_ATTR_MSG, "Nexthop has invalid gateway")});
  Result<ReplyChunk> chunk =
      ParseReply(Msg(NLMSG_ERROR, NLM_F_CAPPED | NLM_F_ACK_TLVS, 5, payload), 5);
  ASSERT_FALSE(chunk.ok());
  EXPECT_EQ(chunk.error().code(), ENETUNREACH);
  EXPECT_EQ(chunk.error().message(),
            "Nexthop has invalid gateway (" + std::string(std::strerror(ENETUNREACH)) + ")");
}

TEST(ParseReply, RejectsErrnoOutOfRange) {
  for (int32_t error : {1, 4096 * -1 - 1, INT32_MIN}) {
    Result<ReplyChunk> chunk = ParseReply(Msg(NLMSG_ERROR, 0, 5, ErrorPayload(error)), 5);
    ASSERT_FALSE(chunk.ok());
    EXPECT_EQ(chunk.error().code(), EPROTO);
  }
}

TEST(ParseReply, SkipsRepliesToOtherRequests) {
  const Bytes bytes = Concat({Msg(NLMSG_ERROR, 0, 4, ErrorPayload(-EPERM)),
                              Msg(RTM_NEWLINK, NLM_F_MULTI, 4, LinkPayload(1, "x", 1, 0, kMac)),
                              Msg(NLMSG_ERROR, 0, 5, ErrorPayload(0))});
  Result<ReplyChunk> chunk = ParseReply(bytes, 5);
  ASSERT_TRUE(chunk.ok()) << chunk.error().ToString();
  EXPECT_TRUE(chunk->done);
  EXPECT_TRUE(chunk->messages.empty());
}

TEST(ParseLinkDump, ReadsEveryLinkOfAMultipartDump) {
  const Bytes bytes = Concat({
      Msg(RTM_NEWLINK, NLM_F_MULTI, 8,
          LinkPayload(1, "lo", 65536, IFF_UP | IFF_LOOPBACK, Bytes(6, 0))),
      Msg(RTM_NEWLINK, NLM_F_MULTI, 8, LinkPayload(2, "eth0", 1500, 0, kMac)),
      Msg(RTM_NEWLINK, NLM_F_MULTI, 8, LinkPayload(3, "sit0", 1480, 0, Bytes{0, 0, 0, 0})),
      Msg(NLMSG_DONE, NLM_F_MULTI, 8, Done()),
  });
  Result<ReplyChunk> chunk = ParseReply(bytes, 8);
  ASSERT_TRUE(chunk.ok());
  EXPECT_TRUE(chunk->done);
  EXPECT_FALSE(chunk->interrupted);
  Result<std::vector<Link>> links = ParseLinkDump(bytes, 8);
  ASSERT_TRUE(links.ok()) << links.error().ToString();
  ASSERT_EQ(links->size(), 3u);
  EXPECT_EQ((*links)[0].name, "lo");
  EXPECT_TRUE((*links)[0].loopback());
  EXPECT_TRUE((*links)[0].up());
  EXPECT_EQ((*links)[1].index, 2);
  EXPECT_EQ((*links)[1].name, "eth0");
  EXPECT_EQ((*links)[1].mtu, 1500u);
  EXPECT_EQ((*links)[1].mac, (MacAddress{0x02, 0x11, 0x22, 0x33, 0x44, 0x55}));
  EXPECT_FALSE((*links)[1].up());
  EXPECT_FALSE((*links)[2].mac.has_value());  // a 4-byte hardware address is no MAC
}

TEST(ParseReply, NotesAnInterruptedDump) {
  const Bytes bytes =
      Concat({Msg(RTM_NEWLINK, NLM_F_MULTI | NLM_F_DUMP_INTR, 8, LinkPayload(2, "e", 1, 0, kMac)),
              Msg(NLMSG_DONE, NLM_F_MULTI, 8, Done())});
  Result<ReplyChunk> chunk = ParseReply(bytes, 8);
  ASSERT_TRUE(chunk.ok());
  EXPECT_TRUE(chunk->interrupted);
}

TEST(ParseReply, DoneWithAnErrorIsAnError) {
  Bytes status;
  Put32(status, static_cast<uint32_t>(-ENOBUFS));
  Result<ReplyChunk> chunk = ParseReply(Msg(NLMSG_DONE, NLM_F_MULTI, 8, status), 8);
  ASSERT_FALSE(chunk.ok());
  EXPECT_EQ(chunk.error().code(), ENOBUFS);
}

TEST(ParseReply, EveryTruncationIsAnErrorOrAShorterDump) {
  const Bytes bytes = Concat({
      Msg(RTM_NEWLINK, NLM_F_MULTI, 8, LinkPayload(2, "eth0", 1500, 0, kMac)),
      Msg(RTM_NEWLINK, NLM_F_MULTI, 8, LinkPayload(3, "eth1", 1500, 0, kMac)),
      Msg(NLMSG_DONE, NLM_F_MULTI, 8, Done()),
  });
  for (size_t size = 0; size < bytes.size(); ++size) {
    SCOPED_TRACE(size);
    // A copy of exactly `size` bytes, so that ASan catches any read beyond.
    const Bytes truncated(bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(size));
    Result<std::vector<Link>> links = ParseLinkDump(truncated, 8);
    if (links.ok()) {
      // Only cuts between messages parse; they give the links before the cut.
      EXPECT_LE(links->size(), 2u);
    } else {
      EXPECT_EQ(links.error().code(), EPROTO);
    }
  }
}

TEST(ParseReply, RejectsLengthsOutsideTheBuffer) {
  Bytes bytes = Msg(RTM_NEWLINK, NLM_F_MULTI, 8, LinkPayload(2, "eth0", 1500, 0, kMac));
  Bytes too_long = bytes;
  too_long[0] = static_cast<uint8_t>(too_long[0] + 4);
  Result<ReplyChunk> chunk = ParseReply(too_long, 8);
  ASSERT_FALSE(chunk.ok());
  EXPECT_EQ(chunk.error().code(), EPROTO);
  Bytes too_short = bytes;
  too_short[0] = 15;
  too_short[1] = 0;
  chunk = ParseReply(too_short, 8);
  ASSERT_FALSE(chunk.ok());
  EXPECT_EQ(chunk.error().code(), EPROTO);
}

TEST(ParseLinkMessage, RejectsAttributeOverrunningItsMessage) {
  Bytes payload = LinkPayload(2, "eth0", 1500, 0, kMac);
  payload[16] = 200;  // IFLA_IFNAME's length
  Result<std::vector<Link>> links = ParseLinkDump(Msg(RTM_NEWLINK, 0, 1, payload), 1);
  ASSERT_FALSE(links.ok());
  EXPECT_EQ(links.error().code(), EPROTO);
  EXPECT_NE(links.error().message().find("attribute 3"), std::string::npos)
      << links.error().message();
}

TEST(ParseLinkMessage, RejectsNameWithoutNulAndShortMtu) {
  Bytes header(16, 0);
  header[4] = 2;
  const Bytes no_nul = Concat({header, Attr(IFLA_IFNAME, Bytes{'e', 't', 'h'})});
  Result<std::vector<Link>> links = ParseLinkDump(Msg(RTM_NEWLINK, 0, 1, no_nul), 1);
  ASSERT_FALSE(links.ok());
  EXPECT_NE(links.error().message().find("NUL"), std::string::npos);
  const Bytes short_mtu =
      Concat({header, StringAttr(IFLA_IFNAME, "eth0"), Attr(IFLA_MTU, Bytes{1, 2})});
  links = ParseLinkDump(Msg(RTM_NEWLINK, 0, 1, short_mtu), 1);
  ASSERT_FALSE(links.ok());
  EXPECT_NE(links.error().message().find("IFLA_MTU"), std::string::npos);
  const Bytes no_name = header;
  links = ParseLinkDump(Msg(RTM_NEWLINK, 0, 1, no_name), 1);
  ASSERT_FALSE(links.ok());
  const Bytes short_header(8, 0);
  links = ParseLinkDump(Msg(RTM_NEWLINK, 0, 1, short_header), 1);
  ASSERT_FALSE(links.ok());
}

TEST(ParseAddressDump, PrefersLocalAndReadsExtendedFlags) {
  Bytes header = {AF_INET, 24, 0, RT_SCOPE_UNIVERSE, 2, 0, 0, 0};
  const Bytes payload =
      Concat({header, Attr(IFA_ADDRESS, Bytes{10, 0, 0, 9}), Attr(IFA_LOCAL, Bytes{10, 0, 0, 2}),
              U32Attr(IFA_FLAGS, IFA_F_PERMANENT | IFA_F_NOPREFIXROUTE)});
  Result<std::vector<InterfaceAddress>> addresses = ParseAddressDump(
      Concat({Msg(RTM_NEWADDR, NLM_F_MULTI, 2, payload), Msg(NLMSG_DONE, NLM_F_MULTI, 2, Done())}),
      2);
  ASSERT_TRUE(addresses.ok()) << addresses.error().ToString();
  ASSERT_EQ(addresses->size(), 1u);
  EXPECT_EQ((*addresses)[0].index, 2);
  EXPECT_EQ(FormatCidr((*addresses)[0].address), "10.0.0.2/24");
  EXPECT_EQ((*addresses)[0].flags, static_cast<uint32_t>(IFA_F_PERMANENT | IFA_F_NOPREFIXROUTE));
}

TEST(ParseAddressDump, RejectsAddressOfTheWrongSize) {
  const Bytes payload =
      Concat({Bytes{AF_INET6, 64, 0, 0, 2, 0, 0, 0}, Attr(IFA_ADDRESS, Bytes{10, 0, 0, 2})});
  Result<std::vector<InterfaceAddress>> addresses =
      ParseAddressDump(Msg(RTM_NEWADDR, 0, 2, payload), 2);
  ASSERT_FALSE(addresses.ok());
  EXPECT_EQ(addresses.error().code(), EPROTO);
}

TEST(ParseRouteDump, ReadsRoutesAndSkipsOtherFamilies) {
  const Bytes v4 = Concat({Bytes{AF_INET, 0, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE,
                                 RTN_UNICAST, 0, 0, 0, 0},
                           U32Attr(RTA_TABLE, RT_TABLE_MAIN), Attr(RTA_GATEWAY, Bytes{10, 0, 0, 1}),
                           U32Attr(RTA_OIF, 2), U32Attr(RTA_PRIORITY, 7)});
  const Bytes mpls = Bytes{28 /* AF_MPLS */, 20, 0, 0, RT_TABLE_MAIN, 0, 0, 1, 0, 0, 0, 0};
  Result<std::vector<RouteEntry>> routes = ParseRouteDump(
      Concat({Msg(RTM_NEWROUTE, NLM_F_MULTI, 3, v4), Msg(RTM_NEWROUTE, NLM_F_MULTI, 3, mpls),
              Msg(NLMSG_DONE, NLM_F_MULTI, 3, Done())}),
      3);
  ASSERT_TRUE(routes.ok()) << routes.error().ToString();
  ASSERT_EQ(routes->size(), 1u);
  const RouteEntry& route = (*routes)[0];
  EXPECT_EQ(route.destination.prefix_len, 0);
  ASSERT_TRUE(route.gateway.has_value());
  EXPECT_EQ(FormatIp(*route.gateway), "10.0.0.1");
  EXPECT_EQ(route.oif, 2);
  EXPECT_EQ(route.metric, 7u);
  EXPECT_EQ(route.table, static_cast<uint32_t>(RT_TABLE_MAIN));
  EXPECT_EQ(route.protocol, RTPROT_BOOT);
}

TEST(ParseRouteDump, RejectsPrefixLongerThanTheFamilyAllows) {
  const Bytes v4 = Bytes{AF_INET, 33, 0, 0, RT_TABLE_MAIN, 0, 0, 1, 0, 0, 0, 0};
  Result<std::vector<RouteEntry>> routes = ParseRouteDump(Msg(RTM_NEWROUTE, 0, 3, v4), 3);
  ASSERT_FALSE(routes.ok());
  EXPECT_EQ(routes.error().code(), EPROTO);
}

}  // namespace
}  // namespace hull::agent::net
