#pragma once

#include <atomic>
#include <cstdint>

namespace hull::vmm::virtio::rng {

// Metrics of one virtio-rng device. Plain counters, read from any thread.
struct RngMetrics {
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> bytes{0};             // random bytes given to the guest
  std::atomic<uint64_t> invalid_requests{0};  // chains with device-readable buffers: used len 0
  std::atomic<uint64_t> entropy_errors{0};    // getrandom failed: used len 0
};

}  // namespace hull::vmm::virtio::rng
