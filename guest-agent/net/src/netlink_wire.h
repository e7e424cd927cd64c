#pragma once

// What the request builder and the reply parser share: netlink's alignment
// rule, spelled without the <linux/netlink.h> macros (which cast C-style).

#include <cstddef>
#include <cstdint>

namespace hull::agent::net::internal {

// Netlink headers and attributes start on 4-byte boundaries.
constexpr size_t kNetlinkAlign = 4;
constexpr size_t Align(size_t length) {
  return (length + kNetlinkAlign - 1) & ~(kNetlinkAlign - 1);
}

constexpr size_t kMessageHeaderSize = 16;        // sizeof(nlmsghdr), aligned
constexpr size_t kAttributeHeaderSize = 4;       // sizeof(rtattr) / sizeof(nlattr), aligned
constexpr uint16_t kAttributeTypeMask = 0x3fff;  // without NLA_F_NESTED / NLA_F_NET_BYTEORDER

}  // namespace hull::agent::net::internal
