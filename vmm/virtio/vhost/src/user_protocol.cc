#include "hull/vmm/virtio/vhost/user_protocol.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>

namespace hull::vmm::virtio::vhost::user {
namespace {

// "all numbers are in the machine native byte order": we copy native values.
static_assert(std::endian::native == std::endian::little,
              "hull runs on little-endian hosts; vhost-user uses host byte order");

template <typename T>
void Put(std::span<uint8_t> out, size_t offset, T value) {
  std::memcpy(out.data() + offset, &value, sizeof(T));
}

template <typename T>
T Get(std::span<const uint8_t> in, size_t offset) {
  T value;
  std::memcpy(&value, in.data() + offset, sizeof(T));
  return value;
}

Error Malformed(std::string_view what, size_t got, size_t want) {
  return Error(EPROTO,
               fmt::format("malformed vhost-user {}: {} bytes, expected {}", what, got, want));
}

}  // namespace

std::string RequestName(uint32_t request) {
  switch (static_cast<Request>(request)) {
    case Request::kGetFeatures:
      return "VHOST_USER_GET_FEATURES";
    case Request::kSetFeatures:
      return "VHOST_USER_SET_FEATURES";
    case Request::kSetOwner:
      return "VHOST_USER_SET_OWNER";
    case Request::kResetOwner:
      return "VHOST_USER_RESET_OWNER";
    case Request::kSetMemTable:
      return "VHOST_USER_SET_MEM_TABLE";
    case Request::kSetVringNum:
      return "VHOST_USER_SET_VRING_NUM";
    case Request::kSetVringAddr:
      return "VHOST_USER_SET_VRING_ADDR";
    case Request::kSetVringBase:
      return "VHOST_USER_SET_VRING_BASE";
    case Request::kGetVringBase:
      return "VHOST_USER_GET_VRING_BASE";
    case Request::kSetVringKick:
      return "VHOST_USER_SET_VRING_KICK";
    case Request::kSetVringCall:
      return "VHOST_USER_SET_VRING_CALL";
    case Request::kGetProtocolFeatures:
      return "VHOST_USER_GET_PROTOCOL_FEATURES";
    case Request::kSetProtocolFeatures:
      return "VHOST_USER_SET_PROTOCOL_FEATURES";
    case Request::kGetQueueNum:
      return "VHOST_USER_GET_QUEUE_NUM";
    case Request::kSetVringEnable:
      return "VHOST_USER_SET_VRING_ENABLE";
    case Request::kResetDevice:
      return "VHOST_USER_RESET_DEVICE";
  }
  return fmt::format("request {}", request);
}

std::array<uint8_t, kHeaderSize> EncodeHeader(const Header& header) {
  std::array<uint8_t, kHeaderSize> out{};
  Put(out, 0, header.request);
  Put(out, 4, header.flags);
  Put(out, 8, header.size);
  return out;
}

std::vector<uint8_t> EncodeMessage(Request request, uint32_t flags,
                                   std::span<const uint8_t> payload) {
  const auto header = EncodeHeader({.request = static_cast<uint32_t>(request),
                                    .flags = kVersion | flags,
                                    .size = static_cast<uint32_t>(payload.size())});
  // Sized once, then filled (GCC 12's -Warray-bounds misreads a vector
  // insert after a construction from the header).
  std::vector<uint8_t> message(kHeaderSize + payload.size());
  std::ranges::copy(header, message.begin());
  std::ranges::copy(payload, message.begin() + kHeaderSize);
  return message;
}

std::array<uint8_t, 8> EncodeU64(uint64_t value) {
  std::array<uint8_t, 8> out{};
  Put(out, 0, value);
  return out;
}

std::array<uint8_t, 8> EncodeVringState(const VringState& state) {
  std::array<uint8_t, 8> out{};
  Put(out, 0, state.index);
  Put(out, 4, state.num);
  return out;
}

std::array<uint8_t, kVringAddrSize> EncodeVringAddr(const VringAddr& addr) {
  std::array<uint8_t, kVringAddrSize> out{};
  Put(out, 0, addr.index);
  Put(out, 4, addr.flags);
  Put(out, 8, addr.desc);
  Put(out, 16, addr.used);
  Put(out, 24, addr.avail);
  Put(out, 32, addr.log);
  return out;
}

Result<uint64_t> EncodeVringFile(uint32_t index, bool has_fd) {
  if (index > kMaxVringIndex) {
    return Error(EINVAL,
                 fmt::format("vring index {} does not fit vhost-user's 8-bit field", index));
  }
  return uint64_t{index} | (has_fd ? 0 : kVringNoFd);
}

Result<std::vector<uint8_t>> EncodeMemoryTable(std::span<const MemoryRegion> regions) {
  if (regions.empty() || regions.size() > kMaxMemoryRegions) {
    return Error(EINVAL, fmt::format("a vhost-user memory table holds 1..{} regions, not {}",
                                     kMaxMemoryRegions, regions.size()));
  }
  std::vector<uint8_t> out(8 + regions.size() * kMemoryRegionSize, 0);
  Put(out, 0, static_cast<uint32_t>(regions.size()));
  for (size_t i = 0; i < regions.size(); ++i) {
    const size_t at = 8 + i * kMemoryRegionSize;
    Put(out, at, regions[i].guest_phys_addr);
    Put(out, at + 8, regions[i].memory_size);
    Put(out, at + 16, regions[i].userspace_addr);
    Put(out, at + 24, regions[i].mmap_offset);
  }
  return out;
}

Header DecodeHeader(std::span<const uint8_t, kHeaderSize> bytes) {
  return {.request = Get<uint32_t>(bytes, 0),
          .flags = Get<uint32_t>(bytes, 4),
          .size = Get<uint32_t>(bytes, 8)};
}

Result<void> CheckReplyHeader(const Header& header, Request request, uint32_t expected_size) {
  const auto want = static_cast<uint32_t>(request);
  if (header.request != want) {
    return Error(EPROTO, fmt::format("answered {} with a {} message", RequestName(want),
                                     RequestName(header.request)));
  }
  if ((header.flags & kFlagVersionMask) != kVersion) {
    return Error(EPROTO, fmt::format("answered {} with protocol version {} (hull speaks {})",
                                     RequestName(want), header.flags & kFlagVersionMask, kVersion));
  }
  if ((header.flags & kFlagReply) == 0) {
    return Error(EPROTO, fmt::format("answered {} with a message lacking the reply flag "
                                     "(flags {:#x})",
                                     RequestName(want), header.flags));
  }
  if ((header.flags & ~(kFlagVersionMask | kFlagReply)) != 0) {
    return Error(EPROTO, fmt::format("answered {} with reserved flags set ({:#x})",
                                     RequestName(want), header.flags));
  }
  if (header.size != expected_size) {
    return Error(EPROTO, fmt::format("answered {} with a {}-byte payload, expected {}",
                                     RequestName(want), header.size, expected_size));
  }
  return {};
}

Result<uint64_t> DecodeU64(std::span<const uint8_t> payload) {
  if (payload.size() != 8) return Malformed("u64 payload", payload.size(), 8);
  return Get<uint64_t>(payload, 0);
}

Result<VringState> DecodeVringState(std::span<const uint8_t> payload) {
  if (payload.size() != 8) return Malformed("vring state", payload.size(), 8);
  return VringState{.index = Get<uint32_t>(payload, 0), .num = Get<uint32_t>(payload, 4)};
}

Result<VringAddr> DecodeVringAddr(std::span<const uint8_t> payload) {
  if (payload.size() != kVringAddrSize) {
    return Malformed("vring address", payload.size(), kVringAddrSize);
  }
  return VringAddr{.index = Get<uint32_t>(payload, 0),
                   .flags = Get<uint32_t>(payload, 4),
                   .desc = Get<uint64_t>(payload, 8),
                   .used = Get<uint64_t>(payload, 16),
                   .avail = Get<uint64_t>(payload, 24),
                   .log = Get<uint64_t>(payload, 32)};
}

Result<std::vector<MemoryRegion>> DecodeMemoryTable(std::span<const uint8_t> payload) {
  if (payload.size() < 8) return Malformed("memory table", payload.size(), 8);
  const auto count = Get<uint32_t>(payload, 0);
  if (count == 0 || count > kMaxMemoryRegions) {
    return Error(EPROTO, fmt::format("malformed vhost-user memory table: {} regions", count));
  }
  const size_t want = 8 + size_t{count} * kMemoryRegionSize;
  if (payload.size() != want) return Malformed("memory table", payload.size(), want);
  std::vector<MemoryRegion> regions;
  for (size_t i = 0; i < count; ++i) {
    const size_t at = 8 + i * kMemoryRegionSize;
    regions.push_back({.guest_phys_addr = Get<uint64_t>(payload, at),
                       .memory_size = Get<uint64_t>(payload, at + 8),
                       .userspace_addr = Get<uint64_t>(payload, at + 16),
                       .mmap_offset = Get<uint64_t>(payload, at + 24),
                       .fd = -1});
  }
  return regions;
}

Result<VringFile> DecodeVringFile(std::span<const uint8_t> payload) {
  HULL_ASSIGN_OR_RETURN(const uint64_t value, DecodeU64(payload));
  if ((value & ~(kVringIndexMask | kVringNoFd)) != 0) {
    return Error(EPROTO,
                 fmt::format("malformed vhost-user vring file {:#x}: reserved bits set", value));
  }
  return VringFile{.index = static_cast<uint32_t>(value & kVringIndexMask),
                   .has_fd = (value & kVringNoFd) == 0};
}

namespace {

// Splits a whole reply into its checked header and its payload.
Result<std::span<const uint8_t>> ReplyPayload(std::span<const uint8_t> message, Request request,
                                              uint32_t expected_size) {
  if (message.size() < kHeaderSize) {
    return Error(EPROTO, fmt::format("answered {} with a {}-byte message (a header is {})",
                                     RequestName(request), message.size(), kHeaderSize));
  }
  const Header header = DecodeHeader(message.first<kHeaderSize>());
  HULL_TRY(CheckReplyHeader(header, request, expected_size));
  std::span<const uint8_t> payload = message.subspan(kHeaderSize);
  if (payload.size() != expected_size) {
    return Error(EPROTO, fmt::format("answered {} with {} payload bytes, expected {}",
                                     RequestName(request), payload.size(), expected_size));
  }
  return payload;
}

}  // namespace

Result<uint64_t> ParseU64Reply(std::span<const uint8_t> message, Request request) {
  HULL_ASSIGN_OR_RETURN(std::span<const uint8_t> payload, ReplyPayload(message, request, 8));
  return DecodeU64(payload);
}

Result<VringState> ParseVringBaseReply(std::span<const uint8_t> message, uint32_t index) {
  HULL_ASSIGN_OR_RETURN(std::span<const uint8_t> payload,
                        ReplyPayload(message, Request::kGetVringBase, 8));
  HULL_ASSIGN_OR_RETURN(const VringState state, DecodeVringState(payload));
  if (state.index != index) {
    return Error(EPROTO, fmt::format("answered VHOST_USER_GET_VRING_BASE for vring {} about "
                                     "vring {}",
                                     index, state.index));
  }
  if (state.num > 0xffff) {
    return Error(EPROTO, fmt::format("answered VHOST_USER_GET_VRING_BASE with base {:#x}, "
                                     "which does not fit a split ring's 16-bit index",
                                     state.num));
  }
  return state;
}

}  // namespace hull::vmm::virtio::vhost::user
