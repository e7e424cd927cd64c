#include "hull/vmm/kvm/run_page.h"

#include <gtest/gtest.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <vector>

namespace hull::kvm {
namespace {

constexpr size_t kPageBytes = 3 * 4096;   // what KVM_GET_VCPU_MMAP_SIZE reports on x86
constexpr uint64_t kIoDataOffset = 4096;  // where x86 KVM puts PIO data

// A fake kvm_run mapping: the tests play KVM's part.
class RunPageTest : public ::testing::Test {
 protected:
  KvmRun& run() { return page_.run(); }

  void SetIo(uint8_t direction, uint16_t port, uint8_t size, uint32_t count,
             uint64_t offset = kIoDataOffset) {
    run().exit_reason = KVM_EXIT_IO;
    run().io.direction = direction;
    run().io.port = port;
    run().io.size = size;
    run().io.count = count;
    run().io.data_offset = offset;
  }

  void SetMmio(uint64_t addr, uint32_t len, bool is_write) {
    run().exit_reason = KVM_EXIT_MMIO;
    run().mmio.phys_addr = addr;
    run().mmio.len = len;
    run().mmio.is_write = is_write ? 1 : 0;
  }

  alignas(4096) std::array<uint8_t, kPageBytes> storage_ = {};
  RunPage page_{storage_};
};

TEST_F(RunPageTest, DecodesAnOutWithItsBytes) {
  SetIo(KVM_EXIT_IO_OUT, 0x3f8, 1, 2);
  storage_[kIoDataOffset] = 'H';
  storage_[kIoDataOffset + 1] = 'i';
  Result<VcpuExit> exit = page_.DecodeExit();
  ASSERT_TRUE(exit.ok()) << exit.error().ToString();
  const IoOut* out = std::get_if<IoOut>(&*exit);
  ASSERT_NE(out, nullptr) << DescribeExit(*exit);
  EXPECT_EQ(out->port, 0x3f8);
  EXPECT_EQ(out->size, 1);
  EXPECT_EQ(out->count, 2u);
  EXPECT_EQ(std::vector<uint8_t>(out->bytes.begin(), out->bytes.end()),
            (std::vector<uint8_t>{'H', 'i'}));
}

TEST_F(RunPageTest, AnInIsAnsweredAtKvmsDataOffset) {
  SetIo(KVM_EXIT_IO_IN, 0x60, 2, 1);
  Result<VcpuExit> exit = page_.DecodeExit();
  ASSERT_TRUE(exit.ok());
  ASSERT_TRUE(std::holds_alternative<IoIn>(*exit));
  // Unanswered, the guest would read an open bus.
  EXPECT_EQ(storage_[kIoDataOffset], 0xff);
  const std::array<uint8_t, 2> answer = {0x12, 0x34};
  ASSERT_TRUE(page_.SetIoInData(answer).ok());
  EXPECT_EQ(storage_[kIoDataOffset], 0x12);
  EXPECT_EQ(storage_[kIoDataOffset + 1], 0x34);
}

TEST_F(RunPageTest, AnInAnswerOfTheWrongLengthIsRejected) {
  SetIo(KVM_EXIT_IO_IN, 0x60, 1, 1);
  ASSERT_TRUE(page_.DecodeExit().ok());
  const std::array<uint8_t, 2> too_long = {1, 2};
  Result<void> result = page_.SetIoInData(too_long);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), EINVAL);
  EXPECT_EQ(result.error().message(), "SetIoInData: port 0x60 wants 1 bytes, got 2");
  EXPECT_FALSE(page_.SetIoInData({}).ok());
}

TEST_F(RunPageTest, AnswersNeedAPendingExitOfTheirKind) {
  const std::array<uint8_t, 1> byte = {1};
  EXPECT_FALSE(page_.SetIoInData(byte).ok());
  EXPECT_FALSE(page_.SetMmioReadData(byte).ok());

  SetMmio(0x10010, 1, /*is_write=*/false);
  ASSERT_TRUE(page_.DecodeExit().ok());
  EXPECT_FALSE(page_.SetIoInData(byte).ok());
  EXPECT_TRUE(page_.SetMmioReadData(byte).ok());

  page_.ClearPending();  // what Vcpu::Run does before KVM_RUN
  EXPECT_FALSE(page_.SetMmioReadData(byte).ok());
}

TEST_F(RunPageTest, AnOutExitLeavesNothingToAnswer) {
  SetIo(KVM_EXIT_IO_IN, 0x60, 1, 1);
  ASSERT_TRUE(page_.DecodeExit().ok());
  SetIo(KVM_EXIT_IO_OUT, 0x60, 1, 1);
  ASSERT_TRUE(page_.DecodeExit().ok());
  const std::array<uint8_t, 1> byte = {1};
  EXPECT_FALSE(page_.SetIoInData(byte).ok());
}

TEST_F(RunPageTest, IoDataOutsideTheMappingIsAnError) {
  SetIo(KVM_EXIT_IO_OUT, 0x3f8, 4, 1, kPageBytes - 2);
  EXPECT_EQ(page_.DecodeExit().error().code(), EPROTO);
  SetIo(KVM_EXIT_IO_OUT, 0x3f8, 1, 1, ~uint64_t{0});
  EXPECT_FALSE(page_.DecodeExit().ok());
  SetIo(KVM_EXIT_IO_OUT, 0x3f8, 4, 0xffffffff, 0);
  EXPECT_FALSE(page_.DecodeExit().ok());
}

TEST_F(RunPageTest, IoDataEndingAtTheEndOfTheMappingIsAccepted) {
  SetIo(KVM_EXIT_IO_OUT, 0x3f8, 4, 2, kPageBytes - 8);
  EXPECT_TRUE(page_.DecodeExit().ok());
}

TEST_F(RunPageTest, ImpossibleIoSizesAreErrors) {
  SetIo(KVM_EXIT_IO_OUT, 0x3f8, 3, 1);
  EXPECT_FALSE(page_.DecodeExit().ok());
  SetIo(KVM_EXIT_IO_OUT, 0x3f8, 1, 0);
  EXPECT_FALSE(page_.DecodeExit().ok());
}

TEST_F(RunPageTest, DecodesAnMmioWrite) {
  SetMmio(0xd0000000, 4, /*is_write=*/true);
  run().mmio.data[0] = 0xaa;
  run().mmio.data[3] = 0xbb;
  Result<VcpuExit> exit = page_.DecodeExit();
  ASSERT_TRUE(exit.ok());
  const MmioWrite* write = std::get_if<MmioWrite>(&*exit);
  ASSERT_NE(write, nullptr);
  EXPECT_EQ(write->addr, vmm::GuestAddress(0xd0000000));
  EXPECT_EQ(std::vector<uint8_t>(write->bytes.begin(), write->bytes.end()),
            (std::vector<uint8_t>{0xaa, 0, 0, 0xbb}));
}

TEST_F(RunPageTest, AnMmioReadIsAnsweredInTheMmioData) {
  SetMmio(0x10010, 2, /*is_write=*/false);
  Result<VcpuExit> exit = page_.DecodeExit();
  ASSERT_TRUE(exit.ok());
  const MmioRead* read = std::get_if<MmioRead>(&*exit);
  ASSERT_NE(read, nullptr);
  EXPECT_EQ(read->addr, vmm::GuestAddress(0x10010));
  EXPECT_EQ(read->len, 2u);
  EXPECT_EQ(run().mmio.data[0], 0xff);
  const std::array<uint8_t, 2> answer = {0x3c, 0x4d};
  ASSERT_TRUE(page_.SetMmioReadData(answer).ok());
  EXPECT_EQ(run().mmio.data[0], 0x3c);
  EXPECT_EQ(run().mmio.data[1], 0x4d);
  const std::array<uint8_t, 1> short_answer = {0};
  EXPECT_FALSE(page_.SetMmioReadData(short_answer).ok());
}

TEST_F(RunPageTest, MmioLengthsOutsideOneToEightAreErrors) {
  SetMmio(0x10010, 0, true);
  EXPECT_FALSE(page_.DecodeExit().ok());
  SetMmio(0x10010, 9, false);
  EXPECT_FALSE(page_.DecodeExit().ok());
}

TEST_F(RunPageTest, DecodesTheSimpleExits) {
  run().exit_reason = KVM_EXIT_HLT;
  EXPECT_TRUE(std::holds_alternative<Hlt>(*page_.DecodeExit()));
  run().exit_reason = KVM_EXIT_SHUTDOWN;
  EXPECT_TRUE(std::holds_alternative<Shutdown>(*page_.DecodeExit()));
  run().exit_reason = KVM_EXIT_INTR;
  EXPECT_TRUE(std::holds_alternative<Intr>(*page_.DecodeExit()));

  run().exit_reason = KVM_EXIT_SYSTEM_EVENT;
  run().system_event.type = KVM_SYSTEM_EVENT_RESET;
  EXPECT_EQ(std::get<SystemEvent>(*page_.DecodeExit()).type, uint32_t{KVM_SYSTEM_EVENT_RESET});

  run().exit_reason = KVM_EXIT_FAIL_ENTRY;
  run().fail_entry.hardware_entry_failure_reason = 0x80000021;
  EXPECT_EQ(std::get<FailEntry>(*page_.DecodeExit()).reason, 0x80000021u);

  run().exit_reason = KVM_EXIT_INTERNAL_ERROR;
  run().internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
  EXPECT_EQ(std::get<InternalError>(*page_.DecodeExit()).suberror,
            uint32_t{KVM_INTERNAL_ERROR_EMULATION});

  run().exit_reason = KVM_EXIT_DEBUG;
  EXPECT_EQ(std::get<Unknown>(*page_.DecodeExit()).reason, uint32_t{KVM_EXIT_DEBUG});
}

}  // namespace
}  // namespace hull::kvm
