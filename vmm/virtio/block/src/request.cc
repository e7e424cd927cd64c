#include "hull/vmm/virtio/block/request.h"

#include <array>
#include <bit>
#include <cstring>

namespace hull::vmm::virtio::block {
namespace {

static_assert(std::endian::native == std::endian::little);

// §5.2.6: struct virtio_blk_outhdr.
struct Header {
  uint32_t type;
  uint32_t reserved;
  uint64_t sector;
};
static_assert(sizeof(Header) == kHeaderSize && GuestPod<Header>);

// [sector, sector + data_len / 512) inside [0, capacity), without overflow.
bool InRange(uint64_t sector, uint64_t data_len, uint64_t capacity_sectors) {
  return sector <= capacity_sectors && data_len / kSectorSize <= capacity_sectors - sector;
}

}  // namespace

std::string_view ToString(RequestError error) {
  switch (error) {
    case RequestError::kHeaderNotReadable:
      return "request header is not 16 device-readable bytes";
    case RequestError::kStatusNotWritable:
      return "no device-writable status byte";
    case RequestError::kDataWrongDirection:
      return "data buffer in the wrong direction for the request type";
    case RequestError::kDataNotSectorMultiple:
      return "data length is not a multiple of 512";
    case RequestError::kSectorOutOfRange:
      return "sector range passes the end of the disk";
    case RequestError::kDataTooLong:
      return "data length does not fit the used ring's 32-bit length";
    case RequestError::kGuestMemory:
      return "request header is not in guest memory";
  }
  return "unknown request error";
}

Expected<Request, RequestError> ParseRequest(const DescriptorChain& chain,
                                             const GuestMemory& memory, uint64_t capacity_sectors) {
  const uint64_t readable = chain.readable_len();
  const uint64_t writable = chain.writable_len();
  if (readable < kHeaderSize) return RequestError::kHeaderNotReadable;
  if (writable < 1) return RequestError::kStatusNotWritable;

  // One copy of the header; only the copy is looked at.
  std::array<uint8_t, kHeaderSize> raw{};
  if (!chain.ReadFromReadable(memory, 0, raw).ok()) return RequestError::kGuestMemory;
  const auto header = std::bit_cast<Header>(raw);

  const uint64_t readable_data = readable - kHeaderSize;
  const uint64_t writable_data = writable - 1;
  Request request;
  request.raw_type = header.type;
  switch (header.type) {
    case kTypeIn:
    case kTypeOut: {
      const bool in = header.type == kTypeIn;
      // IN moves data to the driver only; OUT from it only.
      if ((in ? readable_data : writable_data) != 0) return RequestError::kDataWrongDirection;
      request.type = in ? RequestType::kIn : RequestType::kOut;
      request.data_len = in ? writable_data : readable_data;
      if (request.data_len % kSectorSize != 0) return RequestError::kDataNotSectorMultiple;
      if (request.data_len > kMaxDataLen) return RequestError::kDataTooLong;
      if (!InRange(header.sector, request.data_len, capacity_sectors)) {
        return RequestError::kSectorOutOfRange;
      }
      request.sector = header.sector;
      return request;
    }
    case kTypeFlush:
      // §5.2.6.1: no data; the sector is ignored.
      if (readable_data != 0 || writable_data != 0) return RequestError::kDataWrongDirection;
      request.type = RequestType::kFlush;
      return request;
    case kTypeGetId:
      if (readable_data != 0) return RequestError::kDataWrongDirection;
      request.type = RequestType::kGetId;
      request.data_len = writable_data;
      return request;
    default:
      // Answered with UNSUPP; whatever data came with it is not looked at.
      request.type = RequestType::kUnsupported;
      request.data_len = writable_data;
      return request;
  }
}

}  // namespace hull::vmm::virtio::block
