// Fuzzes the virtio-balloon device: the input is a sequence of driver and
// VMM actions — inflate and deflate page lists (mostly PFNs of guest RAM
// around a hole and across two regions that touch, sometimes raw; sometimes
// a partial PFN, split across descriptors or with a writable buffer), stats
// buffers (known and unknown tags, partial entries), RequestStats, new
// targets, config accesses of any width, and resets — against a
// BalloonDevice on three split rings in guest memory.
//
// Checked beyond the sanitizers: every page list comes back in the used
// ring; the device holds at most one stats buffer and RequestStats returns
// exactly that one; every page an accepted inflate request names reads as
// zero afterwards; SetTargetPages says whether the target changed.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "../unit/vmm/virtio/split_ring.h"
#include "fuzz_input.h"
#include "hull/common/check.h"
#include "hull/vmm/virtio/balloon/balloon_device.h"

namespace {

using hull::Result;
using hull::fuzz::Input;
using hull::vmm::GuestAddress;
using hull::vmm::GuestMemory;
using namespace hull::vmm::virtio;           // NOLINT(google-build-using-namespace)
using namespace hull::vmm::virtio::balloon;  // NOLINT(google-build-using-namespace)

// Low RAM [0, 256 KiB): rings, page lists and stats buffers. Then a hole,
// and the RAM the guest gives away: [1 MiB, +256 KiB) and, touching it,
// [1.25 MiB, +64 KiB). Past that, nothing.
constexpr uint64_t kLowSize = 0x40000;
constexpr uint64_t kGiveBase = 0x100000;
constexpr uint64_t kGiveSize = 0x40000;
constexpr uint64_t kTouchBase = kGiveBase + kGiveSize;
constexpr uint64_t kTouchSize = 0x10000;
constexpr uint32_t kLowPages = kLowSize >> 12;
constexpr uint32_t kGivePfn = kGiveBase >> 12;
constexpr uint32_t kGivePages = (kGiveSize + kTouchSize) >> 12;  // both regions

constexpr uint64_t kListArea = 0x10000;   // page lists, 0x400 apart
constexpr uint64_t kStatsArea = 0x20000;  // stats buffers, 0x400 apart
constexpr size_t kMaxListPfns = 48;

const GuestMemory& Memory() {
  static const GuestMemory memory = [] {
    Result<GuestMemory> created = GuestMemory::Create({{GuestAddress(0), kLowSize},
                                                       {GuestAddress(kGiveBase), kGiveSize},
                                                       {GuestAddress(kTouchBase), kTouchSize}});
    HULL_CHECK(created.ok());
    return std::move(created).value();
  }();
  return memory;
}

// The driver's three rings (size <= 64 each) in low RAM.
struct Rings {
  explicit Rings(uint16_t size)
      : inflate(Memory(), size, GuestAddress(0x1000), GuestAddress(0x1800), GuestAddress(0x1c00)),
        deflate(Memory(), size, GuestAddress(0x2000), GuestAddress(0x2800), GuestAddress(0x2c00)),
        stats(Memory(), size, GuestAddress(0x3000), GuestAddress(0x3800), GuestAddress(0x3c00)) {}
  testing::SplitRing inflate;
  testing::SplitRing deflate;
  testing::SplitRing stats;
};

struct PageList {
  std::vector<uint32_t> given_pages;  // PFNs of the giveaway regions
  bool accepted = false;              // what the device must serve (§5.5.6)
  bool names_low_ram = false;         // may clobber our rings: checks end
};

// Writes a page list at `at` and makes it available on `ring`.
PageList AddPageList(testing::SplitRing& ring, Input& in, uint64_t at) {
  const GuestMemory& memory = Memory();
  PageList list;
  const auto shape = in.Take<uint8_t>();
  const size_t count = in.Take<uint8_t>() % (kMaxListPfns + 1);
  std::vector<uint8_t> bytes;
  for (size_t i = 0; i < count; ++i) {
    // Mostly the giveaway RAM and just past it; raw values find the hole,
    // low RAM and the top of the PFN space.
    const uint32_t pfn =
        (shape & 1) == 0 ? kGivePfn + in.Take<uint8_t>() % (kGivePages + 8) : in.Take<uint32_t>();
    if (pfn < kLowPages) list.names_low_ram = true;
    if (pfn >= kGivePfn && pfn - kGivePfn < kGivePages) list.given_pages.push_back(pfn);
    const std::array<uint8_t, 4> le = {static_cast<uint8_t>(pfn), static_cast<uint8_t>(pfn >> 8),
                                       static_cast<uint8_t>(pfn >> 16),
                                       static_cast<uint8_t>(pfn >> 24)};
    bytes.insert(bytes.end(), le.begin(), le.end());
  }
  if ((shape & 2) != 0)
    bytes.resize(bytes.size() - std::min<size_t>(bytes.size(), 1 + in.Take<uint8_t>() % 3u));
  testing::Fill(memory, at, bytes);

  const auto len = static_cast<uint32_t>(bytes.size());
  std::vector<testing::Buffer> buffers;
  if ((shape & 4) != 0 && ring.size() >= 2) {
    const uint32_t split = in.Take<uint8_t>() % (len + 1);
    buffers.push_back({at, split, false});
    buffers.push_back({at + split, len - split, false});
  } else {
    buffers.push_back({at, len, false});
  }
  const bool writable = (shape & 8) != 0 && buffers.size() < ring.size();
  if (writable) buffers.push_back({at + 0x300, 16, true});
  ring.MakeAvailable(ring.WriteChain(buffers));
  list.accepted = len % 4 == 0 && !writable;
  return list;
}

void AddStatsBuffer(testing::SplitRing& ring, Input& in, uint64_t at) {
  const auto shape = in.Take<uint8_t>();
  const size_t entries = in.Take<uint8_t>() % 24;  // a few past 16 tags
  std::vector<uint8_t> bytes(entries * kStatEntrySize);
  for (size_t i = 0; i < entries; ++i) {
    // Mostly the spec's tags (and a few past them), sometimes any.
    const auto tag =
        (shape & 1) == 0 ? static_cast<uint16_t>(in.Take<uint8_t>() % 12u) : in.Take<uint16_t>();
    const auto value = in.Take<uint64_t>();
    std::memcpy(bytes.data() + i * kStatEntrySize, &tag, 2);
    std::memcpy(bytes.data() + i * kStatEntrySize + 2, &value, 8);
  }
  if ((shape & 2) != 0)
    bytes.resize(bytes.size() - std::min<size_t>(bytes.size(), 1 + in.Take<uint8_t>() % 9u));
  testing::Fill(Memory(), at, bytes);
  std::vector<testing::Buffer> buffers = {{at, static_cast<uint32_t>(bytes.size()), false}};
  if ((shape & 4) != 0 && ring.size() >= 2) buffers.push_back({at + 0x300, 8, true});
  ring.MakeAvailable(ring.WriteChain(buffers));
}

void FillPages(const std::vector<uint32_t>& pfns) {
  static const std::vector<uint8_t> pattern(hull::vmm::kGuestPageSize, 0x5a);
  for (uint32_t pfn : pfns) testing::Fill(Memory(), uint64_t{pfn} << 12, pattern);
}

bool PagesReadZero(const std::vector<uint32_t>& pfns) {
  static const std::array<uint8_t, hull::vmm::kGuestPageSize> zero{};
  std::array<uint8_t, hull::vmm::kGuestPageSize> page;
  for (uint32_t pfn : pfns) {
    HULL_CHECK(Memory().Read(GuestAddress(uint64_t{pfn} << 12), page).ok());
    if (std::memcmp(page.data(), zero.data(), page.size()) != 0) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  const GuestMemory& memory = Memory();
  const auto config = in.Take<uint8_t>();
  const auto queue_size = static_cast<uint16_t>(1u << (config % 7));  // 1..64
  const bool stats = (config & 8) != 0;
  const uint64_t features = kFeatureVersion1 | ((config & 16) != 0 ? kFeatureEventIdx : 0) |
                            (stats ? kFeatureStatsVq : 0);

  Result<std::unique_ptr<BalloonDevice>> created =
      BalloonDevice::Create({.queue_size = queue_size, .deflate_on_oom = (config & 32) != 0});
  HULL_CHECK(created.ok());
  BalloonDevice& device = **created;
  testing::FakeInterrupt interrupt;

  // One driver session: rings, queues and what we expect of the stats queue.
  std::optional<Rings> rings;
  std::vector<Queue> queues;
  bool held = false;        // the device holds a stats buffer
  uint16_t stats_used = 0;  // stats buffers it returned
  bool checking = true;     // until the guest hands over low RAM (our rings)
  auto start = [&](bool prime_stats) {
    queues.clear();
    rings.emplace(queue_size);
    if (prime_stats) AddStatsBuffer(rings->stats, in, kStatsArea);
    for (testing::SplitRing* ring : {&rings->inflate, &rings->deflate, &rings->stats}) {
      queues.push_back(ring->MakeQueue(features, queue_size));
    }
    HULL_CHECK(device.Activate(memory, queues, features, interrupt).ok());
    held = prime_stats && stats;
    stats_used = 0;
  };
  start((config & 64) != 0);

  uint32_t target = 0;
  for (int op = 0; op < 64 && !in.empty(); ++op) {
    const auto code = in.Take<uint8_t>() % 8u;
    switch (code) {
      case 0:
      case 1:
      case 2: {
        const bool inflate = code != 2;
        testing::SplitRing& ring = inflate ? rings->inflate : rings->deflate;
        const uint64_t at = kListArea + uint64_t{ring.avail_idx() % 8u} * 0x400;
        const PageList list = AddPageList(ring, in, at);
        checking &= !list.names_low_ram;
        if (checking) FillPages(list.given_pages);
        if (!device.ProcessQueue(inflate ? kInflateQueue : kDeflateQueue).ok()) return 0;
        if (!checking) break;
        HULL_CHECK(ring.UsedIdx() == ring.avail_idx());
        if (inflate && list.accepted) HULL_CHECK(PagesReadZero(list.given_pages));
        break;
      }
      case 3: {
        const uint64_t at = kStatsArea + uint64_t{rings->stats.avail_idx() % 8u} * 0x400;
        AddStatsBuffer(rings->stats, in, at);
        if (!device.ProcessQueue(kStatsQueue).ok()) return 0;
        if (!stats) break;  // statsq does not exist: nothing is read
        if (held) ++stats_used;
        held = true;
        if (checking) HULL_CHECK(rings->stats.UsedIdx() == stats_used);
        break;
      }
      case 4: {
        const Result<bool> returned = device.RequestStats();
        HULL_CHECK(returned.ok());
        if (checking) HULL_CHECK(*returned == held);
        if (held) ++stats_used;
        held = false;
        if (checking && stats) HULL_CHECK(rings->stats.UsedIdx() == stats_used);
        break;
      }
      case 5: {
        const auto pages = in.Take<uint32_t>();
        HULL_CHECK(device.SetTargetPages(pages) == (pages != target));
        target = pages;
        HULL_CHECK(device.target_pages() == target);
        break;
      }
      case 6: {
        static constexpr std::array<size_t, 4> kWidths{4, 1, 2, 8};
        const auto how = in.Take<uint8_t>();
        const uint64_t offset = in.Take<uint8_t>() % 16u;
        std::array<uint8_t, 8> bytes{};
        const size_t width = kWidths[how & 3];
        if ((how & 4) != 0) {
          const auto value = in.Take<uint64_t>();
          std::memcpy(bytes.data(), &value, sizeof(value));
          device.WriteConfig(offset, std::span<const uint8_t>(bytes).first(width));
        } else {
          device.ReadConfig(offset, std::span(bytes).first(width));
        }
        HULL_CHECK(device.target_pages() == target);
        break;
      }
      case 7:
        device.Reset();
        HULL_CHECK(device.actual_pages() == 0);
        start((in.Take<uint8_t>() & 1) != 0);
        break;
    }
  }
  (void)device.counters();
  return 0;
}
