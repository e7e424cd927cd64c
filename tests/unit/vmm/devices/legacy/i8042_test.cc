#include "hull/vmm/devices/legacy/i8042.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <memory>
#include <vector>

#include "counting_irq_line.h"

namespace hull::vmm {
namespace {

using testing::CountingIrqLine;

constexpr uint64_t kData = 0;    // port 0x60
constexpr uint64_t kStatus = 4;  // port 0x64
constexpr uint8_t kOutputFull = 0x01;
constexpr uint8_t kInputFull = 0x02;

class I8042Test : public ::testing::Test {
 protected:
  I8042Test() {
    auto irq = std::make_unique<CountingIrqLine>();
    irq_ = irq.get();
    device_ = std::make_unique<I8042>(
        std::move(irq), [this] { ++resets_; }, metrics_);
  }

  uint8_t In(uint64_t offset) {
    uint8_t value = 0;
    device_->Read(offset, std::span<uint8_t>(&value, 1));
    return value;
  }
  void Out(uint64_t offset, uint8_t value) {
    device_->Write(offset, std::span<const uint8_t>(&value, 1));
  }
  // What i8042_command() does for a command with one result byte.
  uint8_t Command(uint8_t command) {
    Out(kStatus, command);
    EXPECT_EQ(In(kStatus) & kOutputFull, kOutputFull);
    return In(kData);
  }

  I8042Metrics metrics_;
  CountingIrqLine* irq_;
  int resets_ = 0;
  std::unique_ptr<I8042> device_;
};

TEST_F(I8042Test, RebootKResetsTheMachineAsLinuxDoesIt) {
  // arch/x86/kernel/reboot.c, BOOT_KBD: kb_wait() polls 0x64 until the input
  // buffer is empty, then 0xFE pulses the reset line; ten tries.
  for (int attempt = 0; attempt < 10 && resets_ == 0; ++attempt) {
    int polls = 0;
    while ((In(kStatus) & kInputFull) != 0) ASSERT_LT(++polls, 0x10000);
    Out(kStatus, 0xFE);
  }
  EXPECT_EQ(resets_, 1);
  EXPECT_EQ(metrics_.reset_requests.load(), 1u);
}

TEST_F(I8042Test, EveryPulseOfTheResetLineResets) {
  Out(kStatus, 0xFE);
  Out(kStatus, 0xF0);  // pulse all four lines, reset among them
  Out(kStatus, 0xFF);  // pulse none
  EXPECT_EQ(resets_, 2);
}

TEST_F(I8042Test, SelfTestAnswers0x55) {
  EXPECT_EQ(In(kStatus) & kOutputFull, 0);
  EXPECT_EQ(Command(0xAA), 0x55);
  EXPECT_EQ(In(kStatus) & kOutputFull, 0) << "the answer was consumed";
  EXPECT_EQ(Command(0xAB), 0x00) << "keyboard interface test passes";
}

TEST_F(I8042Test, CommandByteIsReadAndWritten) {
  EXPECT_EQ(Command(0x20), 0x05) << "keyboard interrupt on, system flag";
  Out(kStatus, 0x60);
  EXPECT_EQ(In(kStatus) & 0x08, 0x08) << "waiting for the command's data byte";
  Out(kData, 0x65);
  EXPECT_EQ(In(kStatus) & 0x08, 0);
  EXPECT_EQ(Command(0x20), 0x65);
  EXPECT_EQ(irq_->count(), 0) << "controller answers raise no keyboard interrupt";
}

TEST_F(I8042Test, PortEnableCommandsOnlyFlipCommandByteBits) {
  Out(kStatus, 0xAD);
  Out(kStatus, 0xA7);
  EXPECT_EQ(In(kStatus) & kOutputFull, 0);
  EXPECT_EQ(Command(0x20), 0x35);
  Out(kStatus, 0xAE);
  Out(kStatus, 0xA8);
  EXPECT_EQ(Command(0x20), 0x05);
  EXPECT_EQ(resets_, 0);
}

TEST_F(I8042Test, WritingTheOutputPortWithResetLowResets) {
  EXPECT_EQ(Command(0xD0), 0x03);
  Out(kStatus, 0xD1);
  Out(kData, 0x03);  // A20 on, reset high: nothing happens
  EXPECT_EQ(resets_, 0);
  EXPECT_EQ(Command(0xD0), 0x03);
  Out(kStatus, 0xD1);
  Out(kData, 0x02);
  EXPECT_EQ(resets_, 1);
}

TEST_F(I8042Test, KeyboardCommandsAreAcknowledgedWithAnInterrupt) {
  Out(kData, 0xF2);  // get ID
  EXPECT_EQ(irq_->TakeCount(), 1);
  EXPECT_EQ(In(kData), 0xFA);
  EXPECT_EQ(irq_->TakeCount(), 1) << "one byte per interrupt";
  EXPECT_EQ(In(kData), 0xAB);
  EXPECT_EQ(In(kData), 0x83);
  EXPECT_EQ(In(kStatus) & kOutputFull, 0);
}

TEST_F(I8042Test, CtrlAltDelQueuesSet2KeysAndRaisesIrq1) {
  ASSERT_TRUE(device_->RequestCtrlAltDel().ok());
  EXPECT_EQ(irq_->TakeCount(), 1);
  std::vector<uint8_t> keys;
  while ((In(kStatus) & kOutputFull) != 0) keys.push_back(In(kData));
  EXPECT_EQ(keys, (std::vector<uint8_t>{0x14, 0x11, 0xE0, 0x71}));
}

TEST_F(I8042Test, CtrlAltDelUsesSet1WhenTheGuestTurnedOnTranslation) {
  Out(kStatus, 0x60);
  Out(kData, 0x45);  // translate | system | keyboard interrupt
  ASSERT_TRUE(device_->RequestCtrlAltDel().ok());
  std::vector<uint8_t> keys;
  while ((In(kStatus) & kOutputFull) != 0) keys.push_back(In(kData));
  EXPECT_EQ(keys, (std::vector<uint8_t>{0x1D, 0x38, 0xE0, 0x53}));
}

TEST_F(I8042Test, CtrlAltDelRaisesNoInterruptTheGuestDisabled) {
  Out(kStatus, 0x60);
  Out(kData, 0x04);
  ASSERT_TRUE(device_->RequestCtrlAltDel().ok());
  EXPECT_EQ(irq_->count(), 0);
}

TEST_F(I8042Test, CtrlAltDelFailsWhenTheGuestIsNotReading) {
  for (size_t i = 0; i < I8042::kBufferSize / 4; ++i)
    ASSERT_TRUE(device_->RequestCtrlAltDel().ok());
  Result<void> full = device_->RequestCtrlAltDel();
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().code(), EAGAIN);
}

TEST_F(I8042Test, OtherPortsAndWideAccessesAreIgnored) {
  uint8_t value = 0;
  device_->Read(1, std::span<uint8_t>(&value, 1));
  EXPECT_EQ(value, 0xFF);
  const uint8_t reset[2] = {0xFE, 0xFE};
  device_->Write(kStatus, reset);
  EXPECT_EQ(resets_, 0);
  EXPECT_EQ(metrics_.bad_accesses.load(), 2u);
}

}  // namespace
}  // namespace hull::vmm
