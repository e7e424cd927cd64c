#include "hull/agent/net/netlink.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>

#include <cerrno>
#include <span>
#include <string>
#include <type_traits>

#include "hull/common/eintr.h"

namespace hull::agent::net {
namespace {

// Big enough for any dump chunk: the kernel fills at most 32 KiB per read.
constexpr size_t kReceiveBufferSize = size_t{64} * 1024;
// The kernel answers at once; a wait this long means something is wrong
// (and hull-agent must not hang at boot because of it).
constexpr time_t kReplyTimeoutSeconds = 10;
// Reads of a dump the kernel flags as changed under us before giving up.
constexpr int kDumpAttempts = 3;

Result<void> SetIntOption(int fd, int level, int option, int value, std::string_view name) {
  if (::setsockopt(fd, level, option, &value, sizeof(value)) != 0) {
    return Error::FromErrno(errno, "setsockopt " + std::string(name));
  }
  return Ok();
}

std::string IndexText(int index) { return "index " + std::to_string(index); }

std::string DescribeChange(const LinkChange& change) {
  std::string text = "RTM_NEWLINK " + IndexText(change.index);
  if (change.up.has_value()) text += *change.up ? " up" : " down";
  if (change.mtu.has_value()) text += " mtu " + std::to_string(*change.mtu);
  if (change.name.has_value()) text += " name " + *change.name;
  if (change.mac.has_value()) text += " address " + FormatMac(*change.mac);
  return text;
}

std::string DescribeRoute(const RouteSpec& route) {
  std::string text = "RTM_NEWROUTE ";
  text +=
      route.destination.prefix_len == 0 ? std::string("default") : FormatCidr(route.destination);
  if (route.gateway.has_value()) text += " via " + FormatIp(*route.gateway);
  if (route.oif > 0) text += " dev " + IndexText(route.oif);
  if (route.source.has_value()) text += " src " + FormatIp(*route.source);
  if (route.metric > 0) text += " metric " + std::to_string(route.metric);
  return text;
}

}  // namespace

Result<Netlink> Netlink::Open() {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd) return Error::FromErrno(errno, "socket(AF_NETLINK, NETLINK_ROUTE)");
  // Extended acks carry the kernel's reason ("Nexthop has invalid gateway");
  // capped acks do not echo our whole request back. Kernels without them
  // (before 4.12) still work, so their absence is no error.
  (void)SetIntOption(fd.Get(), SOL_NETLINK, NETLINK_EXT_ACK, 1, "NETLINK_EXT_ACK");
  (void)SetIntOption(fd.Get(), SOL_NETLINK, NETLINK_CAP_ACK, 1, "NETLINK_CAP_ACK");
  const timeval timeout{.tv_sec = kReplyTimeoutSeconds, .tv_usec = 0};
  if (::setsockopt(fd.Get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)) != 0) {
    return Error::FromErrno(errno, "setsockopt SO_RCVTIMEO on the netlink socket");
  }
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;  // nl_pid 0: the kernel picks our port id
  if (::bind(fd.Get(), reinterpret_cast<const sockaddr*>(&local), sizeof(local)) != 0) {
    return Error::FromErrno(errno, "bind the netlink socket");
  }
  return Netlink(std::move(fd));
}

Result<void> Netlink::Send(const std::vector<uint8_t>& request) {
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  const ssize_t sent = RetryOnEintr([&] {
    return ::sendto(fd_.Get(), request.data(), request.size(), 0,
                    reinterpret_cast<const sockaddr*>(&kernel), sizeof(kernel));
  });
  if (sent < 0) return Error::FromErrno(errno, "send to the kernel");
  if (static_cast<size_t>(sent) != request.size()) {
    return Error(EIO, "short netlink send: " + std::to_string(sent) + " of " +
                          std::to_string(request.size()) + " bytes");
  }
  return Ok();
}

template <typename OnMessage>
Result<void> Netlink::Receive(uint32_t seq, bool& interrupted, OnMessage&& on_message) {
  std::vector<uint8_t> buffer(kReceiveBufferSize);
  for (;;) {
    sockaddr_nl from{};
    iovec iov{.iov_base = buffer.data(), .iov_len = buffer.size()};
    msghdr header{};
    header.msg_name = &from;
    header.msg_namelen = sizeof(from);
    header.msg_iov = &iov;
    header.msg_iovlen = 1;
    const ssize_t received = RetryOnEintr([&] { return ::recvmsg(fd_.Get(), &header, 0); });
    if (received < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return Error(ETIMEDOUT, "no reply from the kernel within " +
                                    std::to_string(kReplyTimeoutSeconds) + " s");
      }
      return Error::FromErrno(errno, "receive from the kernel");
    }
    if ((header.msg_flags & MSG_TRUNC) != 0) {
      return Error(EMSGSIZE,
                   "netlink reply larger than " + std::to_string(buffer.size()) + " bytes");
    }
    if (from.nl_pid != 0) continue;  // not from the kernel
    HULL_ASSIGN_OR_RETURN(
        ReplyChunk chunk,
        ParseReply(std::span<const uint8_t>(buffer.data(), static_cast<size_t>(received)), seq));
    if (chunk.interrupted) interrupted = true;
    for (const Message& message : chunk.messages) HULL_TRY(on_message(message));
    if (chunk.done) return Ok();
  }
}

Result<void> Netlink::Request(const std::vector<uint8_t>& request, uint32_t seq,
                              const std::string& what) {
  HULL_TRY(Send(request).WithContext(what));
  bool interrupted = false;
  return Receive(seq, interrupted, [](const Message&) { return Ok(); }).WithContext(what);
}

template <typename T, typename Build, typename Parse>
Result<std::vector<T>> Netlink::Dump(Build build, uint16_t type, Parse parse,
                                     const std::string& what) {
  for (int attempt = 1;; ++attempt) {
    const uint32_t seq = NextSeq();
    HULL_TRY(Send(build(seq)).WithContext(what));
    std::vector<T> entries;
    bool interrupted = false;
    HULL_TRY(Receive(seq, interrupted, [&](const Message& message) -> Result<void> {
               if (message.type != type) return Ok();
               HULL_ASSIGN_OR_RETURN(auto entry, parse(message));
               if constexpr (std::is_same_v<decltype(entry), T>) {
                 entries.push_back(std::move(entry));
               } else if (entry.has_value()) {
                 entries.push_back(std::move(*entry));
               }
               return Ok();
             }).WithContext(what));
    if (!interrupted) return entries;
    if (attempt == kDumpAttempts) {
      return Error(EAGAIN, what + ": the table kept changing while it was read (" +
                               std::to_string(kDumpAttempts) + " tries)");
    }
  }
}

Result<std::vector<Link>> Netlink::ListLinks() {
  return Dump<Link>(BuildGetLinks, RTM_NEWLINK, ParseLinkMessage, "RTM_GETLINK dump");
}

Result<std::vector<InterfaceAddress>> Netlink::ListAddresses(int family) {
  return Dump<InterfaceAddress>([family](uint32_t seq) { return BuildGetAddresses(seq, family); },
                                RTM_NEWADDR, ParseAddressMessage, "RTM_GETADDR dump");
}

Result<std::vector<RouteEntry>> Netlink::ListRoutes(int family) {
  return Dump<RouteEntry>([family](uint32_t seq) { return BuildGetRoutes(seq, family); },
                          RTM_NEWROUTE, ParseRouteMessage, "RTM_GETROUTE dump");
}

Result<void> Netlink::ChangeLink(const LinkChange& change) {
  const uint32_t seq = NextSeq();
  return Request(BuildChangeLink(seq, change), seq, DescribeChange(change));
}

Result<void> Netlink::SetLinkUp(int index) {
  LinkChange change;
  change.index = index;
  change.up = true;
  return ChangeLink(change);
}

Result<void> Netlink::SetLinkDown(int index) {
  LinkChange change;
  change.index = index;
  change.up = false;
  return ChangeLink(change);
}

Result<void> Netlink::SetMtu(int index, uint32_t mtu) {
  LinkChange change;
  change.index = index;
  change.mtu = mtu;
  return ChangeLink(change);
}

Result<void> Netlink::SetName(int index, const std::string& name) {
  LinkChange change;
  change.index = index;
  change.name = name;
  return ChangeLink(change);
}

Result<void> Netlink::SetMac(int index, const MacAddress& mac) {
  LinkChange change;
  change.index = index;
  change.mac = mac;
  return ChangeLink(change);
}

Result<void> Netlink::AddAddress(int index, const Address& address) {
  const uint32_t seq = NextSeq();
  return Request(BuildNewAddress(seq, index, address), seq,
                 "RTM_NEWADDR " + FormatCidr(address) + " on " + IndexText(index));
}

Result<void> Netlink::AddRoute(const RouteSpec& route) {
  const uint32_t seq = NextSeq();
  return Request(BuildNewRoute(seq, route), seq, DescribeRoute(route));
}

Result<void> Netlink::AddRedirect(int from, int to) {
  uint32_t seq = NextSeq();
  HULL_TRY(
      Request(BuildNewIngressQdisc(seq, from), seq,
              "RTM_NEWQDISC ingress on " + IndexText(from) + " (is sch_ingress in the kernel?)"));
  seq = NextSeq();
  return Request(BuildRedirectFilter(seq, from, to), seq,
                 "RTM_NEWTFILTER u32 mirred redirect from " + IndexText(from) + " to " +
                     IndexText(to) + " (are cls_u32 and act_mirred in the kernel?)");
}

Result<void> Netlink::DeleteIngressQdisc(int index) {
  const uint32_t seq = NextSeq();
  return Request(BuildDeleteIngressQdisc(seq, index), seq,
                 "RTM_DELQDISC ingress on " + IndexText(index));
}

}  // namespace hull::agent::net
