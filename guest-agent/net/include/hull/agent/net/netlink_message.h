#pragma once

// rtnetlink messages as bytes: the requests hull-agent sends (built here) and
// the replies the kernel sends back (parsed here), apart from the socket
// (netlink.h) so that both are unit-tested and the parsers fuzzed.
//
// Replies are parsed as untrusted bytes: every header and attribute is
// bounds-checked before it is read (copied out with memcpy, so no alignment
// is assumed), and a truncated or malformed reply is an Error(EPROTO), never
// a read past the buffer.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "hull/agent/net/address.h"
#include "hull/common/result.h"

namespace hull::agent::net {

// ---- What the kernel reports ---------------------------------------------

// One network device (RTM_NEWLINK).
struct Link {
  int index = 0;
  std::string name;
  std::optional<MacAddress> mac;  // IFLA_ADDRESS when it is 6 bytes long
  uint32_t mtu = 0;
  uint32_t flags = 0;  // IFF_UP, IFF_LOOPBACK, ...

  bool up() const;
  bool loopback() const;
};

// One address of a device (RTM_NEWADDR).
struct InterfaceAddress {
  int index = 0;
  Address address;  // IFA_LOCAL, else IFA_ADDRESS; with the prefix length
  uint8_t scope = 0;
  uint32_t flags = 0;  // IFA_F_*, from IFA_FLAGS when present
};

// A route to add: the main table, unicast, RTPROT_BOOT; scope link without a
// gateway, universe with one.
struct RouteSpec {
  Address destination;  // prefix length 0: a default route
  std::optional<Address> gateway;
  std::optional<Address> source;  // RTA_PREFSRC
  int oif = 0;                    // 0: the kernel picks the device by the gateway
  uint32_t metric = 0;            // RTA_PRIORITY; 0: not sent (the kernel's default)
};

// One route as the kernel reports it (RTM_NEWROUTE).
struct RouteEntry {
  Address destination;
  std::optional<Address> gateway;
  std::optional<Address> source;
  int oif = 0;
  uint32_t metric = 0;
  uint32_t table = 0;
  uint8_t protocol = 0;
  uint8_t scope = 0;
  uint8_t type = 0;
};

// ---- Requests ------------------------------------------------------------

// Changes to one existing device (RTM_NEWLINK without NLM_F_CREATE).
struct LinkChange {
  int index = 0;
  std::optional<bool> up;
  std::optional<uint32_t> mtu;
  std::optional<std::string> name;
  std::optional<MacAddress> mac;
};

// Each returns one whole message with NLM_F_REQUEST (and NLM_F_ACK or
// NLM_F_DUMP), sequence number `seq` and port id 0.
std::vector<uint8_t> BuildGetLinks(uint32_t seq);
// family: AF_UNSPEC, AF_INET or AF_INET6.
std::vector<uint8_t> BuildGetAddresses(uint32_t seq, int family);
std::vector<uint8_t> BuildGetRoutes(uint32_t seq, int family);
std::vector<uint8_t> BuildChangeLink(uint32_t seq, const LinkChange& change);
// NLM_F_CREATE | NLM_F_EXCL. IPv4 gets IFA_LOCAL, IFA_ADDRESS and (prefixes
// under 31) IFA_BROADCAST; IPv6 gets IFA_ADDRESS and IFA_F_NODAD.
std::vector<uint8_t> BuildNewAddress(uint32_t seq, int index, const Address& address);
// NLM_F_CREATE | NLM_F_EXCL.
std::vector<uint8_t> BuildNewRoute(uint32_t seq, const RouteSpec& route);
// Traffic control, for the host side of a sandbox (hull_sandbox's
// PodNetwork): an ingress qdisc on device `index` (NLM_F_CREATE |
// NLM_F_EXCL), its removal (which removes its filters), and a u32 filter
// matching every frame under it whose mirred action redirects every frame arriving on
// `index` to the egress of `target` and steals it from the local stack
// (`tc filter add dev A ingress protocol all u32 match u8 0 0 action mirred
// egress redirect dev B`).
std::vector<uint8_t> BuildNewIngressQdisc(uint32_t seq, int index);
std::vector<uint8_t> BuildDeleteIngressQdisc(uint32_t seq, int index);
std::vector<uint8_t> BuildRedirectFilter(uint32_t seq, int index, int target);

// ---- Replies -------------------------------------------------------------

// One message of a reply; payload views the parsed buffer.
struct Message {
  uint16_t type = 0;
  uint16_t flags = 0;
  uint32_t seq = 0;
  std::span<const uint8_t> payload;
};

// What one datagram of the reply to request `seq` held.
struct ReplyChunk {
  std::vector<Message> messages;  // data messages, in order
  bool done = false;              // the ack (NLMSG_ERROR 0) or NLMSG_DONE came
  bool interrupted = false;       // a message had NLM_F_DUMP_INTR: the dump changed under us
};

// Splits a datagram into messages. Messages for other sequence numbers
// (stale replies) and NLMSG_NOOP are skipped. NLMSG_ERROR with an error, or
// NLMSG_DONE carrying one, is an Error with that errno whose message is the
// kernel's extended ack text when it sent one (else strerror).
Result<ReplyChunk> ParseReply(std::span<const uint8_t> datagram, uint32_t seq);

// One RTM_NEWLINK / RTM_NEWADDR / RTM_NEWROUTE message. Addresses and routes
// of families other than IPv4 and IPv6 give nullopt.
Result<Link> ParseLinkMessage(const Message& message);
Result<std::optional<InterfaceAddress>> ParseAddressMessage(const Message& message);
Result<std::optional<RouteEntry>> ParseRouteMessage(const Message& message);

// A whole dump in one buffer (ParseReply, then each message); other message
// types are skipped. Used by tests and the fuzzer; Netlink parses chunk by
// chunk.
Result<std::vector<Link>> ParseLinkDump(std::span<const uint8_t> bytes, uint32_t seq);
Result<std::vector<InterfaceAddress>> ParseAddressDump(std::span<const uint8_t> bytes,
                                                       uint32_t seq);
Result<std::vector<RouteEntry>> ParseRouteDump(std::span<const uint8_t> bytes, uint32_t seq);

}  // namespace hull::agent::net
