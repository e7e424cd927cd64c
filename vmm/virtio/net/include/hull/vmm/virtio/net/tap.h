#pragma once

// A tap device as the back end of a virtio-net NIC: opened by name from
// /dev/net/tun, or an open fd handed to us (a shim creates the tap inside a
// pod's network namespace and passes it on). Always IFF_TAP | IFF_NO_PI |
// IFF_VNET_HDR with a 12-byte vnet header (net_header.h), non-blocking.
//
// A tap we create by name is not persistent: it disappears when the last fd
// to it closes, so a VMM that dies leaves none behind.

#include <sys/uio.h>

#include <cstdint>
#include <span>
#include <string>

#include "hull/common/result.h"
#include "hull/common/unique_fd.h"

namespace hull::vmm::virtio::net {

// Where a NIC's packets go: a tap in hull-vmm; tests and fuzzers use a
// socket pair. Packets carry the 12-byte vnet header (net_header.h) in front.
class NetBackend {
 public:
  virtual ~NetBackend() = default;
  virtual const std::string& name() const = 0;
  // Polled edge-triggered for EPOLLIN and EPOLLOUT.
  virtual int fd() const = 0;

  // Which offloaded packets the back end may hand us: what the guest
  // accepted (VIRTIO_NET_F_GUEST_*).
  struct Offloads {
    bool csum = false;
    bool tso4 = false;
    bool tso6 = false;
    bool ecn = false;
    bool ufo = false;
  };
  virtual Result<void> SetOffloads(const Offloads& offloads) = 0;

  // One packet each. EAGAIN when none is waiting (read) or the back end
  // cannot take one now (write). Read returns its length (truncated to the
  // buffer).
  virtual Result<size_t> Read(std::span<uint8_t> buffer) = 0;
  virtual Result<size_t> Write(std::span<const iovec> iov) = 0;
};

class Tap final : public NetBackend {
 public:
  // Opens (or creates) the tap `name`.
  static Result<Tap> Open(const std::string& name);
  // Adopts an open tap fd; checks it is a tap with a vnet header.
  static Result<Tap> Adopt(UniqueFd fd);

  const std::string& name() const override { return name_; }
  int fd() const override { return fd_.Get(); }
  // TUNSETOFFLOAD.
  Result<void> SetOffloads(const Offloads& offloads) override;
  Result<size_t> Read(std::span<uint8_t> buffer) override;
  Result<size_t> Write(std::span<const iovec> iov) override;

 private:
  Tap(std::string name, UniqueFd fd) noexcept : name_(std::move(name)), fd_(std::move(fd)) {}
  static Result<Tap> Configure(std::string name, UniqueFd fd);

  std::string name_;
  UniqueFd fd_;
};

}  // namespace hull::vmm::virtio::net
