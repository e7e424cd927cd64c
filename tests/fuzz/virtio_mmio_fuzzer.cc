// Fuzzes the virtio-mmio transport with a virtio-rng device behind it: the
// input is a sequence of register reads and writes (mostly aligned 32-bit
// ones at register offsets, sometimes any width at any offset, config space
// included), guest memory writes into the ring area, and ioeventfd-style
// notifications. A seed that initialises the device the way Linux does
// takes the fuzzer past DRIVER_OK, so queue processing is reached too.
//
// Checked beyond the sanitizers: the identification registers never change,
// DRIVER_OK is never set without FEATURES_OK, and a reset always leaves a
// clean device.

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include "../unit/vmm/virtio/split_ring.h"
#include "fuzz_input.h"
#include "hull/common/check.h"
#include "hull/vmm/virtio/mmio_transport.h"
#include "hull/vmm/virtio/rng/rng_device.h"

namespace {

using hull::fuzz::Input;
using hull::vmm::GuestMemory;
using namespace hull::vmm::virtio;  // NOLINT(google-build-using-namespace)

constexpr uint64_t kRam = 0x40000;
// Guest memory writes land in [kRingArea, kRingArea + 0x8000): descriptor
// table, rings and the start of the data area.
constexpr uint64_t kRingArea = 0x1000;

const GuestMemory& Memory() { return hull::fuzz::StaticMemory<kRam>(); }

uint32_t ReadRegister(MmioTransport& transport, uint64_t offset) {
  std::array<uint8_t, 4> bytes{};
  transport.Read(offset, bytes);
  uint32_t value;
  std::memcpy(&value, bytes.data(), sizeof(value));
  return value;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Device errors are logged (rate-limited per transport); not here.
  static const bool quiet = [] {
    spdlog::set_level(spdlog::level::off);
    return true;
  }();
  (void)quiet;
  Input in(data, size);
  const GuestMemory& memory = Memory();
  // Guest RAM starts zeroed each run, as after a guest's boot.
  std::vector<uint8_t> zeros(0x10000, 0);
  HULL_CHECK(memory.Write(hull::vmm::GuestAddress(0), zeros).ok());

  int irqs = 0;
  MmioTransport transport("virtio-rng-fuzz", std::make_unique<rng::RngDevice>(8), memory,
                          std::make_unique<testing::CountingIrqLine>(&irqs));

  for (int op = 0; op < 512 && !in.empty(); ++op) {
    const auto code = in.Take<uint8_t>();
    const bool raw = (code & 4) != 0;
    static constexpr std::array<size_t, 4> kWidths{4, 1, 2, 8};
    const size_t width = raw ? kWidths[(code >> 3) & 3] : 4;
    switch (code & 3) {
      case 0:
      case 1: {
        const uint64_t offset =
            raw ? in.Take<uint16_t>() % 0x220u : (in.Take<uint8_t>() * 4u) % 0x200u;
        std::array<uint8_t, 8> bytes{};
        if ((code & 3) == 0) {
          transport.Read(offset, std::span(bytes).first(width));
        } else {
          const auto value = in.Take<uint64_t>();
          std::memcpy(bytes.data(), &value, sizeof(value));
          transport.Write(offset, std::span<const uint8_t>(bytes).first(width));
        }
        break;
      }
      case 2: {
        const uint64_t addr = kRingArea + in.Take<uint16_t>() % 0x8000u;
        const auto value = in.Take<uint64_t>();
        (void)memory.WriteObject(hull::vmm::GuestAddress(addr), value);
        break;
      }
      case 3:
        (void)transport.HandleNotify(in.Take<uint8_t>() % 3u);
        break;
    }

    HULL_CHECK(ReadRegister(transport, 0x000) == MmioTransport::kMagic);
    HULL_CHECK(ReadRegister(transport, 0x004) == 2);
    const uint32_t status = transport.status();
    HULL_CHECK((status & kStatusDriverOk) == 0 || (status & kStatusFeaturesOk) != 0);
  }
  // Reset always brings the device back to a clean state.
  const std::array<uint8_t, 4> zero{};
  transport.Write(0x070, zero);
  HULL_CHECK(transport.status() == 0 && transport.interrupt_status() == 0);
  return 0;
}
