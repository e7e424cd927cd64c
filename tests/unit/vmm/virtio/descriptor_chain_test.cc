#include "hull/vmm/virtio/descriptor_chain.h"

#include <gtest/gtest.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <numeric>
#include <vector>

#include "split_ring.h"

namespace hull::vmm::virtio {
namespace {

using testing::Bytes;
using testing::Fill;
using testing::kDataBase;
using testing::kMemorySize;
using testing::MakeMemory;

// Readable: 4 bytes at A, 6 at B; writable: 3 at C, 5 at D.
constexpr uint64_t A = kDataBase, B = kDataBase + 0x100, C = kDataBase + 0x200,
                   D = kDataBase + 0x300;

DescriptorChain MakeChain(const GuestMemory& memory) {
  Result<DescriptorChain> chain = DescriptorChain::Create(memory, 7,
                                                          {{GuestAddress(A), 4, false},
                                                           {GuestAddress(B), 6, false},
                                                           {GuestAddress(C), 3, true},
                                                           {GuestAddress(D), 5, true}});
  HULL_CHECK(chain.ok());
  return std::move(chain).value();
}

TEST(DescriptorChain, SumsTheReadableAndWritableParts) {
  const GuestMemory memory = MakeMemory();
  const DescriptorChain chain = MakeChain(memory);
  EXPECT_EQ(chain.head_index(), 7);
  EXPECT_EQ(chain.readable_len(), 10u);
  EXPECT_EQ(chain.writable_len(), 8u);
}

TEST(DescriptorChain, ReadsTheReadablePartAsOneStream) {
  const GuestMemory memory = MakeMemory();
  const std::array<uint8_t, 4> a{0, 1, 2, 3};
  const std::array<uint8_t, 6> b{4, 5, 6, 7, 8, 9};
  Fill(memory, A, a);
  Fill(memory, B, b);
  const DescriptorChain chain = MakeChain(memory);

  std::array<uint8_t, 10> all{};
  ASSERT_TRUE(chain.ReadFromReadable(memory, 0, all).ok());
  EXPECT_EQ(all, (std::array<uint8_t, 10>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));

  std::array<uint8_t, 4> middle{};
  ASSERT_TRUE(chain.ReadFromReadable(memory, 3, middle).ok());
  EXPECT_EQ(middle, (std::array<uint8_t, 4>{3, 4, 5, 6}));
}

TEST(DescriptorChain, RefusesToReadPastTheReadablePart) {
  const GuestMemory memory = MakeMemory();
  const DescriptorChain chain = MakeChain(memory);
  std::array<uint8_t, 2> two{};
  EXPECT_EQ(chain.ReadFromReadable(memory, 9, two).error().code(), EINVAL);
  EXPECT_EQ(chain.ReadFromReadable(memory, ~uint64_t{0}, two).error().code(), EINVAL);
  EXPECT_TRUE(chain.ReadFromReadable(memory, 10, std::span<uint8_t>()).ok());
}

TEST(DescriptorChain, WritesTheWritablePartAsOneStream) {
  const GuestMemory memory = MakeMemory();
  const DescriptorChain chain = MakeChain(memory);
  std::array<uint8_t, 8> data;
  std::iota(data.begin(), data.end(), uint8_t{10});
  ASSERT_TRUE(chain.WriteToWritable(memory, 0, data).ok());
  EXPECT_EQ(Bytes(memory, C, 3), (std::vector<uint8_t>{10, 11, 12}));
  EXPECT_EQ(Bytes(memory, D, 5), (std::vector<uint8_t>{13, 14, 15, 16, 17}));

  const std::array<uint8_t, 1> last{0xaa};
  ASSERT_TRUE(chain.WriteToWritable(memory, 7, last).ok());
  EXPECT_EQ(Bytes(memory, D + 4, 1), (std::vector<uint8_t>{0xaa}));
  EXPECT_EQ(chain.WriteToWritable(memory, 8, last).error().code(), EINVAL);
}

TEST(DescriptorChain, SlicesARangeForVectoredIo) {
  const GuestMemory memory = MakeMemory();
  const DescriptorChain chain = MakeChain(memory);
  std::vector<std::span<uint8_t>> slices;
  ASSERT_TRUE(chain.WritableSlices(memory, 1, 6, slices).ok());
  ASSERT_EQ(slices.size(), 2u);
  EXPECT_EQ(slices[0].size(), 2u);
  EXPECT_EQ(slices[1].size(), 4u);

  slices.clear();
  ASSERT_TRUE(chain.ReadableSlices(memory, 4, 6, slices).ok());
  ASSERT_EQ(slices.size(), 1u);
  EXPECT_EQ(slices[0].size(), 6u);
  EXPECT_FALSE(chain.ReadableSlices(memory, 4, 7, slices).ok());
}

TEST(DescriptorChain, RejectsABufferOutsideGuestMemory) {
  const GuestMemory memory = MakeMemory();
  Result<DescriptorChain> chain =
      DescriptorChain::Create(memory, 0, {{GuestAddress(kMemorySize - 1), 2, true}});
  ASSERT_FALSE(chain.ok());
  EXPECT_EQ(chain.error().code(), EFAULT);
}

TEST(DescriptorChain, RejectsAReadableBufferAfterAWritableOne) {
  const GuestMemory memory = MakeMemory();
  Result<DescriptorChain> chain =
      DescriptorChain::Create(memory, 0, {{GuestAddress(A), 1, true}, {GuestAddress(B), 1, false}});
  ASSERT_FALSE(chain.ok());
  EXPECT_EQ(chain.error().code(), EINVAL);
}

TEST(DescriptorChain, AllowsAChainWithoutAWritablePart) {
  const GuestMemory memory = MakeMemory();
  Result<DescriptorChain> chain = DescriptorChain::Create(memory, 0, {{GuestAddress(A), 1, false}});
  ASSERT_TRUE(chain.ok());
  EXPECT_EQ(chain->writable_len(), 0u);
  const std::array<uint8_t, 1> one{1};
  EXPECT_FALSE(chain->WriteToWritable(memory, 0, one).ok());
}

}  // namespace
}  // namespace hull::vmm::virtio
