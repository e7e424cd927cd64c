// A driver talking to real devices through the MMIO transport, register by
// register and ring by ring, the way Linux's virtio_mmio and virtio_blk /
// virtio_rng drivers do.

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "hull/vmm/virtio/block/block_device.h"
#include "hull/vmm/virtio/mmio_transport.h"
#include "hull/vmm/virtio/rng/rng_device.h"
#include "split_ring.h"

namespace hull::vmm::virtio {
namespace {

using testing::Bytes;
using testing::CountingIrqLine;
using testing::kAvailRing;
using testing::kDataBase;
using testing::kDescTable;
using testing::kIndirectTable;
using testing::kUsedRing;
using testing::MakeMemory;
using testing::Peek;
using testing::Poke;
using testing::SplitRing;

class Driver {
 public:
  explicit Driver(MmioTransport& transport) : transport_(transport) {}

  uint32_t Read(uint64_t offset) {
    std::array<uint8_t, 4> data{};
    transport_.Read(offset, data);
    uint32_t value;
    std::memcpy(&value, data.data(), 4);
    return value;
  }
  void Write(uint64_t offset, uint32_t value) {
    std::array<uint8_t, 4> data;
    std::memcpy(data.data(), &value, 4);
    transport_.Write(offset, data);
  }
  uint64_t ReadConfig64(uint64_t offset) {  // as vm_get does: two 32-bit reads
    return Read(0x100 + offset) | uint64_t{Read(0x100 + offset + 4)} << 32;
  }

  // drivers/virtio/virtio_mmio.c + virtio.c: probe, negotiate, set up queue 0.
  uint64_t Probe(uint32_t expected_device_id, const SplitRing& ring) {
    EXPECT_EQ(Read(0x000), 0x74726976u);
    EXPECT_EQ(Read(0x004), 2u);
    EXPECT_EQ(Read(0x008), expected_device_id);
    Write(0x070, 0);
    Write(0x070, 1);
    Write(0x070, 3);
    Write(0x014, 1);
    uint64_t offered = uint64_t{Read(0x010)} << 32;
    Write(0x014, 0);
    offered |= Read(0x010);
    Write(0x024, 1);
    Write(0x020, static_cast<uint32_t>(offered >> 32));
    Write(0x024, 0);
    Write(0x020, static_cast<uint32_t>(offered));
    Write(0x070, 0xb);
    EXPECT_EQ(Read(0x070), 0xbu);
    Write(0x030, 0);
    EXPECT_EQ(Read(0x044), 0u);
    EXPECT_GE(Read(0x034), ring.size());
    Write(0x038, ring.size());
    Write(0x080, static_cast<uint32_t>(kDescTable.raw()));
    Write(0x084, 0);
    Write(0x090, static_cast<uint32_t>(kAvailRing.raw()));
    Write(0x094, 0);
    Write(0x0a0, static_cast<uint32_t>(kUsedRing.raw()));
    Write(0x0a4, 0);
    Write(0x044, 1);
    Write(0x070, 0xf);
    EXPECT_EQ(Read(0x070), 0xfu);
    return offered;
  }
  // vm_interrupt: read the status, acknowledge it.
  uint32_t TakeInterrupt() {
    const uint32_t status = Read(0x060);
    Write(0x064, status);
    return status;
  }

 private:
  MmioTransport& transport_;
};

TEST(EndToEnd, ALinuxStyleDriverReadsAndWritesADiskThroughIndirectDescriptors) {
  const GuestMemory memory = MakeMemory();
  UniqueFd image(::memfd_create("hull-e2e-disk", MFD_CLOEXEC));
  ASSERT_TRUE(image.valid());
  std::vector<uint8_t> content(16 * 512);
  for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<uint8_t>(i / 512 + 1);
  ASSERT_EQ(::write(image.Get(), content.data(), content.size()),
            static_cast<ssize_t>(content.size()));
  Result<block::Disk> disk = block::Disk::FromFd(std::move(image), "e2e", false);
  ASSERT_TRUE(disk.ok());
  Result<std::unique_ptr<block::BlockDevice>> blk = block::BlockDevice::Create(std::move(*disk));
  ASSERT_TRUE(blk.ok());
  int irqs = 0;
  MmioTransport transport("virtio-blk0", std::move(*blk), memory,
                          std::make_unique<CountingIrqLine>(&irqs));
  Driver driver(transport);
  SplitRing ring(memory, 128);

  const uint64_t features = driver.Probe(kDeviceIdBlock, ring);
  EXPECT_NE(features & kFeatureIndirectDesc, 0u);
  EXPECT_NE(features & kFeatureEventIdx, 0u);
  EXPECT_EQ(driver.ReadConfig64(0), 16u) << "capacity";

  // READ sectors 2..3 as one indirect table: header, two data pages, status.
  Poke<uint32_t>(memory, kDataBase, block::kTypeIn);
  Poke<uint64_t>(memory, kDataBase + 8, 2);
  ring.SetDescriptor(0, kDataBase, 16, kDescFlagNext, 1, kIndirectTable);
  ring.SetDescriptor(1, kDataBase + 0x1000, 512, kDescFlagWrite | kDescFlagNext, 2, kIndirectTable);
  ring.SetDescriptor(2, kDataBase + 0x2000, 512, kDescFlagWrite | kDescFlagNext, 3, kIndirectTable);
  ring.SetDescriptor(3, kDataBase + 0x100, 1, kDescFlagWrite, 0, kIndirectTable);
  ring.SetDescriptor(0, kIndirectTable.raw(), 4 * 16, kDescFlagIndirect);
  ring.MakeAvailable(0);
  ASSERT_TRUE(transport.HandleNotify(0).ok());  // the ioeventfd fired

  EXPECT_EQ(irqs, 1);
  EXPECT_EQ(driver.TakeInterrupt(), kInterruptVring);
  EXPECT_EQ(ring.UsedIdx(), 1);
  EXPECT_EQ(ring.Used(0), (testing::UsedElem{0, 1025}));
  EXPECT_EQ(Peek<uint8_t>(memory, kDataBase + 0x100), block::kStatusOk);
  EXPECT_EQ(Bytes(memory, kDataBase + 0x1000, 512), std::vector<uint8_t>(512, 3));
  EXPECT_EQ(Bytes(memory, kDataBase + 0x2000, 512), std::vector<uint8_t>(512, 4));
  EXPECT_EQ(ring.AvailEvent(), 1) << "the device asked to hear of the next request";

  // The driver suppresses the next interrupt (used_event far ahead) and
  // writes through the MMIO QueueNotify register instead.
  ring.SetUsedEvent(100);
  Poke<uint32_t>(memory, kDataBase, block::kTypeOut);
  Poke<uint64_t>(memory, kDataBase + 8, 15);
  ring.SetDescriptor(5, kDataBase, 16, kDescFlagNext, 6);
  ring.SetDescriptor(6, kDataBase + 0x1000, 512, kDescFlagNext, 7);
  ring.SetDescriptor(7, kDataBase + 0x100, 1, kDescFlagWrite);
  ring.MakeAvailable(5);
  driver.Write(0x050, 0);
  EXPECT_EQ(ring.UsedIdx(), 2);
  EXPECT_EQ(irqs, 1) << "suppressed by used_event";
  const auto* device = dynamic_cast<const block::BlockDevice*>(&transport.device());
  ASSERT_NE(device, nullptr);
  EXPECT_EQ(device->metrics().write_requests.load(), 1u);
  EXPECT_EQ(transport.counters().notifications.load(), 2u);
}

TEST(EndToEnd, ALinuxStyleDriverGetsEntropy) {
  const GuestMemory memory = MakeMemory();
  int irqs = 0;
  MmioTransport transport("virtio-rng0", std::make_unique<rng::RngDevice>(), memory,
                          std::make_unique<CountingIrqLine>(&irqs));
  Driver driver(transport);
  SplitRing ring(memory, 64);
  driver.Probe(kDeviceIdRng, ring);
  ring.AddChain({{kDataBase, 64, true}});
  ASSERT_TRUE(transport.HandleNotify(0).ok());
  EXPECT_EQ(ring.Used(0).len, 64u);
  EXPECT_EQ(driver.TakeInterrupt(), kInterruptVring);
  EXPECT_EQ(driver.Read(0x060), 0u);

  // Unloading the driver resets the device; it forgets everything.
  driver.Write(0x070, 0);
  EXPECT_EQ(driver.Read(0x070), 0u);
  ring.AddChain({{kDataBase, 64, true}});
  ASSERT_TRUE(transport.HandleNotify(0).ok());
  EXPECT_EQ(ring.UsedIdx(), 1);
}

}  // namespace
}  // namespace hull::vmm::virtio
