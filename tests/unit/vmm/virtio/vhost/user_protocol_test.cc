#include "hull/vmm/virtio/vhost/user_protocol.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <optional>
#include <vector>

namespace hull::vmm::virtio::vhost::user {
namespace {

std::vector<uint8_t> Bytes(std::initializer_list<int> values) {
  std::vector<uint8_t> out;
  for (int v : values) out.push_back(static_cast<uint8_t>(v));
  return out;
}

template <typename C>
std::vector<uint8_t> Vec(const C& c) {
  return std::vector<uint8_t>(c.begin(), c.end());
}

// A reply as a back end writes it: {request, flags, size} then the payload.
std::vector<uint8_t> Reply(uint32_t request, uint32_t flags, std::vector<uint8_t> payload,
                           std::optional<uint32_t> size = std::nullopt) {
  const auto header = EncodeHeader({.request = request,
                                    .flags = flags,
                                    .size = size.value_or(static_cast<uint32_t>(payload.size()))});
  std::vector<uint8_t> out(header.size() + payload.size());
  std::copy(header.begin(), header.end(), out.begin());
  std::copy(payload.begin(), payload.end(), out.begin() + kHeaderSize);
  return out;
}

TEST(VhostUserProtocol, EncodesTheHeaderInHostOrder) {
  EXPECT_EQ(Vec(EncodeHeader({.request = 5, .flags = 0x9, .size = 0x108})),
            Bytes({5, 0, 0, 0, 9, 0, 0, 0, 0x08, 0x01, 0, 0}));
}

TEST(VhostUserProtocol, EncodesAMessageWithVersionOneAndItsFlags) {
  const std::vector<uint8_t> payload = Bytes({1, 2, 3, 4, 5, 6, 7, 8});
  EXPECT_EQ(EncodeMessage(Request::kSetFeatures, kFlagNeedReply, payload),
            Bytes({2, 0, 0, 0, 9, 0, 0, 0, 8, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(EncodeMessage(Request::kSetOwner, 0, {}), Bytes({3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0}));
}

TEST(VhostUserProtocol, RoundTripsU64) {
  const auto bytes = EncodeU64(0x0102030405060708);
  EXPECT_EQ(Vec(bytes), Bytes({8, 7, 6, 5, 4, 3, 2, 1}));
  EXPECT_EQ(DecodeU64(bytes).value(), 0x0102030405060708u);
}

TEST(VhostUserProtocol, RoundTripsVringState) {
  const auto bytes = EncodeVringState({.index = 1, .num = 256});
  EXPECT_EQ(Vec(bytes), Bytes({1, 0, 0, 0, 0, 1, 0, 0}));
  EXPECT_EQ(DecodeVringState(bytes).value(), (VringState{1, 256}));
}

TEST(VhostUserProtocol, EncodesVringAddrAsDescUsedAvailLog) {
  const VringAddr addr{
      .index = 2, .flags = 0, .desc = 0x1000, .used = 0x3000, .avail = 0x2000, .log = 0};
  const auto bytes = EncodeVringAddr(addr);
  ASSERT_EQ(bytes.size(), 40u);
  EXPECT_EQ(bytes[0], 2);
  EXPECT_EQ(bytes[9], 0x10);   // desc at 8
  EXPECT_EQ(bytes[17], 0x30);  // used at 16
  EXPECT_EQ(bytes[25], 0x20);  // avail at 24
  EXPECT_EQ(DecodeVringAddr(bytes).value(), addr);
}

TEST(VhostUserProtocol, EncodesVringFilesWithTheNoFdFlag) {
  EXPECT_EQ(EncodeVringFile(3, true).value(), 3u);
  EXPECT_EQ(EncodeVringFile(3, false).value(), 0x103u);
  EXPECT_EQ(EncodeVringFile(256, true).error().code(), EINVAL);
  EXPECT_EQ(DecodeVringFile(EncodeU64(0x103)).value(), (VringFile{3, false}));
  EXPECT_EQ(DecodeVringFile(EncodeU64(7)).value(), (VringFile{7, true}));
  EXPECT_EQ(DecodeVringFile(EncodeU64(0x200)).error().code(), EPROTO);
}

TEST(VhostUserProtocol, RoundTripsAMemoryTable) {
  const std::vector<MemoryRegion> regions = {
      {.guest_phys_addr = 0,
       .memory_size = 0x100000,
       .userspace_addr = 0x7f0000000000,
       .mmap_offset = 0,
       .fd = 5},
      {.guest_phys_addr = 0x100000000,
       .memory_size = 0x200000,
       .userspace_addr = 0x7f1000000000,
       .mmap_offset = 0x1000,
       .fd = 6},
  };
  const std::vector<uint8_t> bytes = EncodeMemoryTable(regions).value();
  ASSERT_EQ(bytes.size(), 8u + 2 * 32);
  EXPECT_EQ(Vec(std::span(bytes).first(8)), Bytes({2, 0, 0, 0, 0, 0, 0, 0}));
  const std::vector<MemoryRegion> decoded = DecodeMemoryTable(bytes).value();
  ASSERT_EQ(decoded.size(), 2u);
  EXPECT_EQ(decoded[1].guest_phys_addr, 0x100000000u);
  EXPECT_EQ(decoded[1].memory_size, 0x200000u);
  EXPECT_EQ(decoded[1].userspace_addr, 0x7f1000000000u);
  EXPECT_EQ(decoded[1].mmap_offset, 0x1000u);
  EXPECT_EQ(decoded[1].fd, -1);
}

TEST(VhostUserProtocol, RefusesMemoryTablesOfNoneOrMoreThanEightRegions) {
  EXPECT_EQ(EncodeMemoryTable({}).error().code(), EINVAL);
  const std::vector<MemoryRegion> nine(9, MemoryRegion{.memory_size = 0x1000, .fd = 3});
  EXPECT_EQ(EncodeMemoryTable(nine).error().code(), EINVAL);
  EXPECT_TRUE(EncodeMemoryTable(std::span(nine).first(8)).ok());
}

TEST(VhostUserProtocol, DecodersRefuseWrongSizes) {
  EXPECT_EQ(DecodeU64(Bytes({1, 2, 3})).error().code(), EPROTO);
  EXPECT_EQ(DecodeU64(std::vector<uint8_t>(9)).error().code(), EPROTO);
  EXPECT_EQ(DecodeVringState(std::vector<uint8_t>(7)).error().code(), EPROTO);
  EXPECT_EQ(DecodeVringAddr(std::vector<uint8_t>(41)).error().code(), EPROTO);
  // A table claiming 2 regions but holding 1, and one claiming 9.
  std::vector<uint8_t> table = EncodeMemoryTable(std::vector<MemoryRegion>(2)).value();
  table.resize(8 + 32);
  EXPECT_EQ(DecodeMemoryTable(table).error().code(), EPROTO);
  table[0] = 9;
  table.resize(8 + 9 * 32);
  EXPECT_EQ(DecodeMemoryTable(table).error().code(), EPROTO);
  EXPECT_EQ(DecodeMemoryTable(Bytes({0, 0, 0, 0, 0, 0, 0, 0})).error().code(), EPROTO);
}

TEST(VhostUserProtocol, ParsesAWellFormedU64Reply) {
  const auto reply = Reply(1, 0x5, Vec(EncodeU64(0x1'7000'0000)));
  EXPECT_EQ(ParseU64Reply(reply, Request::kGetFeatures).value(), 0x1'7000'0000u);
}

struct BadReply {
  const char* name;
  std::vector<uint8_t> bytes;
  const char* says;
};

TEST(VhostUserProtocol, RefusesHostileU64Replies) {
  const std::vector<uint8_t> value = Vec(EncodeU64(1));
  const std::vector<BadReply> cases = {
      {"wrong request", Reply(2, 0x5, value), "with a VHOST_USER_SET_FEATURES message"},
      {"unknown request", Reply(99, 0x5, value), "request 99"},
      {"no reply flag", Reply(1, 0x1, value), "lacking the reply flag"},
      {"version 0", Reply(1, 0x4, value), "version 0"},
      {"version 2", Reply(1, 0x6, value), "version 2"},
      {"reserved flags", Reply(1, 0x15, value), "reserved flags"},
      {"need_reply echoed", Reply(1, 0xd, value), "reserved flags"},
      {"short size", Reply(1, 0x5, Bytes({1, 2, 3, 4})), "4-byte payload"},
      {"huge size", Reply(1, 0x5, value, 0xffffffff), "4294967295-byte payload"},
      {"size lies short", Reply(1, 0x5, value, 4), "4-byte payload"},
      {"truncated payload", Reply(1, 0x5, Bytes({1, 2}), 8), "2 payload bytes"},
      {"trailing bytes", Reply(1, 0x5, Bytes({1, 2, 3, 4, 5, 6, 7, 8, 9}), 8), "9 payload bytes"},
      {"short header", Bytes({1, 0, 0, 0, 5}), "a header is 12"},
      {"empty", {}, "0-byte message"},
  };
  for (const BadReply& c : cases) {
    Result<uint64_t> parsed = ParseU64Reply(c.bytes, Request::kGetFeatures);
    ASSERT_FALSE(parsed.ok()) << c.name;
    EXPECT_EQ(parsed.error().code(), EPROTO) << c.name;
    EXPECT_NE(parsed.error().message().find(c.says), std::string::npos)
        << c.name << ": " << parsed.error().message();
  }
}

TEST(VhostUserProtocol, ChecksTheVringOfAVringBaseReply) {
  const auto good = Reply(11, 0x5, Vec(EncodeVringState({1, 42})));
  EXPECT_EQ(ParseVringBaseReply(good, 1).value(), (VringState{1, 42}));
  EXPECT_EQ(ParseVringBaseReply(good, 0).error().code(), EPROTO);
  const auto huge = Reply(11, 0x5, Vec(EncodeVringState({1, 0x10000})));
  EXPECT_EQ(ParseVringBaseReply(huge, 1).error().code(), EPROTO);
  EXPECT_EQ(ParseVringBaseReply(Reply(11, 0x5, Vec(EncodeU64(1)), 4), 1).error().code(), EPROTO);
}

TEST(VhostUserProtocol, NamesRequests) {
  EXPECT_EQ(RequestName(Request::kGetVringBase), "VHOST_USER_GET_VRING_BASE");
  EXPECT_EQ(RequestName(Request::kSetMemTable), "VHOST_USER_SET_MEM_TABLE");
  EXPECT_EQ(RequestName(12345), "request 12345");
}

}  // namespace
}  // namespace hull::vmm::virtio::vhost::user
