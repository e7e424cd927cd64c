#pragma once

// Numbers from the virtio 1.2 specification that more than one file needs:
// device IDs (§5), device status bits (§2.1), reserved feature bits (§6) and
// split-virtqueue flags (§2.7). Virtio 1.x structures are little-endian, as
// is every host hull runs on (asserted where structures are copied).

#include <cstdint>

namespace hull::vmm::virtio {

// §5: device types.
inline constexpr uint32_t kDeviceIdNet = 1;
inline constexpr uint32_t kDeviceIdBlock = 2;
inline constexpr uint32_t kDeviceIdRng = 4;
inline constexpr uint32_t kDeviceIdBalloon = 5;
inline constexpr uint32_t kDeviceIdVsock = 19;
inline constexpr uint32_t kDeviceIdFs = 26;

// §2.1: device status field.
inline constexpr uint32_t kStatusAcknowledge = 1;
inline constexpr uint32_t kStatusDriver = 2;
inline constexpr uint32_t kStatusDriverOk = 4;
inline constexpr uint32_t kStatusFeaturesOk = 8;
inline constexpr uint32_t kStatusDeviceNeedsReset = 0x40;
inline constexpr uint32_t kStatusFailed = 0x80;

// Feature bits, as masks of the 64-bit feature word.
constexpr uint64_t FeatureBit(unsigned bit) { return uint64_t{1} << bit; }

// §6: reserved (transport and ring) feature bits.
inline constexpr uint64_t kFeatureIndirectDesc = FeatureBit(28);  // VIRTIO_F_INDIRECT_DESC
inline constexpr uint64_t kFeatureEventIdx = FeatureBit(29);      // VIRTIO_F_EVENT_IDX
inline constexpr uint64_t kFeatureVersion1 = FeatureBit(32);      // VIRTIO_F_VERSION_1
// Bits 28..(41) belong to the transport; a device's own bits are 0..23 (and
// 50..127, unused here).
inline constexpr uint64_t kDeviceFeatureMask = FeatureBit(24) - 1;

// §2.7.5: virtq_desc.flags.
inline constexpr uint16_t kDescFlagNext = 1;
inline constexpr uint16_t kDescFlagWrite = 2;
inline constexpr uint16_t kDescFlagIndirect = 4;

// §2.7.6: virtq_avail.flags.
inline constexpr uint16_t kAvailFlagNoInterrupt = 1;

// §2.7: the split virtqueue size is a power of two no larger than this.
inline constexpr uint16_t kMaxQueueSize = 32768;

}  // namespace hull::vmm::virtio
