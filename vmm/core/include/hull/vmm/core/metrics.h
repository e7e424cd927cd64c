#pragma once

// hull-vmm's counters, served by the control API's "metrics" op.
//
// One VmmMetrics lives as long as the VMM; each component is given a
// reference to its group at construction (Bus, Serial, I8042, BootMark) and
// the vCPU loop bumps `exits`. Counters are relaxed atomics: each is exact,
// but a snapshot is not atomic across counters. Components with counters of
// their own (virtio devices) add a named group with AddGroup().

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "hull/vmm/core/bus.h"
#include "hull/vmm/devices/legacy/boot_mark.h"
#include "hull/vmm/devices/legacy/i8042.h"
#include "hull/vmm/devices/legacy/serial.h"

namespace hull::vmm {

// vCPU exits by reason, summed over vCPUs.
struct ExitMetrics {
  std::atomic<uint64_t> io_in{0};
  std::atomic<uint64_t> io_out{0};
  std::atomic<uint64_t> mmio_read{0};
  std::atomic<uint64_t> mmio_write{0};
  std::atomic<uint64_t> hlt{0};
  std::atomic<uint64_t> shutdown{0};
  std::atomic<uint64_t> other{0};
};

// Bumps a counter (relaxed): metrics.exits.io_out += 1 reads worse.
inline void Count(std::atomic<uint64_t>& counter, uint64_t n = 1) {
  counter.fetch_add(n, std::memory_order_relaxed);
}

class VmmMetrics {
 public:
  using GroupFn = std::function<nlohmann::json()>;

  VmmMetrics() = default;
  VmmMetrics(const VmmMetrics&) = delete;
  VmmMetrics& operator=(const VmmMetrics&) = delete;

  ExitMetrics exits;
  BusMetrics pio;
  BusMetrics mmio;
  SerialMetrics serial;
  I8042Metrics i8042;
  BootMarkMetrics boot;

  // Adds "name": fn() to ToJson(). `fn` runs on the thread calling ToJson
  // (the event loop) and must be safe there. A name already used (or one of
  // the built-in groups) is replaced.
  void AddGroup(std::string name, GroupFn fn);

  // {"exits": {...}, "pio": {...}, "mmio": {...}, "serial": {...},
  //  "i8042": {...}, "boot": {"booted_ms": 123.4 | null, ...}, <groups>...}
  nlohmann::json ToJson() const;

 private:
  mutable std::mutex groups_mutex_;
  std::vector<std::pair<std::string, GroupFn>> groups_;
};

}  // namespace hull::vmm
