// Fuzzes the 16550A as a hostile guest drives it: any sequence of register
// reads and writes (of any width) interleaved with host input. Register
// state is guest-controlled; the device must stay within its FIFO and never
// crash, whatever the order.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>

#include "hull/vmm/devices/legacy/serial.h"

namespace {

class NullIrq final : public hull::vmm::IrqLine {
 public:
  hull::Result<void> Trigger() override { return hull::Ok(); }
};

class CountingSink final : public hull::vmm::SerialSink {
 public:
  size_t Write(std::span<const uint8_t> bytes) override {
    // Refuse every fourth write, as a full pipe would.
    return (++writes % 4 == 0) ? 0 : bytes.size();
  }
  uint64_t writes = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  hull::vmm::SerialMetrics metrics;
  CountingSink sink;
  hull::vmm::Serial serial(std::make_unique<NullIrq>(), &sink, metrics);
  std::span<const uint8_t> input(data, size);
  // Each op: [kind][offset][value], or for input [kind][length][bytes...].
  while (input.size() >= 3) {
    const uint8_t kind = input[0] % 4;
    const uint64_t offset = input[1] % hull::vmm::kSerialPortCount;
    const uint8_t value = input[2];
    input = input.subspan(3);
    switch (kind) {
      case 0: {
        uint8_t out = 0;
        serial.Read(offset, std::span<uint8_t>(&out, 1));
        break;
      }
      case 1:
        serial.Write(offset, std::span<const uint8_t>(&value, 1));
        break;
      case 2: {
        const size_t n = std::min<size_t>(value, input.size());
        serial.EnqueueInput(input.first(n));
        input = input.subspan(n);
        break;
      }
      case 3: {
        // Wider than a byte: the bus allows it when it fits the range.
        uint8_t wide[4] = {value, value, value, value};
        const size_t width = 2 + value % 3;
        if (offset + width <= hull::vmm::kSerialPortCount) {
          serial.Write(offset, std::span<const uint8_t>(wide, width));
          serial.Read(offset, std::span<uint8_t>(wide, width));
        }
        break;
      }
    }
    if (serial.InputSpace() > hull::vmm::Serial::kRxFifoSize) std::abort();
  }
  return 0;
}
