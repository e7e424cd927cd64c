#include "hull/vmm/devices/legacy/i8042.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <iterator>

namespace hull::vmm {
namespace {

constexpr uint64_t kDataOffset = 0;    // port 0x60
constexpr uint64_t kStatusOffset = 4;  // port 0x64

// Status register.
constexpr uint8_t kStatusOutputFull = 0x01;
// 0x02 (input buffer full) is never set: we consume every write at once,
// which is what reboot=k's kb_wait() polls for.
constexpr uint8_t kStatusSystem = 0x04;    // self-test passed
constexpr uint8_t kStatusCommand = 0x08;   // last write was a command
constexpr uint8_t kStatusUnlocked = 0x10;  // keyboard not inhibited

// Command byte.
constexpr uint8_t kControlKeyboardIrq = 0x01;
constexpr uint8_t kControlSystem = 0x04;
constexpr uint8_t kControlKeyboardDisabled = 0x10;
constexpr uint8_t kControlAuxDisabled = 0x20;
constexpr uint8_t kControlTranslate = 0x40;

// Controller commands (written to 0x64).
constexpr uint8_t kCmdReadControl = 0x20;
constexpr uint8_t kCmdWriteControl = 0x60;
constexpr uint8_t kCmdDisableAux = 0xA7;
constexpr uint8_t kCmdEnableAux = 0xA8;
constexpr uint8_t kCmdSelfTest = 0xAA;
constexpr uint8_t kCmdKeyboardTest = 0xAB;
constexpr uint8_t kCmdDisableKeyboard = 0xAD;
constexpr uint8_t kCmdEnableKeyboard = 0xAE;
constexpr uint8_t kCmdReadOutputPort = 0xD0;
constexpr uint8_t kCmdWriteOutputPort = 0xD1;
constexpr uint8_t kCmdPulseFirst = 0xF0;  // 0xF0-0xFF pulse output lines low

constexpr uint8_t kSelfTestPassed = 0x55;
constexpr uint8_t kKeyboardTestPassed = 0x00;
constexpr uint8_t kOutputPortReset = 0x01;    // active low: 0 holds the CPU in reset
constexpr uint8_t kOutputPortDefault = 0x03;  // not in reset, A20 enabled

// Keyboard (device) commands and replies.
constexpr uint8_t kKbdGetId = 0xF2;
constexpr uint8_t kKbdReset = 0xFF;
constexpr uint8_t kKbdAck = 0xFA;
constexpr uint8_t kKbdSelfTestPassed = 0xAA;
constexpr uint8_t kKbdIdMf2[] = {0xAB, 0x83};

// Ctrl, Alt, Del presses.
constexpr uint8_t kCtrlAltDelSet2[] = {0x14, 0x11, 0xE0, 0x71};
constexpr uint8_t kCtrlAltDelSet1[] = {0x1D, 0x38, 0xE0, 0x53};

}  // namespace

I8042::I8042(std::unique_ptr<IrqLine> keyboard_irq, std::function<void()> on_reset,
             I8042Metrics& metrics)
    : irq_(std::move(keyboard_irq)),
      on_reset_(std::move(on_reset)),
      metrics_(metrics),
      control_(kControlKeyboardIrq | kControlSystem),
      output_port_(kOutputPortDefault) {}

void I8042::Read(uint64_t offset, std::span<uint8_t> data) {
  if (data.size() != 1 || (offset != kDataOffset && offset != kStatusOffset)) {
    std::fill(data.begin(), data.end(), uint8_t{0xFF});
    metrics_.bad_accesses.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  std::lock_guard lock(mutex_);
  data[0] = offset == kStatusOffset ? Status() : ReadData();
}

void I8042::Write(uint64_t offset, std::span<const uint8_t> data) {
  if (data.size() != 1 || (offset != kDataOffset && offset != kStatusOffset)) {
    metrics_.bad_accesses.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  bool reset = false;
  {
    std::lock_guard lock(mutex_);
    reset = offset == kStatusOffset ? WriteCommand(data[0]) : WriteData(data[0]);
  }
  if (reset) {
    metrics_.reset_requests.fetch_add(1, std::memory_order_relaxed);
    if (on_reset_) on_reset_();
  }
}

Result<void> I8042::RequestCtrlAltDel() {
  std::lock_guard lock(mutex_);
  const auto& keys = (control_ & kControlTranslate) != 0 ? kCtrlAltDelSet1 : kCtrlAltDelSet2;
  if (kBufferSize - count_ < std::size(keys)) {
    return Error(EAGAIN, "i8042: no room for ctrl-alt-del: the guest is not reading its keyboard");
  }
  for (uint8_t key : keys) Push(key);
  if ((control_ & kControlKeyboardIrq) != 0) {
    HULL_TRY(irq_->Trigger().WithContext("i8042: raising IRQ 1 for ctrl-alt-del"));
  }
  return Ok();
}

uint8_t I8042::Status() const {
  uint8_t status = kStatusSystem | kStatusUnlocked;
  if (count_ > 0) status |= kStatusOutputFull;
  if (pending_command_ != 0) status |= kStatusCommand;
  return status;
}

uint8_t I8042::ReadData() {
  if (count_ == 0) return 0;
  const uint8_t byte = buffer_[head_];
  head_ = (head_ + 1) % kBufferSize;
  --count_;
  // One byte per interrupt, as from a real keyboard.
  if (count_ > 0 && (control_ & kControlKeyboardIrq) != 0) TriggerKeyboardIrq();
  return byte;
}

bool I8042::WriteCommand(uint8_t command) {
  pending_command_ = 0;
  switch (command) {
    case kCmdReadControl:
      Flush();
      Push(control_);
      return false;
    case kCmdWriteControl:
    case kCmdWriteOutputPort:
      pending_command_ = command;
      return false;
    case kCmdSelfTest:
      Flush();
      Push(kSelfTestPassed);
      return false;
    case kCmdKeyboardTest:
      Flush();
      Push(kKeyboardTestPassed);
      return false;
    case kCmdDisableKeyboard:
      control_ |= kControlKeyboardDisabled;
      return false;
    case kCmdEnableKeyboard:
      control_ &= static_cast<uint8_t>(~kControlKeyboardDisabled);
      return false;
    case kCmdDisableAux:
      control_ |= kControlAuxDisabled;
      return false;
    case kCmdEnableAux:
      control_ &= static_cast<uint8_t>(~kControlAuxDisabled);
      return false;
    case kCmdReadOutputPort:
      Flush();
      Push(output_port_);
      return false;
    default:
      // 0xF0-0xFF pulse the output lines whose bits are clear; line 0 is
      // the CPU reset (0xFE is the usual "reset the machine").
      if (command >= kCmdPulseFirst) return (command & kOutputPortReset) == 0;
      SPDLOG_DEBUG("i8042: ignoring command {:#04x}", command);
      return false;
  }
}

bool I8042::WriteData(uint8_t value) {
  const uint8_t command = pending_command_;
  pending_command_ = 0;
  switch (command) {
    case kCmdWriteControl:
      control_ = value;
      return false;
    case kCmdWriteOutputPort:
      output_port_ = value;
      return (value & kOutputPortReset) == 0;
    default:
      break;
  }
  // A byte for the keyboard itself: answer as an MF2 keyboard would.
  Flush();
  Push(kKbdAck);
  if (value == kKbdReset) Push(kKbdSelfTestPassed);
  if (value == kKbdGetId) {
    for (uint8_t byte : kKbdIdMf2) Push(byte);
  }
  if ((control_ & kControlKeyboardIrq) != 0) TriggerKeyboardIrq();
  return false;
}

void I8042::Push(uint8_t byte) {
  if (count_ == kBufferSize) {
    metrics_.missed_bytes.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  buffer_[(head_ + count_) % kBufferSize] = byte;
  ++count_;
}

void I8042::TriggerKeyboardIrq() {
  if (Result<void> result = irq_->Trigger(); !result.ok()) {
    if (metrics_.irq_errors.fetch_add(1, std::memory_order_relaxed) == 0) {
      spdlog::warn("i8042: raising IRQ {}: {}", kI8042KeyboardIrq, result.error().ToString());
    }
  }
}

}  // namespace hull::vmm
