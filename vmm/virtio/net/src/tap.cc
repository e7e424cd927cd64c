#include "hull/vmm/virtio/net/tap.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "hull/common/eintr.h"
#include "hull/vmm/virtio/net/net_header.h"

namespace hull::vmm::virtio::net {
namespace {

constexpr short kTapFlags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;

}  // namespace

Result<Tap> Tap::Open(const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ) {
    return Error(EINVAL, fmt::format("tap name \"{}\": 1 to {} characters", name, IFNAMSIZ - 1));
  }
  UniqueFd fd(RetryOnEintr([] { return ::open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK); }));
  if (!fd) {
    const int err = errno;
    if (err == ENOENT || err == ENODEV) {
      return Error(err,
                   "/dev/net/tun is missing: the host kernel lacks the tun driver. Fix: "
                   "'modprobe tun' (as root)");
    }
    return Error::FromErrno(err, "open /dev/net/tun");
  }
  ifreq request{};
  std::memcpy(request.ifr_name, name.data(), name.size());
  request.ifr_flags = kTapFlags;
  if (::ioctl(fd.Get(), TUNSETIFF, &request) != 0) {
    const int err = errno;
    if (err == EPERM) {
      return Error(err, fmt::format("no permission to open or create tap {}. Fix: run as root, "
                                    "or create it for this user first ('ip tuntap add {} mode tap "
                                    "vnet_hdr user USER')",
                                    name, name));
    }
    if (err == EBUSY || err == EINVAL) {
      return Error(err, fmt::format("tap {} exists but cannot be attached as a tap with vnet "
                                    "headers (is it a tun device, without vnet_hdr, or in use?). "
                                    "Fix: recreate it with 'ip tuntap add {} mode tap vnet_hdr'",
                                    name, name));
    }
    return Error::FromErrno(err, fmt::format("TUNSETIFF {}", name));
  }
  return Configure(request.ifr_name, std::move(fd));
}

Result<Tap> Tap::Adopt(UniqueFd fd) {
  ifreq request{};
  if (::ioctl(fd.Get(), TUNGETIFF, &request) != 0) {
    return Error::FromErrno(errno, fmt::format("fd {} is not a tap device (TUNGETIFF)", fd.Get()));
  }
  if ((request.ifr_flags & kTapFlags) != kTapFlags) {
    return Error(EINVAL, fmt::format("fd {} ({}) is not a tap opened with IFF_TAP | IFF_NO_PI | "
                                     "IFF_VNET_HDR (flags {:#x}). Fix: open it with those flags",
                                     fd.Get(), request.ifr_name, request.ifr_flags));
  }
  const int flags = ::fcntl(fd.Get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.Get(), F_SETFL, flags | O_NONBLOCK) != 0) {
    return Error::FromErrno(errno, "making the tap fd non-blocking");
  }
  ::fcntl(fd.Get(), F_SETFD, FD_CLOEXEC);
  return Configure(request.ifr_name, std::move(fd));
}

Result<Tap> Tap::Configure(std::string name, UniqueFd fd) {
  int header_size = static_cast<int>(kHeaderSize);
  if (::ioctl(fd.Get(), TUNSETVNETHDRSZ, &header_size) != 0) {
    return Error::FromErrno(errno, fmt::format("tap {}: TUNSETVNETHDRSZ {}", name, header_size));
  }
  Tap tap(std::move(name), std::move(fd));
  HULL_TRY(tap.SetOffloads({}));
  return tap;
}

Result<void> Tap::SetOffloads(const Offloads& offloads) {
  unsigned flags = 0;
  // The tap hands out GSO packets only with checksum offload on (tun.c).
  if (offloads.csum) {
    flags |= TUN_F_CSUM;
    if (offloads.tso4) flags |= TUN_F_TSO4;
    if (offloads.tso6) flags |= TUN_F_TSO6;
    if ((offloads.tso4 || offloads.tso6) && offloads.ecn) flags |= TUN_F_TSO_ECN;
    if (offloads.ufo) flags |= TUN_F_UFO;
  }
  if (::ioctl(fd_.Get(), TUNSETOFFLOAD, flags) != 0) {
    return Error::FromErrno(errno, fmt::format("tap {}: TUNSETOFFLOAD {:#x}", name_, flags));
  }
  return {};
}

Result<size_t> Tap::Read(std::span<uint8_t> buffer) {
  const ssize_t n = RetryOnEintr([&] { return ::read(fd_.Get(), buffer.data(), buffer.size()); });
  if (n < 0) return Error::FromErrno(errno, fmt::format("tap {}: read", name_));
  return static_cast<size_t>(n);
}

Result<size_t> Tap::Write(std::span<const iovec> iov) {
  const ssize_t n =
      RetryOnEintr([&] { return ::writev(fd_.Get(), iov.data(), static_cast<int>(iov.size())); });
  if (n < 0) return Error::FromErrno(errno, fmt::format("tap {}: write", name_));
  return static_cast<size_t>(n);
}

}  // namespace hull::vmm::virtio::net
