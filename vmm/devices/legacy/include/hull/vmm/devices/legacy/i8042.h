#pragma once

// The PC keyboard controller (ports 0x60 data, 0x64 status/command), reduced
// to what a microVM needs of it:
//
//  - Reset. Linux's reboot=k polls 0x64 until the input buffer is empty, then
//    writes 0xFE ("pulse the reset line") to 0x64; 0xD1 with bit 0 clear
//    (write output port: CPU reset low) does the same on other guests. Both
//    call the reset callback, with which the VMM ends the VM cleanly (exit
//    status 0: without ACPI a guest cannot power off, so reboot means stop).
//    Linux writes 0xFE up to ten times; the callback must be idempotent.
//  - Enough of the controller for Linux's i8042 probe: the command byte
//    (0x20/0x60), self-tests (0xAA -> 0x55, 0xAB -> 0x00), port enables
//    (0xAD/0xAE/0xA7/0xA8 only flip their command-byte bits), the output
//    port (0xD0/0xD1). Commands for the keyboard itself (data-port writes)
//    are acknowledged with 0xFA like a plain MF2 keyboard; there is no mouse.
//  - Ctrl-Alt-Del: RequestCtrlAltDel() queues the key presses and raises
//    IRQ 1, so a guest with an i8042 keyboard driver reboots (Firecracker's
//    SendCtrlAltDel). hull's own guest kernel has CONFIG_SERIO_I8042 off and
//    never sees it: the VMM uses it only as a best-effort graceful stop,
//    before falling back to a forced one.
//
// Threading: vCPU threads and the VMM (RequestCtrlAltDel) both call in; one
// mutex serialises them. The reset callback runs without it held.

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>

#include "hull/common/result.h"
#include "hull/vmm/devices/bus_device.h"
#include "hull/vmm/devices/irq_line.h"

namespace hull::vmm {

// Registered as one range 0x60..0x64: offset 0 is the data port, offset 4
// the status/command port; offsets 1-3 (0x61 is the PIT's speaker port,
// which KVM's in-kernel PIT serves) read as 0xFF and ignore writes.
inline constexpr uint16_t kI8042PortBase = 0x60;
inline constexpr uint16_t kI8042PortCount = 5;
inline constexpr uint32_t kI8042KeyboardIrq = 1;

struct I8042Metrics {
  std::atomic<uint64_t> reset_requests{0};  // 0xFE pulses and 0xD1 resets
  std::atomic<uint64_t> bad_accesses{0};    // wider than a byte, or offsets 1-3
  std::atomic<uint64_t> missed_bytes{0};    // output buffer full
  std::atomic<uint64_t> irq_errors{0};
};

class I8042 final : public BusDevice {
 public:
  // The controller's output buffer; a real one holds one byte, ours a few
  // so that a key sequence can wait for the guest.
  static constexpr size_t kBufferSize = 16;

  // `on_reset` runs on the vCPU thread that asked for the reset. `metrics`
  // must outlive the device.
  I8042(std::unique_ptr<IrqLine> keyboard_irq, std::function<void()> on_reset,
        I8042Metrics& metrics);

  std::string_view name() const override { return "i8042"; }
  void Read(uint64_t offset, std::span<uint8_t> data) override;
  void Write(uint64_t offset, std::span<const uint8_t> data) override;

  // Queues Ctrl, Alt, Del key presses (scan code set 2, or set 1 when the
  // guest turned on translation) and raises IRQ 1 when the guest enabled
  // keyboard interrupts. EAGAIN when the buffer has no room for them.
  Result<void> RequestCtrlAltDel();

 private:
  uint8_t Status() const;
  uint8_t ReadData();
  // Returns whether the write asked for a CPU reset.
  bool WriteCommand(uint8_t command);
  bool WriteData(uint8_t value);
  void Push(uint8_t byte);
  void Flush() { head_ = count_ = 0; }
  void TriggerKeyboardIrq();

  std::unique_ptr<IrqLine> irq_;
  std::function<void()> on_reset_;
  I8042Metrics& metrics_;

  mutable std::mutex mutex_;
  uint8_t control_;  // the "command byte"
  uint8_t output_port_;
  uint8_t pending_command_ = 0;  // a command waiting for its data byte
  std::array<uint8_t, kBufferSize> buffer_{};
  size_t head_ = 0;
  size_t count_ = 0;
};

}  // namespace hull::vmm
