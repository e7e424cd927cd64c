#include "hull/vmm/core/metrics.h"

#include <algorithm>

namespace hull::vmm {
namespace {

using nlohmann::json;

uint64_t Load(const std::atomic<uint64_t>& counter) {
  return counter.load(std::memory_order_relaxed);
}

// Microseconds (-1: not yet) as milliseconds, or null.
json Milliseconds(const std::atomic<int64_t>& us) {
  const int64_t value = us.load(std::memory_order_relaxed);
  if (value < 0) return nullptr;
  return static_cast<double>(value) / 1000.0;
}

}  // namespace

void VmmMetrics::AddGroup(std::string name, GroupFn fn) {
  std::lock_guard lock(groups_mutex_);
  auto it = std::find_if(groups_.begin(), groups_.end(),
                         [&](const auto& group) { return group.first == name; });
  if (it != groups_.end()) {
    it->second = std::move(fn);
  } else {
    groups_.emplace_back(std::move(name), std::move(fn));
  }
}

json VmmMetrics::ToJson() const {
  json out = json::object();
  out["exits"] = {
      {"io_in", Load(exits.io_in)},
      {"io_out", Load(exits.io_out)},
      {"mmio_read", Load(exits.mmio_read)},
      {"mmio_write", Load(exits.mmio_write)},
      {"hlt", Load(exits.hlt)},
      {"shutdown", Load(exits.shutdown)},
      {"other", Load(exits.other)},
  };
  for (const auto& [name, bus] : {std::pair<const char*, const BusMetrics*>{"pio", &pio},
                                  std::pair<const char*, const BusMetrics*>{"mmio", &mmio}}) {
    out[name] = {{"unhandled_reads", Load(bus->unhandled_reads)},
                 {"unhandled_writes", Load(bus->unhandled_writes)}};
  }
  out["serial"] = {
      {"bytes_out", Load(serial.bytes_out)},       {"out_dropped", Load(serial.out_dropped)},
      {"bytes_in", Load(serial.bytes_in)},         {"in_dropped", Load(serial.in_dropped)},
      {"bad_accesses", Load(serial.bad_accesses)}, {"irq_errors", Load(serial.irq_errors)},
  };
  out["i8042"] = {
      {"reset_requests", Load(i8042.reset_requests)},
      {"bad_accesses", Load(i8042.bad_accesses)},
      {"missed_bytes", Load(i8042.missed_bytes)},
      {"irq_errors", Load(i8042.irq_errors)},
  };
  out["boot"] = {
      {"booted_ms", Milliseconds(boot.booted_us)},
      {"ready_ms", Milliseconds(boot.ready_us)},
      {"ignored_writes", Load(boot.ignored_writes)},
  };
  std::lock_guard lock(groups_mutex_);
  for (const auto& [name, fn] : groups_) out[name] = fn();
  return out;
}

}  // namespace hull::vmm
