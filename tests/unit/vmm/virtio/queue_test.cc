#include "hull/vmm/virtio/queue.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <limits>
#include <optional>
#include <ostream>
#include <vector>

#include "split_ring.h"

namespace hull::vmm::virtio {
namespace {

using testing::Buffer;
using testing::kDataBase;
using testing::kIndirectTable;
using testing::kMemorySize;
using testing::kModernFeatures;
using testing::MakeMemory;
using testing::SplitRing;

constexpr uint16_t W = kDescFlagWrite;
constexpr uint16_t N = kDescFlagNext;
constexpr uint16_t I = kDescFlagIndirect;

// Pops one chain, failing the test when there is none or the pop failed.
DescriptorChain PopChain(Queue& queue, const GuestMemory& memory) {
  Result<std::optional<DescriptorChain>> popped = queue.Pop(memory);
  HULL_CHECK(popped.ok() && popped->has_value());
  return std::move(**popped);
}

// The errno of a failed pop, or 0 when it succeeded.
int PopError(Queue& queue, const GuestMemory& memory) {
  Result<std::optional<DescriptorChain>> popped = queue.Pop(memory);
  return popped.ok() ? 0 : popped.error().code();
}

TEST(Queue, PopsASimpleChainAsTheDriverWroteIt) {
  const GuestMemory memory = MakeMemory();
  SplitRing ring(memory, 8);
  Queue queue = ring.MakeQueue();
  const uint16_t head = ring.AddChain(
      {{kDataBase, 16, false}, {kDataBase + 0x1000, 512, true}, {kDataBase + 0x2000, 1, true}});

  const DescriptorChain chain = PopChain(queue, memory);
  EXPECT_EQ(chain.head_index(), head);
  ASSERT_EQ(chain.descriptors().size(), 3u);
  EXPECT_EQ(chain.descriptors()[0], (Descriptor{GuestAddress(kDataBase), 16, false}));
  EXPECT_EQ(chain.descriptors()[1], (Descriptor{GuestAddress(kDataBase + 0x1000), 512, true}));
  EXPECT_EQ(chain.descriptors()[2], (Descriptor{GuestAddress(kDataBase + 0x2000), 1, true}));
  EXPECT_EQ(chain.readable_len(), 16u);
  EXPECT_EQ(chain.writable_len(), 513u);
  EXPECT_EQ(queue.next_avail(), 1);
}

TEST(Queue, FindsNothingInAnEmptyRing) {
  const GuestMemory memory = MakeMemory();
  SplitRing ring(memory, 8);
  Queue queue = ring.MakeQueue();
  Result<std::optional<DescriptorChain>> popped = queue.Pop(memory);
  ASSERT_TRUE(popped.ok());
  EXPECT_FALSE(popped->has_value());
}

TEST(Queue, PopsChainsInTheOrderTheyWereMadeAvailable) {
  const GuestMemory memory = MakeMemory();
  SplitRing ring(memory, 8);
  Queue queue = ring.MakeQueue();
  const uint16_t first = ring.AddChain({{kDataBase, 8, true}});
  const uint16_t second = ring.AddChain({{kDataBase + 8, 8, true}});
  EXPECT_EQ(PopChain(queue, memory).head_index(), first);
  EXPECT_EQ(PopChain(queue, memory).head_index(), second);
  EXPECT_FALSE(queue.Pop(memory)->has_value());
}

TEST(Queue, FollowsTheRingIndicesAcrossTheir16BitWrap) {
  const GuestMemory memory = MakeMemory();
  SplitRing ring(memory, 4);
  Queue queue = ring.MakeQueue();
  for (uint32_t i = 0; i < 70000; ++i) {
    const uint16_t head = ring.AddChain({{kDataBase, 4, true}});
    const DescriptorChain chain = PopChain(queue, memory);
    ASSERT_EQ(chain.head_index(), head) << "at " << i;
    ASSERT_TRUE(queue.AddUsed(memory, head, 4).ok());
  }
  EXPECT_EQ(queue.next_avail(), static_cast<uint16_t>(70000));
  EXPECT_EQ(ring.UsedIdx(), static_cast<uint16_t>(70000));
}

TEST(Queue, EndsACyclicChainWithAnErrorAfterTheHopBudget) {
  const GuestMemory memory = MakeMemory();
  SplitRing ring(memory, 8);
  Queue queue = ring.MakeQueue();
  ring.SetDescriptor(0, kDataBase, 16, N, 1);
  ring.SetDescriptor(1, kDataBase, 16, N, 0);  // back to 0
  ring.MakeAvailable(0);
  EXPECT_EQ(PopError(queue, memory), ELOOP);
}

TEST(Queue, EndsASelfLoopWithAnError) {
  const GuestMemory memory = MakeMemory();
  SplitRing ring(memory, 8);
  Queue queue = ring.MakeQueue();
  ring.SetDescriptor(3, kDataBase, 16, N, 3);
  ring.MakeAvailable(3);
  EXPECT_EQ(PopError(queue, memory), ELOOP);
}

TEST(Queue, AcceptsAChainExactlyAsLongAsTheQueue) {
  const GuestMemory memory = MakeMemory();
  SplitRing ring(memory, 4);
  Queue queue = ring.MakeQueue();
  ring.AddChain({{kDataBase, 1, false},
                 {kDataBase + 1, 1, false},
                 {kDataBase + 2, 1, true},
                 {kDataBase + 3, 1, true}});
  EXPECT_EQ(PopChain(queue, memory).descriptors().size(), 4u);
}

TEST(Queue, RejectsAHeadIndexPastTheQueueSize) {
  const GuestMemory memory = MakeMemory();
  SplitRing ring(memory, 8);
  Queue queue = ring.MakeQueue();
  ring.MakeAvailable(8);
  EXPECT_EQ(PopError(queue, memory), EINVAL);
}

TEST(Queue, RejectsANextIndexPastTheQueueSize) {
  const GuestMemory memory = MakeMemory();
  SplitRing ring(memory, 8);
  Queue queue = ring.MakeQueue();
  ring.SetDescriptor(0, kDataBase, 16, N, 8);
  ring.MakeAvailable(0);
  EXPECT_EQ(PopError(queue, memory), EINVAL);
}

TEST(Queue, RejectsAReadableBufferAfterAWritableOne) {
  const GuestMemory memory = MakeMemory();
  SplitRing ring(memory, 8);
  Queue queue = ring.MakeQueue();
  ring.AddChain({{kDataBase, 1, true}, {kDataBase + 1, 1, false}});
  EXPECT_EQ(PopError(queue, memory), EINVAL);
}

struct BufferCase {
  const char* name;
  uint64_t addr;
  uint32_t len;
  int error;  // 0: accepted
};
void PrintTo(const BufferCase& c, std::ostream* os) { *os << c.name; }

class QueueBufferRange : public ::testing::TestWithParam<BufferCase> {};

TEST_P(QueueBufferRange, ChecksTheWholeBufferLiesInGuestMemory) {
  const BufferCase& c = GetParam();
  const GuestMemory memory = MakeMemory();
  SplitRing ring(memory, 8);
  Queue queue = ring.MakeQueue();
  ring.AddChain({{kDataBase, 16, false}, {c.addr, c.len, true}});
  EXPECT_EQ(PopError(queue, memory), c.error);
}

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
INSTANTIATE_TEST_SUITE_P(
    Buffers, QueueBufferRange,
    ::testing::Values(BufferCase{"Inside", kDataBase, 4096, 0},
                      BufferCase{"EndingAtTheEndOfRam", kMemorySize - 16, 16, 0},
                      BufferCase{"OneBytePastTheEndOfRam", kMemorySize - 16, 17, EFAULT},
                      BufferCase{"StartingPastRam", kMemorySize, 1, EFAULT},
                      BufferCase{"FarAway", 0xd000'0000, 512, EFAULT},
                      BufferCase{"AddrPlusLenOverflows", kMax - 8, 512, EFAULT},
                      BufferCase{"LastAddressOfTheSpace", kMax, 1, EFAULT},
                      BufferCase{"EmptyInsideRam", kDataBase, 0, 0},
                      BufferCase{"HugeLength", kDataBase, 0xffff'ffff, EFAULT}),
    [](const ::testing::TestParamInfo<BufferCase>& param_info) { return param_info.param.name; });

TEST(Queue, CopiesTheChainSoLaterGuestWritesDoNotChangeIt) {
  const GuestMemory memory = MakeMemory();
  SplitRing ring(memory, 8);
  Queue queue = ring.MakeQueue();
  const uint16_t head = ring.AddChain({{kDataBase, 64, true}});
  const DescriptorChain chain = PopChain(queue, memory);
  ring.SetDescriptor(head, 0xdead'0000, 0xffff, W);  // the guest rewrites it
  EXPECT_EQ(chain.descriptors()[0], (Descriptor{GuestAddress(kDataBase), 64, true}));
}

// --- Indirect descriptors (§2.7.5.3). ---

constexpr uint64_t kIndirect = kModernFeatures | kFeatureIndirectDesc;

TEST(QueueIndirect, WalksAnIndirectTable) {
  const GuestMemory memory = MakeMemory();
  SplitRing ring(memory, 8);
  Queue queue = ring.MakeQueue(kIndirect);
  ring.SetDescriptor(0, kDataBase, 16, N, 2, kIndirectTable);
  ring.SetDescriptor(2, kDataBase + 0x100, 512, W | N, 1, kIndirectTable);
  ring.SetDescriptor(1, kDataBase + 0x300, 1, W, 0, kIndirectTable);
  ring.SetDescriptor(5, kIndirectTable.raw(), 3 * 16, I);
  ring.MakeAvailable(5);

  const DescriptorChain chain = PopChain(queue, memory);
  EXPECT_EQ(chain.head_index(), 5);
  ASSERT_EQ(chain.descriptors().size(), 3u);
  EXPECT_EQ(chain.descriptors()[1], (Descriptor{GuestAddress(kDataBase + 0x100), 512, true}));
  EXPECT_EQ(chain.readable_len(), 16u);
  EXPECT_EQ(chain.writable_len(), 513u);
}

TEST(QueueIndirect, FollowsAnIndirectDescriptorAtTheEndOfADirectChain) {
  const GuestMemory memory = MakeMemory();
  SplitRing ring(memory, 8);
  Queue queue = ring.MakeQueue(kIndirect);
  ring.SetDescriptor(0, kDataBase, 16, N, 1);
  ring.SetDescriptor(1, kIndirectTable.raw(), 16, I);
  ring.SetDescriptor(0, kDataBase + 0x100, 8, W, 0, kIndirectTable);
  ring.MakeAvailable(0);
  EXPECT_EQ(PopChain(queue, memory).descriptors().size(), 2u);
}

TEST(QueueIndirect, AcceptsATableOfQueueSizeEntries) {
  const GuestMemory memory = MakeMemory();
  SplitRing ring(memory, 4);
  Queue queue = ring.MakeQueue(kIndirect);
  for (uint16_t i = 0; i < 4; ++i) {
    ring.SetDescriptor(i, kDataBase + i, 1, i < 3 ? N : 0, static_cast<uint16_t>(i + 1),
                       kIndirectTable);
  }
  ring.SetDescriptor(0, kIndirectTable.raw(), 4 * 16, I);
  ring.MakeAvailable(0);
  EXPECT_EQ(PopChain(queue, memory).descriptors().size(), 4u);
}

struct IndirectCase {
  const char* name;
  uint64_t table;
  uint32_t len;
  uint16_t flags;  // of the indirect descriptor, besides INDIRECT
  int error;
};
void PrintTo(const IndirectCase& c, std::ostream* os) { *os << c.name; }

class QueueIndirectTable : public ::testing::TestWithParam<IndirectCase> {};

TEST_P(QueueIndirectTable, ValidatesTheIndirectDescriptor) {
  const IndirectCase& c = GetParam();
  const GuestMemory memory = MakeMemory();
  SplitRing ring(memory, 8);
  Queue queue = ring.MakeQueue(kIndirect);
  for (uint16_t i = 0; i < 8; ++i) {
    ring.SetDescriptor(i, kDataBase, 1, W | N, static_cast<uint16_t>(i + 1), kIndirectTable);
  }
  ring.SetDescriptor(7, kDataBase, 1, W, 0, kIndirectTable);  // entry 7 ends the chain
  ring.SetDescriptor(0, c.table, c.len, static_cast<uint16_t>(I | c.flags), 1);
  ring.SetDescriptor(1, kDataBase, 1, W);
  ring.MakeAvailable(0);
  EXPECT_EQ(PopError(queue, memory), c.error);
}

INSTANTIATE_TEST_SUITE_P(
    Tables, QueueIndirectTable,
    ::testing::Values(IndirectCase{"EightEntries", kIndirectTable.raw(), 8 * 16, 0, 0},
                      IndirectCase{"ZeroLength", kIndirectTable.raw(), 0, 0, EINVAL},
                      IndirectCase{"NotAMultipleOf16", kIndirectTable.raw(), 17, 0, EINVAL},
                      IndirectCase{"MoreEntriesThanTheQueueSize", kIndirectTable.raw(), 9 * 16, 0,
                                   EINVAL},
                      IndirectCase{"WithNext", kIndirectTable.raw(), 8 * 16, N, EINVAL},
                      IndirectCase{"WriteFlagIsIgnored", kIndirectTable.raw(), 8 * 16, W, 0},
                      IndirectCase{"TableOutsideRam", kMemorySize - 16, 8 * 16, 0, EFAULT},
                      IndirectCase{"TableAddressOverflows", kMax - 15, 8 * 16, 0, EFAULT}),
    [](const ::testing::TestParamInfo<IndirectCase>& param_info) { return param_info.param.name; });

TEST(QueueIndirect, RejectsIndirectDescriptorsWhenTheFeatureWasNotNegotiated) {
  const GuestMemory memory = MakeMemory();
  SplitRing ring(memory, 8);
  Queue queue = ring.MakeQueue(kModernFeatures);
  ring.SetDescriptor(0, kDataBase, 1, W, 0, kIndirectTable);
  ring.SetDescriptor(0, kIndirectTable.raw(), 16, I);
  ring.MakeAvailable(0);
  EXPECT_EQ(PopError(queue, memory), EINVAL);
}

TEST(QueueIndirect, RejectsANestedIndirectTable) {
  const GuestMemory memory = MakeMemory();
  SplitRing ring(memory, 8);
  Queue queue = ring.MakeQueue(kIndirect);
  ring.SetDescriptor(0, kIndirectTable.raw(), 16, I, 0, kIndirectTable);  // points at itself
  ring.SetDescriptor(0, kIndirectTable.raw(), 16, I);
  ring.MakeAvailable(0);
  EXPECT_EQ(PopError(queue, memory), EINVAL);
}

TEST(QueueIndirect, EndsACycleInsideTheTable) {
  const GuestMemory memory = MakeMemory();
  SplitRing ring(memory, 8);
  Queue queue = ring.MakeQueue(kIndirect);
  ring.SetDescriptor(0, kDataBase, 1, N, 1, kIndirectTable);
  ring.SetDescriptor(1, kDataBase, 1, N, 0, kIndirectTable);
  ring.SetDescriptor(0, kIndirectTable.raw(), 2 * 16, I);
  ring.MakeAvailable(0);
  EXPECT_EQ(PopError(queue, memory), ELOOP);
}

TEST(QueueIndirect, RejectsANextIndexPastTheTable) {
  const GuestMemory memory = MakeMemory();
  SplitRing ring(memory, 8);
  Queue queue = ring.MakeQueue(kIndirect);
  ring.SetDescriptor(0, kDataBase, 1, N, 2, kIndirectTable);  // the table has 2 entries
  ring.SetDescriptor(0, kIndirectTable.raw(), 2 * 16, I);
  ring.MakeAvailable(0);
  EXPECT_EQ(PopError(queue, memory), EINVAL);
}

// --- The avail index (§2.7.6). ---

TEST(Queue, TreatsAnAvailIdxMoreThanQueueSizeAheadAsADeviceError) {
  const GuestMemory memory = MakeMemory();
  SplitRing ring(memory, 8);
  Queue queue = ring.MakeQueue();
  ring.SetAvailIdx(9);
  EXPECT_EQ(PopError(queue, memory), EOVERFLOW);
}

TEST(Queue, TreatsAnAvailIdxThatMovedBackwardsAsADeviceError) {
  const GuestMemory memory = MakeMemory();
  SplitRing ring(memory, 8);
  Queue queue = ring.MakeQueue();
  ring.AddChain({{kDataBase, 1, true}});
  PopChain(queue, memory);
  ring.SetAvailIdx(0);
  EXPECT_EQ(PopError(queue, memory), EOVERFLOW);
}

TEST(Queue, AcceptsAFullRing) {
  const GuestMemory memory = MakeMemory();
  SplitRing ring(memory, 8);
  Queue queue = ring.MakeQueue();
  for (int i = 0; i < 8; ++i) ring.AddChain({{kDataBase, 1, true}});
  for (int i = 0; i < 8; ++i) PopChain(queue, memory);
  EXPECT_FALSE(queue.Pop(memory)->has_value());
}

// --- The used ring (§2.7.8). ---

TEST(Queue, AddUsedWritesTheElementAndThenTheIndex) {
  const GuestMemory memory = MakeMemory();
  SplitRing ring(memory, 4);
  Queue queue = ring.MakeQueue();
  ASSERT_TRUE(queue.AddUsed(memory, 3, 513).ok());
  ASSERT_TRUE(queue.AddUsed(memory, 1, 0).ok());
  EXPECT_EQ(ring.UsedIdx(), 2);
  EXPECT_EQ(ring.Used(0), (testing::UsedElem{3, 513}));
  EXPECT_EQ(ring.Used(1), (testing::UsedElem{1, 0}));
}

TEST(Queue, AddUsedWrapsAroundTheUsedRing) {
  const GuestMemory memory = MakeMemory();
  SplitRing ring(memory, 4);
  Queue queue = ring.MakeQueue();
  for (uint32_t i = 0; i < 5; ++i) ASSERT_TRUE(queue.AddUsed(memory, 0, i).ok());
  EXPECT_EQ(ring.Used(0), (testing::UsedElem{0, 4}));  // slot 0 written twice
  EXPECT_EQ(ring.UsedIdx(), 5);
}

TEST(Queue, AddUsedRejectsAHeadPastTheQueueSize) {
  const GuestMemory memory = MakeMemory();
  SplitRing ring(memory, 4);
  Queue queue = ring.MakeQueue();
  EXPECT_FALSE(queue.AddUsed(memory, 4, 0).ok());
  EXPECT_EQ(ring.UsedIdx(), 0);
}

TEST(Queue, DoesNothingOnceStopped) {
  const GuestMemory memory = MakeMemory();
  SplitRing ring(memory, 4);
  Queue queue = ring.MakeQueue();
  ring.AddChain({{kDataBase, 1, true}});
  queue.Stop();
  EXPECT_FALSE(queue.Pop(memory)->has_value());
  EXPECT_FALSE(queue.AddUsed(memory, 0, 0).ok());
  EXPECT_FALSE(queue.NeedsNotification(memory));
}

TEST(Queue, StopsWhenTheDriverClearsReady) {
  const GuestMemory memory = MakeMemory();
  SplitRing ring(memory, 4);
  Queue queue = ring.MakeQueue();
  ring.AddChain({{kDataBase, 1, true}});
  queue.set_ready(false);
  EXPECT_FALSE(queue.active());
  EXPECT_FALSE(queue.Pop(memory)->has_value());
}

// --- Notification suppression (§2.7.7, §2.7.10). ---

TEST(QueueNotification, NotifiesAfterUsedBuffersUnlessTheDriverSaysNoInterrupt) {
  const GuestMemory memory = MakeMemory();
  SplitRing ring(memory, 4);
  Queue queue = ring.MakeQueue();
  EXPECT_FALSE(queue.NeedsNotification(memory)) << "nothing used yet";
  ASSERT_TRUE(queue.AddUsed(memory, 0, 1).ok());
  EXPECT_TRUE(queue.NeedsNotification(memory));
  EXPECT_FALSE(queue.NeedsNotification(memory)) << "nothing new since";

  ring.SetAvailFlags(kAvailFlagNoInterrupt);
  ASSERT_TRUE(queue.AddUsed(memory, 0, 1).ok());
  EXPECT_FALSE(queue.NeedsNotification(memory));
  ring.SetAvailFlags(0);
  ASSERT_TRUE(queue.AddUsed(memory, 0, 1).ok());
  EXPECT_TRUE(queue.NeedsNotification(memory));
}

TEST(QueueNotification, WithEventIdxNotifiesOnlyWhenUsedIdxPassesUsedEvent) {
  const GuestMemory memory = MakeMemory();
  SplitRing ring(memory, 8);
  Queue queue = ring.MakeQueue(kModernFeatures | kFeatureEventIdx);
  ring.SetAvailFlags(kAvailFlagNoInterrupt);  // ignored with EVENT_IDX

  ring.SetUsedEvent(0);  // "notify me when used idx passes 0"
  ASSERT_TRUE(queue.AddUsed(memory, 0, 1).ok());
  EXPECT_TRUE(queue.NeedsNotification(memory));  // 0 in [0, 1)

  ASSERT_TRUE(queue.AddUsed(memory, 0, 1).ok());
  EXPECT_FALSE(queue.NeedsNotification(memory));  // 0 not in [1, 2)

  ring.SetUsedEvent(4);
  ASSERT_TRUE(queue.AddUsed(memory, 0, 1).ok());  // used idx 3
  EXPECT_FALSE(queue.NeedsNotification(memory));  // 4 not in [2, 3)
  ASSERT_TRUE(queue.AddUsed(memory, 0, 1).ok());
  ASSERT_TRUE(queue.AddUsed(memory, 0, 1).ok());  // used idx 5
  EXPECT_TRUE(queue.NeedsNotification(memory));   // 4 in [3, 5)
}

TEST(QueueNotification, WithEventIdxAnEmptyPopAsksForTheNextAvailableChain) {
  const GuestMemory memory = MakeMemory();
  SplitRing ring(memory, 8);
  Queue queue = ring.MakeQueue(kModernFeatures | kFeatureEventIdx);
  ring.AddChain({{kDataBase, 1, true}});
  ring.AddChain({{kDataBase, 1, true}});
  PopChain(queue, memory);
  PopChain(queue, memory);
  EXPECT_EQ(ring.AvailEvent(), 0) << "not written while chains are pending";
  EXPECT_FALSE(queue.Pop(memory)->has_value());
  EXPECT_EQ(ring.AvailEvent(), 2);
}

TEST(QueueNotification, WithoutEventIdxAvailEventIsNeverWritten) {
  const GuestMemory memory = MakeMemory();
  SplitRing ring(memory, 8);
  Queue queue = ring.MakeQueue(kModernFeatures);
  ring.AddChain({{kDataBase, 1, true}});
  PopChain(queue, memory);
  EXPECT_FALSE(queue.Pop(memory)->has_value());
  EXPECT_EQ(ring.AvailEvent(), 0);
}

// --- Activation (§2.7: sizes and alignment). ---

struct ActivateCase {
  const char* name;
  uint16_t size;
  uint64_t desc;
  uint64_t avail;
  uint64_t used;
  bool ready;
  bool ok;
};
void PrintTo(const ActivateCase& c, std::ostream* os) { *os << c.name; }

class QueueActivate : public ::testing::TestWithParam<ActivateCase> {};

TEST_P(QueueActivate, ChecksTheDriversConfiguration) {
  const ActivateCase& c = GetParam();
  const GuestMemory memory = MakeMemory();
  Queue queue(256);
  queue.set_size(c.size);
  queue.set_desc_table(GuestAddress(c.desc));
  queue.set_avail_ring(GuestAddress(c.avail));
  queue.set_used_ring(GuestAddress(c.used));
  queue.set_ready(c.ready);
  Result<void> activated = queue.Activate(memory, kModernFeatures);
  EXPECT_EQ(activated.ok(), c.ok);
  EXPECT_EQ(queue.active(), c.ok);
}

INSTANTIATE_TEST_SUITE_P(
    Configurations, QueueActivate,
    ::testing::Values(
        ActivateCase{"Valid", 256, 0x1000, 0x2000, 0x3000, true, true},
        ActivateCase{"SmallestAlignments", 1, 0x1010, 0x2002, 0x3004, true, true},
        ActivateCase{"NotReady", 256, 0x1000, 0x2000, 0x3000, false, false},
        ActivateCase{"SizeZero", 0, 0x1000, 0x2000, 0x3000, true, false},
        ActivateCase{"SizeNotAPowerOfTwo", 100, 0x1000, 0x2000, 0x3000, true, false},
        ActivateCase{"SizeAboveTheMaximum", 512, 0x1000, 0x2000, 0x3000, true, false},
        ActivateCase{"DescTableMisaligned", 256, 0x1008, 0x2000, 0x3000, true, false},
        ActivateCase{"AvailRingMisaligned", 256, 0x1000, 0x2001, 0x3000, true, false},
        ActivateCase{"UsedRingMisaligned", 256, 0x1000, 0x2000, 0x3002, true, false},
        ActivateCase{"DescTablePastRam", 256, kMemorySize - 0x800, 0x2000, 0x3000, true, false},
        ActivateCase{"AvailRingPastRam", 256, 0x1000, kMemorySize - 0x100, 0x3000, true, false},
        ActivateCase{"UsedRingPastRam", 256, 0x1000, 0x2000, kMemorySize - 0x400, true, false},
        ActivateCase{"UsedRingNearTheTop", 256, 0x1000, 0x2000, kMax - 3, true, false}),
    [](const ::testing::TestParamInfo<ActivateCase>& param_info) { return param_info.param.name; });

}  // namespace
}  // namespace hull::vmm::virtio
