#include "hull/ttrpc/frame.h"

#include <algorithm>

#include "hull/common/check.h"

namespace hull::ttrpc {
namespace {

void PutBigEndian32(uint8_t* out, uint32_t value) {
  out[0] = static_cast<uint8_t>(value >> 24);
  out[1] = static_cast<uint8_t>(value >> 16);
  out[2] = static_cast<uint8_t>(value >> 8);
  out[3] = static_cast<uint8_t>(value);
}

uint32_t GetBigEndian32(const char* in) {
  const auto byte = [in](int i) { return static_cast<uint32_t>(static_cast<uint8_t>(in[i])); };
  return byte(0) << 24 | byte(1) << 16 | byte(2) << 8 | byte(3);
}

bool IsKnownType(uint8_t type) {
  return type >= static_cast<uint8_t>(MessageType::kRequest) &&
         type <= static_cast<uint8_t>(MessageType::kData);
}

// Consumed bytes are dropped from the front once they outweigh the rest, so
// the buffer stays within about two frames while copying each byte O(1) times.
constexpr size_t kCompactAt = 64 * 1024;

}  // namespace

std::array<uint8_t, kFrameHeaderSize> EncodeFrameHeader(const FrameHeader& header) {
  std::array<uint8_t, kFrameHeaderSize> bytes{};
  PutBigEndian32(bytes.data(), header.length);
  PutBigEndian32(bytes.data() + 4, header.stream_id);
  bytes[8] = static_cast<uint8_t>(header.type);
  bytes[9] = header.flags;
  return bytes;
}

std::string EncodeFrame(uint32_t stream_id, MessageType type, uint8_t flags,
                        std::string_view data) {
  HULL_CHECK(data.size() <= kMaxMessageLength);
  const FrameHeader header{static_cast<uint32_t>(data.size()), stream_id, type, flags};
  const auto head = EncodeFrameHeader(header);
  std::string frame;
  frame.reserve(kFrameHeaderSize + data.size());
  frame.append(head.begin(), head.end());
  frame.append(data);
  return frame;
}

void FrameDecoder::Feed(std::string_view bytes) {
  if (broken_) return;
  // Data of a too-long frame is dropped as it arrives, never buffered.
  const size_t skipped = static_cast<size_t>(std::min<uint64_t>(skip_, bytes.size()));
  skip_ -= skipped;
  bytes.remove_prefix(skipped);
  if (start_ >= kCompactAt && start_ >= buffered()) {
    buffer_.erase(0, start_);
    start_ = 0;
  }
  buffer_.append(bytes);
}

DecodeEvent FrameDecoder::Next() {
  if (broken_) return broken_event_;
  if (skip_ > 0 || buffered() < kFrameHeaderSize) return NeedMoreBytes{};
  const char* head = buffer_.data() + start_;
  const uint8_t raw_type = static_cast<uint8_t>(head[8]);
  const FrameHeader header{GetBigEndian32(head), GetBigEndian32(head + 4),
                           static_cast<MessageType>(raw_type), static_cast<uint8_t>(head[9])};
  if (!IsKnownType(raw_type)) {
    broken_ = true;
    broken_event_ = UnknownMessageType{header};
    buffer_.clear();
    start_ = 0;
    return broken_event_;
  }
  if (header.length > max_length_) {
    start_ += kFrameHeaderSize;
    // Discard what of its data is already here; Feed() drops the rest.
    const size_t here = std::min<size_t>(buffered(), header.length);
    start_ += here;
    skip_ = header.length - here;
    return FrameTooLong{header};
  }
  if (buffered() - kFrameHeaderSize < header.length) return NeedMoreBytes{};
  Frame frame{header, buffer_.substr(start_ + kFrameHeaderSize, header.length)};
  start_ += kFrameHeaderSize + header.length;
  if (start_ == buffer_.size()) {
    buffer_.clear();
    start_ = 0;
  }
  return frame;
}

}  // namespace hull::ttrpc
