// Parses rtnetlink replies. The walk is NLMSG_OK / RTA_OK's, written out
// with explicit bounds: a length below its header or past the bytes left is
// an error, and every header is memcpy'd out of the buffer before use.

#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <type_traits>

#include "hull/agent/net/netlink_message.h"
#include "netlink_wire.h"

namespace hull::agent::net {
namespace {

using internal::Align;
using internal::kAttributeHeaderSize;
using internal::kAttributeTypeMask;
using internal::kMessageHeaderSize;

// Beyond this the kernel's extended-ack text is cut short in our errors.
constexpr size_t kMaxAckText = 200;
// Linux errnos are below 4096 (MAX_ERRNO).
constexpr int32_t kMaxErrno = 4095;

Error Malformed(std::string_view why) {
  return Error(EPROTO, "malformed netlink reply: " + std::string(why));
}

// Precondition: offset + sizeof(T) <= bytes.size().
template <typename T>
T ReadAt(std::span<const uint8_t> bytes, size_t offset) {
  static_assert(std::is_trivially_copyable_v<T>);
  T value{};
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

struct Attribute {
  uint16_t type = 0;
  std::span<const uint8_t> data;
};

Result<std::vector<Attribute>> ParseAttributes(std::span<const uint8_t> bytes) {
  std::vector<Attribute> attributes;
  size_t offset = 0;
  while (offset < bytes.size()) {
    const size_t left = bytes.size() - offset;
    if (left < kAttributeHeaderSize) {
      return Malformed(std::to_string(left) + " bytes after the last attribute");
    }
    const auto header = ReadAt<rtattr>(bytes, offset);
    if (header.rta_len < kAttributeHeaderSize || header.rta_len > left) {
      return Malformed("attribute " + std::to_string(header.rta_type) + " has length " +
                       std::to_string(header.rta_len) + " with " + std::to_string(left) +
                       " bytes left");
    }
    attributes.push_back(
        {static_cast<uint16_t>(header.rta_type & kAttributeTypeMask),
         bytes.subspan(offset + kAttributeHeaderSize, header.rta_len - kAttributeHeaderSize)});
    // The last attribute's padding may be missing.
    offset += std::min(Align(header.rta_len), left);
  }
  return attributes;
}

// The last attribute of `type` (the kernel's nla_parse keeps the last too).
const Attribute* Find(const std::vector<Attribute>& attributes, uint16_t type) {
  const auto it = std::find_if(attributes.rbegin(), attributes.rend(),
                               [type](const Attribute& a) { return a.type == type; });
  return it == attributes.rend() ? nullptr : &*it;
}

Result<uint32_t> U32(const Attribute& attribute, std::string_view name) {
  if (attribute.data.size() != sizeof(uint32_t)) {
    return Malformed(std::string(name) + " has " + std::to_string(attribute.data.size()) +
                     " bytes, want 4");
  }
  return ReadAt<uint32_t>(attribute.data, 0);
}

Result<Address> AddressOf(const Attribute& attribute, int family, uint8_t prefix_len,
                          std::string_view name) {
  Address address;
  address.family = family;
  address.prefix_len = prefix_len;
  if (attribute.data.size() != address.size()) {
    return Malformed(std::string(name) + " has " + std::to_string(attribute.data.size()) +
                     " bytes, want " + std::to_string(address.size()));
  }
  std::copy(attribute.data.begin(), attribute.data.end(), address.bytes.begin());
  return address;
}

// The fixed header of `message` and the attributes after it.
template <typename Header>
Result<std::pair<Header, std::vector<Attribute>>> Split(const Message& message, uint16_t want_type,
                                                        std::string_view name) {
  if (message.type != want_type) {
    return Malformed("expected " + std::string(name) + ", got message type " +
                     std::to_string(message.type));
  }
  if (message.payload.size() < sizeof(Header)) {
    return Malformed(std::string(name) + " of " + std::to_string(message.payload.size()) +
                     " bytes is shorter than its header");
  }
  const size_t attributes_at = std::min(Align(sizeof(Header)), message.payload.size());
  HULL_ASSIGN_OR_RETURN(std::vector<Attribute> attributes,
                        ParseAttributes(message.payload.subspan(attributes_at)));
  return std::pair{ReadAt<Header>(message.payload, 0), std::move(attributes)};
}

bool IpFamily(int family) { return family == AF_INET || family == AF_INET6; }

uint8_t MaxPrefix(int family) { return family == AF_INET6 ? 128 : 32; }

// The kernel's extended-ack message (NLMSGERR_ATTR_MSG) in `tlvs`, printable
// and bounded; empty when there is none or the TLVs do not parse.
std::string AckText(std::span<const uint8_t> tlvs) {
  Result<std::vector<Attribute>> attributes = ParseAttributes(tlvs);
  if (!attributes.ok()) return "";
  const Attribute* text = Find(*attributes, NLMSGERR_ATTR_MSG);
  if (text == nullptr) return "";
  std::string result;
  for (uint8_t byte : text->data) {
    if (byte == 0 || result.size() >= kMaxAckText) break;
    result += byte >= 0x20 && byte < 0x7f ? static_cast<char>(byte) : '?';
  }
  return result;
}

// NLMSG_ERROR (or NLMSG_DONE) carrying errno `-error`.
Error KernelError(int32_t error, std::span<const uint8_t> tlvs) {
  const int code = -error;
  const std::string text = AckText(tlvs);
  if (text.empty()) return Error(code, std::strerror(code));
  return Error(code, text + " (" + std::strerror(code) + ")");
}

bool ValidErrno(int32_t error) { return error < 0 && error >= -kMaxErrno; }

// NLMSG_ERROR: an ack (error 0) or a failure.
Result<void> ParseError(const Message& message) {
  if (message.payload.size() < sizeof(nlmsgerr)) {
    return Malformed("NLMSG_ERROR of " + std::to_string(message.payload.size()) + " bytes");
  }
  const auto error = ReadAt<nlmsgerr>(message.payload, 0);
  if (error.error == 0) return Ok();
  if (!ValidErrno(error.error)) {
    return Malformed("NLMSG_ERROR with error " + std::to_string(error.error));
  }
  std::span<const uint8_t> tlvs;
  if ((message.flags & NLM_F_ACK_TLVS) != 0) {
    // With NLM_F_CAPPED only the request's header is echoed, else all of it.
    const size_t echoed = (message.flags & NLM_F_CAPPED) != 0
                              ? sizeof(nlmsghdr)
                              : Align(std::max<size_t>(error.msg.nlmsg_len, sizeof(nlmsghdr)));
    const size_t tlvs_at = offsetof(nlmsgerr, msg) + echoed;
    if (tlvs_at <= message.payload.size()) tlvs = message.payload.subspan(tlvs_at);
  }
  return KernelError(error.error, tlvs);
}

// NLMSG_DONE: the end of a dump, with an int status when the kernel sends one.
Result<void> ParseDone(const Message& message) {
  if (message.payload.size() < sizeof(int32_t)) return Ok();
  const auto status = ReadAt<int32_t>(message.payload, 0);
  if (status == 0) return Ok();
  if (!ValidErrno(status)) return Malformed("NLMSG_DONE with status " + std::to_string(status));
  std::span<const uint8_t> tlvs;
  if ((message.flags & NLM_F_ACK_TLVS) != 0) tlvs = message.payload.subspan(sizeof(int32_t));
  return KernelError(status, tlvs);
}

template <typename T, typename Parse>
Result<std::vector<T>> ParseDump(std::span<const uint8_t> bytes, uint32_t seq, uint16_t type,
                                 Parse parse) {
  HULL_ASSIGN_OR_RETURN(ReplyChunk chunk, ParseReply(bytes, seq));
  std::vector<T> entries;
  for (const Message& message : chunk.messages) {
    if (message.type != type) continue;
    HULL_ASSIGN_OR_RETURN(auto entry, parse(message));
    if constexpr (std::is_same_v<decltype(entry), T>) {
      entries.push_back(std::move(entry));
    } else if (entry.has_value()) {
      entries.push_back(std::move(*entry));
    }
  }
  return entries;
}

}  // namespace

bool Link::up() const { return (flags & IFF_UP) != 0; }

bool Link::loopback() const { return (flags & IFF_LOOPBACK) != 0; }

Result<ReplyChunk> ParseReply(std::span<const uint8_t> datagram, uint32_t seq) {
  ReplyChunk chunk;
  size_t offset = 0;
  while (offset < datagram.size() && !chunk.done) {
    const size_t left = datagram.size() - offset;
    if (left < kMessageHeaderSize) {
      return Malformed(std::to_string(left) + " bytes after the last message");
    }
    const auto header = ReadAt<nlmsghdr>(datagram, offset);
    if (header.nlmsg_len < kMessageHeaderSize || header.nlmsg_len > left) {
      return Malformed("message of length " + std::to_string(header.nlmsg_len) + " with " +
                       std::to_string(left) + " bytes left");
    }
    const Message message{
        .type = header.nlmsg_type,
        .flags = header.nlmsg_flags,
        .seq = header.nlmsg_seq,
        .payload =
            datagram.subspan(offset + kMessageHeaderSize, header.nlmsg_len - kMessageHeaderSize),
    };
    offset += std::min(Align(header.nlmsg_len), left);
    if (message.seq != seq) continue;  // a late reply to an earlier request
    if ((message.flags & NLM_F_DUMP_INTR) != 0) chunk.interrupted = true;
    switch (message.type) {
      case NLMSG_NOOP:
        break;
      case NLMSG_ERROR:
        HULL_TRY(ParseError(message));
        chunk.done = true;
        break;
      case NLMSG_DONE:
        HULL_TRY(ParseDone(message));
        chunk.done = true;
        break;
      case NLMSG_OVERRUN:
        return Error(ENOBUFS, "netlink reply overrun: messages were lost");
      default:
        // Types under NLMSG_MIN_TYPE are reserved for control messages.
        if (message.type >= NLMSG_MIN_TYPE) chunk.messages.push_back(message);
        break;
    }
  }
  return chunk;
}

Result<Link> ParseLinkMessage(const Message& message) {
  HULL_ASSIGN_OR_RETURN(auto parts, Split<ifinfomsg>(message, RTM_NEWLINK, "RTM_NEWLINK"));
  const auto& [header, attributes] = parts;
  if (header.ifi_index <= 0) {
    return Malformed("RTM_NEWLINK with index " + std::to_string(header.ifi_index));
  }
  Link link;
  link.index = header.ifi_index;
  link.flags = header.ifi_flags;
  const std::string context = "RTM_NEWLINK index " + std::to_string(link.index) + ": ";

  const Attribute* name = Find(attributes, IFLA_IFNAME);
  if (name == nullptr) return Malformed(context + "no IFLA_IFNAME");
  const auto nul = std::find(name->data.begin(), name->data.end(), uint8_t{0});
  if (nul == name->data.end()) return Malformed(context + "IFLA_IFNAME is not NUL-terminated");
  link.name.assign(name->data.begin(), nul);
  if (link.name.empty() || link.name.size() >= IFNAMSIZ) {
    return Malformed(context + "IFLA_IFNAME of " + std::to_string(link.name.size()) + " bytes");
  }
  if (const Attribute* mtu = Find(attributes, IFLA_MTU); mtu != nullptr) {
    HULL_ASSIGN_OR_RETURN(link.mtu, U32(*mtu, context + "IFLA_MTU"));
  }
  if (const Attribute* mac = Find(attributes, IFLA_ADDRESS);
      mac != nullptr && mac->data.size() == sizeof(MacAddress)) {
    MacAddress bytes{};
    std::copy(mac->data.begin(), mac->data.end(), bytes.begin());
    link.mac = bytes;
  }
  return link;
}

Result<std::optional<InterfaceAddress>> ParseAddressMessage(const Message& message) {
  HULL_ASSIGN_OR_RETURN(auto parts, Split<ifaddrmsg>(message, RTM_NEWADDR, "RTM_NEWADDR"));
  const auto& [header, attributes] = parts;
  if (!IpFamily(header.ifa_family)) return std::optional<InterfaceAddress>();
  const std::string context = "RTM_NEWADDR index " + std::to_string(header.ifa_index) + ": ";
  if (header.ifa_index == 0 || header.ifa_index > INT32_MAX) {
    return Malformed(context + "bad index");
  }
  if (header.ifa_prefixlen > MaxPrefix(header.ifa_family)) {
    return Malformed(context + "prefix length " + std::to_string(header.ifa_prefixlen));
  }
  const Attribute* local = Find(attributes, IFA_LOCAL);
  const Attribute* address = local != nullptr ? local : Find(attributes, IFA_ADDRESS);
  if (address == nullptr) return Malformed(context + "no IFA_LOCAL or IFA_ADDRESS");

  InterfaceAddress entry;
  entry.index = static_cast<int>(header.ifa_index);
  entry.scope = header.ifa_scope;
  entry.flags = header.ifa_flags;
  HULL_ASSIGN_OR_RETURN(entry.address, AddressOf(*address, header.ifa_family, header.ifa_prefixlen,
                                                 context + "address"));
  if (const Attribute* flags = Find(attributes, IFA_FLAGS); flags != nullptr) {
    HULL_ASSIGN_OR_RETURN(entry.flags, U32(*flags, context + "IFA_FLAGS"));
  }
  return std::optional(entry);
}

Result<std::optional<RouteEntry>> ParseRouteMessage(const Message& message) {
  HULL_ASSIGN_OR_RETURN(auto parts, Split<rtmsg>(message, RTM_NEWROUTE, "RTM_NEWROUTE"));
  const auto& [header, attributes] = parts;
  const int family = header.rtm_family;
  if (!IpFamily(family)) return std::optional<RouteEntry>();
  const std::string context = "RTM_NEWROUTE: ";
  if (header.rtm_dst_len > MaxPrefix(family)) {
    return Malformed(context + "prefix length " + std::to_string(header.rtm_dst_len));
  }
  const uint8_t host = MaxPrefix(family);

  RouteEntry route;
  route.destination.family = family;
  route.destination.prefix_len = header.rtm_dst_len;
  route.table = header.rtm_table;
  route.protocol = header.rtm_protocol;
  route.scope = header.rtm_scope;
  route.type = header.rtm_type;
  if (const Attribute* dst = Find(attributes, RTA_DST); dst != nullptr) {
    HULL_ASSIGN_OR_RETURN(route.destination,
                          AddressOf(*dst, family, header.rtm_dst_len, context + "RTA_DST"));
  }
  if (const Attribute* gateway = Find(attributes, RTA_GATEWAY); gateway != nullptr) {
    HULL_ASSIGN_OR_RETURN(route.gateway,
                          AddressOf(*gateway, family, host, context + "RTA_GATEWAY"));
  }
  if (const Attribute* source = Find(attributes, RTA_PREFSRC); source != nullptr) {
    HULL_ASSIGN_OR_RETURN(route.source, AddressOf(*source, family, host, context + "RTA_PREFSRC"));
  }
  if (const Attribute* oif = Find(attributes, RTA_OIF); oif != nullptr) {
    HULL_ASSIGN_OR_RETURN(const uint32_t index, U32(*oif, context + "RTA_OIF"));
    if (index > INT32_MAX) return Malformed(context + "RTA_OIF " + std::to_string(index));
    route.oif = static_cast<int>(index);
  }
  if (const Attribute* metric = Find(attributes, RTA_PRIORITY); metric != nullptr) {
    HULL_ASSIGN_OR_RETURN(route.metric, U32(*metric, context + "RTA_PRIORITY"));
  }
  if (const Attribute* table = Find(attributes, RTA_TABLE); table != nullptr) {
    HULL_ASSIGN_OR_RETURN(route.table, U32(*table, context + "RTA_TABLE"));
  }
  return std::optional(route);
}

Result<std::vector<Link>> ParseLinkDump(std::span<const uint8_t> bytes, uint32_t seq) {
  return ParseDump<Link>(bytes, seq, RTM_NEWLINK, ParseLinkMessage);
}

Result<std::vector<InterfaceAddress>> ParseAddressDump(std::span<const uint8_t> bytes,
                                                       uint32_t seq) {
  return ParseDump<InterfaceAddress>(bytes, seq, RTM_NEWADDR, ParseAddressMessage);
}

Result<std::vector<RouteEntry>> ParseRouteDump(std::span<const uint8_t> bytes, uint32_t seq) {
  return ParseDump<RouteEntry>(bytes, seq, RTM_NEWROUTE, ParseRouteMessage);
}

}  // namespace hull::agent::net
