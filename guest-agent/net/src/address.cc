#include "hull/agent/net/address.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

namespace hull::agent::net {
namespace {

// Long enough for any valid text; longer input is rejected before copying.
constexpr size_t kMaxIpText = INET6_ADDRSTRLEN;

std::string Quote(std::string_view text) {
  // Bound what an error echoes: the text comes from the host.
  constexpr size_t kMaxQuoted = 64;
  std::string quoted = "\"";
  for (char c : text.substr(0, kMaxQuoted)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f && c != '"' && c != '\\') {
      quoted += c;
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      quoted += "\\x";
      quoted += kHex[byte >> 4];
      quoted += kHex[byte & 0xf];
    }
  }
  if (text.size() > kMaxQuoted) quoted += "...";
  quoted += '"';
  return quoted;
}

Error Invalid(std::string_view what, std::string_view text, std::string_view why) {
  return Error(EINVAL, std::string(what) + " " + Quote(text) + ": " + std::string(why));
}

// Parses `text`, the address part of `whole` (which errors quote).
Result<Address> ParseAddressOnly(std::string_view text, std::string_view what,
                                 std::string_view whole) {
  if (text.empty()) return Invalid(what, whole, "no address");
  if (text.size() > kMaxIpText) return Invalid(what, whole, "too long for an IP address");
  // inet_pton wants a C string; a NUL inside the text must not cut it short.
  if (text.find('\0') != std::string_view::npos) {
    return Invalid(what, whole, "contains a NUL byte");
  }
  char buffer[kMaxIpText + 1] = {};
  std::copy(text.begin(), text.end(), buffer);

  Address address;
  const bool v6 = text.find(':') != std::string_view::npos;
  address.family = v6 ? AF_INET6 : AF_INET;
  if (::inet_pton(address.family, buffer, address.bytes.data()) != 1) {
    return Invalid(what, whole, v6 ? "not an IPv6 address" : "not an IPv4 address");
  }
  address.prefix_len = address.max_prefix_len();
  return address;
}

}  // namespace

size_t Address::size() const { return family == AF_INET6 ? 16 : 4; }

uint8_t Address::max_prefix_len() const { return family == AF_INET6 ? 128 : 32; }

bool Address::has_host_bits() const { return network() != *this; }

Address Address::network() const {
  Address result = *this;
  const size_t full_bytes = prefix_len / 8u;
  const unsigned rest_bits = prefix_len % 8u;
  for (size_t i = full_bytes; i < result.bytes.size(); ++i) {
    if (i == full_bytes && rest_bits != 0) {
      result.bytes[i] &= static_cast<uint8_t>(0xffu << (8u - rest_bits));
    } else {
      result.bytes[i] = 0;
    }
  }
  return result;
}

Result<Address> ParseCidr(std::string_view text) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) {
    return Invalid("CIDR", text, "expected <address>/<prefix length>");
  }
  HULL_ASSIGN_OR_RETURN(Address address, ParseAddressOnly(text.substr(0, slash), "CIDR", text));
  const std::string_view prefix = text.substr(slash + 1);
  if (prefix.empty() || prefix.size() > 3 ||
      !std::all_of(prefix.begin(), prefix.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return Invalid("CIDR", text, "the prefix length is not a decimal number");
  }
  if (prefix.size() > 1 && prefix[0] == '0') {
    return Invalid("CIDR", text, "the prefix length has a leading zero");
  }
  unsigned value = 0;
  for (char c : prefix) value = value * 10 + static_cast<unsigned>(c - '0');
  if (value > address.max_prefix_len()) {
    return Invalid("CIDR", text,
                   "the prefix length is over " + std::to_string(address.max_prefix_len()));
  }
  address.prefix_len = static_cast<uint8_t>(value);
  return address;
}

Result<Address> ParseIp(std::string_view text) {
  if (text.find('/') != std::string_view::npos) {
    return Invalid("IP address", text, "expected an address without a prefix length");
  }
  return ParseAddressOnly(text, "IP address", text);
}

Result<MacAddress> ParseMac(std::string_view text) {
  constexpr size_t kTextSize = 17;  // "aa:bb:cc:dd:ee:ff"
  if (text.size() != kTextSize) {
    return Invalid("MAC address", text, "expected six hex pairs like aa:bb:cc:dd:ee:ff");
  }
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  MacAddress mac{};
  for (size_t i = 0; i < mac.size(); ++i) {
    const size_t at = i * 3;
    const int high = nibble(text[at]);
    const int low = nibble(text[at + 1]);
    if (high < 0 || low < 0 || (i + 1 < mac.size() && text[at + 2] != ':')) {
      return Invalid("MAC address", text, "expected six hex pairs like aa:bb:cc:dd:ee:ff");
    }
    mac[i] = static_cast<uint8_t>(high * 16 + low);
  }
  return mac;
}

std::string FormatIp(const Address& address) {
  char buffer[INET6_ADDRSTRLEN] = {};
  const int family = address.family == AF_INET6 ? AF_INET6 : AF_INET;
  if (::inet_ntop(family, address.bytes.data(), buffer, sizeof(buffer)) == nullptr) {
    return "<invalid address>";
  }
  return buffer;
}

std::string FormatCidr(const Address& address) {
  return FormatIp(address) + "/" + std::to_string(address.prefix_len);
}

std::string FormatMac(const MacAddress& mac) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text;
  for (size_t i = 0; i < mac.size(); ++i) {
    if (i > 0) text += ':';
    text += kHex[mac[i] >> 4];
    text += kHex[mac[i] & 0xf];
  }
  return text;
}

}  // namespace hull::agent::net
