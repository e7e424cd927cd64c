#pragma once

// IP addresses, prefixes and MAC addresses as the shim writes them in a
// sandbox's network configuration ("10.0.0.2/24", "fd00::2/64",
// "aa:bb:cc:dd:ee:ff"). The text comes from the host, so parsing is strict:
// anything but the canonical forms below is an Error(EINVAL) that quotes the
// text.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "hull/common/result.h"

namespace hull::agent::net {

using MacAddress = std::array<uint8_t, 6>;

// An IPv4 or IPv6 address with a prefix length; for IPv4 only the first 4
// bytes are used and the rest are 0.
struct Address {
  int family = 0;  // AF_INET or AF_INET6
  std::array<uint8_t, 16> bytes{};
  uint8_t prefix_len = 0;

  // 4 or 16: the bytes that count.
  size_t size() const;
  // 32 or 128.
  uint8_t max_prefix_len() const;
  // Whether bits beyond the prefix are set ("10.0.0.5/24" has, "10.0.0.0/24"
  // has not): a route's destination must have none.
  bool has_host_bits() const;
  // The address with the bits beyond the prefix cleared.
  Address network() const;

  bool operator==(const Address&) const = default;
};

// "<address>/<prefix>": an IPv4 dotted quad (no leading zeros) with a prefix
// of 0–32, or an IPv6 address (RFC 4291 text, no zone) with 0–128. The
// prefix is decimal without sign or leading zeros.
Result<Address> ParseCidr(std::string_view text);
// An address without a prefix; the prefix length is then 32 or 128.
Result<Address> ParseIp(std::string_view text);
// Six pairs of hex digits separated by ':', either case.
Result<MacAddress> ParseMac(std::string_view text);

// "10.0.0.2" / "fd00::2" (inet_ntop's canonical form).
std::string FormatIp(const Address& address);
// "10.0.0.2/24".
std::string FormatCidr(const Address& address);
// "aa:bb:cc:dd:ee:ff", lower case.
std::string FormatMac(const MacAddress& mac);

}  // namespace hull::agent::net
