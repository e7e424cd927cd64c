#pragma once

// One NETLINK_ROUTE socket, used synchronously: each request gets the next
// sequence number and the call waits for its ack (or the end of its dump).
// A failure reported by the kernel (NLMSG_ERROR) becomes an Error with the
// kernel's errno and a message naming the operation:
//   "RTM_NEWADDR 10.0.0.2/24 on index 2: Permission denied [EPERM]".
//
// The kernel's replies are parsed by netlink_message.h; this file only moves
// bytes. Not thread-safe: one thread (hull-agent's network setup) owns it.

#include <cstdint>
#include <string>
#include <vector>

#include "hull/agent/net/address.h"
#include "hull/agent/net/netlink_message.h"
#include "hull/common/result.h"
#include "hull/common/unique_fd.h"

namespace hull::agent::net {

class Netlink {
 public:
  // A socket in the caller's network namespace. Asks the kernel for
  // extended acks (its error text) where it has them.
  static Result<Netlink> Open();

  Netlink(Netlink&&) noexcept = default;
  Netlink& operator=(Netlink&&) noexcept = default;

  // RTM_GETLINK / RTM_GETADDR / RTM_GETROUTE dumps. family: AF_UNSPEC,
  // AF_INET or AF_INET6. A dump the kernel marks as interrupted (the table
  // changed while it was read) is read again, a few times at most.
  Result<std::vector<Link>> ListLinks();
  Result<std::vector<InterfaceAddress>> ListAddresses(int family);
  Result<std::vector<RouteEntry>> ListRoutes(int family);

  // RTM_NEWLINK on an existing device.
  Result<void> ChangeLink(const LinkChange& change);
  Result<void> SetLinkUp(int index);
  Result<void> SetLinkDown(int index);
  Result<void> SetMtu(int index, uint32_t mtu);
  // Older kernels refuse (EBUSY) to rename a device that is up.
  Result<void> SetName(int index, const std::string& name);
  Result<void> SetMac(int index, const MacAddress& mac);

  // RTM_NEWADDR with NLM_F_CREATE | NLM_F_EXCL: EEXIST when it is there.
  Result<void> AddAddress(int index, const Address& address);
  // RTM_NEWROUTE with NLM_F_CREATE | NLM_F_EXCL (see RouteSpec).
  Result<void> AddRoute(const RouteSpec& route);

  // Traffic control (netlink_message.h): every frame arriving on `from` is
  // sent out of `to` (an ingress qdisc on `from`, then the redirect filter).
  Result<void> AddRedirect(int from, int to);
  // Removes `index`'s ingress qdisc and so its filters. ENOENT / EINVAL
  // (none there) are errors the caller may ignore.
  Result<void> DeleteIngressQdisc(int index);

 private:
  explicit Netlink(UniqueFd fd) noexcept : fd_(std::move(fd)) {}

  uint32_t NextSeq() { return ++seq_; }
  Result<void> Send(const std::vector<uint8_t>& request);
  // Reads datagrams until the reply to `seq` is complete; `on_message` sees
  // each data message. Sets `interrupted` when the kernel flagged the dump.
  template <typename OnMessage>
  Result<void> Receive(uint32_t seq, bool& interrupted, OnMessage&& on_message);
  // Sends a request wanting an ack; `what` names it in errors.
  Result<void> Request(const std::vector<uint8_t>& request, uint32_t seq, const std::string& what);
  // Sends the dump request `build(seq)` and parses each message of `type`.
  template <typename T, typename Build, typename Parse>
  Result<std::vector<T>> Dump(Build build, uint16_t type, Parse parse, const std::string& what);

  UniqueFd fd_;
  uint32_t seq_ = 0;
};

}  // namespace hull::agent::net
