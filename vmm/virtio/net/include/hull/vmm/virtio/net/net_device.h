#pragma once

// virtio-net (virtio 1.2 §5.1) on a tap device: one receive and one transmit
// queue, no control queue.
//
// Offered: CSUM, GUEST_CSUM, MAC, GUEST_TSO4/6, GUEST_ECN, GUEST_UFO,
// HOST_TSO4/6, HOST_ECN, HOST_UFO, MRG_RXBUF, STATUS. The tap is told which
// offloaded packets the guest accepted (TUNSETOFFLOAD); the 12-byte vnet
// header passes through unchanged in both directions.
//
// Receive: the tap fd is polled edge-triggered. A packet is read into a
// bounce buffer (one copy; the packet's size is only known after the read)
// and then placed into as many receive buffers as it needs (MRG_RXBUF), or
// into one that is large enough. When the guest has posted too few buffers
// the packet waits, nothing more is read, and the next receive-queue
// notification resumes: a slow guest never makes us spin, and the tap's own
// queue drops what overflows, as a NIC would.
// Transmit: each chain goes to the tap with one writev straight from guest
// memory, behind a header we validated and copied. A tap that cannot take a
// packet (EAGAIN) keeps it until the tap is writable again.
// At most kBatch packets per direction per event; a device-internal eventfd
// schedules the rest, so one busy NIC does not starve the event loop.

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "hull/common/event_fd.h"
#include "hull/common/result.h"
#include "hull/vmm/virtio/active_queues.h"
#include "hull/vmm/virtio/constants.h"
#include "hull/vmm/virtio/descriptor_chain.h"
#include "hull/vmm/virtio/device.h"
#include "hull/vmm/virtio/net/net_header.h"
#include "hull/vmm/virtio/net/tap.h"

namespace hull::vmm::virtio::net {

// §5.1.3: feature bits.
inline constexpr uint64_t kFeatureCsum = FeatureBit(0);
inline constexpr uint64_t kFeatureGuestCsum = FeatureBit(1);
inline constexpr uint64_t kFeatureMac = FeatureBit(5);
inline constexpr uint64_t kFeatureGuestTso4 = FeatureBit(7);
inline constexpr uint64_t kFeatureGuestTso6 = FeatureBit(8);
inline constexpr uint64_t kFeatureGuestEcn = FeatureBit(9);
inline constexpr uint64_t kFeatureGuestUfo = FeatureBit(10);
inline constexpr uint64_t kFeatureHostTso4 = FeatureBit(11);
inline constexpr uint64_t kFeatureHostTso6 = FeatureBit(12);
inline constexpr uint64_t kFeatureHostEcn = FeatureBit(13);
inline constexpr uint64_t kFeatureHostUfo = FeatureBit(14);
inline constexpr uint64_t kFeatureMrgRxbuf = FeatureBit(15);
inline constexpr uint64_t kFeatureStatus = FeatureBit(16);

// §5.1.4: struct virtio_net_config: mac[6], le16 status, le16
// max_virtqueue_pairs.
inline constexpr size_t kConfigSize = 10;
inline constexpr uint16_t kStatusLinkUp = 1;

struct NetOptions {
  std::array<uint8_t, 6> mac{};
  // Each queue's maximum size: a power of two, 4..32768.
  uint16_t queue_size = 256;
};

struct NetCounters {
  uint64_t rx_packets = 0;
  uint64_t rx_bytes = 0;
  uint64_t rx_waits_for_buffers = 0;  // a packet waited for the guest's buffers
  uint64_t rx_dropped = 0;            // too big for the guest's buffer, or device reset
  uint64_t rx_errors = 0;             // tap read errors
  uint64_t tx_packets = 0;
  uint64_t tx_bytes = 0;
  uint64_t tx_malformed = 0;  // refused: bad header or chain (see ValidateTxHeader)
  uint64_t tx_errors = 0;     // the tap refused the packet
  uint64_t tx_waits_for_tap = 0;
};

class NetDevice final : public VirtioDevice {
 public:
  static constexpr size_t kRxQueue = 0;
  static constexpr size_t kTxQueue = 1;
  static constexpr size_t kBatch = 256;

  static Result<std::unique_ptr<NetDevice>> Create(std::unique_ptr<NetBackend> backend,
                                                   const NetOptions& options);

  uint32_t device_id() const override { return kDeviceIdNet; }
  uint64_t device_features() const override;
  std::span<const uint16_t> queue_max_sizes() const override { return queue_max_sizes_; }
  void ReadConfig(uint64_t offset, std::span<uint8_t> data) const override;
  // The MAC is not writable without VIRTIO_NET_F_CTRL_MAC_ADDR: ignored.
  void WriteConfig(uint64_t, std::span<const uint8_t>) override {}
  Result<void> Activate(const GuestMemory& memory, std::span<Queue> queues, uint64_t features,
                        VirtioInterrupt& interrupt) override;
  Result<void> ProcessQueue(size_t index) override;
  void Reset() override;
  std::vector<EventSource> event_sources() const override;
  Result<void> ProcessEvent(uint32_t token, uint32_t events) override;
  std::vector<Counter> counters() const override;

  const NetCounters& net_counters() const noexcept { return counters_; }
  const NetBackend& backend() const noexcept { return *backend_; }

 private:
  enum Token : uint32_t { kTapToken = 0, kMoreToken = 1 };

  NetDevice(std::unique_ptr<NetBackend> backend, const NetOptions& options, EventFd more);

  Result<void> ProcessRx();
  // Places the pending packet into receive buffers; false when the guest
  // has not posted enough yet.
  Result<bool> PlacePending();
  Result<void> ProcessTx();
  // Sends one chain; false when the tap is full (the chain is kept).
  bool Transmit(const DescriptorChain& chain, uint32_t* used_len);

  std::unique_ptr<NetBackend> backend_;
  std::array<uint16_t, 2> queue_max_sizes_;
  std::array<uint8_t, kConfigSize> config_{};
  EventFd more_;  // signalled to continue a direction after a full batch

  ActiveQueues active_;
  uint64_t features_ = 0;
  TxOffloads tx_offloads_;

  // Receive state.
  std::vector<uint8_t> rx_buffer_;
  size_t pending_len_ = 0;                  // a packet read but not yet placed
  std::vector<DescriptorChain> rx_chains_;  // popped receive buffers not yet used
  bool rx_more_ = false;

  // Transmit state.
  std::optional<DescriptorChain> tx_held_;  // the tap was full
  bool tx_more_ = false;
  std::vector<std::span<uint8_t>> tx_slices_;
  std::vector<iovec> tx_iov_;
  std::vector<uint8_t> tx_linear_;

  NetCounters counters_;
};

}  // namespace hull::vmm::virtio::net
