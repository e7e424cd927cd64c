#pragma once

// A 16550A UART: the guest's console (ttyS0 at I/O port 0x3F8, IRQ 4).
//
// Emulated: RBR/THR, IER, IIR (FIFO bits, priorities), FCR, LCR with DLAB,
// MCR with loopback, LSR, MSR, SCR, DLL/DLM. Transmission is instantaneous:
// a THR write goes straight to the sink, so THRE and TEMT always read as 1.
// The receive FIFO is deeper than a real chip's (kRxFifoSize) so that pasted
// input survives; bytes arriving when it is full are dropped, counted, and
// reported to the guest as an overrun (LSR.OE), as hardware would.
//
// Interrupts: the in-kernel IOAPIC sees IRQ 4 as an edge, so the device
// triggers its IrqLine when its interrupt output rises — when an enabled
// condition becomes pending while none was (or a new THR-empty event
// happens). Linux's 8250 handler loops until IIR reads "no interrupt", so
// conditions still pending at the end of a handler are not lost. MCR.OUT2
// does not gate the line (Linux sets it anyway; Firecracker ignores it too).
//
// Threading: vCPU threads (register accesses) and the event loop
// (EnqueueInput) both call in; one mutex serialises them. The sink is
// written with the mutex held and must not block.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>

#include "hull/vmm/devices/bus_device.h"
#include "hull/vmm/devices/irq_line.h"
#include "hull/vmm/devices/legacy/serial_sink.h"

namespace hull::vmm {

inline constexpr uint16_t kSerialPortBase = 0x3F8;  // COM1
inline constexpr uint16_t kSerialPortCount = 8;
inline constexpr uint32_t kSerialIrq = 4;

struct SerialMetrics {
  std::atomic<uint64_t> bytes_out{0};     // transmitted and taken by the sink
  std::atomic<uint64_t> out_dropped{0};   // transmitted but refused by a full sink
  std::atomic<uint64_t> bytes_in{0};      // received into the RX FIFO
  std::atomic<uint64_t> in_dropped{0};    // received while the RX FIFO was full
  std::atomic<uint64_t> bad_accesses{0};  // register accesses wider than a byte
  std::atomic<uint64_t> irq_errors{0};    // IrqLine::Trigger failures
};

class Serial final : public BusDevice {
 public:
  // Linux drains the FIFO in one interrupt (up to 256 bytes per pass, passes
  // until empty), so a deep FIFO costs nothing and keeps a pasted page.
  static constexpr size_t kRxFifoSize = 4096;

  // `sink` may be null (output discarded, counted as dropped); it and
  // `metrics` must outlive the device.
  Serial(std::unique_ptr<IrqLine> irq, SerialSink* sink, SerialMetrics& metrics);

  std::string_view name() const override { return "serial"; }
  void Read(uint64_t offset, std::span<uint8_t> data) override;
  void Write(uint64_t offset, std::span<const uint8_t> data) override;

  // Host input for the guest (the event loop calls it when stdin or the
  // console socket is readable). Takes what fits in the RX FIFO; returns how
  // many bytes it took; the rest are counted in in_dropped and flag an
  // overrun.
  size_t EnqueueInput(std::span<const uint8_t> bytes);
  // Free space in the RX FIFO, for callers that would rather leave input
  // unread than drop it.
  size_t InputSpace() const;

 private:
  uint8_t ReadRegister(uint64_t offset);
  void WriteRegister(uint64_t offset, uint8_t value);
  void Transmit(uint8_t byte);
  void Receive(uint8_t byte);  // into the RX FIFO, or an overrun
  void SetMcr(uint8_t value);
  uint8_t LoopbackMsr() const;
  uint8_t Lsr() const;
  uint8_t InterruptId() const;  // the IIR's low nibble
  // Triggers the line when the interrupt output rose: pending now, and not
  // pending before the state change (`was_pending`).
  void UpdateInterrupt(bool was_pending);
  bool InterruptPending() const { return InterruptId() != kIirNoInterrupt; }

  static constexpr uint8_t kIirNoInterrupt = 0x01;

  std::unique_ptr<IrqLine> irq_;
  SerialSink* sink_;
  SerialMetrics& metrics_;

  mutable std::mutex mutex_;
  uint8_t ier_ = 0;
  uint8_t lcr_ = 0x03;  // 8N1
  uint8_t mcr_ = 0;
  uint8_t msr_;  // status bits 4-7 and latched deltas 0-3
  uint8_t scr_ = 0;
  uint8_t dll_ = 0x0C;  // 9600 baud
  uint8_t dlm_ = 0;
  bool fifo_enabled_ = false;
  bool overrun_ = false;        // LSR.OE until the LSR is read
  bool thr_empty_irq_ = false;  // THRE interrupt latched until IIR read / THR write
  // RX FIFO ring.
  std::array<uint8_t, kRxFifoSize> rx_{};
  size_t rx_head_ = 0;
  size_t rx_count_ = 0;
};

}  // namespace hull::vmm
