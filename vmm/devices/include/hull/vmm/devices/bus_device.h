#pragma once

// What the vCPU exit dispatcher knows of a device: accesses at an offset
// inside the range the device was registered at (a port range on the I/O
// bus, an address range on the MMIO bus). The bus has already checked that
// [offset, offset + data.size()) lies inside that range; everything else
// about the access (width, alignment, value) is the guest's choice and the
// device must validate it. A bad access is the guest's problem, never ours:
// it reads as all-ones and writes are ignored (and counted), never a crash.

#include <cstdint>
#include <span>
#include <string_view>

namespace hull::vmm {

class BusDevice {
 public:
  virtual ~BusDevice() = default;

  // A short, stable name for logs and metrics ("serial", "virtio-blk0").
  virtual std::string_view name() const = 0;

  // Fill `data` (1..8 bytes) with what the guest reads at `offset`.
  virtual void Read(uint64_t offset, std::span<uint8_t> data) = 0;

  // The guest wrote `data` (1..8 bytes) at `offset`.
  virtual void Write(uint64_t offset, std::span<const uint8_t> data) = 0;
};

}  // namespace hull::vmm
