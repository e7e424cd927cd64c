#include "hull/vmm/virtio/fs/fs_device.h"

#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "split_ring.h"
#include "vhost/fake_user_backend.h"

namespace hull::vmm::virtio::fs {
namespace {

using vhost::testing::FakeUserBackend;
using vhost::testing::GetU64;
using vhost::testing::kLibvhostUserFeatures;
using vhost::testing::kLibvhostUserProtocolFeatures;
using vhost::testing::Message;
using virtio::testing::FakeInterrupt;
using virtio::testing::MakeMemory;
using virtio::testing::SplitRing;
namespace vt = vhost::testing;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::vector<uint8_t> ReadConfig(const FsDevice& device, uint64_t offset, size_t len) {
  std::vector<uint8_t> out(len, 0);
  device.ReadConfig(offset, out);
  return out;
}

class FsDeviceTest : public ::testing::Test {
 protected:
  explicit FsDeviceTest(uint64_t features = kLibvhostUserFeatures, uint64_t queue_num = 2)
      : fake_(features, kLibvhostUserProtocolFeatures, queue_num),
        memory_(MakeMemory()),
        hiprio_(memory_, 8),
        requests_(memory_, 8, GuestAddress(0x6000), GuestAddress(0x7000), GuestAddress(0x8000)) {}

  Result<std::unique_ptr<FsDevice>> Create(
      FsOptions options, std::chrono::milliseconds timeout = std::chrono::milliseconds(2000)) {
    Result<std::unique_ptr<vhost::UserBackend>> backend =
        vhost::UserBackend::Open(fake_.Start(), {.socket_path = "/fake.sock",
                                                 .name = "virtiofsd (fake)",
                                                 .program = "virtiofsd",
                                                 .reply_timeout = timeout});
    HULL_CHECK(backend.ok());
    return FsDevice::Create(std::move(options), std::move(backend).value(),
                            [this](const Error& error) { failures_.push_back(error.message()); });
  }

  std::unique_ptr<FsDevice> MakeDevice(
      std::chrono::milliseconds timeout = std::chrono::milliseconds(2000)) {
    Result<std::unique_ptr<FsDevice>> device = Create({.tag = "share"}, timeout);
    HULL_CHECK(device.ok());
    std::vector<EventFd> notify;
    for (int i = 0; i < 2; ++i) {
      Result<EventFd> fd = EventFd::Create();
      HULL_CHECK(fd.ok());
      notify.push_back(std::move(fd).value());
    }
    notify_fds_ = {notify[0].fd(), notify[1].fd()};
    (*device)->SetNotifyFds(std::move(notify));
    queues_.clear();
    queues_.push_back(hiprio_.MakeQueue(virtio::testing::kModernFeatures, 1024));
    queues_.push_back(requests_.MakeQueue(virtio::testing::kModernFeatures, 1024));
    return std::move(device).value();
  }

  FakeUserBackend fake_;
  GuestMemory memory_;
  SplitRing hiprio_;
  SplitRing requests_;
  std::vector<Queue> queues_;
  std::array<int, 2> notify_fds_{-1, -1};
  FakeInterrupt interrupt_;
  std::vector<std::string> failures_;
};

TEST_F(FsDeviceTest, ConfigSpaceHoldsTheTagAndTheRequestQueueCount) {
  std::unique_ptr<FsDevice> device = MakeDevice();
  EXPECT_EQ(device->device_id(), 26u);
  std::vector<uint8_t> want(40, 0);
  std::memcpy(want.data(), "share", 5);
  want[36] = 1;  // le32 num_request_queues
  std::vector<uint8_t> got;
  for (uint64_t offset = 0; offset < 40; offset += 4) {
    const std::vector<uint8_t> word = ReadConfig(*device, offset, 4);
    got.insert(got.end(), word.begin(), word.end());
  }
  EXPECT_EQ(got, want);
  EXPECT_EQ(ReadConfig(*device, 32, 8), std::vector<uint8_t>({0, 0, 0, 0, 1, 0, 0, 0}));
}

TEST_F(FsDeviceTest, ConfigReadsOutsideTheSpaceAreAllOnesAndWritesAreIgnored) {
  std::unique_ptr<FsDevice> device = MakeDevice();
  EXPECT_EQ(ReadConfig(*device, 40, 4), std::vector<uint8_t>(4, 0xff));
  EXPECT_EQ(ReadConfig(*device, 38, 4), std::vector<uint8_t>(4, 0xff));
  EXPECT_EQ(ReadConfig(*device, ~uint64_t{0}, 2), std::vector<uint8_t>(2, 0xff));
  const std::array<uint8_t, 4> junk = {'e', 'v', 'i', 'l'};
  device->WriteConfig(0, junk);
  EXPECT_EQ(ReadConfig(*device, 0, 4), std::vector<uint8_t>({'s', 'h', 'a', 'r'}));
}

TEST_F(FsDeviceTest, AThirtySixByteTagFillsTheFieldWithoutANul) {
  const std::string tag(36, 't');
  Result<std::unique_ptr<FsDevice>> device = Create({.tag = tag});
  ASSERT_TRUE(device.ok()) << device.error().ToString();
  EXPECT_EQ(ReadConfig(**device, 32, 4), std::vector<uint8_t>(4, 't'));
  EXPECT_EQ(ReadConfig(**device, 36, 4), std::vector<uint8_t>({1, 0, 0, 0}));
}

TEST(FsTag, AcceptsOneToThirtySixBytesOfUtf8) {
  EXPECT_TRUE(ValidateTag("a").ok());
  EXPECT_TRUE(ValidateTag(std::string(36, 'x')).ok());
  EXPECT_TRUE(ValidateTag("caf\xc3\xa9-\xe2\x82\xac-\xf0\x9f\x93\x81").ok());
}

TEST(FsTag, RefusesBadTags) {
  const std::vector<std::string> bad = {
      "",
      std::string(37, 'x'),
      std::string("a\0b", 3),
      "line\nbreak",
      "\x7f",
      "\xff",
      "\xc3",              // truncated sequence
      "\xc0\xaf",          // overlong '/'
      "\xed\xa0\x80",      // a UTF-16 surrogate
      "\xf4\x90\x80\x80",  // past U+10FFFF
      "\x80",              // a lone continuation byte
  };
  for (const std::string& tag : bad) {
    Result<void> valid = ValidateTag(tag);
    ASSERT_FALSE(valid.ok()) << tag;
    EXPECT_EQ(valid.error().code(), EINVAL);
  }
}

TEST_F(FsDeviceTest, RefusesBadOptionsBeforeTalkingToTheBackEnd) {
  EXPECT_EQ(Create({.tag = ""}).error().code(), EINVAL);
  EXPECT_EQ(FsDevice::Create({.tag = "x", .queue_size = 3}, nullptr).error().code(), EINVAL);
  EXPECT_EQ(FsDevice::Create({.tag = "x", .queue_size = 2048}, nullptr).error().code(), EINVAL);
  EXPECT_EQ(FsDevice::Create({.tag = "x", .request_queues = 0}, nullptr).error().code(), EINVAL);
  EXPECT_EQ(FsDevice::Create({.tag = "x", .request_queues = 256}, nullptr).error().code(), EINVAL);
}

TEST_F(FsDeviceTest, RefusesMoreRequestQueuesThanTheBackEndServes) {
  Result<std::unique_ptr<FsDevice>> device = Create({.tag = "x", .request_queues = 2});
  ASSERT_FALSE(device.ok());
  EXPECT_EQ(device.error().code(), EINVAL);
  EXPECT_TRUE(Contains(device.error().message(), "serves at most 2 queues"))
      << device.error().message();
}

TEST_F(FsDeviceTest, ClaimsTheBackEndAndReadsItsFeaturesAtCreation) {
  std::unique_ptr<FsDevice> device = MakeDevice();
  EXPECT_EQ(fake_.Requests(6), (std::vector<uint32_t>{vt::kGetFeatures, vt::kGetProtocolFeatures,
                                                      vt::kSetProtocolFeatures, vt::kGetQueueNum,
                                                      vt::kSetOwner, vt::kGetFeatures}));
  EXPECT_EQ(device->queue_max_sizes().size(), 2u);
  EXPECT_EQ(device->queue_max_sizes()[1], 1024);
}

TEST_F(FsDeviceTest, OffersOnlyTheRingFeaturesTheBackEndOffers) {
  std::unique_ptr<FsDevice> device = MakeDevice();
  EXPECT_EQ(device->transport_features(),
            kFeatureVersion1 | kFeatureEventIdx | kFeatureIndirectDesc);
  EXPECT_EQ(device->device_features(), 0u);
}

class FsDeviceMinimalBackEndTest : public FsDeviceTest {
 protected:
  // VERSION_1, a notification bit (0) and some unknown device bit (5).
  FsDeviceMinimalBackEndTest()
      : FsDeviceTest(kFeatureVersion1 | 1 | (1 << 5) | vt::kProtocolFeaturesBit) {}
};

TEST_F(FsDeviceMinimalBackEndTest, PassesDeviceBitsButNotNotificationsItCannotServe) {
  std::unique_ptr<FsDevice> device = MakeDevice();
  EXPECT_EQ(device->transport_features(), kFeatureVersion1);
  EXPECT_EQ(device->device_features(), uint64_t{1} << 5);
}

class FsDeviceLegacyBackEndTest : public FsDeviceTest {
 protected:
  FsDeviceLegacyBackEndTest() : FsDeviceTest(kFeatureEventIdx) {}
};

TEST_F(FsDeviceLegacyBackEndTest, RefusesABackEndWithoutVersion1) {
  Result<std::unique_ptr<FsDevice>> device = Create({.tag = "x"});
  ASSERT_FALSE(device.ok());
  EXPECT_EQ(device.error().code(), ENOTSUP);
  EXPECT_TRUE(Contains(device.error().message(), "VIRTIO_F_VERSION_1"));
}

TEST_F(FsDeviceTest, ActivateHandsEveryQueueToTheBackEnd) {
  std::unique_ptr<FsDevice> device = MakeDevice();
  fake_.Clear();
  const uint64_t features = kFeatureVersion1 | kFeatureEventIdx;
  ASSERT_TRUE(device->Activate(memory_, queues_, features, interrupt_).ok());
  std::vector<uint32_t> want = {vt::kGetFeatures, vt::kSetFeatures, vt::kSetMemTable};
  for (int q = 0; q < 2; ++q) {
    want.insert(want.end(), {vt::kSetVringNum, vt::kSetVringBase, vt::kSetVringAddr,
                             vt::kSetVringCall, vt::kSetVringKick, vt::kSetVringEnable});
  }
  EXPECT_EQ(fake_.Requests(want.size()), want);
  EXPECT_EQ(GetU64(fake_.Find(vt::kSetFeatures)[0].payload, 0),
            features | vt::kProtocolFeaturesBit);
  EXPECT_EQ(fake_.Find(vt::kSetMemTable)[0].fd_count, 1u);
  for (const Message& m : fake_.Find(vt::kSetVringKick)) EXPECT_EQ(m.fd_count, 1u);
  for (const Message& m : fake_.Find(vt::kSetVringCall)) EXPECT_EQ(m.fd_count, 1u);
  const Message addr = fake_.Find(vt::kSetVringAddr)[1];
  EXPECT_EQ(vt::GetU32(addr.payload, 0), 1u);
  EXPECT_EQ(GetU64(addr.payload, 8),
            reinterpret_cast<uintptr_t>(memory_.regions()[0].host_address()) + 0x6000);
  EXPECT_EQ(device->counters()[0].value, 1u);  // activations
}

TEST_F(FsDeviceTest, ResetDisablesAndStopsEveryRingSoTheNextActivateStartsAfresh) {
  std::unique_ptr<FsDevice> device = MakeDevice();
  ASSERT_TRUE(device->Activate(memory_, queues_, kFeatureVersion1, interrupt_).ok());
  fake_.Clear();
  device->Reset();
  EXPECT_EQ(fake_.Requests(4), (std::vector<uint32_t>{vt::kSetVringEnable, vt::kSetVringEnable,
                                                      vt::kGetVringBase, vt::kGetVringBase}));
  EXPECT_EQ(GetU64(fake_.Find(vt::kSetVringEnable)[1].payload, 0), 1u);  // {index 1, num 0}
  fake_.Clear();
  ASSERT_TRUE(device->Activate(memory_, queues_, kFeatureVersion1, interrupt_).ok());
  EXPECT_EQ(fake_.Find(vt::kSetVringKick).size(), 2u);
  EXPECT_TRUE(failures_.empty());
}

TEST_F(FsDeviceTest, ActivateWithoutNotificationFdsFails) {
  Result<std::unique_ptr<FsDevice>> device = Create({.tag = "x"});
  ASSERT_TRUE(device.ok());
  queues_.push_back(hiprio_.MakeQueue());
  queues_.push_back(requests_.MakeQueue());
  Result<void> activated = (*device)->Activate(memory_, queues_, kFeatureVersion1, interrupt_);
  ASSERT_FALSE(activated.ok());
  EXPECT_EQ(activated.error().code(), EINVAL);
}

TEST_F(FsDeviceTest, RelaysTheBackEndsCallsAsInterruptsWhileActive) {
  std::unique_ptr<FsDevice> device = MakeDevice();
  const std::vector<EventSource> sources = device->event_sources();
  ASSERT_EQ(sources.size(), 3u);
  EXPECT_EQ(sources[1].token, 1u);
  EXPECT_EQ(sources[1].events, uint32_t{EPOLLIN});
  // Not active yet: consumed, not relayed.
  ASSERT_TRUE(::eventfd_write(sources[1].fd, 1) == 0);
  ASSERT_TRUE(device->ProcessEvent(1, EPOLLIN).ok());
  EXPECT_EQ(interrupt_.used_buffer, 0);
  eventfd_t left = 0;
  EXPECT_NE(::eventfd_read(sources[1].fd, &left), 0);  // drained (EAGAIN)
  ASSERT_TRUE(device->Activate(memory_, queues_, kFeatureVersion1, interrupt_).ok());
  ASSERT_TRUE(::eventfd_write(sources[1].fd, 3) == 0);
  ASSERT_TRUE(device->ProcessEvent(1, EPOLLIN).ok());
  EXPECT_EQ(interrupt_.used_buffer, 1);
  device->Reset();
  ASSERT_TRUE(::eventfd_write(sources[0].fd, 1) == 0);
  ASSERT_TRUE(device->ProcessEvent(0, EPOLLIN).ok());
  EXPECT_EQ(interrupt_.used_buffer, 1);
  EXPECT_TRUE(device->ProcessEvent(77, EPOLLIN).ok());  // unknown token: ignored
}

TEST_F(FsDeviceTest, ForwardsANotificationThatBypassedTheIoeventfd) {
  std::unique_ptr<FsDevice> device = MakeDevice();
  ASSERT_TRUE(device->Activate(memory_, queues_, kFeatureVersion1, interrupt_).ok());
  ASSERT_TRUE(device->ProcessQueue(1).ok());
  eventfd_t count = 0;
  ASSERT_EQ(::eventfd_read(notify_fds_[1], &count), 0);
  EXPECT_EQ(count, 1u);
  EXPECT_TRUE(device->ProcessQueue(9).ok());
}

TEST_F(FsDeviceTest, ReportsADeadBackEndOnceThroughTheCallback) {
  std::unique_ptr<FsDevice> device = MakeDevice();
  const EventSource socket = device->event_sources().back();
  EXPECT_EQ(socket.token, kBackendSocketToken);
  EXPECT_EQ(socket.events, uint32_t{EPOLLIN | EPOLLRDHUP | EPOLLET});
  // A spurious wake-up (a reply already read) is nothing.
  ASSERT_TRUE(device->ProcessEvent(kBackendSocketToken, EPOLLIN).ok());
  EXPECT_TRUE(failures_.empty());
  fake_.Stop();
  ASSERT_TRUE(device->ProcessEvent(kBackendSocketToken, EPOLLIN | EPOLLRDHUP).ok());
  ASSERT_EQ(failures_.size(), 1u);
  EXPECT_EQ(failures_[0],
            "virtio-fs 'share': vhost-user back end virtiofsd (fake) at /fake.sock closed the "
            "connection (did "
            "virtiofsd exit?)");
  EXPECT_TRUE(device->backend_failed());
  ASSERT_TRUE(device->ProcessEvent(kBackendSocketToken, EPOLLIN | EPOLLRDHUP).ok());
  EXPECT_EQ(failures_.size(), 1u);
  // Activate now fails at once, and Reset does not wait on the dead socket.
  Result<void> activated = device->Activate(memory_, queues_, kFeatureVersion1, interrupt_);
  EXPECT_FALSE(activated.ok());
  device->Reset();
  EXPECT_EQ(failures_.size(), 1u);
}

TEST_F(FsDeviceTest, AWedgedBackEndFailsActivateAndIsReported) {
  fake_.set_handler([](const Message& m) -> std::optional<vt::Action> {
    if (m.request != vt::kSetMemTable) return std::nullopt;
    return vt::Action{};  // silence
  });
  std::unique_ptr<FsDevice> device = MakeDevice(std::chrono::milliseconds(200));
  Result<void> activated = device->Activate(memory_, queues_, kFeatureVersion1, interrupt_);
  ASSERT_FALSE(activated.ok());
  EXPECT_EQ(activated.error().code(), ETIMEDOUT);
  ASSERT_EQ(failures_.size(), 1u);
  EXPECT_TRUE(Contains(failures_[0], "did not answer VHOST_USER_SET_MEM_TABLE")) << failures_[0];
  device->Reset();  // nothing to stop, nothing sent
}

TEST(FsDeviceCreate, NamesTheSocketAndHowToStartVirtiofsdWhenNothingListens) {
  Result<std::unique_ptr<FsDevice>> device =
      FsDevice::Create({.tag = "share", .socket_path = "/nonexistent/virtiofsd.sock"}, nullptr);
  ASSERT_FALSE(device.ok());
  EXPECT_EQ(device.error().code(), ENOENT);
  const std::string& message = device.error().message();
  EXPECT_TRUE(Contains(message, "/nonexistent/virtiofsd.sock")) << message;
  EXPECT_TRUE(Contains(message, "is virtiofsd running")) << message;
  EXPECT_TRUE(Contains(message, "--socket-path=/nonexistent/virtiofsd.sock")) << message;
}

}  // namespace
}  // namespace hull::vmm::virtio::fs
