#include "hull/ttrpc/frame.h"

#include <gtest/gtest.h>

#include <string>
#include <variant>
#include <vector>

namespace hull::ttrpc {
namespace {

// A header's bytes: length, stream id (both big-endian), type, flags.
std::string Header(uint32_t length, uint32_t stream_id, uint8_t type, uint8_t flags = 0) {
  const auto bytes =
      EncodeFrameHeader(FrameHeader{length, stream_id, static_cast<MessageType>(type), flags});
  return std::string(bytes.begin(), bytes.end());
}

std::string Describe(const DecodeEvent& event) {
  if (const auto* frame = std::get_if<Frame>(&event)) {
    return "frame id=" + std::to_string(frame->header.stream_id) +
           " type=" + std::to_string(static_cast<int>(frame->header.type)) +
           " flags=" + std::to_string(frame->header.flags) + " data=" + frame->data;
  }
  if (const auto* too_long = std::get_if<FrameTooLong>(&event)) {
    return "too long id=" + std::to_string(too_long->header.stream_id) +
           " length=" + std::to_string(too_long->header.length);
  }
  if (const auto* unknown = std::get_if<UnknownMessageType>(&event)) {
    return "unknown type=" + std::to_string(static_cast<int>(unknown->header.type));
  }
  return "need more";
}

// Feeds `chunks` one by one, draining events after each; NeedMoreBytes is
// not listed.
std::vector<std::string> Decode(FrameDecoder& decoder, const std::vector<std::string>& chunks) {
  std::vector<std::string> events;
  for (const std::string& chunk : chunks) {
    decoder.Feed(chunk);
    for (int i = 0; i < 100; ++i) {  // an unknown type repeats: stop after one
      DecodeEvent event = decoder.Next();
      if (std::holds_alternative<NeedMoreBytes>(event)) break;
      events.push_back(Describe(event));
      if (std::holds_alternative<UnknownMessageType>(event)) break;
    }
  }
  return events;
}

TEST(FrameHeader, EncodesLengthAndStreamIdBigEndianThenTypeAndFlags) {
  const auto bytes = EncodeFrameHeader(
      FrameHeader{0x01020304, 0x0a0b0c0d, MessageType::kResponse, kFlagRemoteClosed});
  const std::array<uint8_t, kFrameHeaderSize> expected{1, 2, 3, 4, 0x0a, 0x0b, 0x0c, 0x0d, 2, 1};
  EXPECT_EQ(bytes, expected);
}

TEST(EncodeFrame, IsTheHeaderFollowedByTheData) {
  EXPECT_EQ(EncodeFrame(3, MessageType::kRequest, 0, "abc"), Header(3, 3, 1) + "abc");
  EXPECT_EQ(EncodeFrame(1, MessageType::kData, kFlagNoData, ""), Header(0, 1, 3, 4));
}

struct DecodeCase {
  const char* name;
  std::vector<std::string> chunks;
  std::vector<std::string> events;
  bool at_boundary;
};

// max_length is 8 in these cases so that the limit is cheap to cross.
TEST(FrameDecoder, DecodesTheTable) {
  const std::string hello = Header(5, 1, 1) + "hello";
  const std::vector<DecodeCase> cases = {
      {"nothing", {}, {}, true},
      {"a short header waits", {Header(5, 1, 1).substr(0, 9)}, {}, false},
      {"a header without all its data waits", {Header(5, 1, 1) + "hel"}, {}, false},
      {"an empty frame", {Header(0, 7, 2)}, {"frame id=7 type=2 flags=0 data="}, true},
      {"one frame", {hello}, {"frame id=1 type=1 flags=0 data=hello"}, true},
      {"a header split across reads",
       {hello.substr(0, 3), hello.substr(3, 5), hello.substr(8)},
       {"frame id=1 type=1 flags=0 data=hello"},
       true},
      {"data split across reads",
       {hello.substr(0, 12), hello.substr(12)},
       {"frame id=1 type=1 flags=0 data=hello"},
       true},
      {"several frames in one read",
       {hello + Header(2, 3, 1, 2) + "hi" + Header(0, 5, 3)},
       {"frame id=1 type=1 flags=0 data=hello", "frame id=3 type=1 flags=2 data=hi",
        "frame id=5 type=3 flags=0 data="},
       true},
      {"a frame and part of the next",
       {hello + hello.substr(0, 4)},
       {"frame id=1 type=1 flags=0 data=hello"},
       false},
      {"a length at the maximum",
       {Header(8, 1, 1) + "12345678"},
       {"frame id=1 type=1 flags=0 data=12345678"},
       true},
      {"a length over the maximum is skipped, data and all",
       {Header(9, 1, 1) + "1234", "56789" + hello},
       {"too long id=1 length=9", "frame id=1 type=1 flags=0 data=hello"},
       true},
      {"a length over the maximum with its data still to come",
       {Header(100, 3, 1)},
       {"too long id=3 length=100"},
       false},
      {"the largest length is skipped too",
       {Header(0xffffffff, 1, 1) + "abc"},
       {"too long id=1 length=4294967295"},
       false},
      {"message type 0 is unknown", {Header(0, 1, 0)}, {"unknown type=0"}, true},
      {"message type 4 is unknown", {Header(0, 1, 4)}, {"unknown type=4"}, true},
      {"an unknown type wins over the length", {"GET / HTTP/1.1\r\n"}, {"unknown type=84"}, true},
      {"an unknown type is final",
       {Header(0, 1, 0xff), hello},
       {"unknown type=255", "unknown type=255"},
       true},
  };
  for (const DecodeCase& c : cases) {
    FrameDecoder decoder(/*max_length=*/8);
    EXPECT_EQ(Decode(decoder, c.chunks), c.events) << c.name;
    EXPECT_EQ(decoder.AtFrameBoundary(), c.at_boundary) << c.name;
  }
}

TEST(FrameDecoder, DecodesFramesFedOneByteAtATime) {
  const std::string bytes = Header(5, 1, 1) + "hello" + Header(3, 3, 2) + "bye";
  std::vector<std::string> chunks;
  for (char c : bytes) chunks.emplace_back(1, c);
  FrameDecoder decoder;
  EXPECT_EQ(Decode(decoder, chunks),
            (std::vector<std::string>{"frame id=1 type=1 flags=0 data=hello",
                                      "frame id=3 type=2 flags=0 data=bye"}));
}

TEST(FrameDecoder, AcceptsFourMebibytesAndSkipsOneByteMore) {
  FrameDecoder decoder;
  const std::string data(kMaxMessageLength, 'x');
  decoder.Feed(Header(kMaxMessageLength, 1, 1) + data);
  DecodeEvent event = decoder.Next();
  ASSERT_TRUE(std::holds_alternative<Frame>(event));
  EXPECT_EQ(std::get<Frame>(event).data.size(), kMaxMessageLength);

  decoder.Feed(Header(kMaxMessageLength + 1, 3, 1) + data + "x" + Header(2, 5, 1) + "ok");
  EXPECT_EQ(Describe(decoder.Next()), "too long id=3 length=4194305");
  EXPECT_EQ(Describe(decoder.Next()), "frame id=5 type=1 flags=0 data=ok");
  EXPECT_TRUE(decoder.AtFrameBoundary());
}

TEST(FrameDecoder, NeverBuffersTheDataOfATooLongFrame) {
  FrameDecoder decoder(/*max_length=*/16);
  decoder.Feed(Header(1u << 30, 1, 1));
  EXPECT_EQ(Describe(decoder.Next()), "too long id=1 length=1073741824");
  // A gigabyte fed in pieces is dropped as it comes; then framing resumes.
  const std::string mebibyte(1u << 20, 'x');
  for (int i = 0; i < 1024; ++i) {
    decoder.Feed(mebibyte);
    EXPECT_TRUE(std::holds_alternative<NeedMoreBytes>(decoder.Next()));
  }
  EXPECT_TRUE(decoder.AtFrameBoundary());
  decoder.Feed(Header(2, 3, 1) + "ok");
  EXPECT_EQ(Describe(decoder.Next()), "frame id=3 type=1 flags=0 data=ok");
}

}  // namespace
}  // namespace hull::ttrpc
