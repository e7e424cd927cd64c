// virtio-net against a real tap device, in a private network namespace so
// that nothing touches the host's interfaces. Frames reach the tap from the
// "wire" through an AF_PACKET socket bound to it, and frames the guest sends
// come back out of the same socket. Needs root (CAP_NET_ADMIN, CAP_NET_RAW),
// as the CI machines have.

#include "hull/vmm/virtio/net/net_device.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

#include "split_ring.h"

namespace hull::vmm::virtio::net {
namespace {

using virtio::testing::Bytes;
using virtio::testing::FakeInterrupt;
using virtio::testing::Fill;
using virtio::testing::kDataBase;
using virtio::testing::MakeMemory;
using virtio::testing::Peek;
using virtio::testing::SplitRing;
using virtio::testing::UsedElem;

constexpr char kTapName[] = "hullnet0";
constexpr uint16_t kEtherType = 0x88b5;  // IEEE 802 local experimental
constexpr std::array<uint8_t, 6> kGuestMac{0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
constexpr uint64_t kFeatures = kFeatureVersion1 | kFeatureMrgRxbuf | kFeatureCsum |
                               kFeatureGuestCsum | kFeatureHostTso4 | kFeatureMac;

// An Ethernet frame to the guest's MAC with a recognisable payload.
std::vector<uint8_t> Frame(size_t len, uint8_t seed) {
  std::vector<uint8_t> frame(len);
  std::memcpy(frame.data(), kGuestMac.data(), 6);
  const uint8_t src[6] = {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee};
  std::memcpy(frame.data() + 6, src, 6);
  frame[12] = kEtherType >> 8;
  frame[13] = kEtherType & 0xff;
  for (size_t i = 14; i < len; ++i) frame[i] = static_cast<uint8_t>(seed + i * 7);
  return frame;
}

class NetDeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for a tap device and a network namespace";
    ASSERT_EQ(::unshare(CLONE_NEWNET), 0) << std::strerror(errno);
    // No IPv6 chatter (router solicitations) on the tap: frames are ours only.
    int sysctl = ::open("/proc/sys/net/ipv6/conf/default/disable_ipv6", O_WRONLY | O_CLOEXEC);
    if (sysctl >= 0) {
      ASSERT_EQ(::write(sysctl, "1", 1), 1);
      ::close(sysctl);
    }
    Result<Tap> tap = Tap::Open(kTapName);
    ASSERT_TRUE(tap.ok()) << tap.error().ToString();
    tap_fd_ = tap->fd();
    SetLinkUp();
    Result<std::unique_ptr<NetDevice>> device = NetDevice::Create(
        std::make_unique<Tap>(std::move(*tap)), {.mac = kGuestMac, .queue_size = 16});
    ASSERT_TRUE(device.ok()) << device.error().ToString();
    device_ = std::move(*device);

    wire_ = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
    ASSERT_GE(wire_, 0) << std::strerror(errno);
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_protocol = htons(ETH_P_ALL);
    addr.sll_ifindex = static_cast<int>(::if_nametoindex(kTapName));
    ASSERT_EQ(::bind(wire_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  }

  void TearDown() override {
    if (wire_ >= 0) ::close(wire_);
  }

  void SetLinkUp() {
    const int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(s, 0);
    ifreq req{};
    std::strcpy(req.ifr_name, kTapName);
    ASSERT_EQ(::ioctl(s, SIOCGIFFLAGS, &req), 0);
    req.ifr_flags = static_cast<short>(req.ifr_flags | IFF_UP | IFF_NOARP);
    ASSERT_EQ(::ioctl(s, SIOCSIFFLAGS, &req), 0) << std::strerror(errno);
    ::close(s);
  }

  void Activate(uint64_t features = kFeatures) {
    queues_.clear();
    queues_.push_back(rx_.MakeQueue(features, 16));
    queues_.push_back(tx_.MakeQueue(features, 16));
    ASSERT_TRUE(device_->Activate(memory_, queues_, features, interrupt_).ok());
    // Activate schedules a look at both queues through the device's eventfd.
    RunMore();
  }

  // What the event loop would do when the device's eventfd fires.
  void RunMore() {
    for (const EventSource& source : device_->event_sources()) {
      if (source.fd != tap_fd_) {
        ASSERT_TRUE(device_->ProcessEvent(source.token, EPOLLIN).ok());
      }
    }
  }
  void TapReadable() {
    // Give the frame sent on the wire time to reach the tap's queue.
    pollfd p{tap_fd_, POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 2000), 1);
    ASSERT_TRUE(device_->ProcessEvent(0, EPOLLIN).ok());
  }

  void SendOnWire(const std::vector<uint8_t>& frame) {
    ASSERT_EQ(::send(wire_, frame.data(), frame.size(), 0), static_cast<ssize_t>(frame.size()))
        << std::strerror(errno);
  }
  // The next frame of ours the host received from the tap, if any within 1 s.
  std::optional<std::vector<uint8_t>> ReceiveOnWire() {
    for (;;) {
      pollfd p{wire_, POLLIN, 0};
      if (::poll(&p, 1, 1000) != 1) return std::nullopt;
      std::vector<uint8_t> frame(70000);
      sockaddr_ll from{};
      socklen_t from_len = sizeof(from);
      const ssize_t n = ::recvfrom(wire_, frame.data(), frame.size(), 0,
                                   reinterpret_cast<sockaddr*>(&from), &from_len);
      if (n < 14) return std::nullopt;
      frame.resize(static_cast<size_t>(n));
      if (from.sll_pkttype == PACKET_OUTGOING) continue;  // what we sent ourselves
      if (frame[12] == (kEtherType >> 8) && frame[13] == (kEtherType & 0xff)) return frame;
    }
  }

  GuestMemory memory_ = MakeMemory();
  SplitRing rx_{memory_, 16};
  SplitRing tx_{memory_, 16, GuestAddress(0x6000), GuestAddress(0x7000), GuestAddress(0x8000)};
  std::vector<Queue> queues_;
  FakeInterrupt interrupt_;
  std::unique_ptr<NetDevice> device_;
  int tap_fd_ = -1;
  int wire_ = -1;
};

TEST_F(NetDeviceTest, ConfigSpaceHasTheMacAndLinkUp) {
  std::array<uint8_t, 6> mac{};
  device_->ReadConfig(0, mac);
  EXPECT_EQ(mac, kGuestMac);
  std::array<uint8_t, 2> status{};
  device_->ReadConfig(6, status);
  EXPECT_EQ(status[0] | (status[1] << 8), kStatusLinkUp);
  std::array<uint8_t, 4> outside{};
  device_->ReadConfig(kConfigSize - 2, outside);
  EXPECT_EQ(outside, (std::array<uint8_t, 4>{0xff, 0xff, 0xff, 0xff}));
}

TEST_F(NetDeviceTest, TransmitsAFrameToTheTap) {
  Activate();
  const std::vector<uint8_t> frame = Frame(600, 1);
  const std::array<uint8_t, kHeaderSize> header{};
  Fill(memory_, kDataBase, header);
  Fill(memory_, kDataBase + 0x1000, frame);
  // Header and frame in separate descriptors, the frame split in two.
  const uint16_t head = tx_.AddChain({{kDataBase, kHeaderSize, false},
                                      {kDataBase + 0x1000, 100, false},
                                      {kDataBase + 0x1000 + 100, 500, false}});
  ASSERT_TRUE(device_->ProcessQueue(NetDevice::kTxQueue).ok());
  EXPECT_EQ(tx_.UsedIdx(), 1);
  EXPECT_EQ(tx_.Used(0), (UsedElem{head, 0}));
  std::optional<std::vector<uint8_t>> got = ReceiveOnWire();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, frame);
  EXPECT_EQ(device_->net_counters().tx_packets, 1u);
  EXPECT_EQ(device_->net_counters().tx_bytes, 600u);
  EXPECT_GE(interrupt_.used_buffer, 1);
}

TEST_F(NetDeviceTest, DropsTransmitsWithBadHeadersAndCarriesOn) {
  Activate(kFeatureVersion1 | kFeatureMrgRxbuf);  // no CSUM, no TSO
  const std::vector<uint8_t> frame = Frame(200, 2);
  std::array<uint8_t, kHeaderSize> csum{};
  csum[0] = kHdrFlagNeedsCsum;  // not negotiated
  Fill(memory_, kDataBase, csum);
  std::array<uint8_t, kHeaderSize> gso{};
  gso[1] = 9;  // no such GSO type
  Fill(memory_, kDataBase + 0x100, gso);
  const std::array<uint8_t, kHeaderSize> ok{};
  Fill(memory_, kDataBase + 0x200, ok);
  Fill(memory_, kDataBase + 0x1000, frame);
  tx_.AddChain({{kDataBase, kHeaderSize, false}, {kDataBase + 0x1000, 200, false}});
  tx_.AddChain({{kDataBase + 0x100, kHeaderSize, false}, {kDataBase + 0x1000, 200, false}});
  tx_.AddChain({{kDataBase + 0x1000, 8, false}});  // shorter than a header
  tx_.AddChain({{kDataBase + 0x200, kHeaderSize, false}, {kDataBase + 0x1000, 200, false}});
  ASSERT_TRUE(device_->ProcessQueue(NetDevice::kTxQueue).ok());
  EXPECT_EQ(tx_.UsedIdx(), 4);
  EXPECT_EQ(device_->net_counters().tx_malformed, 3u);
  EXPECT_EQ(device_->net_counters().tx_packets, 1u);
  std::optional<std::vector<uint8_t>> got = ReceiveOnWire();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, frame);
  EXPECT_FALSE(ReceiveOnWire().has_value());
}

TEST_F(NetDeviceTest, ReceivesAFrameAcrossMergeableBuffers) {
  Activate();
  const uint16_t first = rx_.AddChain({{kDataBase, 1024, true}});
  const uint16_t second = rx_.AddChain({{kDataBase + 0x1000, 1024, true}});
  const std::vector<uint8_t> frame = Frame(1500, 3);
  SendOnWire(frame);
  TapReadable();
  ASSERT_EQ(rx_.UsedIdx(), 2);
  EXPECT_EQ(rx_.Used(0), (UsedElem{first, 1024}));
  EXPECT_EQ(rx_.Used(1), (UsedElem{second, kHeaderSize + 1500 - 1024}));
  EXPECT_EQ(Peek<uint16_t>(memory_, kDataBase + 10), 2);  // num_buffers
  std::vector<uint8_t> got = Bytes(memory_, kDataBase + kHeaderSize, 1024 - kHeaderSize);
  const std::vector<uint8_t> rest = Bytes(memory_, kDataBase + 0x1000, 1500 - got.size());
  got.insert(got.end(), rest.begin(), rest.end());
  EXPECT_EQ(got, frame);
  EXPECT_EQ(device_->net_counters().rx_packets, 1u);
  EXPECT_GE(interrupt_.used_buffer, 1);
}

TEST_F(NetDeviceTest, AFrameWaitsForBuffersWithoutSpinning) {
  Activate();
  const std::vector<uint8_t> frame = Frame(300, 4);
  SendOnWire(frame);
  TapReadable();
  EXPECT_EQ(rx_.UsedIdx(), 0);
  EXPECT_EQ(device_->net_counters().rx_waits_for_buffers, 1u);
  // The driver posts a buffer and notifies: the waiting frame goes in.
  const uint16_t head = rx_.AddChain({{kDataBase, 2048, true}});
  ASSERT_TRUE(device_->ProcessQueue(NetDevice::kRxQueue).ok());
  ASSERT_EQ(rx_.UsedIdx(), 1);
  EXPECT_EQ(rx_.Used(0), (UsedElem{head, kHeaderSize + 300}));
  EXPECT_EQ(Bytes(memory_, kDataBase + kHeaderSize, 300), frame);
}

TEST_F(NetDeviceTest, WithoutMergeableBuffersATooSmallBufferDropsTheFrameNotTheBuffer) {
  Activate(kFeatureVersion1);
  const uint16_t head = rx_.AddChain({{kDataBase, 256, true}});
  SendOnWire(Frame(1000, 5));
  TapReadable();
  EXPECT_EQ(rx_.UsedIdx(), 0);
  EXPECT_EQ(device_->net_counters().rx_dropped, 1u);
  const std::vector<uint8_t> small = Frame(100, 6);
  SendOnWire(small);
  TapReadable();
  ASSERT_EQ(rx_.UsedIdx(), 1);
  EXPECT_EQ(rx_.Used(0), (UsedElem{head, kHeaderSize + 100}));
  EXPECT_EQ(Peek<uint16_t>(memory_, kDataBase + 10), 1);  // num_buffers is 1
  EXPECT_EQ(Bytes(memory_, kDataBase + kHeaderSize, 100), small);
}

TEST_F(NetDeviceTest, NothingIsReadBeforeActivationAndResetForgetsTheRings) {
  SendOnWire(Frame(100, 7));
  pollfd p{tap_fd_, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 2000), 1);
  ASSERT_TRUE(device_->ProcessEvent(0, EPOLLIN).ok());  // inactive: left in the tap
  EXPECT_EQ(device_->net_counters().rx_packets, 0u);
  rx_.AddChain({{kDataBase, 2048, true}});
  Activate();  // picks up what waited
  EXPECT_EQ(rx_.UsedIdx(), 1);
  device_->Reset();
  EXPECT_TRUE(device_->ProcessQueue(NetDevice::kRxQueue).ok());
  EXPECT_TRUE(device_->ProcessQueue(NetDevice::kTxQueue).ok());
}

TEST(TapTest, AdoptRefusesWhatIsNotATapWithVnetHeaders) {
  Result<EventFd> eventfd = EventFd::Create();
  ASSERT_TRUE(eventfd.ok());
  Result<Tap> adopted = Tap::Adopt(UniqueFd(::dup(eventfd->fd())));
  ASSERT_FALSE(adopted.ok());
  EXPECT_NE(adopted.error().ToString().find("not a tap"), std::string::npos);
}

TEST(TapTest, OpenRefusesBadNames) {
  EXPECT_FALSE(Tap::Open("").ok());
  EXPECT_FALSE(Tap::Open("a-name-longer-than-15").ok());
}

}  // namespace
}  // namespace hull::vmm::virtio::net
