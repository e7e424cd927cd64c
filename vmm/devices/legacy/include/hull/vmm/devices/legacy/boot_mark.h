#pragma once

// The boot-mark port (0x440): how the guest tells the VMM how far it got,
// for boot-time figures without parsing the console. The guest's init
// writes one byte: 1 when init has started ("booted"), 2 when the agent
// serves ("ready"). The first write of each is timed from the VMM's start
// and reported; repeats and other values are counted and ignored. Reads
// return 0xFF (no device state to leak, and what an empty port reads as).
//
// Firecracker has the same idea (a magic port its guests write when booted).

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>

#include "hull/vmm/devices/bus_device.h"

namespace hull::vmm {

inline constexpr uint16_t kBootMarkPort = 0x440;
inline constexpr uint16_t kBootMarkPortCount = 1;

enum class BootStage : uint8_t {
  kBooted = 1,  // init started
  kReady = 2,   // the agent serves
};

// "booted", "ready".
std::string_view BootStageName(BootStage stage);

struct BootMarkMetrics {
  // Microseconds from the VMM's start to the first mark; -1 until seen.
  std::atomic<int64_t> booted_us{-1};
  std::atomic<int64_t> ready_us{-1};
  std::atomic<uint64_t> ignored_writes{0};  // repeats, unknown values, wide accesses
};

class BootMark final : public BusDevice {
 public:
  // Called on the vCPU thread, once per stage, with the time since `start`.
  using Callback = std::function<void(BootStage, std::chrono::nanoseconds since_start)>;

  // `start` is when the VMM started (its clock is steady_clock); `metrics`
  // must outlive the device.
  BootMark(std::chrono::steady_clock::time_point start, BootMarkMetrics& metrics, Callback on_mark);

  std::string_view name() const override { return "boot-mark"; }
  void Read(uint64_t offset, std::span<uint8_t> data) override;
  void Write(uint64_t offset, std::span<const uint8_t> data) override;

  // When `stage` was first marked, since the start; nullopt until then.
  std::optional<std::chrono::nanoseconds> TimeOf(BootStage stage) const;

 private:
  std::chrono::steady_clock::time_point start_;
  BootMarkMetrics& metrics_;
  Callback on_mark_;
  // Nanoseconds since start per stage (index stage - 1); -1 until seen. The
  // exchange on it makes "first time" exact across concurrent vCPUs.
  std::array<std::atomic<int64_t>, 2> marked_ns_{-1, -1};
};

}  // namespace hull::vmm
