// Builds rtnetlink requests: a nlmsghdr, the family's fixed header, then
// attributes, each padded to 4 bytes. Headers are copied in with memcpy so
// that the byte buffer needs no alignment.

#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>
#include <net/if.h>
#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "hull/agent/net/netlink_message.h"
#include "hull/common/check.h"
#include "netlink_wire.h"

namespace hull::agent::net {
namespace {

using internal::Align;
using internal::kAttributeHeaderSize;
using internal::kMessageHeaderSize;

static_assert(sizeof(nlmsghdr) == kMessageHeaderSize);
static_assert(sizeof(rtattr) == kAttributeHeaderSize);

class MessageBuilder {
 public:
  MessageBuilder(uint16_t type, uint16_t flags, uint32_t seq) {
    nlmsghdr header{};
    header.nlmsg_type = type;
    header.nlmsg_flags = static_cast<uint16_t>(flags | NLM_F_REQUEST);
    header.nlmsg_seq = seq;
    header.nlmsg_pid = 0;
    AppendRaw(&header, sizeof(header));
  }

  // The family's fixed header (ifinfomsg, ifaddrmsg, rtmsg).
  template <typename T>
  void AppendHeader(const T& header) {
    static_assert(std::is_trivially_copyable_v<T>);
    AppendRaw(&header, sizeof(header));
  }

  void Attribute(uint16_t type, const void* data, size_t size) {
    const size_t length = kAttributeHeaderSize + size;
    HULL_CHECK(length <= UINT16_MAX);
    rtattr header{};
    header.rta_len = static_cast<uint16_t>(length);
    header.rta_type = type;
    // The header is 4 bytes: no padding between it and the data.
    AppendRaw(&header, sizeof(header));
    AppendRaw(data, size);
  }
  void AttributeU32(uint16_t type, uint32_t value) { Attribute(type, &value, sizeof(value)); }
  // With its terminating NUL, as the kernel wants names.
  void AttributeString(uint16_t type, const std::string& value) {
    Attribute(type, value.c_str(), value.size() + 1);
  }
  void AttributeAddress(uint16_t type, const Address& address) {
    Attribute(type, address.bytes.data(), address.size());
  }

  // A nested attribute: its header now, its length when EndNested(at)
  // closes it.
  size_t BeginNested(uint16_t type) {
    const size_t at = bytes_.size();
    rtattr header{};
    header.rta_type = static_cast<uint16_t>(type | NLA_F_NESTED);
    AppendRaw(&header, sizeof(header));
    return at;
  }
  void EndNested(size_t at) {
    const size_t length = bytes_.size() - at;
    HULL_CHECK(length <= UINT16_MAX);
    const auto value = static_cast<uint16_t>(length);
    std::memcpy(bytes_.data() + at + offsetof(rtattr, rta_len), &value, sizeof(value));
  }

  std::vector<uint8_t> Finish() && {
    HULL_CHECK(bytes_.size() <= UINT32_MAX);
    const auto length = static_cast<uint32_t>(bytes_.size());
    std::memcpy(bytes_.data() + offsetof(nlmsghdr, nlmsg_len), &length, sizeof(length));
    return std::move(bytes_);
  }

 private:
  // Appends `size` bytes and zero padding up to the next 4-byte boundary.
  void AppendRaw(const void* data, size_t size) {
    const size_t at = bytes_.size();
    bytes_.resize(at + Align(size), 0);
    if (size > 0) std::memcpy(bytes_.data() + at, data, size);
  }

  std::vector<uint8_t> bytes_;
};

std::vector<uint8_t> BuildDump(uint16_t type, uint32_t seq, const auto& family_header) {
  MessageBuilder message(type, NLM_F_DUMP, seq);
  message.AppendHeader(family_header);
  return std::move(message).Finish();
}

uint8_t FamilyByte(int family) {
  HULL_CHECK(family == AF_UNSPEC || family == AF_INET || family == AF_INET6);
  return static_cast<uint8_t>(family);
}

// The fixed header of qdisc and filter requests on device `index`.
tcmsg TrafficControlHeader(int index, uint32_t handle, uint32_t parent, uint32_t info) {
  tcmsg header{};
  header.tcm_family = AF_UNSPEC;
  header.tcm_ifindex = index;
  header.tcm_handle = handle;
  header.tcm_parent = parent;
  header.tcm_info = info;
  return header;
}

// The ingress qdisc's handle, ffff:0 (TC_H_MAKE(TC_H_INGRESS, 0)).
constexpr uint32_t kIngressHandle = 0xffff0000u;

std::vector<uint8_t> BuildIngressQdisc(uint16_t type, uint16_t flags, uint32_t seq, int index) {
  MessageBuilder message(type, flags, seq);
  message.AppendHeader(TrafficControlHeader(index, kIngressHandle, TC_H_INGRESS, 0));
  message.AttributeString(TCA_KIND, "ingress");
  return std::move(message).Finish();
}

}  // namespace

std::vector<uint8_t> BuildGetLinks(uint32_t seq) {
  ifinfomsg header{};
  header.ifi_family = AF_UNSPEC;
  return BuildDump(RTM_GETLINK, seq, header);
}

std::vector<uint8_t> BuildGetAddresses(uint32_t seq, int family) {
  ifaddrmsg header{};
  header.ifa_family = FamilyByte(family);
  return BuildDump(RTM_GETADDR, seq, header);
}

std::vector<uint8_t> BuildGetRoutes(uint32_t seq, int family) {
  rtmsg header{};
  header.rtm_family = FamilyByte(family);
  return BuildDump(RTM_GETROUTE, seq, header);
}

std::vector<uint8_t> BuildChangeLink(uint32_t seq, const LinkChange& change) {
  MessageBuilder message(RTM_NEWLINK, NLM_F_ACK, seq);
  ifinfomsg header{};
  header.ifi_family = AF_UNSPEC;
  header.ifi_index = change.index;
  if (change.up.has_value()) {
    header.ifi_change = IFF_UP;
    header.ifi_flags = *change.up ? static_cast<unsigned>(IFF_UP) : 0u;
  }
  message.AppendHeader(header);
  if (change.mtu.has_value()) message.AttributeU32(IFLA_MTU, *change.mtu);
  if (change.name.has_value()) message.AttributeString(IFLA_IFNAME, *change.name);
  if (change.mac.has_value())
    message.Attribute(IFLA_ADDRESS, change.mac->data(), change.mac->size());
  return std::move(message).Finish();
}

std::vector<uint8_t> BuildNewAddress(uint32_t seq, int index, const Address& address) {
  MessageBuilder message(RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq);
  ifaddrmsg header{};
  header.ifa_family = FamilyByte(address.family);
  header.ifa_prefixlen = address.prefix_len;
  header.ifa_scope = RT_SCOPE_UNIVERSE;
  header.ifa_index = static_cast<uint32_t>(index);
  if (address.family == AF_INET6) {
    // The host assigned the address: duplicate address detection would only
    // keep it tentative (unusable) for the container's first second or two.
    header.ifa_flags = IFA_F_NODAD;
  }
  message.AppendHeader(header);
  if (address.family == AF_INET) {
    message.AttributeAddress(IFA_LOCAL, address);
    message.AttributeAddress(IFA_ADDRESS, address);
    if (address.prefix_len < 31) {
      // What `ip addr add ... brd +` and DHCP clients set: all host bits 1.
      Address broadcast = address.network();
      for (size_t bit = address.prefix_len; bit < 32; ++bit) {
        broadcast.bytes[bit / 8] =
            static_cast<uint8_t>(broadcast.bytes[bit / 8] | (0x80u >> (bit % 8)));
      }
      message.AttributeAddress(IFA_BROADCAST, broadcast);
    }
  } else {
    message.AttributeAddress(IFA_ADDRESS, address);
  }
  return std::move(message).Finish();
}

std::vector<uint8_t> BuildNewRoute(uint32_t seq, const RouteSpec& route) {
  MessageBuilder message(RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq);
  rtmsg header{};
  header.rtm_family = FamilyByte(route.destination.family);
  header.rtm_dst_len = route.destination.prefix_len;
  header.rtm_table = RT_TABLE_MAIN;
  header.rtm_protocol = RTPROT_BOOT;
  header.rtm_scope = route.gateway.has_value() ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
  header.rtm_type = RTN_UNICAST;
  message.AppendHeader(header);
  if (route.destination.prefix_len > 0) message.AttributeAddress(RTA_DST, route.destination);
  if (route.gateway.has_value()) message.AttributeAddress(RTA_GATEWAY, *route.gateway);
  if (route.source.has_value()) message.AttributeAddress(RTA_PREFSRC, *route.source);
  if (route.oif > 0) message.AttributeU32(RTA_OIF, static_cast<uint32_t>(route.oif));
  if (route.metric > 0) message.AttributeU32(RTA_PRIORITY, route.metric);
  return std::move(message).Finish();
}

std::vector<uint8_t> BuildNewIngressQdisc(uint32_t seq, int index) {
  return BuildIngressQdisc(RTM_NEWQDISC, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq, index);
}

std::vector<uint8_t> BuildDeleteIngressQdisc(uint32_t seq, int index) {
  return BuildIngressQdisc(RTM_DELQDISC, NLM_F_ACK, seq, index);
}

std::vector<uint8_t> BuildRedirectFilter(uint32_t seq, int index, int target) {
  MessageBuilder message(RTM_NEWTFILTER, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq);
  // Priority 1, every protocol (ETH_P_ALL in network byte order), under the
  // ingress qdisc.
  const uint32_t info = (1u << 16) | htons(ETH_P_ALL);
  message.AppendHeader(TrafficControlHeader(index, 0, kIngressHandle, info));
  // u32 rather than matchall: every kernel with tc has u32 (matchall is a
  // later, optional classifier). One key that matches every frame: mask 0.
  message.AttributeString(TCA_KIND, "u32");
  const size_t options = message.BeginNested(TCA_OPTIONS);
  tc_u32_sel selector{};  // then its one key (the header ends in a flexible array)
  selector.flags = TC_U32_TERMINAL;
  selector.nkeys = 1;
  const tc_u32_key key{};
  std::array<uint8_t, sizeof(tc_u32_sel) + sizeof(tc_u32_key)> selector_bytes{};
  std::memcpy(selector_bytes.data(), &selector, sizeof(selector));
  std::memcpy(selector_bytes.data() + sizeof(selector), &key, sizeof(key));
  message.Attribute(TCA_U32_SEL, selector_bytes.data(), selector_bytes.size());
  const size_t actions = message.BeginNested(TCA_U32_ACT);
  const size_t first = message.BeginNested(1);  // actions are numbered from 1
  message.AttributeString(TCA_ACT_KIND, "mirred");
  const size_t mirred_options = message.BeginNested(TCA_ACT_OPTIONS);
  tc_mirred parameters{};
  parameters.action = TC_ACT_STOLEN;
  parameters.eaction = TCA_EGRESS_REDIR;
  parameters.ifindex = static_cast<uint32_t>(target);
  message.Attribute(TCA_MIRRED_PARMS, &parameters, sizeof(parameters));
  message.EndNested(mirred_options);
  message.EndNested(first);
  message.EndNested(actions);
  message.EndNested(options);
  return std::move(message).Finish();
}

}  // namespace hull::agent::net
