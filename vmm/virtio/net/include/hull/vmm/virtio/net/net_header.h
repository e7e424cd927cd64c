#pragma once

// struct virtio_net_hdr (virtio 1.2 §5.1.6): the 12 bytes in front of every
// packet in both directions. With VIRTIO_F_VERSION_1 the header always has
// num_buffers, so it is 12 bytes whether or not VIRTIO_NET_F_MRG_RXBUF was
// negotiated; the tap device is told the same size (TUNSETVNETHDRSZ), so the
// header passes between guest and tap unchanged.
//
// On transmit the header comes from the guest: ValidateTxHeader checks it
// against the packet and the negotiated features before the packet reaches
// the host kernel (which checks again).

#include <cstdint>
#include <span>
#include <string_view>

namespace hull::vmm::virtio::net {

inline constexpr size_t kHeaderSize = 12;
// The largest frame either way: a 64 KiB GSO packet plus an Ethernet header
// (and a VLAN tag).
inline constexpr size_t kMaxFrameSize = 65536 + 14 + 4;
inline constexpr size_t kMaxPacketSize = kHeaderSize + kMaxFrameSize;

// §5.1.6: flags.
inline constexpr uint8_t kHdrFlagNeedsCsum = 1;
inline constexpr uint8_t kHdrFlagDataValid = 2;
inline constexpr uint8_t kHdrFlagRscInfo = 4;
// §5.1.6: gso_type.
inline constexpr uint8_t kGsoNone = 0;
inline constexpr uint8_t kGsoTcpv4 = 1;
inline constexpr uint8_t kGsoUdp = 3;
inline constexpr uint8_t kGsoTcpv6 = 4;
inline constexpr uint8_t kGsoEcn = 0x80;

struct NetHeader {
  uint8_t flags = 0;
  uint8_t gso_type = 0;
  uint16_t hdr_len = 0;
  uint16_t gso_size = 0;
  uint16_t csum_start = 0;
  uint16_t csum_offset = 0;
  uint16_t num_buffers = 0;
};

// Little-endian decode/encode of the 12 header bytes.
NetHeader DecodeHeader(std::span<const uint8_t, kHeaderSize> bytes);
void EncodeHeader(const NetHeader& header, std::span<uint8_t, kHeaderSize> bytes);

// What the driver may ask of the device on transmit, from the negotiated
// features.
struct TxOffloads {
  bool csum = false;  // VIRTIO_NET_F_CSUM
  bool tso4 = false;  // VIRTIO_NET_F_HOST_TSO4
  bool tso6 = false;  // VIRTIO_NET_F_HOST_TSO6
  bool ufo = false;   // VIRTIO_NET_F_HOST_UFO
  bool ecn = false;   // VIRTIO_NET_F_HOST_ECN
};

enum class TxVerdict {
  kOk,
  kTooShort,         // less than a header and an Ethernet header
  kTooLong,          // more than kMaxPacketSize
  kBadFlags,         // unknown flag bits, or a flag the features do not allow
  kBadGsoType,       // unknown GSO type, or one not negotiated
  kBadChecksumSpan,  // csum_start + csum_offset + 2 past the frame
  kBadGsoSize,       // GSO without a segment size
};
std::string_view TxVerdictName(TxVerdict verdict);

// `packet_len`: header + frame, as the guest offered it.
TxVerdict ValidateTxHeader(const NetHeader& header, uint64_t packet_len,
                           const TxOffloads& offloads);

}  // namespace hull::vmm::virtio::net
