#pragma once

// The vhost-user wire format (QEMU docs/interop/vhost-user.rst), as pure
// functions: encoding the front end's messages, decoding and checking the
// back end's replies. No I/O here, so that every decoder can be unit-tested
// and fuzzed; UserBackend does the socket work.
//
// A message is a 12-byte header {u32 request, u32 flags, u32 size} followed
// by `size` bytes of payload, all in the host's byte order ("Message
// Specification"); file descriptors travel beside it as SCM_RIGHTS.
//
// Everything a back end sends is UNTRUSTED: a reply is accepted only when its
// header names the request it answers, carries the reply flag and version 1,
// and announces exactly the payload size that request's reply has. No length
// from the wire ever sizes a buffer.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "hull/common/result.h"
#include "hull/vmm/virtio/vhost/backend.h"

namespace hull::vmm::virtio::vhost::user {

// "Front-end message types": the ones hull sends.
enum class Request : uint32_t {
  kGetFeatures = 1,
  kSetFeatures = 2,
  kSetOwner = 3,
  kResetOwner = 4,
  kSetMemTable = 5,
  kSetVringNum = 8,
  kSetVringAddr = 9,
  kSetVringBase = 10,
  kGetVringBase = 11,
  kSetVringKick = 12,
  kSetVringCall = 13,
  kGetProtocolFeatures = 15,
  kSetProtocolFeatures = 16,
  kGetQueueNum = 17,
  kSetVringEnable = 18,
  kResetDevice = 34,
};

// "VHOST_USER_GET_FEATURES" for the known codes, "request 99" otherwise
// (a hostile reply's code goes into error messages through this).
std::string RequestName(uint32_t request);
inline std::string RequestName(Request request) {
  return RequestName(static_cast<uint32_t>(request));
}

// Header flags: bits 0..1 the version (1), bit 2 the reply flag, bit 3
// need_reply (REPLY_ACK). The other bits are reserved, and a back end must
// leave them clear.
inline constexpr uint32_t kVersion = 1;
inline constexpr uint32_t kFlagVersionMask = 0x3;
inline constexpr uint32_t kFlagReply = uint32_t{1} << 2;
inline constexpr uint32_t kFlagNeedReply = uint32_t{1} << 3;

inline constexpr size_t kHeaderSize = 12;
// VHOST_MEMORY_BASELINE_NREGIONS: SET_MEM_TABLE carries at most 8 regions
// (more need CONFIGURE_MEM_SLOTS, which hull does not implement).
inline constexpr size_t kMaxMemoryRegions = 8;
inline constexpr size_t kMemoryRegionSize = 32;
// The largest payload hull sends: a full memory table.
inline constexpr size_t kMaxPayloadSize = 8 + kMaxMemoryRegions * kMemoryRegionSize;

// The feature bit (in GET/SET_FEATURES) saying the back end speaks
// GET/SET_PROTOCOL_FEATURES; once negotiated, rings start disabled
// ("Ring states") and SET_VRING_ENABLE turns them on.
inline constexpr uint64_t kFeatureProtocolFeatures = uint64_t{1} << 30;

// Protocol features hull may negotiate ("Protocol features").
inline constexpr uint64_t kProtocolFeatureMq = uint64_t{1} << 0;        // GET_QUEUE_NUM
inline constexpr uint64_t kProtocolFeatureReplyAck = uint64_t{1} << 3;  // need_reply acks

// SET_VRING_KICK/CALL payload: bits 0..7 the vring index, bit 8 "no fd".
inline constexpr uint64_t kVringIndexMask = 0xff;
inline constexpr uint64_t kVringNoFd = uint64_t{1} << 8;
// So a vring index above this cannot be expressed in a kick or call.
inline constexpr uint32_t kMaxVringIndex = 0xff;

struct Header {
  uint32_t request = 0;
  uint32_t flags = 0;
  uint32_t size = 0;
  friend bool operator==(const Header&, const Header&) = default;
};

// "A vring state description": SET_VRING_NUM/BASE/ENABLE, GET_VRING_BASE.
struct VringState {
  uint32_t index = 0;
  uint32_t num = 0;
  friend bool operator==(const VringState&, const VringState&) = default;
};

// "A vring address description": SET_VRING_ADDR. Note the order on the
// wire: descriptor, used, available, log.
struct VringAddr {
  uint32_t index = 0;
  uint32_t flags = 0;  // bit 0: VHOST_VRING_F_LOG (never set by hull)
  uint64_t desc = 0;
  uint64_t used = 0;
  uint64_t avail = 0;
  uint64_t log = 0;
  friend bool operator==(const VringAddr&, const VringAddr&) = default;
};
inline constexpr size_t kVringAddrSize = 40;

// --- Encoding (the front end's messages). ---

std::array<uint8_t, kHeaderSize> EncodeHeader(const Header& header);
// The header (version 1, `flags` added) followed by `payload`.
std::vector<uint8_t> EncodeMessage(Request request, uint32_t flags,
                                   std::span<const uint8_t> payload);

std::array<uint8_t, 8> EncodeU64(uint64_t value);
std::array<uint8_t, 8> EncodeVringState(const VringState& state);
std::array<uint8_t, kVringAddrSize> EncodeVringAddr(const VringAddr& addr);
// SET_VRING_KICK/CALL's u64: the index, plus kVringNoFd when `has_fd` is
// false. EINVAL when the index does not fit in 8 bits.
Result<uint64_t> EncodeVringFile(uint32_t index, bool has_fd);
// SET_MEM_TABLE: {u32 nregions, u32 padding, regions[]} (the fds go beside
// the message, in the same order). EINVAL for 0 or more than 8 regions.
Result<std::vector<uint8_t>> EncodeMemoryTable(std::span<const MemoryRegion> regions);

// --- Decoding. Every decoder takes exactly the bytes it needs. ---

// The 12 header bytes, unchecked.
Header DecodeHeader(std::span<const uint8_t, kHeaderSize> bytes);

// A reply header is the answer to `request` with a payload of
// `expected_size` bytes: version 1, the reply flag, no reserved flag, the
// same request code, exactly that size. EPROTO otherwise (the message names
// what was wrong). Checked before any payload byte is read, so a lying size
// never reaches a read.
Result<void> CheckReplyHeader(const Header& header, Request request, uint32_t expected_size);

// Payload decoders: EPROTO unless `payload` has exactly the right size.
Result<uint64_t> DecodeU64(std::span<const uint8_t> payload);
Result<VringState> DecodeVringState(std::span<const uint8_t> payload);
Result<VringAddr> DecodeVringAddr(std::span<const uint8_t> payload);
// The regions' fds are left -1 (they travel beside the message).
Result<std::vector<MemoryRegion>> DecodeMemoryTable(std::span<const uint8_t> payload);
// SET_VRING_KICK/CALL's u64; EPROTO when bits beyond 8 are set.
struct VringFile {
  uint32_t index = 0;
  bool has_fd = false;
  friend bool operator==(const VringFile&, const VringFile&) = default;
};
Result<VringFile> DecodeVringFile(std::span<const uint8_t> payload);

// A whole reply message (header and payload, as read from the socket) to
// `request`, whose payload is one u64 (GET_FEATURES, GET_PROTOCOL_FEATURES,
// GET_QUEUE_NUM, and REPLY_ACK acks). The fuzzer's entry point too.
Result<uint64_t> ParseU64Reply(std::span<const uint8_t> message, Request request);
// GET_VRING_BASE's reply: a vring state for `index` whose base fits 16 bits
// (split rings: bits 16..31 are reserved).
Result<VringState> ParseVringBaseReply(std::span<const uint8_t> message, uint32_t index);

}  // namespace hull::vmm::virtio::vhost::user
