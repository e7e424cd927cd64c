#include "hull/vmm/virtio/net/net_header.h"

namespace hull::vmm::virtio::net {
namespace {

uint16_t Le16(std::span<const uint8_t, kHeaderSize> b, size_t at) {
  return static_cast<uint16_t>(b[at] | (b[at + 1] << 8));
}
void PutLe16(std::span<uint8_t, kHeaderSize> b, size_t at, uint16_t v) {
  b[at] = static_cast<uint8_t>(v);
  b[at + 1] = static_cast<uint8_t>(v >> 8);
}

constexpr size_t kEthernetHeader = 14;

}  // namespace

NetHeader DecodeHeader(std::span<const uint8_t, kHeaderSize> bytes) {
  return NetHeader{
      .flags = bytes[0],
      .gso_type = bytes[1],
      .hdr_len = Le16(bytes, 2),
      .gso_size = Le16(bytes, 4),
      .csum_start = Le16(bytes, 6),
      .csum_offset = Le16(bytes, 8),
      .num_buffers = Le16(bytes, 10),
  };
}

void EncodeHeader(const NetHeader& header, std::span<uint8_t, kHeaderSize> bytes) {
  bytes[0] = header.flags;
  bytes[1] = header.gso_type;
  PutLe16(bytes, 2, header.hdr_len);
  PutLe16(bytes, 4, header.gso_size);
  PutLe16(bytes, 6, header.csum_start);
  PutLe16(bytes, 8, header.csum_offset);
  PutLe16(bytes, 10, header.num_buffers);
}

std::string_view TxVerdictName(TxVerdict verdict) {
  switch (verdict) {
    case TxVerdict::kOk:
      return "ok";
    case TxVerdict::kTooShort:
      return "too short";
    case TxVerdict::kTooLong:
      return "too long";
    case TxVerdict::kBadFlags:
      return "bad flags";
    case TxVerdict::kBadGsoType:
      return "bad GSO type";
    case TxVerdict::kBadChecksumSpan:
      return "checksum span past the frame";
    case TxVerdict::kBadGsoSize:
      return "GSO without a segment size";
  }
  return "unknown";
}

TxVerdict ValidateTxHeader(const NetHeader& header, uint64_t packet_len,
                           const TxOffloads& offloads) {
  if (packet_len < kHeaderSize + kEthernetHeader) return TxVerdict::kTooShort;
  if (packet_len > kMaxPacketSize) return TxVerdict::kTooLong;
  const uint64_t frame_len = packet_len - kHeaderSize;
  // §5.1.6.2.1: a driver sets only NEEDS_CSUM on transmit, and only with
  // VIRTIO_NET_F_CSUM; DATA_VALID and RSC_INFO are the device's.
  if ((header.flags & ~kHdrFlagNeedsCsum) != 0) return TxVerdict::kBadFlags;
  if ((header.flags & kHdrFlagNeedsCsum) != 0) {
    if (!offloads.csum) return TxVerdict::kBadFlags;
    if (uint64_t{header.csum_start} + header.csum_offset + 2 > frame_len) {
      return TxVerdict::kBadChecksumSpan;
    }
  }
  const uint8_t gso = header.gso_type & static_cast<uint8_t>(~kGsoEcn);
  const bool ecn = (header.gso_type & kGsoEcn) != 0;
  switch (gso) {
    case kGsoNone:
      if (ecn) return TxVerdict::kBadGsoType;
      return TxVerdict::kOk;
    case kGsoTcpv4:
      if (!offloads.tso4) return TxVerdict::kBadGsoType;
      break;
    case kGsoTcpv6:
      if (!offloads.tso6) return TxVerdict::kBadGsoType;
      break;
    case kGsoUdp:
      if (!offloads.ufo) return TxVerdict::kBadGsoType;
      break;
    default:
      return TxVerdict::kBadGsoType;
  }
  if (ecn && !offloads.ecn) return TxVerdict::kBadGsoType;
  // §5.1.6.2: GSO needs the checksum offload to go with it.
  if ((header.flags & kHdrFlagNeedsCsum) == 0) return TxVerdict::kBadFlags;
  if (header.gso_size == 0) return TxVerdict::kBadGsoSize;
  return TxVerdict::kOk;
}

}  // namespace hull::vmm::virtio::net
