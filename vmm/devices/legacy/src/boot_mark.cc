#include "hull/vmm/devices/legacy/boot_mark.h"

#include <algorithm>

namespace hull::vmm {

std::string_view BootStageName(BootStage stage) {
  switch (stage) {
    case BootStage::kBooted:
      return "booted";
    case BootStage::kReady:
      return "ready";
  }
  return "unknown";
}

BootMark::BootMark(std::chrono::steady_clock::time_point start, BootMarkMetrics& metrics,
                   Callback on_mark)
    : start_(start), metrics_(metrics), on_mark_(std::move(on_mark)) {}

void BootMark::Read(uint64_t /*offset*/, std::span<uint8_t> data) {
  std::fill(data.begin(), data.end(), uint8_t{0xFF});
}

void BootMark::Write(uint64_t offset, std::span<const uint8_t> data) {
  const auto now = std::chrono::steady_clock::now();
  const uint8_t value = data.empty() ? 0 : data[0];
  if (offset != 0 || data.size() != 1 ||
      (value != static_cast<uint8_t>(BootStage::kBooted) &&
       value != static_cast<uint8_t>(BootStage::kReady))) {
    metrics_.ignored_writes.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const auto stage = static_cast<BootStage>(value);
  // A VMM started "later" than now (a test's clock) still reads as 0.
  const auto since_start = std::max(std::chrono::nanoseconds(0), now - start_);
  int64_t expected = -1;
  if (!marked_ns_[value - 1U].compare_exchange_strong(expected, since_start.count(),
                                                      std::memory_order_acq_rel)) {
    metrics_.ignored_writes.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const int64_t us = std::chrono::duration_cast<std::chrono::microseconds>(since_start).count();
  (stage == BootStage::kBooted ? metrics_.booted_us : metrics_.ready_us)
      .store(us, std::memory_order_relaxed);
  if (on_mark_) on_mark_(stage, since_start);
}

std::optional<std::chrono::nanoseconds> BootMark::TimeOf(BootStage stage) const {
  const size_t index = static_cast<size_t>(stage) - 1;
  if (index >= marked_ns_.size()) return std::nullopt;
  const int64_t ns = marked_ns_[index].load(std::memory_order_acquire);
  if (ns < 0) return std::nullopt;
  return std::chrono::nanoseconds(ns);
}

}  // namespace hull::vmm
