#include "hull/vmm/virtio/block/request.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <ostream>
#include <vector>

#include "split_ring.h"

namespace hull::vmm::virtio::block {
namespace {

using virtio::testing::kDataBase;
using virtio::testing::MakeMemory;
using virtio::testing::Poke;

constexpr uint64_t kCapacity = 100;  // sectors
constexpr uint64_t kHeaderAt = kDataBase;

struct Segment {
  uint64_t offset;  // from kDataBase + 0x1000, apart from the header's
  uint32_t len;
  bool writable;
  bool header = false;  // the header's bytes start here
};
constexpr Segment Hdr(uint32_t len = 16, bool writable = false) { return {0, len, writable, true}; }
constexpr Segment R(uint64_t offset, uint32_t len) { return {offset, len, false}; }
constexpr Segment W(uint64_t offset, uint32_t len) { return {offset, len, true}; }

struct ParseCase {
  const char* name;
  uint32_t type;
  uint64_t sector;
  std::vector<Segment> segments;
  bool ok;
  Request request;       // when ok
  RequestError error{};  // when not
};
void PrintTo(const ParseCase& c, std::ostream* os) { *os << c.name; }

class ParseRequestTable : public ::testing::TestWithParam<ParseCase> {};

TEST_P(ParseRequestTable, ParsesOrNamesTheProblem) {
  const ParseCase& c = GetParam();
  const GuestMemory memory = MakeMemory();
  Poke<uint32_t>(memory, kHeaderAt, c.type);
  Poke<uint32_t>(memory, kHeaderAt + 4, 0xdead);  // reserved: ignored
  Poke<uint64_t>(memory, kHeaderAt + 8, c.sector);
  std::vector<Descriptor> descriptors;
  for (const Segment& segment : c.segments) {
    const uint64_t addr = segment.header ? kHeaderAt : kDataBase + 0x1000 + segment.offset;
    descriptors.push_back({GuestAddress(addr), segment.len, segment.writable});
  }
  Result<DescriptorChain> chain = DescriptorChain::Create(memory, 0, std::move(descriptors));
  ASSERT_TRUE(chain.ok()) << chain.error().ToString();

  Expected<Request, RequestError> parsed = ParseRequest(*chain, memory, kCapacity);
  ASSERT_EQ(parsed.ok(), c.ok) << (parsed.ok() ? "parsed" : ToString(parsed.error()));
  if (c.ok) {
    EXPECT_EQ(*parsed, c.request);
  } else {
    EXPECT_EQ(parsed.error(), c.error) << ToString(parsed.error());
  }
}

Request In(uint64_t sector, uint64_t len) { return {RequestType::kIn, kTypeIn, sector, len}; }
Request Out(uint64_t sector, uint64_t len) { return {RequestType::kOut, kTypeOut, sector, len}; }

constexpr uint64_t kU64Max = ~uint64_t{0};

INSTANTIATE_TEST_SUITE_P(
    Requests, ParseRequestTable,
    ::testing::Values(
        ParseCase{"ReadOneSector", kTypeIn, 5, {Hdr(), W(0, 512), W(0x800, 1)}, true, In(5, 512)},
        ParseCase{
            "WriteTwoSectors", kTypeOut, 5, {Hdr(), R(0, 1024), W(0x800, 1)}, true, Out(5, 1024)},
        ParseCase{"DataSplitAcrossDescriptors",
                  kTypeIn,
                  0,
                  {Hdr(), W(0, 100), W(0x200, 412), W(0x400, 512), W(0x800, 1)},
                  true,
                  In(0, 1024)},
        ParseCase{"HeaderAndDataInOneDescriptor",
                  kTypeOut,
                  1,
                  {Hdr(16 + 512), W(0x800, 1)},
                  true,
                  Out(1, 512)},
        ParseCase{"DataAndStatusInOneDescriptor", kTypeIn, 1, {Hdr(), W(0, 513)}, true, In(1, 512)},
        ParseCase{"LastSector", kTypeIn, 99, {Hdr(), W(0, 512), W(0x800, 1)}, true, In(99, 512)},
        ParseCase{"NoDataAtTheEnd", kTypeIn, 100, {Hdr(), W(0x800, 1)}, true, In(100, 0)},
        ParseCase{"Flush",
                  kTypeFlush,
                  77,
                  {Hdr(), W(0x800, 1)},
                  true,
                  Request{RequestType::kFlush, kTypeFlush, 0, 0}},
        ParseCase{"GetId",
                  kTypeGetId,
                  0,
                  {Hdr(), W(0, 20), W(0x800, 1)},
                  true,
                  Request{RequestType::kGetId, kTypeGetId, 0, 20}},
        ParseCase{"GetIdShortBuffer",
                  kTypeGetId,
                  0,
                  {Hdr(), W(0, 8), W(0x800, 1)},
                  true,
                  Request{RequestType::kGetId, kTypeGetId, 0, 8}},
        ParseCase{"DiscardIsUnsupported",
                  11,
                  0,
                  {Hdr(), R(0, 16), W(0x800, 1)},
                  true,
                  Request{RequestType::kUnsupported, 11, 0, 0}},
        ParseCase{"UnknownType",
                  0xffff'ffff,
                  0,
                  {Hdr(), W(0x800, 1)},
                  true,
                  Request{RequestType::kUnsupported, 0xffff'ffff, 0, 0}},
        ParseCase{"HeaderTooShort",
                  kTypeIn,
                  0,
                  {Hdr(8), W(0x800, 1)},
                  false,
                  {},
                  RequestError::kHeaderNotReadable},
        ParseCase{"HeaderWritable",
                  kTypeIn,
                  0,
                  {Hdr(16, true), W(0x800, 1)},
                  false,
                  {},
                  RequestError::kHeaderNotReadable},
        ParseCase{"NoStatusByte",
                  kTypeOut,
                  0,
                  {Hdr(), R(0, 512)},
                  false,
                  {},
                  RequestError::kStatusNotWritable},
        ParseCase{
            "OnlyAHeader", kTypeFlush, 0, {Hdr()}, false, {}, RequestError::kStatusNotWritable},
        ParseCase{"EmptyStatusDescriptor",
                  kTypeFlush,
                  0,
                  {Hdr(), W(0x800, 0)},
                  false,
                  {},
                  RequestError::kStatusNotWritable},
        ParseCase{"ReadWithReadableData",
                  kTypeIn,
                  0,
                  {Hdr(), R(0, 512), W(0x800, 1)},
                  false,
                  {},
                  RequestError::kDataWrongDirection},
        ParseCase{"WriteWithWritableData",
                  kTypeOut,
                  0,
                  {Hdr(), W(0, 512), W(0x800, 1)},
                  false,
                  {},
                  RequestError::kDataWrongDirection},
        ParseCase{"FlushWithData",
                  kTypeFlush,
                  0,
                  {Hdr(), W(0, 512), W(0x800, 1)},
                  false,
                  {},
                  RequestError::kDataWrongDirection},
        ParseCase{"GetIdWithReadableData",
                  kTypeGetId,
                  0,
                  {Hdr(), R(0, 20), W(0x800, 1)},
                  false,
                  {},
                  RequestError::kDataWrongDirection},
        ParseCase{"ReadNotASectorMultiple",
                  kTypeIn,
                  0,
                  {Hdr(), W(0, 100), W(0x800, 1)},
                  false,
                  {},
                  RequestError::kDataNotSectorMultiple},
        ParseCase{"WriteNotASectorMultiple",
                  kTypeOut,
                  0,
                  {Hdr(), R(0, 513), W(0x800, 1)},
                  false,
                  {},
                  RequestError::kDataNotSectorMultiple},
        ParseCase{"PastTheEnd",
                  kTypeIn,
                  99,
                  {Hdr(), W(0, 1024), W(0x800, 1)},
                  false,
                  {},
                  RequestError::kSectorOutOfRange},
        ParseCase{"SectorPastTheEnd",
                  kTypeOut,
                  101,
                  {Hdr(), W(0x800, 1)},
                  false,
                  {},
                  RequestError::kSectorOutOfRange},
        ParseCase{"SectorTimes512Overflows",
                  kTypeIn,
                  kU64Max / 512 + 1,
                  {Hdr(), W(0, 512), W(0x800, 1)},
                  false,
                  {},
                  RequestError::kSectorOutOfRange},
        ParseCase{"HugeSector",
                  kTypeOut,
                  kU64Max,
                  {Hdr(), R(0, 512), W(0x800, 1)},
                  false,
                  {},
                  RequestError::kSectorOutOfRange}),
    [](const ::testing::TestParamInfo<ParseCase>& param_info) { return param_info.param.name; });

TEST(ParseRequest, RejectsAnEmptyChain) {
  const GuestMemory memory = MakeMemory();
  Result<DescriptorChain> chain = DescriptorChain::Create(memory, 0, {});
  ASSERT_TRUE(chain.ok());
  Expected<Request, RequestError> parsed = ParseRequest(*chain, memory, kCapacity);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error(), RequestError::kHeaderNotReadable);
}

TEST(ParseRequest, RejectsDataTooLongForTheUsedLength) {
  // Two 2 GiB descriptors over the same (sparse, never touched) RAM.
  Result<GuestMemory> memory = GuestMemory::Create({{GuestAddress(0), 0x8000'1000}});
  ASSERT_TRUE(memory.ok());
  Poke<uint32_t>(*memory, 0, kTypeIn);
  Result<DescriptorChain> chain =
      DescriptorChain::Create(*memory, 0,
                              {{GuestAddress(0), 16, false},
                               {GuestAddress(0x1000), 0x8000'0000, true},
                               {GuestAddress(0x1000), 0x8000'0000, true},
                               {GuestAddress(0x1000), 1, true}});
  ASSERT_TRUE(chain.ok());
  Expected<Request, RequestError> parsed = ParseRequest(*chain, *memory, kU64Max / 512);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error(), RequestError::kDataTooLong);
}

TEST(ParseRequest, NamesEveryError) {
  for (RequestError error :
       {RequestError::kHeaderNotReadable, RequestError::kStatusNotWritable,
        RequestError::kDataWrongDirection, RequestError::kDataNotSectorMultiple,
        RequestError::kSectorOutOfRange, RequestError::kDataTooLong, RequestError::kGuestMemory}) {
    EXPECT_NE(ToString(error), "unknown request error");
  }
}

}  // namespace
}  // namespace hull::vmm::virtio::block
