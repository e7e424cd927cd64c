// Fuzzes what hull-agent parses of its network setup: rtnetlink replies
// (the kernel's, but parsed as untrusted bytes) and the shim's address text.
//
// The input goes whole to the link, address and route dump parsers, for the
// sequence number its first message carries (so that replies are not all
// skipped as stale), and line by line to ParseCidr, ParseIp and ParseMac.
// Checked beyond the sanitizers: whatever text parses formats back to text
// that parses to the same value, and a request built from a parsed address
// or route parses back to it.

#include <sys/socket.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

#include "hull/agent/net/address.h"
#include "hull/agent/net/netlink_message.h"

namespace {

using namespace hull::agent::net;  // NOLINT(google-build-using-namespace)

// A fuzzer's invariant check: abort so libFuzzer keeps the input.
void Require(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "invariant failed: %s\n", what);
    std::abort();
  }
}

void CheckAddressRoundTrip(const Address& address) {
  const std::vector<uint8_t> request = BuildNewAddress(1, 7, address);
  hull::Result<std::vector<InterfaceAddress>> parsed = ParseAddressDump(request, 1);
  Require(parsed.ok() && parsed->size() == 1, "RTM_NEWADDR request parses");
  Require((*parsed)[0].address == address && (*parsed)[0].index == 7,
          "RTM_NEWADDR parses back to its address");
}

void CheckRouteRoundTrip(const Address& destination) {
  RouteSpec spec;
  spec.destination = destination.network();
  spec.gateway = destination;
  spec.gateway->prefix_len = destination.max_prefix_len();
  spec.oif = 3;
  spec.metric = destination.prefix_len;
  const std::vector<uint8_t> request = BuildNewRoute(2, spec);
  hull::Result<std::vector<RouteEntry>> parsed = ParseRouteDump(request, 2);
  Require(parsed.ok() && parsed->size() == 1, "RTM_NEWROUTE request parses");
  const RouteEntry& route = (*parsed)[0];
  Require(route.destination == spec.destination && route.gateway == spec.gateway &&
              route.oif == spec.oif && route.metric == spec.metric,
          "RTM_NEWROUTE parses back to its route");
}

void FuzzText(std::string_view line) {
  if (hull::Result<Address> cidr = ParseCidr(line); cidr.ok()) {
    hull::Result<Address> again = ParseCidr(FormatCidr(*cidr));
    Require(again.ok() && *again == *cidr, "FormatCidr round-trips");
    CheckAddressRoundTrip(*cidr);
    CheckRouteRoundTrip(*cidr);
  }
  if (hull::Result<Address> ip = ParseIp(line); ip.ok()) {
    hull::Result<Address> again = ParseIp(FormatIp(*ip));
    Require(again.ok() && *again == *ip, "FormatIp round-trips");
  }
  if (hull::Result<MacAddress> mac = ParseMac(line); mac.ok()) {
    hull::Result<MacAddress> again = ParseMac(FormatMac(*mac));
    Require(again.ok() && *again == *mac, "FormatMac round-trips");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, size);
  uint32_t seq = 0;
  if (size >= 12) std::memcpy(&seq, data + 8, sizeof(seq));  // nlmsg_seq of the first message

  (void)ParseReply(bytes, seq);
  (void)ParseLinkDump(bytes, seq);
  (void)ParseAddressDump(bytes, seq);
  (void)ParseRouteDump(bytes, seq);

  // SAFETY: a view of the same bytes as characters; nothing is written.
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = std::min(text.find('\n', start), text.size());
    FuzzText(text.substr(start, end - start));
    start = end + 1;
  }
  return 0;
}
