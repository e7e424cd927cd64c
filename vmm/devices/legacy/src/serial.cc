#include "hull/vmm/devices/legacy/serial.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace hull::vmm {
namespace {

// Register offsets from the base port.
constexpr uint64_t kData = 0;  // RBR (read) / THR (write); DLL with DLAB
constexpr uint64_t kIer = 1;   // DLM with DLAB
constexpr uint64_t kIir = 2;   // IIR (read) / FCR (write)
constexpr uint64_t kLcr = 3;
constexpr uint64_t kMcr = 4;
constexpr uint64_t kLsr = 5;
constexpr uint64_t kMsr = 6;
constexpr uint64_t kScr = 7;

constexpr uint8_t kIerRxData = 0x01;
constexpr uint8_t kIerThrEmpty = 0x02;
constexpr uint8_t kIerLineStatus = 0x04;
constexpr uint8_t kIerModemStatus = 0x08;
constexpr uint8_t kIerMask = 0x0F;  // bits 4-7 do not exist on a 16550A

// IIR interrupt identifiers, highest priority first.
constexpr uint8_t kIirLineStatus = 0x06;
constexpr uint8_t kIirRxData = 0x04;
constexpr uint8_t kIirThrEmpty = 0x02;
constexpr uint8_t kIirModemStatus = 0x00;
constexpr uint8_t kIirFifoEnabled = 0xC0;

constexpr uint8_t kFcrEnableFifo = 0x01;
constexpr uint8_t kFcrClearRx = 0x02;

constexpr uint8_t kLcrDlab = 0x80;

constexpr uint8_t kMcrDtr = 0x01;
constexpr uint8_t kMcrRts = 0x02;
constexpr uint8_t kMcrOut1 = 0x04;
constexpr uint8_t kMcrOut2 = 0x08;
constexpr uint8_t kMcrLoop = 0x10;
constexpr uint8_t kMcrMask = 0x1F;

constexpr uint8_t kLsrDataReady = 0x01;
constexpr uint8_t kLsrOverrun = 0x02;
constexpr uint8_t kLsrThrEmpty = 0x20;
constexpr uint8_t kLsrTxEmpty = 0x40;

constexpr uint8_t kMsrDeltaCts = 0x01;
constexpr uint8_t kMsrDeltaDsr = 0x02;
constexpr uint8_t kMsrTrailingRi = 0x04;
constexpr uint8_t kMsrDeltaDcd = 0x08;
constexpr uint8_t kMsrDeltaMask = 0x0F;
constexpr uint8_t kMsrCts = 0x10;
constexpr uint8_t kMsrDsr = 0x20;
constexpr uint8_t kMsrRi = 0x40;
constexpr uint8_t kMsrDcd = 0x80;
// Outside loopback a console is always connected: carrier, DSR, CTS.
constexpr uint8_t kMsrConnected = kMsrDcd | kMsrDsr | kMsrCts;

}  // namespace

Serial::Serial(std::unique_ptr<IrqLine> irq, SerialSink* sink, SerialMetrics& metrics)
    : irq_(std::move(irq)), sink_(sink), metrics_(metrics), msr_(kMsrConnected) {}

void Serial::Read(uint64_t offset, std::span<uint8_t> data) {
  if (data.size() != 1 || offset > kScr) {
    std::fill(data.begin(), data.end(), uint8_t{0xFF});
    metrics_.bad_accesses.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  std::lock_guard lock(mutex_);
  data[0] = ReadRegister(offset);
}

void Serial::Write(uint64_t offset, std::span<const uint8_t> data) {
  if (data.size() != 1 || offset > kScr) {
    metrics_.bad_accesses.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  std::lock_guard lock(mutex_);
  WriteRegister(offset, data[0]);
}

size_t Serial::EnqueueInput(std::span<const uint8_t> bytes) {
  std::lock_guard lock(mutex_);
  const bool was_pending = InterruptPending();
  const size_t taken = std::min(bytes.size(), kRxFifoSize - rx_count_);
  for (size_t i = 0; i < taken; ++i) Receive(bytes[i]);
  if (taken < bytes.size()) {
    overrun_ = true;
    metrics_.in_dropped.fetch_add(bytes.size() - taken, std::memory_order_relaxed);
  }
  metrics_.bytes_in.fetch_add(taken, std::memory_order_relaxed);
  UpdateInterrupt(was_pending);
  return taken;
}

size_t Serial::InputSpace() const {
  std::lock_guard lock(mutex_);
  return kRxFifoSize - rx_count_;
}

uint8_t Serial::ReadRegister(uint64_t offset) {
  const bool dlab = (lcr_ & kLcrDlab) != 0;
  switch (offset) {
    case kData: {
      if (dlab) return dll_;
      if (rx_count_ == 0) return 0;
      const uint8_t byte = rx_[rx_head_];
      rx_head_ = (rx_head_ + 1) % kRxFifoSize;
      --rx_count_;
      return byte;  // the RX interrupt falls with the FIFO: no edge to raise
    }
    case kIer:
      return dlab ? dlm_ : ier_;
    case kIir: {
      const uint8_t id = InterruptId();
      // Reading IIR acknowledges a THR-empty interrupt (when it is the one shown).
      if (id == kIirThrEmpty) thr_empty_irq_ = false;
      return static_cast<uint8_t>(id | (fifo_enabled_ ? kIirFifoEnabled : 0));
    }
    case kLcr:
      return lcr_;
    case kMcr:
      return mcr_;
    case kLsr: {
      const uint8_t lsr = Lsr();
      overrun_ = false;  // error bits clear on read
      return lsr;
    }
    case kMsr: {
      const uint8_t msr = msr_;
      msr_ &= static_cast<uint8_t>(~kMsrDeltaMask);  // deltas clear on read
      return msr;
    }
    case kScr:
      return scr_;
    default:
      return 0xFF;
  }
}

void Serial::WriteRegister(uint64_t offset, uint8_t value) {
  const bool dlab = (lcr_ & kLcrDlab) != 0;
  switch (offset) {
    case kData:
      if (dlab) {
        dll_ = value;
      } else {
        // Writing THR acknowledges THR-empty; transmission is instant, so
        // THR is empty again at once: a new THR-empty event (an edge when
        // nothing else holds the line up).
        thr_empty_irq_ = false;
        const bool was_pending = InterruptPending();
        Transmit(value);
        thr_empty_irq_ = true;
        UpdateInterrupt(was_pending);
      }
      return;
    case kIer:
      if (dlab) {
        dlm_ = value;
      } else {
        const bool was_pending = InterruptPending();
        const uint8_t enabled = static_cast<uint8_t>(value & kIerMask & ~ier_);
        ier_ = value & kIerMask;
        // Enabling THR-empty with THR empty (always, here) raises it at once,
        // which Linux's 8250 probe checks (UART_BUG_THRE); disabling forgets it.
        if ((enabled & kIerThrEmpty) != 0) thr_empty_irq_ = true;
        if ((ier_ & kIerThrEmpty) == 0) thr_empty_irq_ = false;
        UpdateInterrupt(was_pending);
      }
      return;
    case kIir: {  // FCR
      const bool enable = (value & kFcrEnableFifo) != 0;
      // Toggling the FIFO enable clears the FIFOs, as on the chip.
      if ((value & kFcrClearRx) != 0 || enable != fifo_enabled_) {
        rx_head_ = 0;
        rx_count_ = 0;
      }
      fifo_enabled_ = enable;
      return;
    }
    case kLcr:
      lcr_ = value;
      return;
    case kMcr: {
      const bool was_pending = InterruptPending();
      SetMcr(value & kMcrMask);
      UpdateInterrupt(was_pending);
      return;
    }
    case kLsr:  // factory test register on real chips; read-only here
    case kMsr:
      return;
    case kScr:
      scr_ = value;
      return;
    default:
      return;
  }
}

void Serial::Transmit(uint8_t byte) {
  if ((mcr_ & kMcrLoop) != 0) {
    // Loopback: the transmitter feeds the receiver; nothing leaves the chip.
    Receive(byte);
    return;
  }
  const std::span<const uint8_t> bytes(&byte, 1);
  if (sink_ != nullptr && sink_->Write(bytes) == 1) {
    metrics_.bytes_out.fetch_add(1, std::memory_order_relaxed);
  } else {
    metrics_.out_dropped.fetch_add(1, std::memory_order_relaxed);
  }
}

void Serial::Receive(uint8_t byte) {
  if (rx_count_ == kRxFifoSize) {
    overrun_ = true;
    return;
  }
  rx_[(rx_head_ + rx_count_) % kRxFifoSize] = byte;
  ++rx_count_;
}

void Serial::SetMcr(uint8_t value) {
  mcr_ = value;
  const uint8_t before = msr_ & static_cast<uint8_t>(~kMsrDeltaMask);
  const uint8_t after = (mcr_ & kMcrLoop) != 0 ? LoopbackMsr() : kMsrConnected;
  uint8_t deltas = 0;
  if (((before ^ after) & kMsrCts) != 0) deltas |= kMsrDeltaCts;
  if (((before ^ after) & kMsrDsr) != 0) deltas |= kMsrDeltaDsr;
  if ((before & kMsrRi) != 0 && (after & kMsrRi) == 0) deltas |= kMsrTrailingRi;
  if (((before ^ after) & kMsrDcd) != 0) deltas |= kMsrDeltaDcd;
  msr_ = static_cast<uint8_t>(after | (msr_ & kMsrDeltaMask) | deltas);
}

uint8_t Serial::LoopbackMsr() const {
  // In loopback the modem outputs drive the modem inputs.
  uint8_t msr = 0;
  if ((mcr_ & kMcrRts) != 0) msr |= kMsrCts;
  if ((mcr_ & kMcrDtr) != 0) msr |= kMsrDsr;
  if ((mcr_ & kMcrOut1) != 0) msr |= kMsrRi;
  if ((mcr_ & kMcrOut2) != 0) msr |= kMsrDcd;
  return msr;
}

uint8_t Serial::Lsr() const {
  uint8_t lsr = kLsrThrEmpty | kLsrTxEmpty;
  if (rx_count_ > 0) lsr |= kLsrDataReady;
  if (overrun_) lsr |= kLsrOverrun;
  return lsr;
}

uint8_t Serial::InterruptId() const {
  if ((ier_ & kIerLineStatus) != 0 && overrun_) return kIirLineStatus;
  if ((ier_ & kIerRxData) != 0 && rx_count_ > 0) return kIirRxData;
  if ((ier_ & kIerThrEmpty) != 0 && thr_empty_irq_) return kIirThrEmpty;
  if ((ier_ & kIerModemStatus) != 0 && (msr_ & kMsrDeltaMask) != 0) return kIirModemStatus;
  return kIirNoInterrupt;
}

void Serial::UpdateInterrupt(bool was_pending) {
  if (was_pending || !InterruptPending()) return;
  if (Result<void> result = irq_->Trigger(); !result.ok()) {
    if (metrics_.irq_errors.fetch_add(1, std::memory_order_relaxed) == 0) {
      spdlog::warn("serial: raising IRQ {}: {}", kSerialIrq, result.error().ToString());
    }
  }
}

}  // namespace hull::vmm
