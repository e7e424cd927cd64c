#include "hull/vmm/devices/legacy/serial.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "counting_irq_line.h"

namespace hull::vmm {
namespace {

using testing::CountingIrqLine;

// Register offsets.
constexpr uint64_t kData = 0, kIer = 1, kIir = 2, kLcr = 3, kMcr = 4, kLsr = 5, kMsr = 6, kScr = 7;

class RecordingSink final : public SerialSink {
 public:
  size_t Write(std::span<const uint8_t> bytes) override {
    if (full) return 0;
    written.append(bytes.begin(), bytes.end());
    return bytes.size();
  }
  std::string written;
  bool full = false;
};

class SerialTest : public ::testing::Test {
 protected:
  SerialTest() {
    auto irq = std::make_unique<CountingIrqLine>();
    irq_ = irq.get();
    serial_ = std::make_unique<Serial>(std::move(irq), &sink_, metrics_);
  }

  uint8_t In(uint64_t offset) {
    uint8_t value = 0;
    serial_->Read(offset, std::span<uint8_t>(&value, 1));
    return value;
  }
  void Out(uint64_t offset, uint8_t value) {
    serial_->Write(offset, std::span<const uint8_t>(&value, 1));
  }
  void Input(std::string_view text) {
    serial_->EnqueueInput(
        std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));  // SAFETY: bytes
  }

  RecordingSink sink_;
  SerialMetrics metrics_;
  CountingIrqLine* irq_;
  std::unique_ptr<Serial> serial_;
};

TEST_F(SerialTest, ScratchRegisterKeepsWhatIsWritten) {
  Out(kScr, 0x5A);
  EXPECT_EQ(In(kScr), 0x5A);
}

TEST_F(SerialTest, TransmittedBytesGoToTheSinkAndAreCounted) {
  for (char c : std::string("hi\n")) Out(kData, static_cast<uint8_t>(c));
  EXPECT_EQ(sink_.written, "hi\n");
  EXPECT_EQ(metrics_.bytes_out.load(), 3u);
  EXPECT_EQ(metrics_.out_dropped.load(), 0u);
}

TEST_F(SerialTest, AFullSinkDropsAndCountsInsteadOfBlocking) {
  sink_.full = true;
  Out(kData, 'x');
  Out(kData, 'y');
  EXPECT_EQ(metrics_.out_dropped.load(), 2u);
  EXPECT_EQ(metrics_.bytes_out.load(), 0u);
}

TEST(Serial, WithoutASinkDiscardsOutputAsDropped) {
  SerialMetrics metrics;
  Serial serial(std::make_unique<CountingIrqLine>(), nullptr, metrics);
  const uint8_t byte = 'a';
  serial.Write(0, std::span<const uint8_t>(&byte, 1));
  EXPECT_EQ(metrics.out_dropped.load(), 1u);
}

TEST_F(SerialTest, DlabMapsOffsetsZeroAndOneToTheDivisorLatch) {
  Out(kIer, 0x05);
  Out(kLcr, 0x83);  // DLAB | 8N1
  EXPECT_EQ(In(kData), 0x0C) << "the divisor defaults to 12 (9600 baud)";
  Out(kData, 0x01);  // DLL: 115200 baud
  Out(kIer, 0x00);   // DLM
  EXPECT_EQ(In(kData), 0x01);
  EXPECT_EQ(In(kIer), 0x00);
  EXPECT_TRUE(sink_.written.empty()) << "DLL writes are not transmitted";
  Out(kLcr, 0x03);
  EXPECT_EQ(In(kIer), 0x05) << "IER was untouched by the DLM write";
  EXPECT_EQ(In(kLcr), 0x03);
  Out(kData, 'z');
  EXPECT_EQ(sink_.written, "z");
}

TEST_F(SerialTest, IerKeepsOnlyTheFourDefinedBits) {
  // Linux's probe writes UART_IER_UUE (bit 6) and must read it back as 0.
  Out(kIer, 0xFF);
  EXPECT_EQ(In(kIer), 0x0F);
}

TEST_F(SerialTest, LsrShowsAnIdleTransmitterAndDataReady) {
  EXPECT_EQ(In(kLsr), 0x60) << "THRE and TEMT, no data";
  Input("a");
  EXPECT_EQ(In(kLsr), 0x61);
  EXPECT_EQ(In(kData), 'a');
  EXPECT_EQ(In(kLsr), 0x60);
}

TEST_F(SerialTest, IirShowsNoInterruptAndTheFifoBitsOnceFifosAreEnabled) {
  EXPECT_EQ(In(kIir), 0x01);
  Out(kIir, 0x01);  // FCR: enable FIFOs
  EXPECT_EQ(In(kIir), 0xC1) << "IIR bits 6-7 tell Linux it is a 16550A";
  Out(kIir, 0x00);
  EXPECT_EQ(In(kIir), 0x01);
}

TEST_F(SerialTest, FcrClearsTheReceiveFifo) {
  Out(kIir, 0x01);
  Input("abc");
  Out(kIir, 0x03);  // enable | clear RX
  EXPECT_EQ(In(kLsr) & 0x01, 0);
}

TEST_F(SerialTest, EnablingTheThrEmptyInterruptRaisesItAtOnce) {
  // serial8250_do_startup's UART_BUG_THRE test, step by step.
  Out(kIer, 0x02);
  EXPECT_EQ(irq_->TakeCount(), 1);
  EXPECT_EQ(In(kIir), 0x02);
  EXPECT_EQ(In(kIir), 0x01) << "reading IIR acknowledged THR empty";
  Out(kIer, 0x00);
  Out(kIer, 0x02);
  EXPECT_EQ(irq_->TakeCount(), 1);
  EXPECT_EQ(In(kIir), 0x02) << "re-enabling raises it again";
  Out(kIer, 0x00);
  EXPECT_EQ(In(kIir), 0x01);
}

TEST_F(SerialTest, EachTransmittedByteRaisesThrEmptyWhenEnabled) {
  Out(kIer, 0x02);
  ASSERT_EQ(In(kIir), 0x02);
  irq_->TakeCount();
  Out(kData, 'a');
  EXPECT_EQ(irq_->TakeCount(), 1);
  Out(kData, 'b');  // writing THR acknowledges, transmitting re-raises
  EXPECT_EQ(irq_->TakeCount(), 1);
  EXPECT_EQ(In(kIir), 0x02);
}

TEST_F(SerialTest, ReceivedDataRaisesTheInterruptOnlyWhenItRises) {
  Out(kIer, 0x01);
  Input("ab");
  EXPECT_EQ(irq_->TakeCount(), 1);
  Input("c");
  EXPECT_EQ(irq_->TakeCount(), 0) << "still pending: no new edge";
  EXPECT_EQ(In(kIir), 0x04);
  EXPECT_EQ(In(kData), 'a');
  EXPECT_EQ(In(kData), 'b');
  EXPECT_EQ(In(kData), 'c');
  EXPECT_EQ(In(kIir), 0x01);
  Input("d");
  EXPECT_EQ(irq_->TakeCount(), 1);
}

TEST_F(SerialTest, NoInterruptIsRaisedWhileItIsDisabled) {
  Input("a");
  Out(kData, 'x');
  EXPECT_EQ(irq_->count(), 0);
  EXPECT_EQ(In(kIir), 0x01);
}

TEST_F(SerialTest, IirReportsTheHighestPriorityConditionFirst) {
  Out(kIir, 0x01);  // FIFOs on: IIR carries 0xC0
  Out(kIer, 0x0F);
  // Line status: an overrun. RX data: the full FIFO. THR empty: from the IER
  // write. Modem status: a delta from entering loopback.
  std::string flood(Serial::kRxFifoSize + 1, 'x');
  Input(flood);
  Out(kMcr, 0x10);
  EXPECT_EQ(In(kIir), 0xC6) << "line status first";
  EXPECT_EQ(In(kLsr) & 0x02, 0x02) << "overrun reported";
  EXPECT_EQ(In(kIir), 0xC4) << "then received data";
  for (size_t i = 0; i < Serial::kRxFifoSize; ++i) In(kData);
  EXPECT_EQ(In(kIir), 0xC2) << "then THR empty";
  EXPECT_EQ(In(kIir), 0xC0) << "then modem status";
  EXPECT_NE(In(kMsr) & 0x0F, 0);
  EXPECT_EQ(In(kIir), 0xC1) << "nothing left";
}

TEST_F(SerialTest, InputBeyondTheFifoIsDroppedCountedAndFlaggedAsOverrun) {
  std::string flood(Serial::kRxFifoSize + 10, 'y');
  const size_t taken = serial_->EnqueueInput(
      std::span(reinterpret_cast<const uint8_t*>(flood.data()), flood.size()));  // SAFETY: bytes
  EXPECT_EQ(taken, Serial::kRxFifoSize);
  EXPECT_EQ(serial_->InputSpace(), 0u);
  EXPECT_EQ(metrics_.bytes_in.load(), Serial::kRxFifoSize);
  EXPECT_EQ(metrics_.in_dropped.load(), 10u);
  EXPECT_EQ(In(kLsr), 0x63) << "DR, OE, THRE, TEMT";
  EXPECT_EQ(In(kLsr), 0x61) << "OE clears when read";
}

TEST_F(SerialTest, InputIsReadBackInOrderAcrossTheRingsWrap) {
  std::string first(Serial::kRxFifoSize - 2, '-');
  Input(first);
  for (size_t i = 0; i < first.size(); ++i) In(kData);
  Input("wrap!");
  std::string read;
  while ((In(kLsr) & 0x01) != 0) read.push_back(static_cast<char>(In(kData)));
  EXPECT_EQ(read, "wrap!");
  EXPECT_EQ(In(kData), 0) << "an empty FIFO reads as 0";
}

TEST_F(SerialTest, ModemStatusOutsideLoopbackShowsAConnectedLine) {
  EXPECT_EQ(In(kMsr), 0xB0) << "DCD, DSR, CTS";
}

TEST_F(SerialTest, LoopbackReflectsModemControlAsLinuxProbesIt) {
  // autoconfig(): MCR = LOOP | OUT2 | RTS, then MSR & 0xF0 must be DCD | CTS.
  Out(kMcr, 0x1A);
  EXPECT_EQ(In(kMsr) & 0xF0, 0x90);
  Out(kMcr, 0x1F);  // all outputs on
  EXPECT_EQ(In(kMsr) & 0xF0, 0xF0);
  Out(kMcr, 0x10);
  EXPECT_EQ(In(kMsr), 0x0F) << "every input fell: deltas and trailing RI";
  EXPECT_EQ(In(kMsr), 0x00) << "deltas clear when read";
  Out(kMcr, 0x00);
  EXPECT_EQ(In(kMsr) & 0xF0, 0xB0);
}

TEST_F(SerialTest, LoopbackSendsTransmittedBytesToTheReceiver) {
  Out(kMcr, 0x10);
  Out(kData, 'L');
  EXPECT_TRUE(sink_.written.empty());
  EXPECT_EQ(In(kLsr) & 0x01, 0x01);
  EXPECT_EQ(In(kData), 'L');
  EXPECT_EQ(metrics_.bytes_in.load(), 0u) << "loopback is not host input";
}

TEST_F(SerialTest, ModemStatusInterruptFollowsDeltasWhenEnabled) {
  Out(kIer, 0x08);
  EXPECT_EQ(irq_->TakeCount(), 0);
  Out(kMcr, 0x10);  // loopback: DCD/DSR/CTS fall
  EXPECT_EQ(irq_->TakeCount(), 1);
  EXPECT_EQ(In(kIir), 0x00);
  In(kMsr);
  EXPECT_EQ(In(kIir), 0x01);
}

TEST_F(SerialTest, AccessesWiderThanAByteReadAllOnesAndAreCounted) {
  uint8_t wide[2] = {0, 0};
  serial_->Read(kData, wide);
  EXPECT_EQ(wide[0], 0xFF);
  EXPECT_EQ(wide[1], 0xFF);
  const uint8_t out[4] = {'a', 'b', 'c', 'd'};
  serial_->Write(kData, out);
  EXPECT_TRUE(sink_.written.empty());
  EXPECT_EQ(metrics_.bad_accesses.load(), 2u);
}

TEST_F(SerialTest, IrqFailuresAreCountedNotFatal) {
  irq_->set_fail(true);
  Out(kIer, 0x02);
  EXPECT_EQ(metrics_.irq_errors.load(), 1u);
  EXPECT_EQ(In(kIir), 0x02) << "the device state is unaffected";
}

TEST_F(SerialTest, VcpuAndEventLoopThreadsMayUseItAtOnce) {
  Out(kIer, 0x03);
  std::thread input([&] {
    for (int i = 0; i < 2000; ++i) Input("k");
  });
  for (int i = 0; i < 2000; ++i) {
    Out(kData, 'o');
    while ((In(kLsr) & 0x01) != 0) In(kData);
    In(kIir);
  }
  input.join();
  EXPECT_EQ(sink_.written.size(), 2000u);
  EXPECT_EQ(metrics_.bytes_in.load() + metrics_.in_dropped.load(), 2000u);
}

}  // namespace
}  // namespace hull::vmm
