#include "hull/vmm/virtio/block/block_device.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "split_ring.h"

namespace hull::vmm::virtio::block {
namespace {

using virtio::testing::Buffer;
using virtio::testing::Bytes;
using virtio::testing::FakeInterrupt;
using virtio::testing::Fill;
using virtio::testing::kDataBase;
using virtio::testing::kModernFeatures;
using virtio::testing::MakeMemory;
using virtio::testing::Peek;
using virtio::testing::Poke;
using virtio::testing::SplitRing;

constexpr uint64_t kSectors = 64;
// Where the test puts a request's parts.
constexpr uint64_t kHeader = kDataBase;
constexpr uint64_t kData = kDataBase + 0x1000;
constexpr uint64_t kStatusAt = kDataBase + 0x800;

// The image's byte at offset o is (o / 512 + o) % 251: no two sectors alike.
std::vector<uint8_t> Pattern(uint64_t first_sector, uint64_t sectors) {
  std::vector<uint8_t> bytes(sectors * kSectorSize);
  for (size_t i = 0; i < bytes.size(); ++i) {
    const uint64_t offset = first_sector * kSectorSize + i;
    bytes[i] = static_cast<uint8_t>((offset / kSectorSize + offset) % 251);
  }
  return bytes;
}

// A temporary image file, removed at the end of the test.
class TempImage {
 public:
  explicit TempImage(uint64_t bytes) {
    const char* dir = std::getenv("TMPDIR");
    path_ = std::string(dir != nullptr ? dir : "/tmp") + "/hull-blk-test-XXXXXX";
    const int fd = ::mkstemp(path_.data());
    HULL_CHECK(fd >= 0);
    std::vector<uint8_t> content = Pattern(0, bytes / kSectorSize + 1);
    content.resize(bytes);
    HULL_CHECK(::write(fd, content.data(), content.size()) == static_cast<ssize_t>(bytes));
    ::close(fd);
  }
  ~TempImage() { ::unlink(path_.c_str()); }
  const std::string& path() const { return path_; }

  std::vector<uint8_t> Read(uint64_t offset, size_t len) const {
    std::vector<uint8_t> out(len);
    const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    HULL_CHECK(fd >= 0);
    HULL_CHECK(::pread(fd, out.data(), len, static_cast<off_t>(offset)) ==
               static_cast<ssize_t>(len));
    ::close(fd);
    return out;
  }

 private:
  std::string path_;
};

class BlockDeviceTest : public ::testing::Test {
 protected:
  explicit BlockDeviceTest(bool read_only = false, uint64_t image_bytes = kSectors * kSectorSize)
      : image_(image_bytes), memory_(MakeMemory()), ring_(memory_, 16) {
    Result<Disk> disk = Disk::Open(image_.path(), read_only);
    HULL_CHECK(disk.ok());
    BlockOptions options;
    options.queue_size = 16;
    options.serial = "hull-test-disk";
    Result<std::unique_ptr<BlockDevice>> device = BlockDevice::Create(std::move(*disk), options);
    HULL_CHECK(device.ok());
    device_ = std::move(*device);
    queues_.push_back(ring_.MakeQueue(kModernFeatures, 16));
    HULL_CHECK(device_->Activate(memory_, queues_, kModernFeatures, interrupt_).ok());
  }

  void WriteHeader(uint32_t type, uint64_t sector) {
    Poke<uint32_t>(memory_, kHeader, type);
    Poke<uint32_t>(memory_, kHeader + 4, 0);
    Poke<uint64_t>(memory_, kHeader + 8, sector);
    Poke<uint8_t>(memory_, kStatusAt, 0xee);  // so that a written status shows
  }

  // Processes everything available; returns the first new used element.
  virtio::testing::UsedElem Process() {
    const uint16_t before = ring_.UsedIdx();
    EXPECT_TRUE(device_->ProcessQueue(0).ok());
    EXPECT_EQ(ring_.UsedIdx(), static_cast<uint16_t>(before + 1));
    return ring_.Used(before);
  }
  uint8_t Status() { return Peek<uint8_t>(memory_, kStatusAt); }

  TempImage image_;
  GuestMemory memory_;
  SplitRing ring_;
  std::vector<Queue> queues_;
  FakeInterrupt interrupt_;
  std::unique_ptr<BlockDevice> device_;
};

TEST_F(BlockDeviceTest, ReadsSectorsIntoTheDriversBuffers) {
  WriteHeader(kTypeIn, 3);
  const uint16_t head =
      ring_.AddChain({{kHeader, 16, false}, {kData, 1024, true}, {kStatusAt, 1, true}});
  const auto used = Process();
  EXPECT_EQ(used, (virtio::testing::UsedElem{head, 1024 + 1}));
  EXPECT_EQ(Status(), kStatusOk);
  EXPECT_EQ(Bytes(memory_, kData, 1024), Pattern(3, 2));
  EXPECT_EQ(device_->metrics().read_requests.load(), 1u);
  EXPECT_EQ(device_->metrics().read_bytes.load(), 1024u);
  EXPECT_EQ(interrupt_.used_buffer, 1);
}

TEST_F(BlockDeviceTest, ReadsIntoBuffersSplitAnyWay) {
  WriteHeader(kTypeIn, 10);
  // Data in three pieces, the last one carrying the status byte too.
  ring_.AddChain({{kHeader, 16, false},
                  {kData, 100, true},
                  {kData + 0x1000, 400, true},
                  {kData + 0x2000, 13, true}});
  EXPECT_EQ(Process().len, 513u);
  std::vector<uint8_t> got = Bytes(memory_, kData, 100);
  const std::vector<uint8_t> more = Bytes(memory_, kData + 0x1000, 400);
  const std::vector<uint8_t> last = Bytes(memory_, kData + 0x2000, 13);
  got.insert(got.end(), more.begin(), more.end());
  got.insert(got.end(), last.begin(), last.end() - 1);
  EXPECT_EQ(got, Pattern(10, 1));
  EXPECT_EQ(last.back(), kStatusOk);
}

TEST_F(BlockDeviceTest, WritesSectorsToTheImage) {
  WriteHeader(kTypeOut, 7);
  const std::vector<uint8_t> data(1024, 0x5a);
  Fill(memory_, kData, data);
  ring_.AddChain({{kHeader, 16, false}, {kData, 1024, false}, {kStatusAt, 1, true}});
  EXPECT_EQ(Process().len, 1u);
  EXPECT_EQ(Status(), kStatusOk);
  EXPECT_EQ(image_.Read(7 * kSectorSize, 1024), data);
  EXPECT_EQ(image_.Read(6 * kSectorSize, 512), Pattern(6, 1)) << "neighbours untouched";
  EXPECT_EQ(image_.Read(9 * kSectorSize, 512), Pattern(9, 1));
  EXPECT_EQ(device_->metrics().write_bytes.load(), 1024u);
}

TEST_F(BlockDeviceTest, Flushes) {
  WriteHeader(kTypeFlush, 0);
  ring_.AddChain({{kHeader, 16, false}, {kStatusAt, 1, true}});
  EXPECT_EQ(Process().len, 1u);
  EXPECT_EQ(Status(), kStatusOk);
  EXPECT_EQ(device_->metrics().flush_requests.load(), 1u);
}

TEST_F(BlockDeviceTest, AnswersGetIdWithTheSerialPaddedWithZeros) {
  WriteHeader(kTypeGetId, 0);
  Fill(memory_, kData, std::vector<uint8_t>(20, 0xee));
  ring_.AddChain({{kHeader, 16, false}, {kData, 20, true}, {kStatusAt, 1, true}});
  EXPECT_EQ(Process().len, 21u);
  EXPECT_EQ(Status(), kStatusOk);
  std::vector<uint8_t> expected(20, 0);
  const std::string serial = "hull-test-disk";
  std::copy(serial.begin(), serial.end(), expected.begin());
  EXPECT_EQ(Bytes(memory_, kData, 20), expected);
}

TEST_F(BlockDeviceTest, AnswersGetIdIntoAShortBuffer) {
  WriteHeader(kTypeGetId, 0);
  ring_.AddChain({{kHeader, 16, false}, {kData, 4, true}, {kStatusAt, 1, true}});
  EXPECT_EQ(Process().len, 5u);
  EXPECT_EQ(Bytes(memory_, kData, 4), (std::vector<uint8_t>{'h', 'u', 'l', 'l'}));
}

TEST_F(BlockDeviceTest, AnswersAnOutOfRangeSectorWithIoErrAndTouchesNothing) {
  WriteHeader(kTypeOut, kSectors - 1);
  Fill(memory_, kData, std::vector<uint8_t>(1024, 0x77));
  ring_.AddChain({{kHeader, 16, false}, {kData, 1024, false}, {kStatusAt, 1, true}});
  EXPECT_EQ(Process().len, 1u);
  EXPECT_EQ(Status(), kStatusIoErr);
  EXPECT_EQ(image_.Read(0, kSectors * kSectorSize), Pattern(0, kSectors));
  EXPECT_EQ(device_->metrics().malformed_requests.load(), 1u);
}

TEST_F(BlockDeviceTest, AnswersAnUnsupportedTypeWithUnsupp) {
  WriteHeader(11 /*DISCARD*/, 0);
  ring_.AddChain({{kHeader, 16, false}, {kData, 16, false}, {kStatusAt, 1, true}});
  EXPECT_EQ(Process().len, 1u);
  EXPECT_EQ(Status(), kStatusUnsupported);
  EXPECT_EQ(device_->metrics().unsupported_requests.load(), 1u);
}

TEST_F(BlockDeviceTest, WritesIoErrIntoTheLastByteOfAMalformedChain) {
  WriteHeader(kTypeIn, 0);
  ring_.AddChain({{kHeader, 16, false}, {kData, 100, true}, {kStatusAt, 1, true}});
  EXPECT_EQ(Process().len, 1u);
  EXPECT_EQ(Status(), kStatusIoErr);
  EXPECT_EQ(device_->metrics().malformed_requests.load(), 1u);
  EXPECT_EQ(device_->metrics().dropped_requests.load(), 0u);
}

TEST_F(BlockDeviceTest, ReturnsAChainWithoutAStatusByteWithLengthZero) {
  WriteHeader(kTypeOut, 0);
  const uint16_t head = ring_.AddChain({{kHeader, 16, false}, {kData, 512, false}});
  EXPECT_EQ(Process(), (virtio::testing::UsedElem{head, 0}));
  EXPECT_EQ(device_->metrics().dropped_requests.load(), 1u);
  EXPECT_EQ(image_.Read(0, 512), Pattern(0, 1));
}

TEST_F(BlockDeviceTest, ServesEveryAvailableRequestThenInterruptsOnce) {
  WriteHeader(kTypeIn, 0);
  for (int i = 0; i < 5; ++i) {
    ring_.AddChain({{kHeader, 16, false}, {kData, 512, true}, {kStatusAt, 1, true}});
  }
  ASSERT_TRUE(device_->ProcessQueue(0).ok());
  EXPECT_EQ(ring_.UsedIdx(), 5);
  EXPECT_EQ(interrupt_.used_buffer, 1);
}

TEST_F(BlockDeviceTest, ReportsABrokenRingAsADeviceError) {
  ring_.SetDescriptor(0, kHeader, 16, kDescFlagNext, 0);  // a cycle
  ring_.MakeAvailable(0);
  EXPECT_EQ(device_->ProcessQueue(0).error().code(), ELOOP);
}

TEST_F(BlockDeviceTest, DoesNothingAfterReset) {
  device_->Reset();
  WriteHeader(kTypeIn, 0);
  ring_.AddChain({{kHeader, 16, false}, {kData, 512, true}, {kStatusAt, 1, true}});
  ASSERT_TRUE(device_->ProcessQueue(0).ok());
  EXPECT_EQ(ring_.UsedIdx(), 0);
}

TEST_F(BlockDeviceTest, OffersFlushSegMaxAndBlockSize) {
  EXPECT_EQ(device_->device_id(), 2u);
  EXPECT_EQ(device_->device_features(), kFeatureFlush | kFeatureSegMax | kFeatureBlkSize);
  ASSERT_EQ(device_->queue_max_sizes().size(), 1u);
  EXPECT_EQ(device_->queue_max_sizes()[0], 16);
}

TEST_F(BlockDeviceTest, DescribesTheDiskInItsConfigSpace) {
  std::array<uint8_t, 8> capacity{};
  device_->ReadConfig(kConfigCapacityOffset, capacity);
  EXPECT_EQ(capacity, (std::array<uint8_t, 8>{kSectors, 0, 0, 0, 0, 0, 0, 0}));
  std::array<uint8_t, 4> seg_max{};
  device_->ReadConfig(kConfigSegMaxOffset, seg_max);
  EXPECT_EQ(seg_max, (std::array<uint8_t, 4>{14, 0, 0, 0}));
  std::array<uint8_t, 4> blk_size{};
  device_->ReadConfig(kConfigBlkSizeOffset, blk_size);
  EXPECT_EQ(blk_size, (std::array<uint8_t, 4>{0, 2, 0, 0}));
  std::array<uint8_t, 2> past{};
  device_->ReadConfig(kConfigSize - 1, past);
  EXPECT_EQ(past, (std::array<uint8_t, 2>{0xff, 0xff}));
}

class ReadOnlyBlockDeviceTest : public BlockDeviceTest {
 protected:
  ReadOnlyBlockDeviceTest() : BlockDeviceTest(/*read_only=*/true) {}
};

TEST_F(ReadOnlyBlockDeviceTest, OffersTheReadOnlyFeature) {
  EXPECT_NE(device_->device_features() & kFeatureRo, 0u);
}

TEST_F(ReadOnlyBlockDeviceTest, RejectsWritesWithIoErrAndLeavesTheImageUnchanged) {
  WriteHeader(kTypeOut, 0);
  Fill(memory_, kData, std::vector<uint8_t>(512, 0x11));
  ring_.AddChain({{kHeader, 16, false}, {kData, 512, false}, {kStatusAt, 1, true}});
  EXPECT_EQ(Process().len, 1u);
  EXPECT_EQ(Status(), kStatusIoErr);
  EXPECT_EQ(image_.Read(0, kSectors * kSectorSize), Pattern(0, kSectors));
  EXPECT_EQ(device_->metrics().read_only_rejections.load(), 1u);
}

TEST_F(ReadOnlyBlockDeviceTest, StillReadsAndFlushes) {
  WriteHeader(kTypeIn, 1);
  ring_.AddChain({{kHeader, 16, false}, {kData, 512, true}, {kStatusAt, 1, true}});
  EXPECT_EQ(Process().len, 513u);
  EXPECT_EQ(Bytes(memory_, kData, 512), Pattern(1, 1));
  WriteHeader(kTypeFlush, 0);
  ring_.AddChain({{kHeader, 16, false}, {kStatusAt, 1, true}});
  EXPECT_EQ(Process().len, 1u);
  EXPECT_EQ(Status(), kStatusOk);
}

class OddSizedImageTest : public BlockDeviceTest {
 protected:
  OddSizedImageTest() : BlockDeviceTest(false, 4 * kSectorSize + 100) {}
};

TEST_F(OddSizedImageTest, HidesTheTrailingPartialSector) {
  EXPECT_EQ(device_->disk().capacity_sectors(), 4u);
  WriteHeader(kTypeIn, 4);
  ring_.AddChain({{kHeader, 16, false}, {kData, 512, true}, {kStatusAt, 1, true}});
  Process();
  EXPECT_EQ(Status(), kStatusIoErr);
}

TEST(BlockDeviceCreate, RejectsALongSerialAndABadQueueSize) {
  TempImage image(kSectorSize);
  BlockOptions options;
  options.serial = std::string(21, 'x');
  Result<Disk> disk = Disk::Open(image.path(), true);
  ASSERT_TRUE(disk.ok());
  EXPECT_EQ(BlockDevice::Create(std::move(*disk), options).error().code(), EINVAL);

  disk = Disk::Open(image.path(), true);
  ASSERT_TRUE(disk.ok());
  options = {};
  options.queue_size = 100;
  EXPECT_EQ(BlockDevice::Create(std::move(*disk), options).error().code(), EINVAL);
}

TEST(BlockDeviceCreate, DerivesAStableSerialFromTheImage) {
  TempImage image(kSectorSize);
  std::array<uint8_t, kIdBytes> serials[2];
  for (auto& serial : serials) {
    Result<Disk> disk = Disk::Open(image.path(), true);
    ASSERT_TRUE(disk.ok());
    Result<std::unique_ptr<BlockDevice>> device = BlockDevice::Create(std::move(*disk));
    ASSERT_TRUE(device.ok());
    serial = (*device)->serial();
  }
  EXPECT_EQ(serials[0], serials[1]);
  EXPECT_NE(serials[0][0], 0);
}

}  // namespace
}  // namespace hull::vmm::virtio::block
