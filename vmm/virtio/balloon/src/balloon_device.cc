#include "hull/vmm/virtio/balloon/balloon_device.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <utility>

namespace hull::vmm::virtio::balloon {
namespace {

static_assert(std::endian::native == std::endian::little,
              "virtio structures are little-endian and copied as they are");

template <typename T>
T LoadLe(std::span<const uint8_t> bytes, size_t offset) {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(value));
  return value;
}

GuestAddress PageAddress(uint32_t pfn) {
  // At most 2^44: no overflow.
  return GuestAddress(uint64_t{pfn} << kBalloonPageShift);
}

// Where an entry with `tag` goes, or nullptr for a tag we do not know.
std::optional<uint64_t>* StatField(BalloonStats& stats, uint16_t tag) {
  switch (tag) {
    case kStatSwapIn:
      return &stats.swap_in_bytes;
    case kStatSwapOut:
      return &stats.swap_out_bytes;
    case kStatMajorFaults:
      return &stats.major_faults;
    case kStatMinorFaults:
      return &stats.minor_faults;
    case kStatFreeMemory:
      return &stats.free_bytes;
    case kStatTotalMemory:
      return &stats.total_bytes;
    case kStatAvailableMemory:
      return &stats.available_bytes;
    case kStatDiskCaches:
      return &stats.disk_caches_bytes;
    case kStatHugetlbAllocations:
      return &stats.hugetlb_allocations;
    case kStatHugetlbFailures:
      return &stats.hugetlb_failures;
    default:
      return nullptr;
  }
}

}  // namespace

ParsedStats ParseStats(std::span<const uint8_t> buffer) {
  ParsedStats parsed;
  parsed.entries = buffer.size() / kStatEntrySize;
  parsed.partial_entry = buffer.size() % kStatEntrySize != 0;
  for (size_t i = 0; i < parsed.entries; ++i) {
    const size_t at = i * kStatEntrySize;
    const auto tag = LoadLe<uint16_t>(buffer, at);
    const auto value = LoadLe<uint64_t>(buffer, at + 2);
    if (std::optional<uint64_t>* field = StatField(parsed.stats, tag)) {
      *field = value;
    } else {
      ++parsed.unknown_tags;  // a newer spec's tag (1.3 has 16), or junk
    }
  }
  return parsed;
}

Result<std::unique_ptr<BalloonDevice>> BalloonDevice::Create(const BalloonOptions& options) {
  const uint16_t size = options.queue_size;
  if (size == 0 || size > kMaxQueueSize || (size & (size - 1)) != 0) {
    return Error(EINVAL, fmt::format("virtio-balloon: queue size {} is not a power of two in "
                                     "[1, {}]",
                                     size, kMaxQueueSize));
  }
  return std::unique_ptr<BalloonDevice>(new BalloonDevice(options));
}

BalloonDevice::BalloonDevice(const BalloonOptions& options)
    : options_(options),
      queue_max_sizes_{options.queue_size, options.queue_size, options.queue_size} {}

uint64_t BalloonDevice::device_features() const {
  return (options_.stats ? kFeatureStatsVq : 0) |
         (options_.deflate_on_oom ? kFeatureDeflateOnOom : 0);
}

void BalloonDevice::ReadConfig(uint64_t offset, std::span<uint8_t> data) const {
  std::array<uint8_t, kConfigSize> config{};
  std::memcpy(config.data() + kConfigNumPagesOffset, &num_pages_, sizeof(num_pages_));
  std::memcpy(config.data() + kConfigActualOffset, &actual_, sizeof(actual_));
  ReadConfigBytes(config, offset, data);
}

void BalloonDevice::WriteConfig(uint64_t offset, std::span<const uint8_t> data) {
  // §5.5.4: num_pages is the device's; the driver writes only `actual`, as
  // the le32 it is (Linux: virtio_cwrite_le, one 32-bit access).
  if (offset != kConfigActualOffset || data.size() != sizeof(actual_)) {
    ++metrics_.ignored_config_writes;
    return;
  }
  actual_ = LoadLe<uint32_t>(data, 0);
}

Result<void> BalloonDevice::Activate(const GuestMemory& memory, std::span<Queue> queues,
                                     uint64_t features, VirtioInterrupt& interrupt) {
  HULL_TRY(active_.Bind("virtio-balloon", kQueueCount, memory, queues, interrupt));
  features_ = features;
  held_stats_head_.reset();
  // Linux primes statsq and kicks it in probe, before DRIVER_OK, when the
  // transport still ignores notifications (drivers/virtio/virtio_balloon.c,
  // init_vqs): pick that buffer up now, or the first RequestStats would find
  // none until the driver kicks again, which it never does unprompted.
  return ServeStatsQueue();
}

void BalloonDevice::Reset() {
  active_.Clear();
  features_ = 0;
  held_stats_head_.reset();
  actual_ = 0;
}

Result<void> BalloonDevice::ProcessQueue(size_t index) {
  switch (index) {
    case kInflateQueue:
      return active_.Drain(
          index, [this](const DescriptorChain& chain) { return HandlePageList(chain, true); });
    case kDeflateQueue:
      return active_.Drain(
          index, [this](const DescriptorChain& chain) { return HandlePageList(chain, false); });
    case kStatsQueue:
      return ServeStatsQueue();
    default:
      return {};
  }
}

uint32_t BalloonDevice::HandlePageList(const DescriptorChain& chain, bool inflate) {
  ++(inflate ? metrics_.inflate_requests : metrics_.deflate_requests);
  // §5.5.6: the driver offers one device-readable array of le32 PFNs. Linux
  // never sends anything else; a request that is not exactly that is
  // skipped whole, so a half-understood list cannot release a page.
  const uint64_t len = chain.readable_len();
  if (chain.writable_len() != 0 || len % sizeof(uint32_t) != 0 ||
      len / sizeof(uint32_t) > kMaxPfnsPerRequest) {
    ++metrics_.invalid_requests;
    return 0;
  }
  bytes_.resize(static_cast<size_t>(len));  // <= 4 KiB
  // SAFETY: one copy out of hostile memory; the PFNs are validated from it.
  if (!chain.ReadFromReadable(active_.memory(), 0, bytes_).ok()) {
    ++metrics_.invalid_requests;  // cannot happen: len is the readable length
    return 0;
  }
  const GuestMemory& memory = active_.memory();
  pfns_.clear();
  for (size_t at = 0; at < bytes_.size(); at += sizeof(uint32_t)) {
    const auto pfn = LoadLe<uint32_t>(bytes_, at);
    // Guest RAM regions are page-aligned, so a page whose first byte is RAM
    // is RAM throughout. Anything else (the MMIO hole, past the end of RAM)
    // is skipped: releasing it would mean nothing, or worse.
    if (memory.FindRegion(PageAddress(pfn)) == nullptr) {
      ++metrics_.invalid_pfns;
      continue;
    }
    pfns_.push_back(pfn);
  }
  if (inflate) {
    metrics_.inflated_pages += pfns_.size();
    ReleasePages();
  } else {
    // A deflated page is the guest's again: its next access faults in a zero
    // page from the memfd (which is why MUST_TELL_HOST is not offered).
    metrics_.deflated_pages += pfns_.size();
  }
  return 0;  // §5.5.6: the device writes nothing
}

void BalloonDevice::ReleasePages() {
  const GuestMemory& memory = active_.memory();
  // The driver gives pages in allocator order, often descending; sorted,
  // neighbours fall into runs, and a PFN given twice is released once.
  std::sort(pfns_.begin(), pfns_.end());
  size_t i = 0;
  while (i < pfns_.size()) {
    const uint32_t first = pfns_[i];
    const GuestRegion* region = memory.FindRegion(PageAddress(first));  // checked above
    uint32_t last = first;
    // A run ends at a gap or where one region ends and the next (touching
    // it) begins: Discard works within one memfd.
    for (++i; i < pfns_.size(); ++i) {
      const uint32_t next = pfns_[i];
      if (next != last && (next != last + 1 || !region->Contains(PageAddress(next)))) break;
      last = next;
    }
    const uint64_t len = (uint64_t{last} - first + 1) * kBalloonPageSize;
    if (memory.Discard(PageAddress(first), len).ok()) {
      metrics_.released_bytes += len;
    } else {
      // The host's failure (fallocate), not the guest's: the pages stay
      // resident, the guest is none the wiser, the counter tells.
      ++metrics_.discard_errors;
    }
  }
}

Result<void> BalloonDevice::ServeStatsQueue() {
  if (!active_.active() || !stats_negotiated()) return {};
  const GuestMemory& memory = active_.memory();
  Queue& queue = active_.queue(kStatsQueue);
  while (true) {
    HULL_ASSIGN_OR_RETURN(std::optional<DescriptorChain> chain, queue.Pop(memory));
    if (!chain) break;
    ReadStats(*chain);
    // §5.5.6.3: the driver keeps one buffer with the device. A second one
    // (no driver we know sends it) replaces the first, which goes back, so
    // the ring cannot fill up with buffers we hold.
    if (held_stats_head_) HULL_TRY(queue.AddUsed(memory, *held_stats_head_, 0));
    held_stats_head_ = chain->head_index();
  }
  active_.NotifyIfNeeded(kStatsQueue);
  return {};
}

void BalloonDevice::ReadStats(const DescriptorChain& chain) {
  ++metrics_.stats_updates;
  constexpr uint64_t kMaxBytes = kMaxStatEntries * kStatEntrySize;
  const uint64_t len = std::min(chain.readable_len(), kMaxBytes);
  bytes_.resize(static_cast<size_t>(len));
  // SAFETY: one bounded copy out of hostile memory; parsed from the copy.
  if (!chain.ReadFromReadable(active_.memory(), 0, bytes_).ok()) bytes_.clear();
  const ParsedStats parsed = ParseStats(bytes_);
  if (parsed.partial_entry || chain.readable_len() > kMaxBytes) ++metrics_.stats_truncated;
  metrics_.stats_unknown_tags += parsed.unknown_tags;
  last_stats_ = parsed.stats;
  last_stats_.received = std::chrono::steady_clock::now();
}

Result<bool> BalloonDevice::RequestStats() {
  if (!active_.active() || !held_stats_head_) return false;
  Queue& queue = active_.queue(kStatsQueue);
  const uint16_t head = *held_stats_head_;
  held_stats_head_.reset();
  // A queue stopped after a device error takes nothing back.
  if (!queue.active()) return false;
  // §5.5.6.3: used length 0 — the device wrote nothing; the driver's
  // callback refills the buffer and queues it again.
  HULL_TRY(queue.AddUsed(active_.memory(), head, 0).WithContext("virtio-balloon statsq"));
  ++metrics_.stats_requests;
  active_.NotifyIfNeeded(kStatsQueue);
  return true;
}

bool BalloonDevice::SetTargetPages(uint32_t pages) noexcept {
  if (pages == num_pages_) return false;
  num_pages_ = pages;
  return true;
}

std::vector<VirtioDevice::Counter> BalloonDevice::counters() const {
  return {{"target_pages", num_pages_},
          {"actual_pages", actual_},
          {"inflate_requests", metrics_.inflate_requests},
          {"deflate_requests", metrics_.deflate_requests},
          {"inflated_pages", metrics_.inflated_pages},
          {"deflated_pages", metrics_.deflated_pages},
          {"released_bytes", metrics_.released_bytes},
          {"invalid_pfns", metrics_.invalid_pfns},
          {"invalid_requests", metrics_.invalid_requests},
          {"discard_errors", metrics_.discard_errors},
          {"stats_updates", metrics_.stats_updates},
          {"stats_requests", metrics_.stats_requests},
          {"stats_unknown_tags", metrics_.stats_unknown_tags},
          {"stats_truncated", metrics_.stats_truncated},
          {"ignored_config_writes", metrics_.ignored_config_writes}};
}

}  // namespace hull::vmm::virtio::balloon
