#include "hull/vmm/virtio/net/net_device.h"

#include <fmt/format.h>
#include <limits.h>
#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "hull/common/check.h"

namespace hull::vmm::virtio::net {
namespace {

constexpr uint64_t kOfferedFeatures =
    kFeatureCsum | kFeatureGuestCsum | kFeatureMac | kFeatureGuestTso4 | kFeatureGuestTso6 |
    kFeatureGuestEcn | kFeatureGuestUfo | kFeatureHostTso4 | kFeatureHostTso6 | kFeatureHostEcn |
    kFeatureHostUfo | kFeatureMrgRxbuf | kFeatureStatus;

constexpr size_t kNumBuffersOffset = 10;

}  // namespace

Result<std::unique_ptr<NetDevice>> NetDevice::Create(std::unique_ptr<NetBackend> backend,
                                                     const NetOptions& options) {
  HULL_CHECK(backend != nullptr);
  const NetBackend& tap = *backend;
  const uint16_t size = options.queue_size;
  if (size < 4 || size > kMaxQueueSize || (size & (size - 1)) != 0) {
    return Error(EINVAL, fmt::format("virtio-net {}: queue size {} is not a power of two in "
                                     "[4, {}]",
                                     tap.name(), size, kMaxQueueSize));
  }
  if ((options.mac[0] & 1) != 0) {
    return Error(EINVAL, fmt::format("virtio-net {}: the MAC is a multicast address", tap.name()));
  }
  HULL_ASSIGN_OR_RETURN(EventFd more, EventFd::Create());
  return std::unique_ptr<NetDevice>(new NetDevice(std::move(backend), options, std::move(more)));
}

NetDevice::NetDevice(std::unique_ptr<NetBackend> backend, const NetOptions& options, EventFd more)
    : backend_(std::move(backend)),
      queue_max_sizes_{options.queue_size, options.queue_size},
      more_(std::move(more)),
      rx_buffer_(kMaxPacketSize) {
  std::copy(options.mac.begin(), options.mac.end(), config_.begin());
  config_[6] = kStatusLinkUp;  // le16 status
  config_[8] = 1;              // le16 max_virtqueue_pairs
}

uint64_t NetDevice::device_features() const { return kOfferedFeatures; }

void NetDevice::ReadConfig(uint64_t offset, std::span<uint8_t> data) const {
  ReadConfigBytes(config_, offset, data);
}

Result<void> NetDevice::Activate(const GuestMemory& memory, std::span<Queue> queues,
                                 uint64_t features, VirtioInterrupt& interrupt) {
  HULL_TRY(active_.Bind("virtio-net", queue_max_sizes_.size(), memory, queues, interrupt));
  features_ = features;
  tx_offloads_ = TxOffloads{
      .csum = (features & kFeatureCsum) != 0,
      .tso4 = (features & kFeatureHostTso4) != 0,
      .tso6 = (features & kFeatureHostTso6) != 0,
      .ufo = (features & kFeatureHostUfo) != 0,
      .ecn = (features & kFeatureHostEcn) != 0,
  };
  Result<void> offloads = backend_->SetOffloads(NetBackend::Offloads{
      .csum = (features & kFeatureGuestCsum) != 0,
      .tso4 = (features & kFeatureGuestTso4) != 0,
      .tso6 = (features & kFeatureGuestTso6) != 0,
      .ecn = (features & kFeatureGuestEcn) != 0,
      .ufo = (features & kFeatureGuestUfo) != 0,
  });
  if (!offloads.ok()) {
    active_.Clear();
    return offloads;
  }
  // Packets may have queued up in the tap before the driver was ready.
  rx_more_ = tx_more_ = true;
  return more_.Signal();
}

void NetDevice::Reset() {
  if (pending_len_ != 0) ++counters_.rx_dropped;
  pending_len_ = 0;
  rx_chains_.clear();
  tx_held_.reset();
  rx_more_ = tx_more_ = false;
  features_ = 0;
  active_.Clear();
  // A guest that reset its NIC must not get offloaded packets it may no
  // longer accept; failing that, the next Activate sets them again.
  (void)backend_->SetOffloads({});
}

Result<void> NetDevice::ProcessQueue(size_t index) {
  if (index == kRxQueue) return ProcessRx();
  if (index == kTxQueue) return ProcessTx();
  return {};
}

std::vector<EventSource> NetDevice::event_sources() const {
  return {{backend_->fd(), EPOLLIN | EPOLLOUT | EPOLLET, kTapToken},
          {more_.fd(), EPOLLIN, kMoreToken}};
}

Result<void> NetDevice::ProcessEvent(uint32_t token, uint32_t events) {
  if (token == kMoreToken) {
    (void)more_.Consume();
    const bool rx = std::exchange(rx_more_, false);
    const bool tx = std::exchange(tx_more_, false);
    if (rx) HULL_TRY(ProcessRx());
    if (tx) HULL_TRY(ProcessTx());
    return {};
  }
  if (token != kTapToken) return {};
  // While inactive the packets stay in the tap (whose queue drops the
  // excess); Activate reads them.
  if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0) HULL_TRY(ProcessRx());
  if ((events & EPOLLOUT) != 0 && tx_held_.has_value()) HULL_TRY(ProcessTx());
  return {};
}

Result<void> NetDevice::ProcessRx() {
  if (!active_.active()) return {};
  size_t packets = 0;
  while (true) {
    if (pending_len_ == 0) {
      if (packets == kBatch) {
        rx_more_ = true;
        (void)more_.Signal();
        break;
      }
      Result<size_t> got = backend_->Read(rx_buffer_);
      if (!got.ok()) {
        // EAGAIN: the tap is empty; the next packet is a new edge.
        if (got.error().code() != EAGAIN) ++counters_.rx_errors;
        break;
      }
      if (*got < kHeaderSize) {
        ++counters_.rx_errors;
        continue;
      }
      pending_len_ = *got;
    }
    HULL_ASSIGN_OR_RETURN(const bool placed, PlacePending());
    if (!placed) {
      // The guest posts more buffers and notifies the receive queue.
      ++counters_.rx_waits_for_buffers;
      break;
    }
    ++packets;
  }
  active_.NotifyIfNeeded(kRxQueue);
  return {};
}

Result<bool> NetDevice::PlacePending() {
  const GuestMemory& memory = active_.memory();
  Queue& queue = active_.queue(kRxQueue);
  const bool mergeable = (features_ & kFeatureMrgRxbuf) != 0;
  // Gather buffers until the packet fits: all it needs with MRG_RXBUF, one
  // large enough without.
  while (true) {
    uint64_t capacity = 0;
    for (const DescriptorChain& chain : rx_chains_) capacity += chain.writable_len();
    if (mergeable ? capacity >= pending_len_
                  : (!rx_chains_.empty() && rx_chains_.back().writable_len() >= pending_len_)) {
      break;
    }
    if (!mergeable && !rx_chains_.empty()) {
      // §5.1.6.3.1: without MRG_RXBUF the driver must post buffers that fit
      // any packet; this one does not: drop the packet, keep the buffer.
      ++counters_.rx_dropped;
      pending_len_ = 0;
      return true;
    }
    HULL_ASSIGN_OR_RETURN(std::optional<DescriptorChain> chain, queue.Pop(memory));
    if (!chain) return false;
    if (chain->writable_len() < (mergeable ? 1 : kHeaderSize)) {
      // Useless to us: give it back empty (the driver's loss).
      HULL_TRY(queue.AddUsed(memory, chain->head_index(), 0));
      continue;
    }
    rx_chains_.push_back(std::move(*chain));
  }

  const uint16_t buffers = mergeable ? static_cast<uint16_t>(rx_chains_.size()) : 1;
  rx_buffer_[kNumBuffersOffset] = static_cast<uint8_t>(buffers);
  rx_buffer_[kNumBuffersOffset + 1] = static_cast<uint8_t>(buffers >> 8);
  size_t offset = 0;
  for (const DescriptorChain& chain : rx_chains_) {
    const size_t n =
        static_cast<size_t>(std::min<uint64_t>(chain.writable_len(), pending_len_ - offset));
    // The chain's buffers were checked when popped; a failure here means the
    // guest's memory map changed under us: a device error.
    HULL_TRY(chain.WriteToWritable(memory, 0, std::span(rx_buffer_).subspan(offset, n)));
    HULL_TRY(queue.AddUsed(memory, chain.head_index(), static_cast<uint32_t>(n)));
    offset += n;
  }
  rx_chains_.clear();
  ++counters_.rx_packets;
  counters_.rx_bytes += pending_len_ - kHeaderSize;
  pending_len_ = 0;
  return true;
}

Result<void> NetDevice::ProcessTx() {
  if (!active_.active()) return {};
  const GuestMemory& memory = active_.memory();
  Queue& queue = active_.queue(kTxQueue);
  if (tx_held_.has_value()) {
    uint32_t used = 0;
    if (!Transmit(*tx_held_, &used)) return {};  // still full: wait for EPOLLOUT
    HULL_TRY(queue.AddUsed(memory, tx_held_->head_index(), used));
    tx_held_.reset();
  }
  for (size_t packets = 0;; ++packets) {
    if (packets == kBatch) {
      tx_more_ = true;
      (void)more_.Signal();
      break;
    }
    HULL_ASSIGN_OR_RETURN(std::optional<DescriptorChain> chain, queue.Pop(memory));
    if (!chain) break;
    uint32_t used = 0;
    if (!Transmit(*chain, &used)) {
      ++counters_.tx_waits_for_tap;
      tx_held_ = std::move(*chain);
      break;
    }
    HULL_TRY(queue.AddUsed(memory, chain->head_index(), used));
  }
  active_.NotifyIfNeeded(kTxQueue);
  return {};
}

bool NetDevice::Transmit(const DescriptorChain& chain, uint32_t* used_len) {
  // §5.1.6.2: the device writes nothing into a transmit chain.
  *used_len = 0;
  const GuestMemory& memory = active_.memory();
  const uint64_t len = chain.readable_len();
  std::array<uint8_t, kHeaderSize> header_bytes{};
  if (len < kHeaderSize || !chain.ReadFromReadable(memory, 0, header_bytes).ok()) {
    ++counters_.tx_malformed;
    return true;
  }
  const NetHeader header = DecodeHeader(header_bytes);
  if (ValidateTxHeader(header, len, tx_offloads_) != TxVerdict::kOk) {
    ++counters_.tx_malformed;
    return true;
  }
  // The header goes from our validated copy; the guest cannot change it
  // after the check. The frame goes straight from guest memory.
  tx_slices_.clear();
  if (!chain.ReadableSlices(memory, kHeaderSize, len - kHeaderSize, tx_slices_).ok()) {
    ++counters_.tx_malformed;
    return true;
  }
  tx_iov_.clear();
  tx_iov_.push_back({header_bytes.data(), kHeaderSize});
  if (tx_slices_.size() < IOV_MAX) {
    for (std::span<uint8_t> slice : tx_slices_) tx_iov_.push_back({slice.data(), slice.size()});
  } else {
    // More pieces than one writev takes: copy them into one.
    tx_linear_.resize(len - kHeaderSize);
    size_t at = 0;
    for (std::span<uint8_t> slice : tx_slices_) {
      std::memcpy(tx_linear_.data() + at, slice.data(), slice.size());
      at += slice.size();
    }
    tx_iov_.push_back({tx_linear_.data(), tx_linear_.size()});
  }
  Result<size_t> written = backend_->Write(tx_iov_);
  if (!written.ok()) {
    if (written.error().code() == EAGAIN) return false;
    ++counters_.tx_errors;  // e.g. the tap is down: the packet is lost, as on a wire
    return true;
  }
  ++counters_.tx_packets;
  counters_.tx_bytes += len - kHeaderSize;
  return true;
}

std::vector<VirtioDevice::Counter> NetDevice::counters() const {
  return {{"rx_packets", counters_.rx_packets},
          {"rx_bytes", counters_.rx_bytes},
          {"rx_waits_for_buffers", counters_.rx_waits_for_buffers},
          {"rx_dropped", counters_.rx_dropped},
          {"rx_errors", counters_.rx_errors},
          {"tx_packets", counters_.tx_packets},
          {"tx_bytes", counters_.tx_bytes},
          {"tx_malformed", counters_.tx_malformed},
          {"tx_errors", counters_.tx_errors},
          {"tx_waits_for_tap", counters_.tx_waits_for_tap}};
}

}  // namespace hull::vmm::virtio::net
