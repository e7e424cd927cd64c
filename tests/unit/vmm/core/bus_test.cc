#include "hull/vmm/core/bus.h"

#include <gtest/gtest.h>

#include <array>
#include <cerrno>
#include <limits>
#include <string>
#include <thread>
#include <vector>

namespace hull::vmm {
namespace {

constexpr uint64_t kTop = std::numeric_limits<uint64_t>::max();

class FakeDevice final : public BusDevice {
 public:
  explicit FakeDevice(std::string name) : name_(std::move(name)) {}
  std::string_view name() const override { return name_; }
  void Read(uint64_t offset, std::span<uint8_t> data) override {
    last_offset = offset;
    last_size = data.size();
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(offset + i);
    ++reads;
  }
  void Write(uint64_t offset, std::span<const uint8_t> data) override {
    last_offset = offset;
    last_size = data.size();
    written.assign(data.begin(), data.end());
    ++writes;
  }

  std::string name_;
  uint64_t last_offset = ~uint64_t{0};
  size_t last_size = 0;
  std::vector<uint8_t> written;
  int reads = 0;
  int writes = 0;
};

class BusTest : public ::testing::Test {
 protected:
  BusMetrics metrics_;
  Bus bus_{"pio", metrics_};
  FakeDevice serial_{"serial"};
  FakeDevice i8042_{"i8042"};
};

TEST_F(BusTest, RejectsZeroLength) {
  Result<void> result = bus_.Register(0x3f8, 0, &serial_);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), EINVAL);
  EXPECT_NE(result.error().message().find("serial"), std::string::npos);
}

TEST_F(BusTest, RejectsARangePassingTheTopOfTheAddressSpace) {
  EXPECT_FALSE(bus_.Register(kTop - 1, 3, &serial_).ok());
  EXPECT_FALSE(bus_.Register(kTop, 2, &serial_).ok());
}

TEST_F(BusTest, AcceptsARangeEndingExactlyAtTheTop) {
  ASSERT_TRUE(bus_.Register(kTop - 7, 8, &serial_).ok());
  std::array<uint8_t, 8> data{};
  EXPECT_TRUE(bus_.Read(kTop - 7, data));
  EXPECT_EQ(serial_.last_offset, 0u);
  std::array<uint8_t, 1> last{};
  EXPECT_TRUE(bus_.Read(kTop, last));
  EXPECT_EQ(serial_.last_offset, 7u);
}

TEST_F(BusTest, RejectsANullDevice) { EXPECT_FALSE(bus_.Register(0x60, 1, nullptr).ok()); }

TEST_F(BusTest, RejectsOverlapsAndNamesBothDevices) {
  ASSERT_TRUE(bus_.Register(0x3f8, 8, &serial_).ok());
  for (auto [base, len] : std::vector<std::pair<uint64_t, uint64_t>>{
           {0x3f8, 8}, {0x3f0, 9}, {0x3ff, 1}, {0x3fa, 1}, {0x3f0, 0x100}}) {
    Result<void> result = bus_.Register(base, len, &i8042_);
    ASSERT_FALSE(result.ok()) << base << "+" << len;
    EXPECT_EQ(result.error().code(), EINVAL);
    EXPECT_NE(result.error().message().find("serial"), std::string::npos);
    EXPECT_NE(result.error().message().find("i8042"), std::string::npos);
  }
}

TEST_F(BusTest, AcceptsAdjacentRanges) {
  ASSERT_TRUE(bus_.Register(0x3f8, 8, &serial_).ok());
  EXPECT_TRUE(bus_.Register(0x3f0, 8, &i8042_).ok());
  FakeDevice after("after");
  EXPECT_TRUE(bus_.Register(0x400, 1, &after).ok());
}

TEST_F(BusTest, DispatchesToTheDeviceWithTheOffsetInItsRange) {
  ASSERT_TRUE(bus_.Register(0x60, 5, &i8042_).ok());
  ASSERT_TRUE(bus_.Register(0x3f8, 8, &serial_).ok());
  std::array<uint8_t, 1> data{};
  EXPECT_TRUE(bus_.Read(0x3fd, data));
  EXPECT_EQ(serial_.last_offset, 5u);
  EXPECT_EQ(data[0], 5);
  const std::array<uint8_t, 1> command{0xFE};
  EXPECT_TRUE(bus_.Write(0x64, command));
  EXPECT_EQ(i8042_.last_offset, 4u);
  EXPECT_EQ(i8042_.written, std::vector<uint8_t>{0xFE});
}

TEST_F(BusTest, RequiresTheWholeAccessInsideOneDevice) {
  ASSERT_TRUE(bus_.Register(0x3f8, 8, &serial_).ok());
  std::array<uint8_t, 2> two{};
  EXPECT_TRUE(bus_.Read(0x3fe, two)) << "the last two bytes";
  EXPECT_FALSE(bus_.Read(0x3ff, two)) << "straddles the end";
  EXPECT_EQ(two[0], 0xFF);
  EXPECT_EQ(two[1], 0xFF);
  EXPECT_FALSE(bus_.Read(0x3f7, two)) << "straddles the start";
  std::array<uint8_t, 4> four{};
  EXPECT_FALSE(bus_.Write(0x3fd, four));
  EXPECT_EQ(serial_.writes, 0);
}

TEST_F(BusTest, UnhandledReadsAreAllOnesAndCounted) {
  ASSERT_TRUE(bus_.Register(0x3f8, 8, &serial_).ok());
  std::array<uint8_t, 4> data{1, 2, 3, 4};
  EXPECT_FALSE(bus_.Read(0x80, data));
  EXPECT_EQ(data, (std::array<uint8_t, 4>{0xFF, 0xFF, 0xFF, 0xFF}));
  EXPECT_FALSE(bus_.Read(0x400, data)) << "just past the device";
  const std::array<uint8_t, 1> byte{0};
  EXPECT_FALSE(bus_.Write(0x80, byte));
  EXPECT_EQ(metrics_.unhandled_reads.load(), 2u);
  EXPECT_EQ(metrics_.unhandled_writes.load(), 1u);
}

TEST_F(BusTest, AnEmptyBusHandlesNothing) {
  std::array<uint8_t, 1> data{};
  EXPECT_FALSE(bus_.Read(0, data));
  EXPECT_EQ(data[0], 0xFF);
}

TEST_F(BusTest, AccessesOfNoBytesOrMoreThanEightAreUnhandled) {
  ASSERT_TRUE(bus_.Register(0, 64, &serial_).ok());
  std::array<uint8_t, 9> nine{};
  EXPECT_FALSE(bus_.Read(0, nine));
  EXPECT_FALSE(bus_.Read(0, std::span<uint8_t>()));
  EXPECT_EQ(serial_.reads, 0);
}

TEST_F(BusTest, RefusesRegistrationOnceServing) {
  ASSERT_TRUE(bus_.Register(0x3f8, 8, &serial_).ok());
  std::array<uint8_t, 1> data{};
  (void)bus_.Read(0x3f8, data);
  Result<void> late = bus_.Register(0x60, 5, &i8042_);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code(), EBUSY);
}

// Touches nothing but an atomic, so that concurrent calls are race-free.
class CountingDevice final : public BusDevice {
 public:
  std::string_view name() const override { return "counting"; }
  void Read(uint64_t, std::span<uint8_t>) override { ++reads; }
  void Write(uint64_t, std::span<const uint8_t>) override {}
  std::atomic<int> reads{0};
};

TEST_F(BusTest, ServesConcurrentVcpuThreadsWithoutALock) {
  CountingDevice a, b;
  ASSERT_TRUE(bus_.Register(0x1000, 0x100, &a).ok());
  ASSERT_TRUE(bus_.Register(0x2000, 0x100, &b).ok());
  std::vector<std::thread> vcpus;
  for (int t = 0; t < 4; ++t) {
    vcpus.emplace_back([&, t] {
      std::array<uint8_t, 4> data{};
      for (int i = 0; i < 10000; ++i) {
        EXPECT_TRUE(bus_.Read(t % 2 == 0 ? 0x1010 : 0x2020, data));
        EXPECT_FALSE(bus_.Read(0x3000, data));
      }
    });
  }
  for (std::thread& vcpu : vcpus) vcpu.join();
  EXPECT_EQ(a.reads.load() + b.reads.load(), 40000);
  EXPECT_EQ(metrics_.unhandled_reads.load(), 40000u);
}

}  // namespace
}  // namespace hull::vmm
