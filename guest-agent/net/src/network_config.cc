#include "hull/agent/net/network_config.h"

#include <net/if.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <set>
#include <string>

namespace hull::agent::net {
namespace {

constexpr uint32_t kMinMtu = 68;        // IPv4's minimum (RFC 791)
constexpr uint32_t kMinIpv6Mtu = 1280;  // below it the kernel disables IPv6 on the device

struct ParsedInterface {
  const InterfaceConfig* config = nullptr;
  MacAddress mac{};
  std::vector<Address> addresses;
};

struct ParsedRoute {
  const RouteConfig* config = nullptr;
  RouteSpec spec;  // without oif: that is looked up by name when applied
};

struct Plan {
  std::vector<ParsedInterface> interfaces;
  std::vector<ParsedRoute> routes;
};

Error Invalid(std::string message) { return Error(EINVAL, std::move(message)); }

Result<void> CheckName(const std::string& name) {
  if (name.empty()) return Invalid("the name is empty");
  if (name.size() >= IFNAMSIZ) {
    return Invalid("the name \"" + name + "\" is longer than " + std::to_string(IFNAMSIZ - 1) +
                   " characters");
  }
  if (name == "." || name == "..") return Invalid("\"" + name + "\" is no device name");
  for (char c : name) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '/' || c == ':' || byte <= 0x20 || byte >= 0x7f) {
      return Invalid("the name \"" + name + "\" has a character a device name cannot have");
    }
  }
  return Ok();
}

std::string DescribeRoute(const RouteConfig& route) {
  std::string text = "route " + route.destination;
  if (!route.gateway.empty()) text += " via " + route.gateway;
  if (!route.device.empty()) text += " dev " + route.device;
  return text;
}

Result<ParsedInterface> ParseInterface(const InterfaceConfig& config) {
  ParsedInterface parsed;
  parsed.config = &config;
  HULL_TRY(CheckName(config.name));
  HULL_ASSIGN_OR_RETURN(parsed.mac, ParseMac(config.mac));
  bool ipv6 = false;
  for (const std::string& text : config.addresses) {
    HULL_ASSIGN_OR_RETURN(Address address, ParseCidr(text));
    ipv6 = ipv6 || address.family == AF_INET6;
    parsed.addresses.push_back(address);
  }
  if (config.mtu != 0 && config.mtu < kMinMtu) {
    return Invalid("MTU " + std::to_string(config.mtu) + " is under " + std::to_string(kMinMtu));
  }
  if (config.mtu != 0 && ipv6 && config.mtu < kMinIpv6Mtu) {
    return Invalid("MTU " + std::to_string(config.mtu) + " is under " +
                   std::to_string(kMinIpv6Mtu) + ", which IPv6 addresses need");
  }
  return parsed;
}

Result<ParsedRoute> ParseRoute(const RouteConfig& config) {
  ParsedRoute parsed;
  parsed.config = &config;
  RouteSpec& spec = parsed.spec;
  if (!config.gateway.empty()) {
    HULL_ASSIGN_OR_RETURN(spec.gateway, ParseIp(config.gateway));
  }
  if (!config.source.empty()) {
    HULL_ASSIGN_OR_RETURN(spec.source, ParseIp(config.source));
  }
  if (config.destination == "default") {
    // The family of a default route follows its gateway or source; a bare
    // "default dev eth0" is IPv4's.
    spec.destination.family = spec.gateway.has_value()  ? spec.gateway->family
                              : spec.source.has_value() ? spec.source->family
                                                        : AF_INET;
    spec.destination.prefix_len = 0;
  } else {
    HULL_ASSIGN_OR_RETURN(spec.destination, ParseCidr(config.destination));
    if (spec.destination.has_host_bits()) {
      return Invalid("the destination has bits set beyond its prefix length: did you mean " +
                     FormatCidr(spec.destination.network()) + "?");
    }
  }
  const int family = spec.destination.family;
  if ((spec.gateway.has_value() && spec.gateway->family != family) ||
      (spec.source.has_value() && spec.source->family != family)) {
    return Invalid("the destination, gateway and source mix IPv4 and IPv6");
  }
  if (!config.device.empty()) HULL_TRY(CheckName(config.device));
  if (config.device.empty() && !spec.gateway.has_value()) {
    return Invalid("a route without a gateway needs a device");
  }
  spec.metric = config.metric;
  return parsed;
}

Result<Plan> MakePlan(const std::vector<InterfaceConfig>& interfaces,
                      const std::vector<RouteConfig>& routes) {
  Plan plan;
  std::set<std::string> names;
  std::set<MacAddress> macs;
  for (const InterfaceConfig& config : interfaces) {
    const std::string context = "interface " + (config.name.empty() ? config.mac : config.name);
    HULL_ASSIGN_OR_RETURN(ParsedInterface parsed, ParseInterface(config).WithContext(context));
    if (!names.insert(config.name).second) {
      return Invalid(context + ": two interfaces have this name");
    }
    if (!macs.insert(parsed.mac).second) {
      return Invalid(context + ": another interface has the MAC " + FormatMac(parsed.mac));
    }
    plan.interfaces.push_back(std::move(parsed));
  }
  for (const RouteConfig& config : routes) {
    HULL_ASSIGN_OR_RETURN(ParsedRoute parsed,
                          ParseRoute(config).WithContext(DescribeRoute(config)));
    plan.routes.push_back(parsed);
  }
  // Link routes first: a gateway must be reachable when its route is added.
  std::stable_partition(plan.routes.begin(), plan.routes.end(),
                        [](const ParsedRoute& route) { return !route.spec.gateway.has_value(); });
  return plan;
}

std::string ListDevices(const std::vector<Link>& links) {
  std::string text;
  for (const Link& link : links) {
    if (!text.empty()) text += ", ";
    text += link.name;
    if (link.mac.has_value() && !link.loopback()) text += " " + FormatMac(*link.mac);
  }
  return "(devices: " + (text.empty() ? std::string("none") : text) + ")";
}

Link* FindByName(std::vector<Link>& links, const std::string& name) {
  const auto it =
      std::find_if(links.begin(), links.end(), [&](const Link& link) { return link.name == name; });
  return it == links.end() ? nullptr : &*it;
}

Result<void> Rename(Netlink& netlink, Link& link, const std::string& name) {
  if (link.up()) {
    HULL_TRY(netlink.SetLinkDown(link.index));
    link.flags &= ~static_cast<uint32_t>(IFF_UP);
  }
  HULL_TRY(netlink.SetName(link.index, name));
  link.name = name;
  return Ok();
}

// Gives each interface's device its name. A name may be held by another of
// the configured devices (the kernel's probe order differs from the shim's),
// so a device whose name is still taken waits, and a cycle (eth0 ↔ eth1) is
// broken by moving one device to a temporary name.
Result<void> RenameDevices(Netlink& netlink, const Plan& plan, std::vector<Link>& links,
                           const std::vector<size_t>& device_of) {
  struct Pending {
    int index;
    std::string name;
  };
  std::vector<Pending> pending;
  for (size_t i = 0; i < plan.interfaces.size(); ++i) {
    const std::string& name = plan.interfaces[i].config->name;
    const Link* link = &links[device_of[i]];
    if (link->name == name) continue;
    if (const Link* holder = FindByName(links, name); holder != nullptr) {
      const bool holder_renamed = std::any_of(device_of.begin(), device_of.end(),
                                              [&](size_t at) { return &links[at] == holder; });
      if (!holder_renamed) {
        return Error(EEXIST, "interface " + name + ": the name is taken by a device (index " +
                                 std::to_string(holder->index) +
                                 ") that the configuration does not name");
      }
    }
    pending.push_back({link->index, name});
  }
  auto link_with_index = [&](int index) -> Link& {
    return *std::find_if(links.begin(), links.end(),
                         [index](const Link& link) { return link.index == index; });
  };
  while (!pending.empty()) {
    const auto ready = std::find_if(pending.begin(), pending.end(), [&](const Pending& p) {
      return FindByName(links, p.name) == nullptr;
    });
    if (ready != pending.end()) {
      HULL_TRY(Rename(netlink, link_with_index(ready->index), ready->name)
                   .WithContext("interface " + ready->name + ": renaming the device"));
      pending.erase(ready);
      continue;
    }
    // Every wanted name is held by another pending device: a cycle.
    Link& link = link_with_index(pending.front().index);
    const std::string temporary = "hull-tmp" + std::to_string(link.index % 1000000);
    if (FindByName(links, temporary) != nullptr) {
      return Error(EEXIST, "interface " + pending.front().name + ": the temporary name " +
                               temporary + " is taken");
    }
    HULL_TRY(Rename(netlink, link, temporary)
                 .WithContext("interface " + pending.front().name + ": renaming the device"));
  }
  return Ok();
}

// EEXIST means it is already there, which is what we want.
Result<void> TolerateExisting(Result<void> result) {
  if (!result.ok() && result.error().code() == EEXIST) return Ok();
  return result;
}

Result<void> ConfigureInterface(Netlink& netlink, const ParsedInterface& interface, Link& link) {
  const InterfaceConfig& config = *interface.config;
  if (config.mtu != 0 && link.mtu != config.mtu) {
    HULL_TRY(netlink.SetMtu(link.index, config.mtu));
    link.mtu = config.mtu;
  }
  for (const Address& address : interface.addresses) {
    HULL_TRY(TolerateExisting(netlink.AddAddress(link.index, address)));
  }
  HULL_TRY(netlink.SetLinkUp(link.index));
  link.flags |= IFF_UP;
  return Ok();
}

Result<void> AddRoute(Netlink& netlink, const ParsedRoute& route, std::vector<Link>& links) {
  RouteSpec spec = route.spec;
  const RouteConfig& config = *route.config;
  if (!config.device.empty()) {
    const Link* link = FindByName(links, config.device);
    if (link == nullptr) {
      return Error(ENODEV, "no network device named " + config.device + " " + ListDevices(links));
    }
    spec.oif = link->index;
  }
  Result<void> added = TolerateExisting(netlink.AddRoute(spec));
  if (!added.ok() && added.error().code() == ENETUNREACH && spec.gateway.has_value()) {
    return Error(ENETUNREACH,
                 added.error().message() +
                     ": is the gateway inside the subnet of an address of the device?");
  }
  return added;
}

}  // namespace

Result<void> ValidateNetworkConfig(const std::vector<InterfaceConfig>& interfaces,
                                   const std::vector<RouteConfig>& routes) {
  HULL_TRY(MakePlan(interfaces, routes));
  return Ok();
}

Result<void> ConfigureNetwork(Netlink& netlink, const std::vector<InterfaceConfig>& interfaces,
                              const std::vector<RouteConfig>& routes) {
  HULL_ASSIGN_OR_RETURN(const Plan plan, MakePlan(interfaces, routes));
  HULL_ASSIGN_OR_RETURN(std::vector<Link> links, netlink.ListLinks());

  for (Link& link : links) {
    if (link.loopback() && !link.up()) {
      HULL_TRY(netlink.SetLinkUp(link.index).WithContext("bringing up loopback " + link.name));
      link.flags |= IFF_UP;
    }
  }

  // Where in `links` each interface's device is.
  std::vector<size_t> device_of;
  for (const ParsedInterface& interface : plan.interfaces) {
    const auto it = std::find_if(links.begin(), links.end(), [&](const Link& link) {
      return link.mac == interface.mac && !link.loopback();
    });
    if (it == links.end()) {
      return Error(ENODEV, "interface " + interface.config->name + ": no network device with MAC " +
                               FormatMac(interface.mac) +
                               ": does the VM have a --net device with that mac? " +
                               ListDevices(links));
    }
    device_of.push_back(static_cast<size_t>(it - links.begin()));
  }

  HULL_TRY(RenameDevices(netlink, plan, links, device_of));
  for (size_t i = 0; i < plan.interfaces.size(); ++i) {
    const ParsedInterface& interface = plan.interfaces[i];
    HULL_TRY(ConfigureInterface(netlink, interface, links[device_of[i]])
                 .WithContext("interface " + interface.config->name));
  }
  for (const ParsedRoute& route : plan.routes) {
    HULL_TRY(AddRoute(netlink, route, links).WithContext(DescribeRoute(*route.config)));
  }
  return Ok();
}

}  // namespace hull::agent::net
