// PodNetwork against the real kernel: a named network namespace made with
// iproute2 holds a veth pair as CNI would leave it (eth0 with addresses and
// routes, its peer standing for the CNI bridge's side). Frames really cross
// the redirects: written into the tap they leave through eth0 to the peer,
// and frames the peer sends arrive on the tap. Needs root (skips otherwise);
// nothing touches the test machine's own network.

#include "hull/sandbox/pod_network.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace hull::sandbox {
namespace {

// Runs a shell command; its stdout, and whether it exited 0.
struct CommandOutput {
  bool ok = false;
  std::string text;
};

CommandOutput Shell(const std::string& command) {
  CommandOutput output;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return output;
  std::array<char, 4096> buffer{};
  size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    output.text.append(buffer.data(), n);
  output.ok = ::pclose(pipe) == 0;
  return output;
}

class PodNetworkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces, tap devices)";
    if (::access("/dev/net/tun", R_OK | W_OK) != 0) GTEST_SKIP() << "no /dev/net/tun";
    name_ = "hull-ut-" + std::to_string(::getpid());
    const std::string ns = "ip -n " + name_ + " ";
    for (const std::string& command : {
             "ip netns add " + name_,
             ns + "link add name eth0 type veth peer name peer0",
             ns + "link set eth0 address 02:11:22:33:44:55 mtu 1400",
             ns + "addr add 10.77.0.2/24 dev eth0",
             ns + "addr add fd00:77::2/64 dev eth0 nodad",
             ns + "link set eth0 up",
             ns + "link set peer0 up",
             ns + "route add default via 10.77.0.1 dev eth0",
             ns + "route add 10.200.0.0/16 via 10.77.0.1 dev eth0 metric 50",
         }) {
      CommandOutput output = Shell(command);
      ASSERT_TRUE(output.ok) << command << ": " << output.text;
    }
    path_ = "/run/netns/" + name_;
  }
  void TearDown() override {
    if (!name_.empty()) Shell("ip netns delete " + name_);
  }
  std::string Ns(const std::string& command) { return "ip netns exec " + name_ + " " + command; }

  std::string name_;
  std::string path_;
};

// A raw packet socket bound to `device` in the namespace at `path`, made on
// a thread that joined it (the socket stays in that namespace).
UniqueFd PacketSocket(const std::string& path, const std::string& device) {
  UniqueFd result;
  std::thread worker([&] {
    UniqueFd ns(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns || ::setns(ns.Get(), CLONE_NEWNET) != 0) return;
    UniqueFd fd(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL)));
    if (!fd) return;
    sockaddr_ll address{};
    address.sll_family = AF_PACKET;
    address.sll_protocol = htons(ETH_P_ALL);
    address.sll_ifindex = static_cast<int>(::if_nametoindex(device.c_str()));
    // SAFETY: sockaddr_ll is the sockaddr of an AF_PACKET socket.
    if (::bind(fd.Get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) return;
    result = std::move(fd);
  });
  worker.join();
  return result;
}

// A broadcast frame of an experimental EtherType carrying `marker`.
std::vector<uint8_t> Frame(const std::string& marker) {
  std::vector<uint8_t> frame(std::max<size_t>(14 + marker.size(), 60), 0);
  std::memset(frame.data(), 0xff, 6);
  const uint8_t source[6] = {0x02, 0x99, 0, 0, 0, 1};
  std::memcpy(frame.data() + 6, source, sizeof(source));
  frame[12] = 0x88;
  frame[13] = 0xb5;  // IEEE 802 local experimental
  std::memcpy(frame.data() + 14, marker.data(), marker.size());
  return frame;
}

// Reads from `fd` until a datagram holding `marker` comes, up to 5 s.
bool ReceivesMarker(int fd, const std::string& marker) {
  for (int i = 0; i < 50; ++i) {
    pollfd poll_fd{fd, POLLIN, 0};
    if (::poll(&poll_fd, 1, 100) <= 0) continue;
    std::array<uint8_t, 65536> buffer{};
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n <= 0) continue;
    const std::string text(reinterpret_cast<const char*>(buffer.data()), static_cast<size_t>(n));
    if (text.find(marker) != std::string::npos) return true;
  }
  return false;
}

TEST_F(PodNetworkTest, MirrorsTheInterfacesAddressesAndRoutes) {
  Result<std::unique_ptr<PodNetwork>> attached = PodNetwork::Attach(path_);
  ASSERT_TRUE(attached.ok()) << attached.error().ToString();
  PodNetwork& network = **attached;

  // eth0 and its peer are both veths in the namespace: both are mirrored.
  ASSERT_EQ(network.interfaces().size(), 2u);
  ASSERT_EQ(network.tap_fds().size(), 2u);
  const MirroredInterface* eth0 = nullptr;
  for (const MirroredInterface& mirrored : network.interfaces()) {
    if (mirrored.name == "eth0") eth0 = &mirrored;
  }
  ASSERT_NE(eth0, nullptr);
  EXPECT_EQ(eth0->mac, "02:11:22:33:44:55");
  EXPECT_EQ(eth0->mtu, 1400u);
  EXPECT_EQ(eth0->addresses, (std::vector<std::string>{"10.77.0.2/24", "fd00:77::2/64"}));
  EXPECT_TRUE(eth0->tap.starts_with("hull_tap"));

  std::vector<std::string> routes;
  for (const MirroredRoute& route : network.routes()) {
    routes.push_back(route.destination + " via " + route.gateway + " dev " + route.device +
                     " metric " + std::to_string(route.metric));
  }
  // Only the routes someone added: the kernel's own (10.77.0.0/24, the
  // IPv6 prefix and link-local ones) come back in the guest with the
  // addresses.
  EXPECT_EQ(routes, (std::vector<std::string>{"default via 10.77.0.1 dev eth0 metric 0",
                                              "10.200.0.0/16 via 10.77.0.1 dev eth0 metric 50"}));

  const CommandOutput tap = Shell("ip -n " + name_ + " -d link show " + eth0->tap);
  ASSERT_TRUE(tap.ok) << tap.text;
  EXPECT_NE(tap.text.find("mtu 1400"), std::string::npos) << tap.text;
  EXPECT_NE(tap.text.find("tap"), std::string::npos) << tap.text;
  const CommandOutput filters = Shell(Ns("tc filter show dev eth0 ingress"));
  EXPECT_NE(filters.text.find("Egress Redirect to device " + eth0->tap), std::string::npos)
      << filters.text;
  const CommandOutput back = Shell(Ns("tc filter show dev " + eth0->tap + " ingress"));
  EXPECT_NE(back.text.find("Egress Redirect to device eth0"), std::string::npos) << back.text;

  ::hull::agent::v1::CreateSandboxRequest request;
  network.Describe(request);
  ASSERT_EQ(request.interfaces_size(), 2);
  ASSERT_EQ(request.routes_size(), 2);
  bool described = false;
  for (const auto& interface : request.interfaces()) {
    if (interface.name() != "eth0") continue;
    described = true;
    EXPECT_EQ(interface.mac(), "02:11:22:33:44:55");
    EXPECT_EQ(interface.mtu(), 1400u);
    ASSERT_EQ(interface.addresses_size(), 2);
    EXPECT_EQ(interface.addresses(0).cidr(), "10.77.0.2/24");
  }
  EXPECT_TRUE(described);
  EXPECT_EQ(request.routes(1).destination(), "10.200.0.0/16");
  EXPECT_EQ(request.routes(1).gateway(), "10.77.0.1");
  EXPECT_EQ(request.routes(1).device(), "eth0");
  EXPECT_EQ(request.routes(1).metric(), 50u);

  // Detach takes it all away: no redirects, no taps.
  const std::string tap_name = eth0->tap;
  ASSERT_TRUE(network.Detach().ok());
  EXPECT_EQ(Shell(Ns("tc qdisc show dev eth0")).text.find("ingress"), std::string::npos);
  EXPECT_FALSE(Shell("ip -n " + name_ + " link show " + tap_name).ok);
  EXPECT_TRUE(network.Detach().ok()) << "a second Detach is a no-op";
}

TEST_F(PodNetworkTest, FramesCrossTheRedirectsBothWays) {
  // Only eth0 mirrored matters here; the peer plays the CNI bridge.
  Result<std::unique_ptr<PodNetwork>> attached = PodNetwork::Attach(path_);
  ASSERT_TRUE(attached.ok()) << attached.error().ToString();
  PodNetwork& network = **attached;
  // The peer's own mirror would steal what reaches it: undo that one.
  size_t eth0 = 0;
  for (size_t i = 0; i < network.interfaces().size(); ++i) {
    if (network.interfaces()[i].name == "eth0") eth0 = i;
  }
  ASSERT_TRUE(Shell(Ns("tc qdisc del dev peer0 ingress")).ok);
  const int tap = network.tap_fds()[eth0].Get();

  // VM → world: what hull-vmm writes into the tap leaves through eth0.
  UniqueFd peer = PacketSocket(path_, "peer0");
  ASSERT_TRUE(peer) << "no packet socket on peer0";
  // A virtio_net_hdr of a plain frame (no offloads: 10 zero bytes), then it.
  const std::vector<uint8_t> frame = Frame("from-the-vm");
  std::vector<uint8_t> out(10 + frame.size(), 0);
  std::memcpy(out.data() + 10, frame.data(), frame.size());
  ASSERT_EQ(::write(tap, out.data(), out.size()), static_cast<ssize_t>(out.size()));
  EXPECT_TRUE(ReceivesMarker(peer.Get(), "from-the-vm"));

  // World → VM: what arrives on eth0 comes out of the tap.
  const int flags = ::fcntl(tap, F_GETFL);
  ASSERT_EQ(::fcntl(tap, F_SETFL, flags | O_NONBLOCK), 0);
  const std::vector<uint8_t> in = Frame("into-the-vm");
  ASSERT_EQ(::write(peer.Get(), in.data(), in.size()), static_cast<ssize_t>(in.size()));
  EXPECT_TRUE(ReceivesMarker(tap, "into-the-vm"));
}

TEST_F(PodNetworkTest, DetachStaleRemovesTheRedirectsOfADeadOwner) {
  Result<std::unique_ptr<PodNetwork>> attached = PodNetwork::Attach(path_);
  ASSERT_TRUE(attached.ok()) << attached.error().ToString();
  ASSERT_NE(Shell(Ns("tc qdisc show dev eth0")).text.find("ingress"), std::string::npos);
  ASSERT_TRUE(PodNetwork::DetachStale(path_, {"eth0", "peer0", "gone0"}).ok());
  EXPECT_EQ(Shell(Ns("tc qdisc show dev eth0")).text.find("ingress"), std::string::npos);
  EXPECT_EQ(Shell(Ns("tc qdisc show dev peer0")).text.find("ingress"), std::string::npos);
  // The owner's own Detach after that is still clean.
  EXPECT_TRUE((*attached)->Detach().ok());
  EXPECT_TRUE(PodNetwork::DetachStale("/run/netns/hull-no-such-namespace", {"eth0"}).ok());
}

TEST(PodNetwork, RefusesTheHostsOwnNamespace) {
  Result<std::unique_ptr<PodNetwork>> attached = PodNetwork::Attach("/proc/self/ns/net");
  ASSERT_FALSE(attached.ok());
  EXPECT_NE(attached.error().message().find("host's own network namespace"), std::string::npos)
      << attached.error().message();
}

TEST(PodNetwork, RefusesWhatIsNoNetworkNamespace) {
  Result<std::unique_ptr<PodNetwork>> attached = PodNetwork::Attach("/proc/self/ns/uts");
  ASSERT_FALSE(attached.ok());
  EXPECT_NE(attached.error().message().find("is not a network namespace"), std::string::npos)
      << attached.error().message();
  attached = PodNetwork::Attach("/run/netns/hull-no-such-namespace");
  ASSERT_FALSE(attached.ok());
  EXPECT_NE(attached.error().message().find("hull-no-such-namespace"), std::string::npos);
  attached = PodNetwork::Attach("relative/path");
  ASSERT_FALSE(attached.ok());
  EXPECT_NE(attached.error().message().find("must be absolute"), std::string::npos);
}

TEST(PodNetwork, ANamespaceWithOnlyLoopbackGivesNoDevices) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  const std::string name = "hull-ut-empty-" + std::to_string(::getpid());
  ASSERT_TRUE(Shell("ip netns add " + name).ok);
  Result<std::unique_ptr<PodNetwork>> attached = PodNetwork::Attach("/run/netns/" + name);
  Shell("ip netns delete " + name);
  ASSERT_TRUE(attached.ok()) << attached.error().ToString();
  EXPECT_TRUE((*attached)->interfaces().empty());
  EXPECT_TRUE((*attached)->tap_fds().empty());
}

}  // namespace
}  // namespace hull::sandbox
