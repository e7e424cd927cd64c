// Fuzzes the i8042 and the boot-mark port as a hostile guest drives them:
// any sequence of port reads and writes, with ctrl-alt-del requests mixed
// in. Nothing may crash; resets may happen any number of times.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>

#include "hull/vmm/devices/legacy/boot_mark.h"
#include "hull/vmm/devices/legacy/i8042.h"

namespace {

class NullIrq final : public hull::vmm::IrqLine {
 public:
  hull::Result<void> Trigger() override { return hull::Ok(); }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  hull::vmm::I8042Metrics metrics;
  uint64_t resets = 0;
  hull::vmm::I8042 i8042(
      std::make_unique<NullIrq>(), [&] { ++resets; }, metrics);
  hull::vmm::BootMarkMetrics boot_metrics;
  hull::vmm::BootMark boot_mark(std::chrono::steady_clock::now(), boot_metrics,
                                [](hull::vmm::BootStage, std::chrono::nanoseconds) {});
  for (size_t i = 0; i + 2 < size; i += 3) {
    const uint8_t kind = data[i] % 5;
    const uint64_t offset = data[i + 1] % hull::vmm::kI8042PortCount;
    uint8_t value = data[i + 2];
    switch (kind) {
      case 0:
        i8042.Read(offset, std::span<uint8_t>(&value, 1));
        break;
      case 1:
        i8042.Write(offset, std::span<const uint8_t>(&value, 1));
        break;
      case 2:
        (void)i8042.RequestCtrlAltDel();
        break;
      case 3:
        boot_mark.Write(0, std::span<const uint8_t>(&value, 1));
        break;
      case 4:
        boot_mark.Read(0, std::span<uint8_t>(&value, 1));
        break;
    }
  }
  if (resets != metrics.reset_requests.load()) std::abort();
  return 0;
}
