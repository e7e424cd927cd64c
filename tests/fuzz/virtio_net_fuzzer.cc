// Fuzzes virtio-net end to end with hostile input on both sides: transmit
// chains with any vnet header and any buffer layout, and receive packets of
// any size and content arriving while the guest posts receive buffers of any
// size (or none). The back end is a SOCK_SEQPACKET socket pair standing in
// for the tap: one packet per message, like a tap.
//
// Checked beyond the sanitizers: every transmit chain comes back, a frame
// reaches the "wire" only with a header that passed validation, and no
// receive buffer is used beyond its length.

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "../unit/vmm/virtio/split_ring.h"
#include "fuzz_input.h"
#include "hull/common/check.h"
#include "hull/common/unique_fd.h"
#include "hull/vmm/virtio/net/net_device.h"

namespace {

using hull::Error;
using hull::Result;
using hull::UniqueFd;
using hull::fuzz::Input;
using hull::vmm::GuestAddress;
using hull::vmm::GuestMemory;
using namespace hull::vmm::virtio;       // NOLINT(google-build-using-namespace)
using namespace hull::vmm::virtio::net;  // NOLINT(google-build-using-namespace)

constexpr uint64_t kRam = 0x100000;
const GuestMemory& Memory() { return hull::fuzz::StaticMemory<kRam>(); }

// The device's end of a socket pair; the fuzzer holds the other ("wire").
class PairBackend final : public NetBackend {
 public:
  explicit PairBackend(UniqueFd fd) : fd_(std::move(fd)) {}
  const std::string& name() const override { return name_; }
  int fd() const override { return fd_.Get(); }
  Result<void> SetOffloads(const Offloads&) override { return {}; }
  Result<size_t> Read(std::span<uint8_t> buffer) override {
    const ssize_t n = ::recv(fd_.Get(), buffer.data(), buffer.size(), MSG_DONTWAIT);
    if (n < 0) return Error::FromErrno(errno, "recv");
    return static_cast<size_t>(n);
  }
  Result<size_t> Write(std::span<const iovec> iov) override {
    // The device only writes packets whose header it validated.
    HULL_CHECK(!iov.empty() && iov[0].iov_len == kHeaderSize);
    msghdr msg{};
    msg.msg_iov = const_cast<iovec*>(iov.data());
    msg.msg_iovlen = iov.size();
    const ssize_t n = ::sendmsg(fd_.Get(), &msg, MSG_DONTWAIT);
    if (n < 0) return Error::FromErrno(errno, "sendmsg");
    return static_cast<size_t>(n);
  }

 private:
  std::string name_ = "fuzz-pair";
  UniqueFd fd_;
};

void AddTxChain(testing::SplitRing& ring, Input& in, uint16_t index) {
  const GuestMemory& memory = Memory();
  const uint64_t base = testing::kDataBase + uint64_t{index} * 0x100;
  std::array<uint8_t, kHeaderSize> header{};
  for (uint8_t& b : header) b = in.Take<uint8_t>();
  testing::Fill(memory, base, header);
  std::vector<testing::Buffer> buffers;
  const auto shape = in.Take<uint8_t>();
  buffers.push_back({base, (shape & 1) == 0 ? uint32_t{kHeaderSize} : in.Take<uint8_t>() % 32u,
                     (shape & 2) != 0});
  const auto pieces = in.Take<uint8_t>() % 4u;
  for (uint32_t p = 0; p < pieces; ++p) {
    const uint64_t addr = 0x40000 + in.Take<uint16_t>() % 0x40000u;
    const uint32_t len = (shape & 4) == 0 ? in.Take<uint16_t>() % 2000u : in.Take<uint32_t>();
    buffers.push_back({addr, len, (shape & 8) != 0 && p + 1 == pieces});
  }
  if (buffers.size() > ring.size()) buffers.resize(ring.size());
  ring.MakeAvailable(ring.WriteChain(buffers));
}

void AddRxChain(testing::SplitRing& ring, Input& in, uint16_t index) {
  const uint64_t base = 0x80000 + uint64_t{index} * 0x1000;
  const auto shape = in.Take<uint8_t>();
  const uint32_t len = (shape & 1) == 0 ? 2048u : in.Take<uint16_t>() % 0x1001u;
  ring.MakeAvailable(ring.WriteChain({{base, len, (shape & 2) == 0}}));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  const GuestMemory& memory = Memory();
  const auto config = in.Take<uint8_t>();
  const uint16_t queue_size = 16;
  uint64_t features = kFeatureVersion1 | (in.Take<uint32_t>() & 0x1ffff);
  if ((config & 1) != 0) features |= kFeatureEventIdx;

  int pair[2];
  HULL_CHECK(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) == 0);
  UniqueFd wire(pair[1]);
  Result<std::unique_ptr<NetDevice>> created =
      NetDevice::Create(std::make_unique<PairBackend>(UniqueFd(pair[0])),
                        {.mac = {2, 0, 0, 0, 0, 1}, .queue_size = 16});
  HULL_CHECK(created.ok());
  NetDevice& device = **created;

  testing::SplitRing rx(memory, queue_size);
  testing::SplitRing tx(memory, queue_size, GuestAddress(0x6000), GuestAddress(0x7000),
                        GuestAddress(0x8000));
  std::vector<Queue> queues;
  queues.push_back(rx.MakeQueue(features, queue_size));
  queues.push_back(tx.MakeQueue(features, queue_size));
  testing::FakeInterrupt interrupt;
  HULL_CHECK(device.Activate(memory, queues, features, interrupt).ok());

  std::vector<uint8_t> packet;
  for (int round = 0; round < 6 && !in.empty(); ++round) {
    const auto action = in.Take<uint8_t>();
    switch (action % 4) {
      case 0: {  // the guest transmits
        const auto n = static_cast<uint16_t>(in.Take<uint8_t>() % 4u + 1);
        const uint16_t first = tx.avail_idx();
        for (uint16_t i = 0; i < n; ++i) AddTxChain(tx, in, static_cast<uint16_t>(first + i) % 16);
        if (!device.ProcessQueue(NetDevice::kTxQueue).ok()) return 0;
        HULL_CHECK(tx.UsedIdx() == tx.avail_idx());
        break;
      }
      case 1: {  // a packet arrives from the wire
        packet.resize(in.Take<uint16_t>() % 4000u);
        for (uint8_t& b : packet) b = in.Take<uint8_t>();
        (void)::send(wire.Get(), packet.data(), packet.size(), MSG_DONTWAIT);
        if (!device.ProcessEvent(0, EPOLLIN).ok()) return 0;
        break;
      }
      case 2: {  // the guest posts receive buffers
        const auto n = static_cast<uint16_t>(in.Take<uint8_t>() % 4u + 1);
        const uint16_t first = rx.avail_idx();
        for (uint16_t i = 0; i < n; ++i) AddRxChain(rx, in, static_cast<uint16_t>(first + i) % 16);
        if (!device.ProcessQueue(NetDevice::kRxQueue).ok()) return 0;
        break;
      }
      case 3:  // the device's own continuation, or a reset and a fresh start
        if ((action & 4) != 0) {
          device.Reset();
          return 0;
        }
        for (const EventSource& source : device.event_sources()) {
          if (source.token != 0 && !device.ProcessEvent(source.token, EPOLLIN).ok()) return 0;
        }
        break;
    }
    // Used lengths never pass the buffers the driver offered.
    for (uint16_t i = 0; i < rx.UsedIdx(); ++i) {
      HULL_CHECK(rx.Used(i).len <= 0x1000);
    }
  }
  return 0;
}
