// Fuzzes the split virtqueue (hull::vmm::virtio::Queue): the input lays out a
// descriptor table, an indirect table and an avail ring in guest memory, then
// drives Pop / AddUsed / NeedsNotification while rewriting the rings as a
// concurrent guest would. Values are mostly shaped into range (an address in
// RAM, a next index below the size), so the chain walker is reached; a shape
// bit per descriptor keeps the raw value instead.
//
// Checked beyond the sanitizers: a popped chain holds at most `size`
// buffers, each inside guest RAM, readable ones first, and its helpers can
// copy its whole readable and writable parts.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

#include "../unit/vmm/virtio/split_ring.h"
#include "fuzz_input.h"
#include "hull/common/check.h"
#include "hull/vmm/virtio/queue.h"

namespace {

using hull::Result;
using hull::fuzz::Input;
using hull::vmm::GuestAddress;
using hull::vmm::GuestMemory;
using namespace hull::vmm::virtio;  // NOLINT(google-build-using-namespace)

constexpr uint64_t kRam = 0x40000;
constexpr uint16_t kIndirectEntries = 16;

const GuestMemory& Memory() { return hull::fuzz::StaticMemory<kRam>(); }

// One descriptor from 17 input bytes: shape, addr, len, flags, next.
void WriteDescriptor(testing::SplitRing& ring, Input& in, uint16_t index, uint16_t entries,
                     GuestAddress table) {
  const auto shape = in.Take<uint8_t>();
  auto addr = in.Take<uint64_t>();
  auto len = in.Take<uint32_t>();
  auto flags = in.Take<uint16_t>();
  auto next = in.Take<uint16_t>();
  if ((shape & 1) == 0) addr = testing::kDataBase + addr % (kRam - testing::kDataBase);
  if ((shape & 2) == 0) len %= 0x2000;
  if ((shape & 4) == 0) flags &= kDescFlagNext | kDescFlagWrite | kDescFlagIndirect;
  if ((shape & 8) == 0) next = static_cast<uint16_t>(next % entries);
  if ((flags & kDescFlagIndirect) != 0 && (shape & 16) == 0) {
    addr = testing::kIndirectTable.raw();
    len = 16 * (len % kIndirectEntries + 1);
    flags = kDescFlagIndirect;
  }
  ring.SetDescriptor(index, addr, len, flags, next, table);
}

void CheckChain(const GuestMemory& memory, const DescriptorChain& chain, uint16_t size) {
  HULL_CHECK(chain.head_index() < size);
  HULL_CHECK(!chain.descriptors().empty() && chain.descriptors().size() <= size);
  uint64_t readable = 0;
  uint64_t writable = 0;
  bool seen_writable = false;
  for (const Descriptor& d : chain.descriptors()) {
    HULL_CHECK(memory.Slice(d.addr, d.len).ok());
    HULL_CHECK(d.writable || !seen_writable);
    seen_writable |= d.writable;
    (d.writable ? writable : readable) += d.len;
  }
  HULL_CHECK(readable == chain.readable_len() && writable == chain.writable_len());
  // Copying each whole part works, and one byte more does not. (Buffers may
  // alias; up to size * RAM bytes in all, so only smaller chains are copied.)
  if (std::max(readable, writable) <= (uint64_t{1} << 20)) {
    std::vector<uint8_t> bytes(std::max(readable, writable));
    HULL_CHECK(chain.ReadFromReadable(memory, 0, std::span(bytes).first(readable)).ok());
    HULL_CHECK(chain.WriteToWritable(memory, 0, std::span(bytes).first(writable)).ok());
  }
  uint8_t one = 0;
  HULL_CHECK(!chain.ReadFromReadable(memory, readable, std::span(&one, 1)).ok());
  HULL_CHECK(!chain.WriteToWritable(memory, writable, std::span(&one, 1)).ok());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  const GuestMemory& memory = Memory();
  const auto queue_size = static_cast<uint16_t>(1u << (in.Take<uint8_t>() % 9));  // 1..256
  const auto feature_bits = in.Take<uint8_t>();
  const uint64_t features = kFeatureVersion1 | ((feature_bits & 1) ? kFeatureEventIdx : 0) |
                            ((feature_bits & 2) ? kFeatureIndirectDesc : 0);

  testing::SplitRing ring(memory, queue_size);
  const auto table_entries = std::min<uint16_t>(in.Take<uint8_t>(), queue_size);
  for (uint16_t i = 0; i < table_entries; ++i) {
    WriteDescriptor(ring, in, i, queue_size, GuestAddress(0));
  }
  const auto indirect_entries = static_cast<uint16_t>(in.Take<uint8_t>() % (kIndirectEntries + 1));
  for (uint16_t i = 0; i < indirect_entries; ++i) {
    WriteDescriptor(ring, in, i, kIndirectEntries, testing::kIndirectTable);
  }
  const auto available = static_cast<uint16_t>(in.Take<uint8_t>() % (queue_size + 1));
  for (uint16_t i = 0; i < available; ++i) {
    ring.MakeAvailable(static_cast<uint16_t>(in.Take<uint8_t>() % queue_size));
  }

  Queue queue(256);
  ring.Configure(queue);
  HULL_CHECK(queue.Activate(memory, features).ok());

  for (int op = 0; op < 256 && !in.empty(); ++op) {
    switch (in.Take<uint8_t>() % 8) {
      case 0:
      case 1: {
        Result<std::optional<DescriptorChain>> popped = queue.Pop(memory);
        if (!popped.ok() || !popped->has_value()) break;
        CheckChain(memory, **popped, queue_size);
        HULL_CHECK(queue.AddUsed(memory, (*popped)->head_index(), in.Take<uint32_t>()).ok());
        break;
      }
      case 2: {
        const auto head = in.Take<uint16_t>();
        const Result<void> added = queue.AddUsed(memory, head, in.Take<uint32_t>());
        HULL_CHECK(added.ok() == (head < queue_size));
        break;
      }
      case 3:
        (void)queue.NeedsNotification(memory);
        break;
      case 4:
        ring.MakeAvailable(static_cast<uint16_t>(in.Take<uint8_t>() % queue_size));
        break;
      case 5:
        ring.SetAvailIdx(in.Take<uint16_t>());
        break;
      case 6:
        WriteDescriptor(ring, in, static_cast<uint16_t>(in.Take<uint8_t>() % queue_size),
                        queue_size, GuestAddress(0));
        break;
      case 7:
        ring.SetUsedEvent(in.Take<uint16_t>());
        ring.SetAvailFlags(in.Take<uint16_t>());
        break;
    }
  }
  return 0;
}
