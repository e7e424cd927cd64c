#include "hull/vmm/virtio/net/net_header.h"

#include <gtest/gtest.h>

#include <array>

namespace hull::vmm::virtio::net {
namespace {

constexpr TxOffloads kAll{.csum = true, .tso4 = true, .tso6 = true, .ufo = true, .ecn = true};
constexpr uint64_t kFrame = kHeaderSize + 1514;

TEST(NetHeaderTest, DecodesAndEncodesLittleEndian) {
  const std::array<uint8_t, kHeaderSize> raw{1, 4, 0x36, 0, 0xa8, 0x05, 0x22, 0, 0x10, 0, 3, 0};
  const NetHeader h = DecodeHeader(raw);
  EXPECT_EQ(h.flags, 1);
  EXPECT_EQ(h.gso_type, kGsoTcpv6);
  EXPECT_EQ(h.hdr_len, 0x36);
  EXPECT_EQ(h.gso_size, 1448);
  EXPECT_EQ(h.csum_start, 0x22);
  EXPECT_EQ(h.csum_offset, 0x10);
  EXPECT_EQ(h.num_buffers, 3);
  std::array<uint8_t, kHeaderSize> back{};
  EncodeHeader(h, back);
  EXPECT_EQ(back, raw);
}

TEST(NetHeaderTest, AcceptsAPlainFrame) {
  EXPECT_EQ(ValidateTxHeader({}, kFrame, {}), TxVerdict::kOk);
}

TEST(NetHeaderTest, RefusesFramesTooShortOrTooLong) {
  EXPECT_EQ(ValidateTxHeader({}, kHeaderSize + 13, kAll), TxVerdict::kTooShort);
  EXPECT_EQ(ValidateTxHeader({}, 0, kAll), TxVerdict::kTooShort);
  EXPECT_EQ(ValidateTxHeader({}, kMaxPacketSize + 1, kAll), TxVerdict::kTooLong);
  EXPECT_EQ(ValidateTxHeader({}, kMaxPacketSize, kAll), TxVerdict::kOk);
}

TEST(NetHeaderTest, ChecksumOffloadNeedsTheFeatureAndASpanInsideTheFrame) {
  NetHeader h{.flags = kHdrFlagNeedsCsum, .csum_start = 34, .csum_offset = 16};
  EXPECT_EQ(ValidateTxHeader(h, kFrame, {}), TxVerdict::kBadFlags);
  EXPECT_EQ(ValidateTxHeader(h, kFrame, kAll), TxVerdict::kOk);
  h.csum_start = 1500;
  EXPECT_EQ(ValidateTxHeader(h, kFrame, kAll), TxVerdict::kBadChecksumSpan);
  h.csum_start = 0xffff;
  h.csum_offset = 0xffff;  // no 16-bit wrap-around
  EXPECT_EQ(ValidateTxHeader(h, kFrame, kAll), TxVerdict::kBadChecksumSpan);
}

TEST(NetHeaderTest, RefusesDeviceOnlyAndUnknownFlags) {
  EXPECT_EQ(ValidateTxHeader({.flags = kHdrFlagDataValid}, kFrame, kAll), TxVerdict::kBadFlags);
  EXPECT_EQ(ValidateTxHeader({.flags = kHdrFlagRscInfo}, kFrame, kAll), TxVerdict::kBadFlags);
  EXPECT_EQ(ValidateTxHeader({.flags = 0x80}, kFrame, kAll), TxVerdict::kBadFlags);
}

TEST(NetHeaderTest, GsoNeedsItsFeatureChecksumOffloadAndASegmentSize) {
  const NetHeader tso4{.flags = kHdrFlagNeedsCsum,
                       .gso_type = kGsoTcpv4,
                       .hdr_len = 54,
                       .gso_size = 1448,
                       .csum_start = 34,
                       .csum_offset = 16};
  EXPECT_EQ(ValidateTxHeader(tso4, kFrame, kAll), TxVerdict::kOk);
  EXPECT_EQ(ValidateTxHeader(tso4, kFrame, {.csum = true}), TxVerdict::kBadGsoType);
  NetHeader no_csum = tso4;
  no_csum.flags = 0;
  EXPECT_EQ(ValidateTxHeader(no_csum, kFrame, kAll), TxVerdict::kBadFlags);
  NetHeader no_size = tso4;
  no_size.gso_size = 0;
  EXPECT_EQ(ValidateTxHeader(no_size, kFrame, kAll), TxVerdict::kBadGsoSize);
  NetHeader ecn = tso4;
  ecn.gso_type = kGsoTcpv4 | kGsoEcn;
  EXPECT_EQ(ValidateTxHeader(ecn, kFrame, kAll), TxVerdict::kOk);
  EXPECT_EQ(ValidateTxHeader(ecn, kFrame, {.csum = true, .tso4 = true}), TxVerdict::kBadGsoType);
  NetHeader udp = tso4;
  udp.gso_type = kGsoUdp;
  EXPECT_EQ(ValidateTxHeader(udp, kFrame, kAll), TxVerdict::kOk);
  EXPECT_EQ(ValidateTxHeader(udp, kFrame, {.csum = true}), TxVerdict::kBadGsoType);
  NetHeader unknown = tso4;
  unknown.gso_type = 5;
  EXPECT_EQ(ValidateTxHeader(unknown, kFrame, kAll), TxVerdict::kBadGsoType);
  EXPECT_EQ(ValidateTxHeader({.gso_type = kGsoEcn}, kFrame, kAll), TxVerdict::kBadGsoType);
}

}  // namespace
}  // namespace hull::vmm::virtio::net
