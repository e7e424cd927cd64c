#include "sandbox.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>

#include "hull/agent/net/netlink.h"
#include "hull/agent/net/network_config.h"
#include "hull/agent/net/resolv_conf.h"
#include "hull/common/files.h"
#include "hull/common/logging.h"
#include "hull/container/sysctl.h"
#include "hull/oci/names.h"

namespace hull::agent {
namespace {

Result<void> MkdirAll(const std::string& path) {
  for (size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
    std::string prefix = path.substr(0, slash);
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
      return Error::FromErrno(errno, "mkdir " + prefix);
    }
    if (slash == std::string::npos) return {};
  }
}

Error GuestOnly(std::string_view what) {
  return Error(
      EPERM, std::string(what) + " can be set only by hull-agent as the VM's init, not on a host");
}

}  // namespace

Result<void> Sandbox::MountStorage(const v1::Storage& storage) {
  std::vector<std::string> options(storage.options().begin(), storage.options().end());
  HULL_ASSIGN_OR_RETURN(oci::MountOptions parsed, oci::ParseMountOptions(options));
  HULL_TRY(MkdirAll(storage.mount_point()));
  if (::mount(storage.source().c_str(), storage.mount_point().c_str(), storage.fstype().c_str(),
              parsed.flags, parsed.data.empty() ? nullptr : parsed.data.c_str()) != 0) {
    return Error::FromErrno(errno, "mounting " + storage.fstype() + " " + storage.source() +
                                       " at " + storage.mount_point());
  }
  mounts_.push_back(storage.mount_point());
  return {};
}

Result<void> Sandbox::Create(const v1::CreateSandboxRequest& request) {
  std::lock_guard lock(mutex_);
  if (created_) return Error(EEXIST, "the sandbox exists already");
  const bool network = !request.interfaces().empty() || !request.routes().empty();
  if (!options_.guest) {
    if (!request.hostname().empty()) return GuestOnly("the hostname");
    if (network) return GuestOnly("network interfaces and routes");
    if (request.has_dns() && !request.dns().servers().empty()) return GuestOnly("DNS");
    if (!request.sysctls().empty()) return GuestOnly("sysctls");
  }
  if (!request.hostname().empty() &&
      ::sethostname(request.hostname().data(), request.hostname().size()) != 0) {
    return Error::FromErrno(errno, "sethostname " + request.hostname());
  }
  if (options_.guest) {
    std::vector<net::InterfaceConfig> interfaces;
    for (const v1::Interface& interface : request.interfaces()) {
      net::InterfaceConfig config;
      config.name = interface.name();
      config.mac = interface.mac();
      config.mtu = interface.mtu();
      for (const v1::IpAddress& address : interface.addresses())
        config.addresses.push_back(address.cidr());
      interfaces.push_back(std::move(config));
    }
    std::vector<net::RouteConfig> routes;
    for (const v1::Route& route : request.routes()) {
      routes.push_back({.destination = route.destination(),
                        .gateway = route.gateway(),
                        .device = route.device(),
                        .source = route.source(),
                        .metric = route.metric()});
    }
    HULL_ASSIGN_OR_RETURN(net::Netlink netlink, net::Netlink::Open());
    HULL_TRY(net::ConfigureNetwork(netlink, interfaces, routes));
    if (request.has_dns()) {
      std::vector<std::string> servers(request.dns().servers().begin(),
                                       request.dns().servers().end());
      std::vector<std::string> searches(request.dns().searches().begin(),
                                        request.dns().searches().end());
      std::vector<std::string> dns_options(request.dns().options().begin(),
                                           request.dns().options().end());
      HULL_ASSIGN_OR_RETURN(std::string resolv,
                            net::FormatResolvConf(servers, searches, dns_options));
      // The initramfs has no /etc of its own.
      const size_t slash = options_.resolv_conf.rfind('/');
      if (slash != std::string::npos && slash > 0) {
        HULL_TRY(MkdirAll(options_.resolv_conf.substr(0, slash)));
      }
      HULL_TRY(WriteFileAtomically(options_.resolv_conf, resolv));
    }
    for (const auto& [name, value] : request.sysctls()) {
      HULL_TRY(container::WriteSysctl(name, value));
    }
  }
  for (const v1::Storage& storage : request.storages()) HULL_TRY(MountStorage(storage));
  created_ = true;
  LogEvent(spdlog::level::info, "sandbox_created", Kv("id", request.sandbox_id()));
  return {};
}

Result<void> Sandbox::Destroy() {
  std::lock_guard lock(mutex_);
  std::optional<Error> first;
  for (auto it = mounts_.rbegin(); it != mounts_.rend(); ++it) {
    if (::umount2(it->c_str(), MNT_DETACH) != 0 && errno != EINVAL && !first) {
      first = Error::FromErrno(errno, "unmounting " + *it);
    }
    ::rmdir(it->c_str());
  }
  mounts_.clear();
  created_ = false;
  if (first) return *first;
  return {};
}

}  // namespace hull::agent
