#pragma once

#include <atomic>
#include <cstdint>

namespace hull::vmm::virtio::block {

// Metrics of one virtio-blk device. Plain counters, read from any thread.
struct BlockMetrics {
  std::atomic<uint64_t> read_requests{0};
  std::atomic<uint64_t> write_requests{0};
  std::atomic<uint64_t> flush_requests{0};
  std::atomic<uint64_t> get_id_requests{0};
  std::atomic<uint64_t> unsupported_requests{0};  // answered VIRTIO_BLK_S_UNSUPP
  std::atomic<uint64_t> read_bytes{0};
  std::atomic<uint64_t> write_bytes{0};
  std::atomic<uint64_t> io_errors{0};             // host I/O failed: VIRTIO_BLK_S_IOERR
  std::atomic<uint64_t> read_only_rejections{0};  // OUT to a read-only disk: IOERR
  std::atomic<uint64_t> malformed_requests{0};    // did not parse: IOERR if it had a status byte
  std::atomic<uint64_t> dropped_requests{0};      // malformed, no status byte: used len 0
};

}  // namespace hull::vmm::virtio::block
