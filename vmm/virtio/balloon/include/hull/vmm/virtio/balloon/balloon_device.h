#pragma once

// virtio-balloon, the traditional memory balloon (virtio 1.2 §5.5).
//
// The host sets a target size (num_pages, in 4 KiB pages) and raises a
// configuration interrupt; the driver inflates the balloon towards it by
// handing pages over (inflateq: arrays of le32 page frame numbers) or
// deflates it by taking pages back (deflateq), and writes how many it holds
// to `actual`. Every inflated page is released to the host at once:
// GuestMemory::Discard punches it out of its region's memfd, so hull-vmm's
// RSS drops. A deflated page needs nothing: the guest's next touch faults in
// a zeroed page.
//
// Queues: 0 inflateq, 1 deflateq, 2 statsq.
// Features offered:
//   VIRTIO_BALLOON_F_STATS_VQ (1), unless BalloonOptions::stats is off: the
//     driver keeps one buffer of memory statistics in statsq; RequestStats
//     hands it back and the driver answers with fresh numbers (§5.5.6.3).
//   VIRTIO_BALLOON_F_DEFLATE_ON_OOM (2), only with
//     BalloonOptions::deflate_on_oom (off by default): the guest may then
//     deflate below the target rather than OOM-kill. Off, because hull's
//     target is the host's limit on what the guest keeps (the density the
//     balloon exists for); an operator who prefers a guest that survives
//     memory pressure over that guarantee turns it on.
// Not offered: MUST_TELL_HOST (0) — a released page faults back in as zeros,
// so the guest may reuse a deflated page before telling us; FREE_PAGE_HINT
// (3), PAGE_POISON (4) and REPORTING (5), which are other mechanisms.
//
// Guest values are hostile: every PFN is checked to be guest RAM (one
// outside RAM is counted and skipped), a page list whose length is not whole
// PFNs (or longer than kMaxPfnsPerRequest, or with device-writable buffers)
// is counted and skipped, and stats buffers are read up to a bound and
// parsed from our copy. None of that is a device error; only a broken ring
// is (the transport then sets DEVICE_NEEDS_RESET).
//
// Threading: no lock of its own. Every entry point runs under the
// MmioTransport's mutex: ReadConfig/WriteConfig from vCPU threads,
// ProcessQueue from the event loop, and the VMM's calls (SetTargetPages,
// RequestStats through MmioTransport::UpdateDevice; target_pages,
// actual_pages, LastStats, counters through InspectDevice). Once the device
// is behind a transport, call it no other way.
//
//   // A new target: true when it changed, so the driver gets a config interrupt.
//   transport->UpdateDevice([&](VirtioDevice& d) -> Result<bool> {
//     return static_cast<BalloonDevice&>(d).SetTargetPages(pages);
//   });
//   // Fresh statistics: hand the buffer back; the config did not change.
//   transport->UpdateDevice([](VirtioDevice& d) -> Result<bool> {
//     HULL_TRY(static_cast<BalloonDevice&>(d).RequestStats());
//     return false;
//   });

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "hull/common/result.h"
#include "hull/vmm/memory/guest_memory.h"
#include "hull/vmm/virtio/active_queues.h"
#include "hull/vmm/virtio/constants.h"
#include "hull/vmm/virtio/descriptor_chain.h"
#include "hull/vmm/virtio/device.h"
#include "hull/vmm/virtio/queue.h"

namespace hull::vmm::virtio::balloon {

// §5.5.2: virtqueues.
inline constexpr size_t kInflateQueue = 0;
inline constexpr size_t kDeflateQueue = 1;
inline constexpr size_t kStatsQueue = 2;
inline constexpr size_t kQueueCount = 3;

// §5.5.3: feature bits.
inline constexpr uint64_t kFeatureMustTellHost = FeatureBit(0);  // not offered
inline constexpr uint64_t kFeatureStatsVq = FeatureBit(1);
inline constexpr uint64_t kFeatureDeflateOnOom = FeatureBit(2);

// §5.5.4: struct virtio_balloon_config { le32 num_pages; le32 actual; ... }.
// The fields after `actual` belong to features we do not offer.
inline constexpr uint64_t kConfigNumPagesOffset = 0;  // device-written: the target
inline constexpr uint64_t kConfigActualOffset = 4;    // driver-written: pages held
inline constexpr uint64_t kConfigSize = 8;

// §5.5.6: PFNs count 4096-byte pages whatever the guest's page size
// (VIRTIO_BALLOON_PFN_SHIFT).
inline constexpr uint64_t kBalloonPageShift = 12;
inline constexpr uint64_t kBalloonPageSize = uint64_t{1} << kBalloonPageShift;
static_assert(kBalloonPageSize == kGuestPageSize);

// The most PFNs one inflate or deflate request may carry. Linux sends at
// most 256 (VIRTIO_BALLOON_ARRAY_PFNS_MAX), FreeBSD 256; the bound keeps one
// notification's work (queue size × this many fallocate calls at worst)
// short, however long the chain a guest builds.
inline constexpr uint64_t kMaxPfnsPerRequest = 1024;

// §5.5.6.3: struct virtio_balloon_stat { le16 tag; le64 val; } __packed.
inline constexpr size_t kStatEntrySize = 10;
// Entries read from one stats buffer; the rest is ignored. The spec defines
// 10 tags (virtio 1.3: 16); a driver sends each once.
inline constexpr size_t kMaxStatEntries = 64;

// §5.5.6.3: VIRTIO_BALLOON_S_* tags.
inline constexpr uint16_t kStatSwapIn = 0;              // bytes swapped in
inline constexpr uint16_t kStatSwapOut = 1;             // bytes swapped out
inline constexpr uint16_t kStatMajorFaults = 2;         // count
inline constexpr uint16_t kStatMinorFaults = 3;         // count
inline constexpr uint16_t kStatFreeMemory = 4;          // bytes
inline constexpr uint16_t kStatTotalMemory = 5;         // bytes
inline constexpr uint16_t kStatAvailableMemory = 6;     // bytes
inline constexpr uint16_t kStatDiskCaches = 7;          // bytes
inline constexpr uint16_t kStatHugetlbAllocations = 8;  // count
inline constexpr uint16_t kStatHugetlbFailures = 9;     // count

// The guest's memory statistics, as its driver last reported them. A field
// the last buffer did not carry is empty; each buffer replaces the whole
// set. The values are the guest's claims, not measurements.
struct BalloonStats {
  std::optional<uint64_t> swap_in_bytes;
  std::optional<uint64_t> swap_out_bytes;
  std::optional<uint64_t> major_faults;
  std::optional<uint64_t> minor_faults;
  std::optional<uint64_t> free_bytes;
  std::optional<uint64_t> total_bytes;
  std::optional<uint64_t> available_bytes;
  std::optional<uint64_t> disk_caches_bytes;
  std::optional<uint64_t> hugetlb_allocations;
  std::optional<uint64_t> hugetlb_failures;
  // When the device read the buffer; empty until the first one.
  std::optional<std::chrono::steady_clock::time_point> received;

  friend bool operator==(const BalloonStats&, const BalloonStats&) = default;
};

// What ParseStats made of one buffer.
struct ParsedStats {
  BalloonStats stats;          // `received` left empty
  size_t entries = 0;          // whole entries read
  size_t unknown_tags = 0;     // entries with a tag we do not know (skipped)
  bool partial_entry = false;  // bytes after the last whole entry (ignored)
};

// Parses a stats buffer (§5.5.6.3): whole 10-byte {le16 tag, le64 val}
// entries, a later entry overriding an earlier one with the same tag.
// Unknown tags are counted and skipped; trailing bytes that do not make an
// entry are ignored. Pure: reads only `buffer`, which the caller copied out
// of guest memory.
ParsedStats ParseStats(std::span<const uint8_t> buffer);

struct BalloonOptions {
  // Every queue's maximum size: a power of two, 1..32768.
  uint16_t queue_size = 256;
  // Offer VIRTIO_BALLOON_F_STATS_VQ.
  bool stats = true;
  // Offer VIRTIO_BALLOON_F_DEFLATE_ON_OOM (see the top of this file).
  bool deflate_on_oom = false;
};

// Plain counters: read and written under the transport's lock.
struct BalloonMetrics {
  uint64_t inflate_requests = 0;
  uint64_t deflate_requests = 0;
  uint64_t inflated_pages = 0;    // valid PFNs in inflate requests
  uint64_t deflated_pages = 0;    // valid PFNs in deflate requests
  uint64_t released_bytes = 0;    // punched out of guest RAM (a PFN repeated in one request once)
  uint64_t invalid_pfns = 0;      // PFNs that are not guest RAM: skipped
  uint64_t invalid_requests = 0;  // page lists not whole PFNs, too long, or writable: skipped
  uint64_t discard_errors = 0;    // GuestMemory::Discard failed (a host error): pages kept
  uint64_t stats_updates = 0;     // stats buffers read
  uint64_t stats_requests = 0;    // stats buffers handed back by RequestStats
  uint64_t stats_unknown_tags = 0;
  uint64_t stats_truncated = 0;        // buffers with a partial entry or over kMaxStatEntries
  uint64_t ignored_config_writes = 0;  // anything but an aligned 4-byte write of `actual`
};

class BalloonDevice final : public VirtioDevice {
 public:
  // EINVAL for a queue size that is not a power of two in [1, 32768].
  static Result<std::unique_ptr<BalloonDevice>> Create(const BalloonOptions& options = {});

  uint32_t device_id() const override { return kDeviceIdBalloon; }
  uint64_t device_features() const override;
  std::span<const uint16_t> queue_max_sizes() const override { return queue_max_sizes_; }
  // num_pages and actual, little-endian; outside them reads are all-ones.
  void ReadConfig(uint64_t offset, std::span<uint8_t> data) const override;
  // Only `actual` is the driver's to write, and only as an aligned le32;
  // any other write is ignored and counted.
  void WriteConfig(uint64_t offset, std::span<const uint8_t> data) override;
  // Also reads a stats buffer the driver queued before DRIVER_OK (Linux
  // does, and its kick was ignored then).
  Result<void> Activate(const GuestMemory& memory, std::span<Queue> queues, uint64_t features,
                        VirtioInterrupt& interrupt) override;
  Result<void> ProcessQueue(size_t index) override;
  // Forgets the queues and the held stats buffer; `actual` goes back to 0
  // (a new driver holds no pages). The target and the last stats stay.
  void Reset() override;
  std::vector<Counter> counters() const override;

  // --- The VMM's side (under the transport's lock, see above). ---

  // Sets num_pages, the balloon size the host wants. Returns true when it
  // changed: the UpdateDevice callback returns that, so the driver gets a
  // configuration-change interrupt (§5.5.6). Works before activation too
  // (the driver reads it when it starts).
  bool SetTargetPages(uint32_t pages) noexcept;
  uint32_t target_pages() const noexcept { return num_pages_; }
  // What the driver last wrote to `actual`: the pages it says it holds.
  uint32_t actual_pages() const noexcept { return actual_; }

  // Hands the held stats buffer back to the driver (used length 0, then a
  // used-buffer interrupt if the driver wants one); the driver refills and
  // re-queues it, and LastStats changes when ProcessQueue reads it. Returns
  // false when no buffer is held (stats not negotiated, device not active,
  // or the previous request not answered yet). An error means the used ring
  // could not be written (its memory is gone).
  Result<bool> RequestStats();
  const BalloonStats& LastStats() const noexcept { return last_stats_; }

  const BalloonMetrics& metrics() const noexcept { return metrics_; }

 private:
  explicit BalloonDevice(const BalloonOptions& options);

  // Serves one inflate (or deflate) request; returns the used length (0:
  // the device writes nothing into page lists).
  uint32_t HandlePageList(const DescriptorChain& chain, bool inflate);
  // Punches the pages of pfns_ (valid, any order) out of guest RAM, in as few
  // Discard calls as runs of consecutive pages allow.
  void ReleasePages();
  // Reads every buffer the driver queued on statsq, keeps the newest and
  // returns any older one.
  Result<void> ServeStatsQueue();
  void ReadStats(const DescriptorChain& chain);
  bool stats_negotiated() const noexcept { return (features_ & kFeatureStatsVq) != 0; }

  const BalloonOptions options_;
  const std::array<uint16_t, kQueueCount> queue_max_sizes_;
  uint32_t num_pages_ = 0;
  uint32_t actual_ = 0;
  BalloonStats last_stats_;
  BalloonMetrics metrics_;

  // Set by Activate, cleared by Reset.
  ActiveQueues active_;
  uint64_t features_ = 0;
  std::optional<uint16_t> held_stats_head_;  // the stats buffer we keep

  // Reused per request.
  std::vector<uint8_t> bytes_;
  std::vector<uint32_t> pfns_;
};

}  // namespace hull::vmm::virtio::balloon
