#include "hull/sandbox/pod_network.h"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/nsfs.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <set>
#include <thread>

#include "hull/agent/net/address.h"
#include "hull/agent/net/netlink.h"
#include "hull/common/logging.h"

namespace hull::sandbox {
namespace {

namespace net = ::hull::agent::net;

// Runs `body` on a thread that has joined the network namespace `netns_fd`
// (setns affects only the calling thread), and returns its result.
template <typename Body>
auto InNamespace(int netns_fd, const std::string& path, Body body) -> decltype(body()) {
  std::optional<decltype(body())> result;
  std::thread worker([&] {
    if (::setns(netns_fd, CLONE_NEWNET) != 0) {
      result.emplace(Error::FromErrno(errno, "entering the network namespace " + path));
      return;
    }
    result.emplace(body());
  });
  worker.join();
  return std::move(*result);
}

Result<UniqueFd> OpenNamespace(const std::string& path) {
  if (path.empty() || path.front() != '/') {
    return Error(EINVAL, "network namespace path \"" + path + "\" must be absolute");
  }
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Error::FromErrno(errno, "opening the network namespace " + path);
  const int type = ::ioctl(fd.Get(), NS_GET_NSTYPE);
  if (type != CLONE_NEWNET) {
    return Error(EINVAL, path + " is not a network namespace (linux.namespaces names it as one)");
  }
  struct stat ours {};
  struct stat theirs {};
  if (::stat("/proc/self/ns/net", &ours) == 0 && ::fstat(fd.Get(), &theirs) == 0 &&
      ours.st_dev == theirs.st_dev && ours.st_ino == theirs.st_ino) {
    return Error(EINVAL, path +
                             " is the host's own network namespace: hull never hands the host's "
                             "interfaces to a VM. Give the container a pod network namespace "
                             "(CNI), or none (no network)");
  }
  return fd;
}

// A tap device `name` in the calling thread's network namespace, in the
// form hull-vmm takes over (no packet info, virtio-net headers).
Result<UniqueFd> CreateTap(const std::string& name) {
  UniqueFd fd(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
  if (!fd) {
    return Error::FromErrno(errno, "opening /dev/net/tun (is the tun module loaded? modprobe tun)");
  }
  ifreq request{};
  std::strncpy(request.ifr_name, name.c_str(), IFNAMSIZ - 1);
  request.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
  if (::ioctl(fd.Get(), TUNSETIFF, &request) != 0) {
    return Error::FromErrno(errno, "creating the tap device " + name + " (TUNSETIFF)");
  }
  return fd;
}

std::string RouteDestination(const net::Address& destination) {
  return destination.prefix_len == 0 ? "default" : net::FormatCidr(destination);
}

}  // namespace

Result<std::unique_ptr<PodNetwork>> PodNetwork::Attach(const std::string& netns_path) {
  std::unique_ptr<PodNetwork> network(new PodNetwork());
  network->netns_path_ = netns_path;
  HULL_ASSIGN_OR_RETURN(network->netns_, OpenNamespace(netns_path));
  PodNetwork& self = *network;
  Result<void> attached = InNamespace(self.netns_.Get(), netns_path, [&]() -> Result<void> {
    HULL_ASSIGN_OR_RETURN(net::Netlink netlink, net::Netlink::Open());
    HULL_ASSIGN_OR_RETURN(std::vector<net::Link> links, netlink.ListLinks());
    HULL_ASSIGN_OR_RETURN(std::vector<net::InterfaceAddress> addresses,
                          netlink.ListAddresses(AF_UNSPEC));
    HULL_ASSIGN_OR_RETURN(std::vector<net::RouteEntry> routes, netlink.ListRoutes(AF_UNSPEC));
    for (const net::Link& link : links) {
      if (link.loopback() || !link.mac.has_value() || link.name.starts_with("hull_tap")) continue;
      MirroredInterface mirrored;
      mirrored.name = link.name;
      mirrored.index = link.index;
      mirrored.mac = net::FormatMac(*link.mac);
      mirrored.mtu = link.mtu;
      for (const net::InterfaceAddress& address : addresses) {
        if (address.index == link.index && address.scope == RT_SCOPE_UNIVERSE) {
          mirrored.addresses.push_back(net::FormatCidr(address.address));
        }
      }
      self.interfaces_.push_back(std::move(mirrored));
    }
    for (size_t i = 0; i < self.interfaces_.size(); ++i) {
      MirroredInterface& mirrored = self.interfaces_[i];
      mirrored.tap = "hull_tap" + std::to_string(i);
      HULL_ASSIGN_OR_RETURN(UniqueFd tap, CreateTap(mirrored.tap));
      self.taps_.push_back(std::move(tap));
      mirrored.tap_index = static_cast<int>(::if_nametoindex(mirrored.tap.c_str()));
      if (mirrored.tap_index == 0) {
        return Error::FromErrno(errno, "finding the new tap device " + mirrored.tap);
      }
      if (mirrored.mtu > 0) HULL_TRY(netlink.SetMtu(mirrored.tap_index, mirrored.mtu));
      HULL_TRY(netlink.SetLinkUp(mirrored.tap_index));
      HULL_TRY(netlink.AddRedirect(mirrored.index, mirrored.tap_index)
                   .WithContext("mirroring " + mirrored.name + " into the VM"));
      HULL_TRY(netlink.AddRedirect(mirrored.tap_index, mirrored.index)
                   .WithContext("mirroring the VM out through " + mirrored.name));
    }
    for (const net::RouteEntry& route : routes) {
      // The main table's unicast routes that someone added (the kernel's
      // own follow from the addresses, in the guest too).
      if (route.table != RT_TABLE_MAIN || route.type != RTN_UNICAST ||
          route.protocol == RTPROT_KERNEL) {
        continue;
      }
      const MirroredInterface* device = nullptr;
      for (const MirroredInterface& mirrored : self.interfaces_) {
        if (mirrored.index == route.oif) device = &mirrored;
      }
      if (device == nullptr) continue;
      MirroredRoute mirrored;
      mirrored.destination = RouteDestination(route.destination);
      if (route.gateway.has_value()) mirrored.gateway = net::FormatIp(*route.gateway);
      if (route.source.has_value()) mirrored.source = net::FormatIp(*route.source);
      mirrored.device = device->name;
      mirrored.metric = route.metric;
      self.routes_.push_back(std::move(mirrored));
    }
    return Ok();
  });
  if (!attached.ok()) {
    (void)network->Detach();
    return std::move(attached).error().WithContext("mirroring the network namespace " + netns_path +
                                                   " into the VM");
  }
  for (const MirroredInterface& mirrored : network->interfaces_) {
    LogEvent(spdlog::level::debug, "interface_mirrored", Kv("netns", netns_path),
             Kv("interface", mirrored.name), Kv("tap", mirrored.tap), Kv("mac", mirrored.mac));
  }
  return network;
}

Result<void> PodNetwork::Detach() {
  taps_.clear();
  if (!netns_) return Ok();
  // Only the redirects we made: the interfaces in the namespace, whose
  // ingress qdisc we added. A tap that is gone took its own with it.
  std::vector<int> indexes;
  for (const MirroredInterface& mirrored : interfaces_) indexes.push_back(mirrored.index);
  Result<void> detached = InNamespace(netns_.Get(), netns_path_, [&]() -> Result<void> {
    HULL_ASSIGN_OR_RETURN(net::Netlink netlink, net::Netlink::Open());
    std::optional<Error> first;
    for (int index : indexes) {
      Result<void> deleted = netlink.DeleteIngressQdisc(index);
      // ENODEV: the interface went (CNI deleted it); EINVAL/ENOENT: no qdisc.
      if (!deleted.ok() && deleted.error().code() != ENODEV && deleted.error().code() != EINVAL &&
          deleted.error().code() != ENOENT && !first) {
        first = deleted.error();
      }
    }
    if (first) return *first;
    return Ok();
  });
  netns_ = UniqueFd();
  interfaces_.clear();
  routes_.clear();
  return detached;
}

Result<void> PodNetwork::DetachStale(const std::string& netns_path,
                                     const std::vector<std::string>& interface_names) {
  UniqueFd fd(::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Ok();  // the namespace is gone, and with it what we added
  if (::ioctl(fd.Get(), NS_GET_NSTYPE) != CLONE_NEWNET) return Ok();
  return InNamespace(fd.Get(), netns_path, [&]() -> Result<void> {
    HULL_ASSIGN_OR_RETURN(net::Netlink netlink, net::Netlink::Open());
    for (const std::string& name : interface_names) {
      const auto index = static_cast<int>(::if_nametoindex(name.c_str()));
      if (index == 0) continue;
      (void)netlink.DeleteIngressQdisc(index);
    }
    return Ok();
  });
}

void PodNetwork::Describe(::hull::agent::v1::CreateSandboxRequest& request) const {
  for (const MirroredInterface& mirrored : interfaces_) {
    ::hull::agent::v1::Interface* interface = request.add_interfaces();
    interface->set_name(mirrored.name);
    interface->set_mac(mirrored.mac);
    interface->set_mtu(mirrored.mtu);
    for (const std::string& cidr : mirrored.addresses) interface->add_addresses()->set_cidr(cidr);
  }
  for (const MirroredRoute& mirrored : routes_) {
    ::hull::agent::v1::Route* route = request.add_routes();
    route->set_destination(mirrored.destination);
    route->set_gateway(mirrored.gateway);
    route->set_device(mirrored.device);
    route->set_source(mirrored.source);
    route->set_metric(mirrored.metric);
  }
}

PodNetwork::~PodNetwork() { (void)Detach(); }

}  // namespace hull::sandbox
