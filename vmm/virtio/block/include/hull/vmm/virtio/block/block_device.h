#pragma once

// virtio-blk (virtio 1.2 §5.2): one request queue in front of a Disk.
//
// Offered features: VIRTIO_BLK_F_SEG_MAX, VIRTIO_BLK_F_BLK_SIZE (512),
// VIRTIO_BLK_F_FLUSH, and VIRTIO_BLK_F_RO for a read-only disk. Requests are
// served synchronously, in order, on the thread that processes the queue:
// every available request on each notification, then at most one interrupt.
//
//   HULL_ASSIGN_OR_RETURN(Disk disk, Disk::Open(path, read_only));
//   HULL_ASSIGN_OR_RETURN(std::unique_ptr<BlockDevice> blk, BlockDevice::Create(std::move(disk)));
//   MmioTransport transport("virtio-blk0", std::move(blk), memory, std::move(irq));

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "hull/common/result.h"
#include "hull/vmm/memory/guest_memory.h"
#include "hull/vmm/virtio/active_queues.h"
#include "hull/vmm/virtio/block/disk.h"
#include "hull/vmm/virtio/block/metrics.h"
#include "hull/vmm/virtio/block/request.h"
#include "hull/vmm/virtio/constants.h"
#include "hull/vmm/virtio/descriptor_chain.h"
#include "hull/vmm/virtio/device.h"
#include "hull/vmm/virtio/queue.h"

namespace hull::vmm::virtio::block {

// §5.2.3: device feature bits.
inline constexpr uint64_t kFeatureSegMax = FeatureBit(2);
inline constexpr uint64_t kFeatureRo = FeatureBit(5);
inline constexpr uint64_t kFeatureBlkSize = FeatureBit(6);
inline constexpr uint64_t kFeatureFlush = FeatureBit(9);

// §5.2.4: the leading fields of struct virtio_blk_config that we expose.
inline constexpr uint64_t kConfigCapacityOffset = 0;  // le64, in 512-byte sectors
inline constexpr uint64_t kConfigSegMaxOffset = 12;   // le32
inline constexpr uint64_t kConfigBlkSizeOffset = 20;  // le32
inline constexpr uint64_t kConfigSize = 24;

struct BlockOptions {
  // The request queue's maximum size: a power of two, 4..32768.
  uint16_t queue_size = 256;
  // What GET_ID answers: at most 20 bytes. Empty: derived from the image's
  // inode and device numbers, stable across runs.
  std::string serial;
};

class BlockDevice final : public VirtioDevice {
 public:
  static Result<std::unique_ptr<BlockDevice>> Create(Disk disk, const BlockOptions& options = {});

  uint32_t device_id() const override { return kDeviceIdBlock; }
  uint64_t device_features() const override;
  std::span<const uint16_t> queue_max_sizes() const override { return queue_max_sizes_; }
  void ReadConfig(uint64_t offset, std::span<uint8_t> data) const override;
  // The config space is read-only (VIRTIO_BLK_F_CONFIG_WCE is not offered).
  void WriteConfig(uint64_t, std::span<const uint8_t>) override {}
  Result<void> Activate(const GuestMemory& memory, std::span<Queue> queues, uint64_t features,
                        VirtioInterrupt& interrupt) override;
  Result<void> ProcessQueue(size_t index) override;
  void Reset() override;

  const BlockMetrics& metrics() const noexcept { return metrics_; }
  const Disk& disk() const noexcept { return disk_; }
  const std::array<uint8_t, kIdBytes>& serial() const noexcept { return serial_; }

 private:
  BlockDevice(Disk disk, uint16_t queue_size, std::array<uint8_t, kIdBytes> serial);

  // Serves one request; returns the used length (bytes written to the guest).
  uint32_t HandleRequest(const DescriptorChain& chain);
  // Executes a parsed request; returns the status byte and counts data bytes
  // written to the guest in *written.
  uint8_t Execute(const DescriptorChain& chain, const Request& request, uint32_t* written);

  Disk disk_;
  std::array<uint16_t, 1> queue_max_sizes_;
  std::array<uint8_t, kIdBytes> serial_;
  std::array<uint8_t, kConfigSize> config_{};
  BlockMetrics metrics_;

  // Set by Activate, cleared by Reset.
  ActiveQueues active_;

  std::vector<std::span<uint8_t>> slices_;  // reused per request
};

}  // namespace hull::vmm::virtio::block
