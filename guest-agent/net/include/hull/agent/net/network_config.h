#pragma once

// A sandbox's network as the shim asks for it, applied to the guest's
// devices with rtnetlink. The guest's NICs are the VM's --net devices; the
// shim knows them by MAC address, the guest kernel names them eth0, eth1, ...
// in probe order, so each interface is found by its MAC and renamed to the
// name the shim gave it.
//
// ConfigureNetwork, in order:
//   1. checks the whole configuration (ValidateNetworkConfig) before it
//      touches any device;
//   2. brings loopback up;
//   3. for each interface: finds the device by MAC (either case), renames it
//      if its name differs (down → rename; names may be swapped between
//      devices), sets the MTU (when not 0), adds the addresses (an address
//      already there is fine) and brings it up;
//   4. adds the routes, those without a gateway (link routes) before those
//      with one, so that a gateway is reachable when its route is added; a
//      route already there is fine (an address's subnet route exists as soon
//      as the address does).
// Errors name the interface or route and, where we can tell, the fix:
//   interface eth0: no network device with MAC aa:bb:cc:dd:ee:ff: does the
//   VM have a --net device with that mac? (devices: lo, eth0 52:54:00:12:34:56)

#include <cstdint>
#include <string>
#include <vector>

#include "hull/agent/net/netlink.h"
#include "hull/common/result.h"

namespace hull::agent::net {

struct InterfaceConfig {
  std::string name;                    // what the device is to be called in the guest
  std::string mac;                     // "aa:bb:cc:dd:ee:ff": which device
  uint32_t mtu = 0;                    // 0: leave as it is
  std::vector<std::string> addresses;  // CIDRs: "10.0.0.2/24", "fd00::2/64"
};

struct RouteConfig {
  std::string destination;  // a CIDR without host bits, or "default"
  std::string gateway;      // an IP, or empty for a link route
  std::string device;       // a device name (after renaming); may be empty with a gateway
  std::string source;       // preferred source IP, or empty
  uint32_t metric = 0;
};

// The checks ConfigureNetwork makes before touching anything: interface
// names (1–15 characters, none of '/', ':', whitespace; not "." or ".."),
// unique names and MACs, MACs, CIDRs, MTUs (68 or more; 1280 or more with an
// IPv6 address), route destinations without host bits, one family per route,
// a gateway or a device for each route. Errors are EINVAL.
Result<void> ValidateNetworkConfig(const std::vector<InterfaceConfig>& interfaces,
                                   const std::vector<RouteConfig>& routes);

Result<void> ConfigureNetwork(Netlink& netlink, const std::vector<InterfaceConfig>& interfaces,
                              const std::vector<RouteConfig>& routes);

}  // namespace hull::agent::net
