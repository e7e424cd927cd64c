#include "hull/vmm/core/bus.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <iterator>
#include <limits>

namespace hull::vmm {
namespace {

// Inclusive, so that a range ending at 2^64 prints without wrapping.
std::string DescribeRange(std::string_view device, uint64_t base, uint64_t len) {
  return fmt::format("{} [{:#x}-{:#x}]", device, base, base + (len - 1));
}

}  // namespace

Result<void> Bus::Register(uint64_t base, uint64_t len, BusDevice* device) {
  if (device == nullptr) {
    return Error(EINVAL, fmt::format("{} bus: registering a null device at {:#x}", name_, base));
  }
  const std::string_view name = device->name();
  if (serving_.load(std::memory_order_relaxed)) {
    return Error(
        EBUSY, fmt::format("{} bus: cannot register {} at {:#x}: vCPUs are already running", name_,
                           name, base));
  }
  if (len == 0) {
    return Error(EINVAL, fmt::format("{} bus: {} at {:#x} has length 0", name_, name, base));
  }
  if (len - 1 > std::numeric_limits<uint64_t>::max() - base) {
    return Error(EINVAL, fmt::format("{} bus: {} at {:#x} with length {:#x} passes 2^64", name_,
                                     name, base, len));
  }
  // Only the neighbours of the insertion point can overlap.
  auto next = std::upper_bound(entries_.begin(), entries_.end(), base,
                               [](uint64_t b, const Entry& e) { return b < e.base; });
  auto overlaps = [&](const Entry& e) {
    // Inclusive last addresses avoid overflow at the top of the space.
    return base <= e.base + (e.len - 1) && e.base <= base + (len - 1);
  };
  const Entry* clash = nullptr;
  if (next != entries_.end() && overlaps(*next)) clash = &*next;
  if (next != entries_.begin() && overlaps(*std::prev(next))) clash = &*std::prev(next);
  if (clash != nullptr) {
    return Error(EINVAL,
                 fmt::format("{} bus: {} overlaps {}", name_, DescribeRange(name, base, len),
                             DescribeRange(clash->device->name(), clash->base, clash->len)));
  }
  entries_.insert(next, Entry{base, len, device});
  return Ok();
}

const Bus::Entry* Bus::Find(uint64_t addr, size_t size) const noexcept {
  if (size == 0 || size > kMaxAccessSize) return nullptr;
  auto next = std::upper_bound(entries_.begin(), entries_.end(), addr,
                               [](uint64_t a, const Entry& e) { return a < e.base; });
  if (next == entries_.begin()) return nullptr;
  const Entry& entry = *std::prev(next);
  const uint64_t offset = addr - entry.base;  // addr >= base
  if (offset >= entry.len || size > entry.len - offset) return nullptr;
  return &entry;
}

bool Bus::Read(uint64_t addr, std::span<uint8_t> data) {
  if (!serving_.load(std::memory_order_relaxed)) serving_.store(true, std::memory_order_relaxed);
  const Entry* entry = Find(addr, data.size());
  if (entry == nullptr) {
    std::fill(data.begin(), data.end(), uint8_t{0xFF});
    metrics_.unhandled_reads.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  entry->device->Read(addr - entry->base, data);
  return true;
}

bool Bus::Write(uint64_t addr, std::span<const uint8_t> data) {
  if (!serving_.load(std::memory_order_relaxed)) serving_.store(true, std::memory_order_relaxed);
  const Entry* entry = Find(addr, data.size());
  if (entry == nullptr) {
    metrics_.unhandled_writes.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  entry->device->Write(addr - entry->base, data);
  return true;
}

}  // namespace hull::vmm
