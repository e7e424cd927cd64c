#pragma once

// virtio-rng / entropy device (virtio 1.2 §5.4): one request queue whose
// device-writable buffers the device fills with bytes from the host's
// getrandom(2). No features, no configuration space.
//
// Each request gets at most kMaxBytesPerRequest bytes (the used length says
// how many), so a driver offering a huge buffer cannot hold the event loop;
// the driver simply asks again.
//
//   MmioTransport transport("virtio-rng0", std::make_unique<RngDevice>(), memory, std::move(irq));

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "hull/common/result.h"
#include "hull/vmm/memory/guest_memory.h"
#include "hull/vmm/virtio/active_queues.h"
#include "hull/vmm/virtio/constants.h"
#include "hull/vmm/virtio/descriptor_chain.h"
#include "hull/vmm/virtio/device.h"
#include "hull/vmm/virtio/queue.h"
#include "hull/vmm/virtio/rng/metrics.h"

namespace hull::vmm::virtio::rng {

inline constexpr uint32_t kMaxBytesPerRequest = 64 * 1024;

class RngDevice final : public VirtioDevice {
 public:
  // `queue_size`: the request queue's maximum size, a power of two.
  explicit RngDevice(uint16_t queue_size = 256);

  uint32_t device_id() const override { return kDeviceIdRng; }
  uint64_t device_features() const override { return 0; }
  std::span<const uint16_t> queue_max_sizes() const override { return queue_max_sizes_; }
  // No configuration space: every read is all-ones, writes are ignored.
  void ReadConfig(uint64_t offset, std::span<uint8_t> data) const override;
  void WriteConfig(uint64_t, std::span<const uint8_t>) override {}
  Result<void> Activate(const GuestMemory& memory, std::span<Queue> queues, uint64_t features,
                        VirtioInterrupt& interrupt) override;
  Result<void> ProcessQueue(size_t index) override;
  void Reset() override;

  const RngMetrics& metrics() const noexcept { return metrics_; }

 private:
  // Serves one request; returns the used length.
  uint32_t HandleRequest(const DescriptorChain& chain);

  std::array<uint16_t, 1> queue_max_sizes_;
  RngMetrics metrics_;

  // Set by Activate, cleared by Reset.
  ActiveQueues active_;

  std::vector<std::span<uint8_t>> slices_;  // reused per request
};

}  // namespace hull::vmm::virtio::rng
