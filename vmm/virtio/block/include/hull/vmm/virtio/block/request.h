#pragma once

// virtio-blk requests (virtio 1.2 §5.2.6), parsed from a descriptor chain:
//
//   struct virtio_blk_req {
//     le32 type; le32 reserved; le64 sector;  // 16-byte header, device-readable
//     u8 data[];                              // readable for OUT, writable for IN / GET_ID
//     u8 status;                              // device-writable, the chain's last byte
//   };
//
// The chain is taken as two byte streams (readable, then writable), not as a
// fixed set of descriptors: a driver may split or merge the parts however it
// likes (§2.7.4). ParseRequest is a pure function of the chain and the bytes
// of the header it copies out once; it does no I/O.

#include <cstdint>
#include <string_view>

#include "hull/vmm/memory/guest_memory.h"
#include "hull/vmm/virtio/descriptor_chain.h"
#include "hull/vmm/virtio/expected.h"

namespace hull::vmm::virtio::block {

inline constexpr uint64_t kSectorSize = 512;
inline constexpr uint64_t kHeaderSize = 16;
inline constexpr uint64_t kIdBytes = 20;  // VIRTIO_BLK_ID_BYTES
// The largest IN/OUT data length: the used ring reports data + status bytes
// in 32 bits. (Linux sends at most a few MiB per request.)
inline constexpr uint64_t kMaxDataLen = 0xffff'fe00;

// §5.2.6: the type field.
inline constexpr uint32_t kTypeIn = 0;
inline constexpr uint32_t kTypeOut = 1;
inline constexpr uint32_t kTypeFlush = 4;
inline constexpr uint32_t kTypeGetId = 8;

// §5.2.6: the status byte.
inline constexpr uint8_t kStatusOk = 0;
inline constexpr uint8_t kStatusIoErr = 1;
inline constexpr uint8_t kStatusUnsupported = 2;

enum class RequestType { kIn, kOut, kFlush, kGetId, kUnsupported };

struct Request {
  RequestType type = RequestType::kUnsupported;
  uint32_t raw_type = 0;  // as the driver wrote it (for kUnsupported)
  uint64_t sector = 0;    // IN and OUT: the first sector; otherwise 0
  // IN: writable bytes [0, data_len) receive the data; OUT: readable bytes
  // [kHeaderSize, kHeaderSize + data_len) are the data; GET_ID: writable
  // bytes [0, data_len) take up to kIdBytes of the serial. The status byte
  // is the chain's last writable byte.
  uint64_t data_len = 0;

  friend bool operator==(const Request&, const Request&) = default;
};

enum class RequestError {
  kHeaderNotReadable,   // fewer than 16 device-readable bytes lead the chain
  kStatusNotWritable,   // no device-writable byte for the status
  kDataWrongDirection,  // data the type does not allow in that direction
  kDataNotSectorMultiple,
  kSectorOutOfRange,  // [sector, sector + data/512) passes the capacity (or overflows)
  kDataTooLong,       // data + status would not fit the used element's 32-bit length
  kGuestMemory,       // the header could not be copied (memory vanished)
};

std::string_view ToString(RequestError error);

// Parses the request in `chain` for a disk of `capacity_sectors` sectors.
// Types other than IN, OUT, FLUSH and GET_ID parse as kUnsupported once a
// header and a status byte are present.
Expected<Request, RequestError> ParseRequest(const DescriptorChain& chain,
                                             const GuestMemory& memory, uint64_t capacity_sectors);

}  // namespace hull::vmm::virtio::block
