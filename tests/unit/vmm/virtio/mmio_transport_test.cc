#include "hull/vmm/virtio/mmio_transport.h"

#include <gtest/gtest.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <ostream>
#include <vector>

#include "split_ring.h"

namespace hull::vmm::virtio {
namespace {

using testing::CountingIrqLine;
using testing::kAvailRing;
using testing::kDataBase;
using testing::kDescTable;
using testing::kUsedRing;
using testing::MakeMemory;
using testing::SplitRing;

// Register offsets, spelled out from §4.2.2 rather than taken from the code
// under test.
constexpr uint64_t kMagicValue = 0x000, kVersion = 0x004, kDeviceId = 0x008, kVendorId = 0x00c,
                   kDeviceFeatures = 0x010, kDeviceFeaturesSel = 0x014, kDriverFeatures = 0x020,
                   kDriverFeaturesSel = 0x024, kQueueSel = 0x030, kQueueNumMax = 0x034,
                   kQueueNum = 0x038, kQueueReady = 0x044, kQueueNotify = 0x050,
                   kInterruptStatus = 0x060, kInterruptAck = 0x064, kStatus = 0x070,
                   kQueueDescLow = 0x080, kQueueDescHigh = 0x084, kQueueDriverLow = 0x090,
                   kQueueDriverHigh = 0x094, kQueueDeviceLow = 0x0a0, kQueueDeviceHigh = 0x0a4,
                   kShmSel = 0x0ac, kShmLenLow = 0x0b0, kShmLenHigh = 0x0b4, kShmBaseLow = 0x0b8,
                   kShmBaseHigh = 0x0bc, kQueueReset = 0x0c0, kConfigGeneration = 0x0fc,
                   kConfig = 0x100;

constexpr uint32_t kAck = 1, kDriver = 2, kDriverOk = 4, kFeaturesOk = 8, kNeedsReset = 0x40,
                   kFailed = 0x80;

// Offers device bits 0 and 5, and bit 40, which the transport must mask.
constexpr uint64_t kFakeFeatures = 0x21 | (uint64_t{1} << 40);
constexpr uint32_t kFakeDeviceId = 0x1f;

class FakeDevice final : public VirtioDevice {
 public:
  uint32_t device_id() const override { return kFakeDeviceId; }
  uint64_t device_features() const override { return kFakeFeatures; }
  std::span<const uint16_t> queue_max_sizes() const override { return max_sizes; }
  void ReadConfig(uint64_t offset, std::span<uint8_t> data) const override {
    ReadConfigBytes(config, offset, data);
  }
  void WriteConfig(uint64_t offset, std::span<const uint8_t> data) override {
    config_writes.push_back({offset, std::vector<uint8_t>(data.begin(), data.end())});
  }
  Result<void> Activate(const GuestMemory&, std::span<Queue> queues, uint64_t features,
                        VirtioInterrupt& irq) override {
    ++activations;
    activated_features = features;
    activated_queues = queues;
    interrupt = &irq;
    if (fail_activation) return Error(EIO, "refused");
    return {};
  }
  Result<void> ProcessQueue(size_t index) override {
    processed.push_back(index);
    if (fail_processing) return Error(EINVAL, "broken ring");
    if (signal_on_process) (void)interrupt->SignalUsedBuffer();
    return {};
  }
  void Reset() override {
    ++resets;
    interrupt = nullptr;
  }

  std::array<uint16_t, 2> max_sizes{256, 16};
  std::array<uint8_t, 8> config{1, 2, 3, 4, 5, 6, 7, 8};
  struct ConfigWrite {
    uint64_t offset;
    std::vector<uint8_t> data;
  };
  std::vector<ConfigWrite> config_writes;
  int activations = 0;
  int resets = 0;
  uint64_t activated_features = 0;
  std::span<Queue> activated_queues;
  VirtioInterrupt* interrupt = nullptr;
  std::vector<size_t> processed;
  bool fail_activation = false;
  bool fail_processing = false;
  bool signal_on_process = false;
};

class MmioTransportTest : public ::testing::Test {
 protected:
  MmioTransportTest() : memory_(MakeMemory()), ring_(memory_, 256) {
    auto device = std::make_unique<FakeDevice>();
    device_ = device.get();
    transport_ = std::make_unique<MmioTransport>("virtio-fake", std::move(device), memory_,
                                                 std::make_unique<CountingIrqLine>(&irqs_));
  }

  uint32_t Read(uint64_t offset) {
    std::array<uint8_t, 4> data{};
    transport_->Read(offset, data);
    uint32_t value;
    std::memcpy(&value, data.data(), 4);
    return value;
  }
  void Write(uint64_t offset, uint32_t value) {
    std::array<uint8_t, 4> data;
    std::memcpy(data.data(), &value, 4);
    transport_->Write(offset, data);
  }

  void WriteFeatures(uint64_t features) {
    Write(kDriverFeaturesSel, 0);
    Write(kDriverFeatures, static_cast<uint32_t>(features));
    Write(kDriverFeaturesSel, 1);
    Write(kDriverFeatures, static_cast<uint32_t>(features >> 32));
  }
  // §3.1.1 steps 1-6; returns the status the device left.
  uint32_t Negotiate(uint64_t features) {
    Write(kStatus, kAck);
    Write(kStatus, kAck | kDriver);
    WriteFeatures(features);
    Write(kStatus, kAck | kDriver | kFeaturesOk);
    return Read(kStatus);
  }
  void SetUpQueue(uint32_t index, uint32_t size, GuestAddress desc, GuestAddress avail,
                  GuestAddress used) {
    Write(kQueueSel, index);
    Write(kQueueNum, size);
    Write(kQueueDescLow, static_cast<uint32_t>(desc.raw()));
    Write(kQueueDescHigh, static_cast<uint32_t>(desc.raw() >> 32));
    Write(kQueueDriverLow, static_cast<uint32_t>(avail.raw()));
    Write(kQueueDriverHigh, static_cast<uint32_t>(avail.raw() >> 32));
    Write(kQueueDeviceLow, static_cast<uint32_t>(used.raw()));
    Write(kQueueDeviceHigh, static_cast<uint32_t>(used.raw() >> 32));
    Write(kQueueReady, 1);
  }
  // The whole initialisation, queue 0 on ring_.
  void Start(uint64_t features = kFeatureVersion1) {
    ASSERT_EQ(Negotiate(features), kAck | kDriver | kFeaturesOk);
    SetUpQueue(0, 256, kDescTable, kAvailRing, kUsedRing);
    Write(kStatus, kAck | kDriver | kFeaturesOk | kDriverOk);
  }

  Queue& queue(size_t index) { return device_->activated_queues[index]; }

  GuestMemory memory_;
  SplitRing ring_;
  int irqs_ = 0;
  FakeDevice* device_;
  std::unique_ptr<MmioTransport> transport_;
};

TEST_F(MmioTransportTest, IdentifiesAsAModernVirtioMmioDevice) {
  EXPECT_EQ(Read(kMagicValue), 0x74726976u);  // "virt"
  EXPECT_EQ(Read(kVersion), 2u);
  EXPECT_EQ(Read(kDeviceId), kFakeDeviceId);
  EXPECT_EQ(Read(kVendorId), MmioTransport::kVendorId);
  EXPECT_EQ(transport_->queue_count(), 2u);
  EXPECT_EQ(MmioTransport::NotifyAddressOffset(), kQueueNotify);
}

struct RegisterCase {
  const char* name;
  uint64_t offset;
  uint32_t value;
};
void PrintTo(const RegisterCase& c, std::ostream* os) { *os << c.name; }

class MmioRegisterAfterReset : public MmioTransportTest,
                               public ::testing::WithParamInterface<RegisterCase> {};

TEST_P(MmioRegisterAfterReset, ReadsAsTheSpecSays) {
  const RegisterCase& c = GetParam();
  // Dirty the state, then reset: the same values must come back.
  Start();
  Write(kStatus, 0);
  EXPECT_EQ(Read(c.offset), c.value);
}

constexpr uint32_t kAllOnes = 0xffff'ffff;
INSTANTIATE_TEST_SUITE_P(
    Registers, MmioRegisterAfterReset,
    ::testing::Values(
        RegisterCase{"MagicValue", kMagicValue, 0x74726976}, RegisterCase{"Version", kVersion, 2},
        RegisterCase{"DeviceId", kDeviceId, kFakeDeviceId},
        RegisterCase{"VendorId", kVendorId, MmioTransport::kVendorId},
        // Page 0: device bits 0 and 5, INDIRECT_DESC (28) and EVENT_IDX (29).
        RegisterCase{"DeviceFeaturesPage0", kDeviceFeatures, 0x3000'0021},
        RegisterCase{"QueueNumMaxOfQueue0", kQueueNumMax, 256},
        RegisterCase{"QueueReady", kQueueReady, 0},
        RegisterCase{"InterruptStatus", kInterruptStatus, 0}, RegisterCase{"Status", kStatus, 0},
        RegisterCase{"ShmLenLowSaysNoRegion", kShmLenLow, kAllOnes},
        RegisterCase{"ShmLenHighSaysNoRegion", kShmLenHigh, kAllOnes},
        RegisterCase{"ShmBaseLow", kShmBaseLow, kAllOnes},
        RegisterCase{"ShmBaseHigh", kShmBaseHigh, kAllOnes},
        RegisterCase{"QueueResetNotOffered", kQueueReset, 0},
        RegisterCase{"ConfigGeneration", kConfigGeneration, 0},
        RegisterCase{"WriteOnlyDeviceFeaturesSel", kDeviceFeaturesSel, kAllOnes},
        RegisterCase{"WriteOnlyDriverFeatures", kDriverFeatures, kAllOnes},
        RegisterCase{"WriteOnlyDriverFeaturesSel", kDriverFeaturesSel, kAllOnes},
        RegisterCase{"WriteOnlyQueueSel", kQueueSel, kAllOnes},
        RegisterCase{"WriteOnlyQueueNum", kQueueNum, kAllOnes},
        RegisterCase{"WriteOnlyQueueNotify", kQueueNotify, kAllOnes},
        RegisterCase{"WriteOnlyInterruptAck", kInterruptAck, kAllOnes},
        RegisterCase{"WriteOnlyQueueDescLow", kQueueDescLow, kAllOnes},
        RegisterCase{"WriteOnlyQueueDescHigh", kQueueDescHigh, kAllOnes},
        RegisterCase{"WriteOnlyQueueDriverLow", kQueueDriverLow, kAllOnes},
        RegisterCase{"WriteOnlyQueueDriverHigh", kQueueDriverHigh, kAllOnes},
        RegisterCase{"WriteOnlyQueueDeviceLow", kQueueDeviceLow, kAllOnes},
        RegisterCase{"WriteOnlyQueueDeviceHigh", kQueueDeviceHigh, kAllOnes},
        RegisterCase{"WriteOnlyShmSel", kShmSel, kAllOnes},
        RegisterCase{"LegacyGuestPageSize", 0x028, kAllOnes},
        RegisterCase{"LegacyQueuePfn", 0x040, kAllOnes}, RegisterCase{"Hole", 0x0f8, kAllOnes}),
    [](const ::testing::TestParamInfo<RegisterCase>& param_info) { return param_info.param.name; });

TEST_F(MmioTransportTest, OffersVersion1InTheSecondFeaturePageAndNothingBeyond) {
  Write(kDeviceFeaturesSel, 1);
  EXPECT_EQ(Read(kDeviceFeatures), 1u) << "bit 32; the device's bit 40 is masked";
  Write(kDeviceFeaturesSel, 2);
  EXPECT_EQ(Read(kDeviceFeatures), 0u);
}

TEST_F(MmioTransportTest, SelectsQueuesByIndex) {
  Write(kQueueSel, 1);
  EXPECT_EQ(Read(kQueueNumMax), 16u);
  Write(kQueueSel, 2);
  EXPECT_EQ(Read(kQueueNumMax), 0u) << "no such queue";
  Write(kQueueReady, 1);
  EXPECT_EQ(Read(kQueueReady), 0u);
}

// --- Feature negotiation (§2.2, §3.1.1). ---

TEST_F(MmioTransportTest, AcceptsOfferedFeaturesWithVersion1) {
  const uint64_t features = kFeatureVersion1 | kFeatureEventIdx | 0x20;
  EXPECT_EQ(Negotiate(features), kAck | kDriver | kFeaturesOk);
  SetUpQueue(0, 256, kDescTable, kAvailRing, kUsedRing);
  Write(kStatus, kAck | kDriver | kFeaturesOk | kDriverOk);
  EXPECT_EQ(device_->activated_features, features);
}

struct FeatureCase {
  const char* name;
  uint64_t features;
};
void PrintTo(const FeatureCase& c, std::ostream* os) { *os << c.name; }

class MmioFeatureRefusal : public MmioTransportTest,
                           public ::testing::WithParamInterface<FeatureCase> {};

TEST_P(MmioFeatureRefusal, LeavesFeaturesOkClear) {
  EXPECT_EQ(Negotiate(GetParam().features), kAck | kDriver);
  EXPECT_EQ(transport_->counters().feature_rejections.load(), 1u);
  // And DRIVER_OK cannot follow.
  Write(kStatus, kAck | kDriver | kDriverOk);
  EXPECT_EQ(Read(kStatus), kAck | kDriver);
  EXPECT_EQ(device_->activations, 0);
}

INSTANTIATE_TEST_SUITE_P(
    Features, MmioFeatureRefusal,
    ::testing::Values(FeatureCase{"WithoutVersion1", 0x21},
                      FeatureCase{"DeviceBitNotOffered", kFeatureVersion1 | 0x2},
                      FeatureCase{"MaskedDeviceBit", kFeatureVersion1 | (uint64_t{1} << 40)},
                      FeatureCase{"TransportBitNotOffered",
                                  kFeatureVersion1 | (uint64_t{1} << 34)}),
    [](const ::testing::TestParamInfo<FeatureCase>& param_info) { return param_info.param.name; });

TEST_F(MmioTransportTest, RefusesFeaturesAcceptedBeyondTheSecondPage) {
  Write(kStatus, kAck);
  Write(kStatus, kAck | kDriver);
  WriteFeatures(kFeatureVersion1);
  Write(kDriverFeaturesSel, 2);
  Write(kDriverFeatures, 1);
  Write(kStatus, kAck | kDriver | kFeaturesOk);
  EXPECT_EQ(Read(kStatus), kAck | kDriver);
}

TEST_F(MmioTransportTest, IgnoresDriverFeaturesOutsideTheNegotiationWindow) {
  Write(kStatus, kAck);
  WriteFeatures(kFeatureVersion1);  // before DRIVER: ignored
  Write(kStatus, kAck | kDriver);
  Write(kStatus, kAck | kDriver | kFeaturesOk);
  EXPECT_EQ(Read(kStatus), kAck | kDriver) << "VERSION_1 was never accepted";
}

// --- The status state machine (§2.1, §3.1.1). ---

struct StatusCase {
  const char* name;
  std::vector<uint32_t> writes;
  uint32_t status;
};
void PrintTo(const StatusCase& c, std::ostream* os) { *os << c.name; }

class MmioStatus : public MmioTransportTest, public ::testing::WithParamInterface<StatusCase> {};

TEST_P(MmioStatus, MovesOnlyAsTheSpecAllows) {
  const StatusCase& c = GetParam();
  Write(kDriverFeaturesSel, 1);
  for (uint32_t value : c.writes) {
    Write(kStatus, value);
    if (value == (kAck | kDriver)) Write(kDriverFeatures, 1);  // VERSION_1
  }
  EXPECT_EQ(Read(kStatus), c.status);
}

INSTANTIATE_TEST_SUITE_P(
    Transitions, MmioStatus,
    ::testing::Values(StatusCase{"Acknowledge", {kAck}, kAck},
                      StatusCase{"DriverBeforeAcknowledge", {kDriver}, 0},
                      StatusCase{"TwoBitsAtOnce", {kAck | kDriver}, 0},
                      StatusCase{"FeaturesOkBeforeDriver", {kAck, kAck | kFeaturesOk}, kAck},
                      StatusCase{"FeaturesOk",
                                 {kAck, kAck | kDriver, kAck | kDriver | kFeaturesOk},
                                 kAck | kDriver | kFeaturesOk},
                      StatusCase{"DriverOkWithoutFeaturesOk",
                                 {kAck, kAck | kDriver, kAck | kDriver | kDriverOk},
                                 kAck | kDriver},
                      StatusCase{"ClearingABit", {kAck, kAck | kDriver, kAck}, kAck | kDriver},
                      StatusCase{"FailedAtAnyPoint", {kAck, kAck | kFailed}, kAck | kFailed},
                      StatusCase{"NothingAfterFailed",
                                 {kAck, kAck | kFailed, kAck | kDriver | kFailed},
                                 kAck | kFailed},
                      StatusCase{"DriverCannotSetNeedsReset", {kAck, kAck | kNeedsReset}, kAck},
                      StatusCase{"ResetFromAnywhere", {kAck, kAck | kDriver, 0}, 0},
                      StatusCase{"SameValueAgain", {kAck, kAck}, kAck}),
    [](const ::testing::TestParamInfo<StatusCase>& param_info) { return param_info.param.name; });

TEST_F(MmioTransportTest, CountsIllegalStatusWrites) {
  Write(kStatus, kDriver);
  Write(kStatus, kDriverOk);
  EXPECT_EQ(transport_->counters().illegal_status_writes.load(), 2u);
}

TEST_F(MmioTransportTest, ActivatesTheDeviceOnDriverOk) {
  Start();
  EXPECT_EQ(Read(kStatus), kAck | kDriver | kFeaturesOk | kDriverOk);
  EXPECT_EQ(device_->activations, 1);
  ASSERT_EQ(device_->activated_queues.size(), 2u);
  EXPECT_TRUE(queue(0).active());
  EXPECT_FALSE(queue(1).active()) << "never made ready";
  EXPECT_EQ(queue(0).desc_table(), kDescTable);
  EXPECT_EQ(queue(0).avail_ring(), kAvailRing);
  EXPECT_EQ(queue(0).used_ring(), kUsedRing);
  EXPECT_EQ(transport_->counters().activations.load(), 1u);
}

TEST_F(MmioTransportTest, ResetClearsStatusFeaturesQueuesAndInterrupts) {
  device_->signal_on_process = true;
  Start();
  ASSERT_TRUE(transport_->HandleNotify(0).ok());
  ASSERT_NE(Read(kInterruptStatus), 0u);

  Write(kStatus, 0);
  EXPECT_EQ(device_->resets, 1);
  EXPECT_EQ(Read(kStatus), 0u);
  EXPECT_EQ(Read(kInterruptStatus), 0u);
  Write(kQueueSel, 0);
  EXPECT_EQ(Read(kQueueReady), 0u);
  EXPECT_FALSE(queue(0).active());
  EXPECT_EQ(queue(0).size(), 256);
  EXPECT_EQ(queue(0).desc_table(), GuestAddress(0));
  // Features were forgotten: FEATURES_OK needs them written again.
  Write(kStatus, kAck);
  Write(kStatus, kAck | kDriver);
  Write(kStatus, kAck | kDriver | kFeaturesOk);
  EXPECT_EQ(Read(kStatus), kAck | kDriver);
  // Notifications go nowhere until the device is started again.
  ASSERT_TRUE(transport_->HandleNotify(0).ok());
  EXPECT_EQ(device_->processed.size(), 1u);
}

TEST_F(MmioTransportTest, CanBeStartedAgainAfterAReset) {
  Start();
  Write(kStatus, 0);
  Start();
  EXPECT_EQ(device_->activations, 2);
  EXPECT_TRUE(queue(0).active());
}

// --- Queue configuration. ---

TEST_F(MmioTransportTest, IgnoresQueueConfigurationWhileTheQueueIsReady) {
  ASSERT_EQ(Negotiate(kFeatureVersion1), kAck | kDriver | kFeaturesOk);
  SetUpQueue(0, 256, kDescTable, kAvailRing, kUsedRing);
  // The queue is ready: these must not take effect.
  Write(kQueueNum, 128);
  Write(kQueueDescLow, 0x9000);
  Write(kQueueDriverHigh, 1);
  Write(kQueueDeviceLow, 0x9000);
  Write(kStatus, kAck | kDriver | kFeaturesOk | kDriverOk);
  EXPECT_EQ(queue(0).size(), 256);
  EXPECT_EQ(queue(0).desc_table(), kDescTable);
  EXPECT_EQ(queue(0).avail_ring(), kAvailRing);
  EXPECT_EQ(queue(0).used_ring(), kUsedRing);
  EXPECT_GE(transport_->counters().invalid_accesses.load(), 4u);
}

TEST(MmioTransportAddresses, ComposesRingAddressesFromTheirHalves) {
  // RAM above 4 GiB, so that both halves of each address matter.
  constexpr uint64_t kHigh = 0x1'0000'0000;
  Result<GuestMemory> memory = GuestMemory::Create({{GuestAddress(kHigh), 0x100000}});
  ASSERT_TRUE(memory.ok());
  auto device = std::make_unique<FakeDevice>();
  FakeDevice* fake = device.get();
  int irqs = 0;
  MmioTransport transport("virtio-fake", std::move(device), *memory,
                          std::make_unique<CountingIrqLine>(&irqs));
  const auto write = [&](uint64_t offset, uint32_t value) {
    std::array<uint8_t, 4> data;
    std::memcpy(data.data(), &value, 4);
    transport.Write(offset, data);
  };
  write(kStatus, kAck);
  write(kStatus, kAck | kDriver);
  write(kDriverFeaturesSel, 1);
  write(kDriverFeatures, 1);
  write(kStatus, kAck | kDriver | kFeaturesOk);
  write(kQueueSel, 0);
  // Each half written alone keeps the other: high first for one, low first
  // for the others, and a low half rewritten at the end.
  write(kQueueDescHigh, 1);
  write(kQueueDescLow, 0x1000);
  write(kQueueDriverLow, 0x9999);
  write(kQueueDriverHigh, 1);
  write(kQueueDriverLow, 0x2000);
  write(kQueueDeviceLow, 0x3000);
  write(kQueueDeviceHigh, 1);
  write(kQueueReady, 1);
  write(kStatus, kAck | kDriver | kFeaturesOk | kDriverOk);
  ASSERT_EQ(fake->activations, 1);
  const Queue& queue = fake->activated_queues[0];
  EXPECT_EQ(queue.desc_table(), GuestAddress(kHigh + 0x1000));
  EXPECT_EQ(queue.avail_ring(), GuestAddress(kHigh + 0x2000));
  EXPECT_EQ(queue.used_ring(), GuestAddress(kHigh + 0x3000));
}

TEST_F(MmioTransportTest, RefusesToEnableAQueueAfterDriverOk) {
  Start();
  Write(kQueueSel, 1);
  Write(kQueueReady, 1);
  EXPECT_EQ(Read(kQueueReady), 0u);
}

TEST_F(MmioTransportTest, StopsAQueueWhenTheDriverClearsReady) {
  Start();
  Write(kQueueSel, 0);
  Write(kQueueReady, 0);
  EXPECT_EQ(Read(kQueueReady), 0u);
  EXPECT_FALSE(queue(0).active());
}

TEST_F(MmioTransportTest, FailsActivationOfAnInvalidQueueWithNeedsReset) {
  ASSERT_EQ(Negotiate(kFeatureVersion1), kAck | kDriver | kFeaturesOk);
  SetUpQueue(0, 100, kDescTable, kAvailRing, kUsedRing);  // not a power of two
  Write(kStatus, kAck | kDriver | kFeaturesOk | kDriverOk);
  EXPECT_EQ(Read(kStatus), kAck | kDriver | kFeaturesOk | kDriverOk | kNeedsReset);
  EXPECT_EQ(device_->activations, 0);
  EXPECT_EQ(Read(kInterruptStatus), 2u) << "configuration change notification";
  EXPECT_EQ(irqs_, 1);
  EXPECT_EQ(transport_->counters().device_errors.load(), 1u);
}

TEST_F(MmioTransportTest, FailsWithNeedsResetWhenTheDeviceRefusesActivation) {
  device_->fail_activation = true;
  Start();
  EXPECT_NE(Read(kStatus) & kNeedsReset, 0u);
  ASSERT_TRUE(transport_->HandleNotify(0).ok());
  EXPECT_TRUE(device_->processed.empty());
}

// --- Access widths and the config space. ---

TEST_F(MmioTransportTest, IgnoresRegisterAccessesThatAreNot32BitsAligned) {
  std::array<uint8_t, 1> byte{};
  transport_->Read(kMagicValue, byte);
  EXPECT_EQ(byte[0], 0xff);
  std::array<uint8_t, 2> half{};
  transport_->Read(kMagicValue, half);
  EXPECT_EQ(half, (std::array<uint8_t, 2>{0xff, 0xff}));
  std::array<uint8_t, 8> wide{};
  transport_->Read(kMagicValue, wide);
  EXPECT_EQ(wide, (std::array<uint8_t, 8>{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}));
  EXPECT_EQ(Read(kMagicValue + 2), kAllOnes) << "unaligned";

  const std::array<uint8_t, 1> ack{kAck};
  transport_->Write(kStatus, ack);
  const std::array<uint8_t, 8> ack8{kAck, 0, 0, 0, 0, 0, 0, 0};
  transport_->Write(kStatus, ack8);
  EXPECT_EQ(Read(kStatus), 0u);
  EXPECT_GE(transport_->counters().invalid_accesses.load(), 6u);
}

TEST_F(MmioTransportTest, ReadsTheConfigSpaceAtAnyWidthInsideItsBounds) {
  std::array<uint8_t, 1> byte{};
  transport_->Read(kConfig + 7, byte);
  EXPECT_EQ(byte[0], 8);
  std::array<uint8_t, 2> half{};
  transport_->Read(kConfig + 1, half);
  EXPECT_EQ(half, (std::array<uint8_t, 2>{2, 3}));
  std::array<uint8_t, 8> all{};
  transport_->Read(kConfig, all);
  EXPECT_EQ(all, device_->config);
}

TEST_F(MmioTransportTest, ReadsAllOnesOutsideTheConfigSpace) {
  std::array<uint8_t, 4> crossing{};
  transport_->Read(kConfig + 6, crossing);  // 2 bytes inside, 2 outside
  EXPECT_EQ(crossing, (std::array<uint8_t, 4>{0xff, 0xff, 0xff, 0xff}));
  std::array<uint8_t, 4> past_window{};
  transport_->Read(0x1fe, past_window);
  EXPECT_EQ(past_window, (std::array<uint8_t, 4>{0xff, 0xff, 0xff, 0xff}));
  transport_->Read(0x200, past_window);
  EXPECT_EQ(past_window, (std::array<uint8_t, 4>{0xff, 0xff, 0xff, 0xff}));
  transport_->Read(~uint64_t{0}, past_window);
  EXPECT_EQ(past_window, (std::array<uint8_t, 4>{0xff, 0xff, 0xff, 0xff}));
}

TEST_F(MmioTransportTest, PassesConfigWritesToTheDeviceRelativeToTheConfigSpace) {
  const std::array<uint8_t, 2> data{0xab, 0xcd};
  transport_->Write(kConfig + 4, data);
  transport_->Write(0x1ff, data);  // passes the window: dropped
  ASSERT_EQ(device_->config_writes.size(), 1u);
  EXPECT_EQ(device_->config_writes[0].offset, 4u);
  EXPECT_EQ(device_->config_writes[0].data, (std::vector<uint8_t>{0xab, 0xcd}));
}

// --- Notifications and interrupts. ---

TEST_F(MmioTransportTest, RoutesQueueNotifyToTheDevice) {
  Start();
  Write(kQueueNotify, 1);
  ASSERT_TRUE(transport_->HandleNotify(0).ok());
  EXPECT_EQ(device_->processed, (std::vector<size_t>{1, 0}));
  EXPECT_EQ(transport_->counters().notifications.load(), 2u);
}

TEST_F(MmioTransportTest, IgnoresNotificationsBeforeActivationAndForUnknownQueues) {
  Write(kQueueNotify, 0);
  ASSERT_EQ(Negotiate(kFeatureVersion1), kAck | kDriver | kFeaturesOk);
  ASSERT_TRUE(transport_->HandleNotify(0).ok());
  SetUpQueue(0, 256, kDescTable, kAvailRing, kUsedRing);
  Write(kStatus, kAck | kDriver | kFeaturesOk | kDriverOk);
  Write(kQueueNotify, 2);
  ASSERT_TRUE(transport_->HandleNotify(0xffff'ffff).ok());
  EXPECT_TRUE(device_->processed.empty());
  EXPECT_EQ(transport_->counters().ignored_notifications.load(), 4u);
}

TEST_F(MmioTransportTest, RaisesTheInterruptForUsedBuffersUntilAcknowledged) {
  device_->signal_on_process = true;
  Start();
  ASSERT_TRUE(transport_->HandleNotify(0).ok());
  EXPECT_EQ(Read(kInterruptStatus), 1u);
  EXPECT_EQ(irqs_, 1);
  EXPECT_EQ(transport_->interrupt_status(), 1u);
  Write(kInterruptAck, 2);  // not the pending bit
  EXPECT_EQ(Read(kInterruptStatus), 1u);
  Write(kInterruptAck, 1);
  EXPECT_EQ(Read(kInterruptStatus), 0u);
  EXPECT_EQ(transport_->counters().interrupts.load(), 1u);
}

TEST_F(MmioTransportTest, TurnsAProcessingErrorIntoDeviceNeedsReset) {
  device_->fail_processing = true;
  Start();
  Result<void> notified = transport_->HandleNotify(0);
  ASSERT_FALSE(notified.ok());
  EXPECT_EQ(notified.error().code(), EINVAL);
  EXPECT_EQ(Read(kStatus), kAck | kDriver | kFeaturesOk | kDriverOk | kNeedsReset);
  EXPECT_EQ(Read(kInterruptStatus), 2u);
  EXPECT_FALSE(queue(0).active());
  EXPECT_EQ(transport_->counters().device_errors.load(), 1u);

  // Broken until reset: further notifications are ignored.
  ASSERT_TRUE(transport_->HandleNotify(0).ok());
  EXPECT_EQ(device_->processed.size(), 1u);
  // The driver echoing NEEDS_RESET in a status write is harmless; FAILED is legal.
  Write(kStatus, kAck | kDriver | kFeaturesOk | kDriverOk | kNeedsReset | kFailed);
  EXPECT_EQ(Read(kStatus), kAck | kDriver | kFeaturesOk | kDriverOk | kNeedsReset | kFailed);

  device_->fail_processing = false;
  Write(kStatus, 0);
  Start();
  EXPECT_EQ(Read(kStatus), kAck | kDriver | kFeaturesOk | kDriverOk);
  ASSERT_TRUE(transport_->HandleNotify(0).ok());
}

TEST(KernelCmdlineFragment, DeclaresTheDeviceForLinux) {
  EXPECT_EQ(KernelCmdlineFragment(0x200, GuestAddress(0xd000'0000), 5),
            "virtio_mmio.device=512@0xd0000000:5");
  EXPECT_EQ(KernelCmdlineFragment(MmioTransport::kWindowSize, GuestAddress(0xd000'1000), 12),
            "virtio_mmio.device=512@0xd0001000:12");
}

}  // namespace
}  // namespace hull::vmm::virtio
