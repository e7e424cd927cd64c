#pragma once

// ttrpc framing (containerd/ttrpc PROTOCOL.md): every message is a 10-byte
// header and `length` bytes of data.
//
//   0       4         8      9       10
//   | length | stream id | type | flags | data (length bytes) ...
//   (both uint32 big-endian)
//
// Clients number their streams with odd ids; a Request opens a stream and
// the Response on the same id ends it, so several calls share a connection
// and are answered in any order. FrameDecoder turns the bytes read from a
// connection into frames. It is pure (no I/O) and holds at most one frame's
// worth of bytes, so it is tested in tables and fuzzed.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace hull::ttrpc {

inline constexpr size_t kFrameHeaderSize = 10;
// ttrpc's messageLengthMax: the most data a frame may carry (4 MiB).
inline constexpr uint32_t kMaxMessageLength = 4u << 20;

enum class MessageType : uint8_t {
  kRequest = 1,
  kResponse = 2,
  kData = 3,  // stream data (ttrpc >= 1.2); hull serves unary calls only
};

// Request and Data flags (ttrpc >= 1.2). A Request with no flags is unary.
inline constexpr uint8_t kFlagRemoteClosed = 0x1;
inline constexpr uint8_t kFlagRemoteOpen = 0x2;
inline constexpr uint8_t kFlagNoData = 0x4;

struct FrameHeader {
  uint32_t length = 0;
  uint32_t stream_id = 0;
  MessageType type = MessageType::kRequest;
  uint8_t flags = 0;

  bool operator==(const FrameHeader&) const = default;
};

struct Frame {
  FrameHeader header;
  std::string data;  // header.length bytes
};

std::array<uint8_t, kFrameHeaderSize> EncodeFrameHeader(const FrameHeader& header);

// Header and data, ready to write. Precondition: data.size() <=
// kMaxMessageLength (senders check; a longer frame would be refused).
std::string EncodeFrame(uint32_t stream_id, MessageType type, uint8_t flags, std::string_view data);

// What FrameDecoder::Next() found.
struct NeedMoreBytes {};
// The header announced more than the maximum. The decoder skips that many
// bytes and stays in step: a server answers RESOURCE_EXHAUSTED on the
// stream, as ttrpc does, and the connection goes on.
struct FrameTooLong {
  FrameHeader header;
};
// A message type ttrpc does not define (header.type holds the raw byte):
// what follows cannot be trusted to be framed at all, so the connection must
// be closed. Checked before the length, so that bytes of another protocol
// are caught at once. Sticky: every later Next() returns it again.
struct UnknownMessageType {
  FrameHeader header;
};
using DecodeEvent = std::variant<NeedMoreBytes, Frame, FrameTooLong, UnknownMessageType>;

class FrameDecoder {
 public:
  explicit FrameDecoder(uint32_t max_length = kMaxMessageLength) : max_length_(max_length) {}

  // Appends bytes read from the connection; call Next() until NeedMoreBytes.
  void Feed(std::string_view bytes);

  DecodeEvent Next();

  // True between frames: end of stream here is a clean close, elsewhere the
  // peer cut a frame short.
  bool AtFrameBoundary() const { return buffered() == 0 && skip_ == 0; }

 private:
  size_t buffered() const { return buffer_.size() - start_; }

  uint32_t max_length_;
  std::string buffer_;
  size_t start_ = 0;   // bytes of buffer_ already consumed
  uint64_t skip_ = 0;  // data bytes of a too-long frame still to discard
  bool broken_ = false;
  UnknownMessageType broken_event_;
};

}  // namespace hull::ttrpc
