#pragma once

// An address space of devices: hull-vmm has two, port I/O and MMIO. A vCPU
// exit names an address and a size; the bus finds the one device whose range
// holds the whole access and hands it the offset into that range.
//
// Threading: every device is registered while the VMM is being set up, before
// any vCPU thread starts; from then on the device table is read-only, so
// Read() and Write() take no lock and may run concurrently on all vCPU
// threads (the devices lock what they need themselves). Register() after the
// first access fails with EBUSY rather than racing with readers.

#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hull/common/result.h"
#include "hull/vmm/devices/bus_device.h"

namespace hull::vmm {

// Accesses that reached no device (or a device with a bad width). They are
// the guest's business — probing for hardware is normal — so they are
// counted, never logged above debug. Relaxed atomics: counters, not locks.
struct BusMetrics {
  std::atomic<uint64_t> unhandled_reads{0};
  std::atomic<uint64_t> unhandled_writes{0};
};

class Bus {
 public:
  // The widest access a vCPU exit carries (MMIO: 8 bytes).
  static constexpr size_t kMaxAccessSize = 8;

  // `name` ("pio", "mmio") prefixes errors. `metrics` must outlive the bus.
  Bus(std::string name, BusMetrics& metrics) : name_(std::move(name)), metrics_(metrics) {}
  Bus(const Bus&) = delete;
  Bus& operator=(const Bus&) = delete;

  // Maps [base, base + len) to `device`, which must outlive the bus. Fails
  // (EINVAL) on a null device, zero length, a range passing 2^64, or an
  // overlap with a registered device (the error names both); EBUSY once
  // the bus has served an access.
  Result<void> Register(uint64_t base, uint64_t len, BusDevice* device);

  // Dispatches a guest read of data.size() (1..8) bytes at `addr`. When no
  // device holds the whole access, `data` is filled with 0xFF (what an empty
  // ISA/PCI bus reads as), the access is counted, and false is returned.
  bool Read(uint64_t addr, std::span<uint8_t> data);

  // Dispatches a guest write; false (and counted) when no device holds the
  // whole access. The caller ignores an unhandled write.
  bool Write(uint64_t addr, std::span<const uint8_t> data);

  const std::string& name() const noexcept { return name_; }

 private:
  struct Entry {
    uint64_t base;
    uint64_t len;
    BusDevice* device;
  };

  // The device holding [addr, addr + size) and the offset of addr in it.
  const Entry* Find(uint64_t addr, size_t size) const noexcept;

  std::string name_;
  BusMetrics& metrics_;
  std::vector<Entry> entries_;  // sorted by base, non-overlapping
  std::atomic<bool> serving_{false};
};

}  // namespace hull::vmm
