#include "hull/vmm/virtio/mmio_transport.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <utility>

#include "hull/common/check.h"
#include "hull/common/logging.h"

namespace hull::vmm::virtio {
namespace {

// §4.2.2, table "MMIO Device Register Layout".
enum Register : uint64_t {  // kReg<name in the spec>
  kRegMagicValue = 0x000,
  kRegVersion = 0x004,
  kRegDeviceId = 0x008,
  kRegVendorId = 0x00c,
  kRegDeviceFeatures = 0x010,
  kRegDeviceFeaturesSel = 0x014,
  kRegDriverFeatures = 0x020,
  kRegDriverFeaturesSel = 0x024,
  kRegQueueSel = 0x030,
  kRegQueueNumMax = 0x034,
  kRegQueueNum = 0x038,
  kRegQueueReady = 0x044,
  kRegQueueNotify = 0x050,
  kRegInterruptStatus = 0x060,
  kRegInterruptAck = 0x064,
  kRegStatus = 0x070,
  kRegQueueDescLow = 0x080,
  kRegQueueDescHigh = 0x084,
  kRegQueueDriverLow = 0x090,
  kRegQueueDriverHigh = 0x094,
  kRegQueueDeviceLow = 0x0a0,
  kRegQueueDeviceHigh = 0x0a4,
  kRegShmSel = 0x0ac,
  kRegShmLenLow = 0x0b0,
  kRegShmLenHigh = 0x0b4,
  kRegShmBaseLow = 0x0b8,
  kRegShmBaseHigh = 0x0bc,
  kRegQueueReset = 0x0c0,
  kRegConfigGeneration = 0x0fc,
};

constexpr uint32_t kAllOnes = 0xffff'ffff;
// Device errors logged per transport; later ones are only counted, so a guest
// that breaks its queues in a loop cannot flood the log.
constexpr uint32_t kMaxLoggedErrors = 16;

GuestAddress WithLow(GuestAddress address, uint32_t low) {
  return GuestAddress((address.raw() & 0xffff'ffff'0000'0000) | low);
}
GuestAddress WithHigh(GuestAddress address, uint32_t high) {
  return GuestAddress((address.raw() & 0xffff'ffff) | uint64_t{high} << 32);
}

}  // namespace

// What the device calls to interrupt the driver.
class MmioTransport::Interrupt final : public VirtioInterrupt {
 public:
  explicit Interrupt(MmioTransport& transport) : transport_(transport) {}
  Result<void> SignalUsedBuffer() override { return transport_.Raise(kInterruptVring); }
  // Called by the device with the transport's lock held.
  Result<void> SignalConfigChange() override {
    ++transport_.config_generation_;
    return transport_.Raise(kInterruptConfig);
  }

 private:
  MmioTransport& transport_;
};

MmioTransport::MmioTransport(std::string name, std::unique_ptr<VirtioDevice> device,
                             const GuestMemory& memory, std::unique_ptr<IrqLine> irq)
    : name_(std::move(name)),
      device_(std::move(device)),
      memory_(&memory),
      irq_(std::move(irq)),
      interrupt_(std::make_unique<Interrupt>(*this)),
      queue_count_(device_ ? device_->queue_max_sizes().size() : 0) {
  HULL_CHECK(device_ != nullptr && irq_ != nullptr);
  queues_.reserve(queue_count_);
  for (uint16_t max_size : device_->queue_max_sizes()) queues_.emplace_back(max_size);
}

MmioTransport::~MmioTransport() = default;

uint32_t MmioTransport::status() const {
  std::lock_guard lock(mutex_);
  return status_;
}

void MmioTransport::Read(uint64_t offset, std::span<uint8_t> data) {
  if (offset >= kConfigOffset) {
    if (offset >= kWindowSize || data.size() > kWindowSize - offset) {
      std::fill(data.begin(), data.end(), uint8_t{0xff});
      ++counters_.invalid_accesses;
      return;
    }
    std::lock_guard lock(mutex_);
    device_->ReadConfig(offset - kConfigOffset, data);
    return;
  }
  // §4.2.2.2: registers are read 32 bits at a time, aligned.
  if (data.size() != sizeof(uint32_t) || offset % sizeof(uint32_t) != 0) {
    std::fill(data.begin(), data.end(), uint8_t{0xff});
    ++counters_.invalid_accesses;
    return;
  }
  const uint32_t value = ReadRegister(offset);
  std::memcpy(data.data(), &value, sizeof(value));  // little-endian host, as the bus is
}

void MmioTransport::Write(uint64_t offset, std::span<const uint8_t> data) {
  if (offset >= kConfigOffset) {
    if (offset >= kWindowSize || data.size() > kWindowSize - offset) {
      ++counters_.invalid_accesses;
      return;
    }
    std::lock_guard lock(mutex_);
    device_->WriteConfig(offset - kConfigOffset, data);
    return;
  }
  if (data.size() != sizeof(uint32_t) || offset % sizeof(uint32_t) != 0) {
    ++counters_.invalid_accesses;
    return;
  }
  uint32_t value;
  std::memcpy(&value, data.data(), sizeof(value));
  WriteRegister(offset, value);
}

uint32_t MmioTransport::ReadRegister(uint64_t offset) {
  // Lock-free: the driver's interrupt handler must not wait for a device
  // that is busy processing a queue.
  if (offset == kRegInterruptStatus) return interrupt_status_.load();

  std::lock_guard lock(mutex_);
  switch (offset) {
    case kRegMagicValue:
      return kMagic;
    case kRegVersion:
      return kVersion;
    case kRegDeviceId:
      return device_->device_id();
    case kRegVendorId:
      return kVendorId;
    case kRegDeviceFeatures: {
      const uint64_t offered = OfferedFeatures();
      if (device_features_sel_ == 0) return static_cast<uint32_t>(offered);
      if (device_features_sel_ == 1) return static_cast<uint32_t>(offered >> 32);
      return 0;  // pages beyond 64 bits: nothing offered
    }
    case kRegQueueNumMax: {
      const Queue* queue = SelectedQueue();
      return queue == nullptr ? 0 : queue->max_size();  // 0: the queue is not available
    }
    case kRegQueueReady: {
      const Queue* queue = SelectedQueue();
      return queue != nullptr && queue->ready() ? 1 : 0;
    }
    case kRegStatus:
      return status_;
    case kRegShmLenLow:
    case kRegShmLenHigh:
    case kRegShmBaseLow:
    case kRegShmBaseHigh:
      // §4.2.2: no shared memory regions; a length of -1 says the selected
      // region does not exist (the base then means nothing; all-ones too).
      return kAllOnes;
    case kRegQueueReset:
      return 0;  // VIRTIO_F_RING_RESET is not offered
    case kRegConfigGeneration:
      return config_generation_;
    default:
      // Write-only registers and holes.
      ++counters_.invalid_accesses;
      return kAllOnes;
  }
}

void MmioTransport::WriteRegister(uint64_t offset, uint32_t value) {
  if (offset == kRegInterruptAck) {
    interrupt_status_.fetch_and(~value);
    return;
  }
  if (offset == kRegQueueNotify) {
    (void)HandleNotify(value);  // counted and logged there
    return;
  }

  std::lock_guard lock(mutex_);
  Queue* queue = nullptr;
  switch (offset) {
    case kRegDeviceFeaturesSel:
      device_features_sel_ = value;
      return;
    case kRegDriverFeatures:
      WriteFeatures(value);
      return;
    case kRegDriverFeaturesSel:
      driver_features_sel_ = value;
      return;
    case kRegQueueSel:
      queue_sel_ = value;
      return;
    case kRegQueueNum:
      if ((queue = SelectedQueueForConfig()) != nullptr && value <= 0xffff) {
        queue->set_size(static_cast<uint16_t>(value));
        return;
      }
      break;
    case kRegQueueReady:
      if ((queue = SelectedQueue()) != nullptr) {
        if (value == 0) {
          queue->set_ready(false);  // also stops it
          return;
        }
        // Queues are enabled before DRIVER_OK (§3.1.1); a queue enabled later
        // would start unvalidated, so it is refused.
        if (value == 1 && !activated_ && (status_ & kStatusDriverOk) == 0) {
          queue->set_ready(true);
          return;
        }
      }
      break;
    case kRegStatus:
      WriteStatus(value);
      return;
    case kRegQueueDescLow:
    case kRegQueueDescHigh:
    case kRegQueueDriverLow:
    case kRegQueueDriverHigh:
    case kRegQueueDeviceLow:
    case kRegQueueDeviceHigh:
      if ((queue = SelectedQueueForConfig()) != nullptr) {
        const bool high = (offset & 4) != 0;
        const auto update = [&](GuestAddress old) {
          return high ? WithHigh(old, value) : WithLow(old, value);
        };
        if (offset <= kRegQueueDescHigh) {
          queue->set_desc_table(update(queue->desc_table()));
        } else if (offset <= kRegQueueDriverHigh) {
          queue->set_avail_ring(update(queue->avail_ring()));
        } else {
          queue->set_used_ring(update(queue->used_ring()));
        }
        return;
      }
      break;
    case kRegShmSel:
      return;  // there are no regions to select; reads say so
    default:
      break;  // read-only registers, QueueReset (not offered), holes
  }
  ++counters_.invalid_accesses;
}

void MmioTransport::WriteFeatures(uint32_t value) {
  // §3.1.1: features are written after DRIVER and before FEATURES_OK.
  if ((status_ & kStatusDriver) == 0 || (status_ & (kStatusFeaturesOk | kStatusFailed)) != 0) {
    ++counters_.invalid_accesses;
    return;
  }
  if (driver_features_sel_ == 0) {
    driver_features_ = (driver_features_ & 0xffff'ffff'0000'0000) | value;
  } else if (driver_features_sel_ == 1) {
    driver_features_ = (driver_features_ & 0xffff'ffff) | uint64_t{value} << 32;
  } else if (value != 0) {
    driver_features_beyond_64_ = true;  // accepts bits we never offered
  }
}

uint64_t MmioTransport::OfferedFeatures() const {
  return (device_->device_features() & kDeviceFeatureMask) |
         (kTransportFeatures & device_->transport_features());
}

bool MmioTransport::FeaturesAcceptable() const {
  // §2.2: the driver may accept only offered features; §6.1: a modern device
  // may refuse a driver that does not accept VIRTIO_F_VERSION_1.
  return !driver_features_beyond_64_ && (driver_features_ & ~OfferedFeatures()) == 0 &&
         (driver_features_ & kFeatureVersion1) != 0;
}

void MmioTransport::WriteStatus(uint32_t value) {
  if (value == 0) {
    ResetDevice();
    return;
  }
  // DEVICE_NEEDS_RESET is the device's to set: drivers echo it back when
  // they read-modify-write the status, and cannot clear it.
  const uint32_t current = status_ & ~kStatusDeviceNeedsReset;
  const uint32_t requested = value & ~kStatusDeviceNeedsReset;
  if (requested == current) return;
  const uint32_t added = requested & ~current;
  // §3.1.1: the driver sets one bit at a time, in order, and never clears one
  // (short of a reset). FAILED may come at any point.
  bool legal = (requested & current) == current && std::has_single_bit(added);
  if (legal) {
    switch (added) {
      case kStatusAcknowledge:
        legal = current == 0;
        break;
      case kStatusDriver:
        legal = current == kStatusAcknowledge;
        break;
      case kStatusFeaturesOk:
        legal = current == (kStatusAcknowledge | kStatusDriver);
        if (legal && !FeaturesAcceptable()) {
          // §2.2.2: FEATURES_OK stays clear; the driver re-reads and gives up.
          ++counters_.feature_rejections;
          return;
        }
        break;
      case kStatusDriverOk:
        legal = current == (kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk);
        break;
      case kStatusFailed:
        break;
      default:
        legal = false;
    }
  }
  if (!legal) {
    ++counters_.illegal_status_writes;
    return;
  }
  status_ |= added;
  if (added == kStatusDriverOk) ActivateDevice();
}

void MmioTransport::ActivateDevice() {
  for (size_t i = 0; i < queues_.size(); ++i) {
    if (!queues_[i].ready()) continue;  // the driver does not use it
    Result<void> activated = queues_[i].Activate(*memory_, driver_features_);
    if (!activated.ok()) {
      DeviceError(std::move(activated).error().WithContext(fmt::format("activating queue {}", i)));
      return;
    }
  }
  Result<void> activated = device_->Activate(*memory_, queues_, driver_features_, *interrupt_);
  if (!activated.ok()) {
    DeviceError(std::move(activated).error().WithContext("activating the device"));
    return;
  }
  activated_ = true;
  ++counters_.activations;
}

void MmioTransport::ResetDevice() {
  // The device may hold pointers to the queues, memory and interrupt: it lets
  // go of them first.
  device_->Reset();
  for (Queue& queue : queues_) queue.Reset();
  status_ = 0;
  device_features_sel_ = driver_features_sel_ = 0;
  driver_features_ = 0;
  driver_features_beyond_64_ = false;
  queue_sel_ = 0;
  activated_ = false;
  broken_ = false;
  interrupt_status_.store(0);
  ++counters_.resets;
}

Result<void> MmioTransport::HandleNotify(uint32_t queue_index) {
  std::lock_guard lock(mutex_);
  return Notify(queue_index);
}

Result<void> MmioTransport::Notify(uint32_t queue_index) {
  ++counters_.notifications;
  if (!activated_ || broken_ || queue_index >= queues_.size()) {
    ++counters_.ignored_notifications;
    return {};
  }
  Result<void> processed = device_->ProcessQueue(queue_index);
  if (!processed.ok()) {
    Error error = std::move(processed).error().WithContext(fmt::format("queue {}", queue_index));
    DeviceError(error);
    return error;
  }
  return {};
}

Result<void> MmioTransport::UpdateDevice(const std::function<Result<bool>(VirtioDevice&)>& update) {
  std::lock_guard lock(mutex_);
  HULL_ASSIGN_OR_RETURN(const bool changed, update(*device_));
  if (!changed) return {};
  ++config_generation_;
  // §4.2.2: a configuration change is notified only to a running driver.
  if ((status_ & kStatusDriverOk) != 0 && !broken_) return Raise(kInterruptConfig);
  return {};
}

Result<void> MmioTransport::HandleDeviceEvent(uint32_t token, uint32_t events) {
  std::lock_guard lock(mutex_);
  Result<void> processed = device_->ProcessEvent(token, events);
  if (!processed.ok()) {
    Error error = std::move(processed).error().WithContext(fmt::format("event {}", token));
    if (activated_ && !broken_) DeviceError(error);
    return error;
  }
  return {};
}

void MmioTransport::DeviceError(const Error& error) {
  ++counters_.device_errors;
  if (logged_errors_ < kMaxLoggedErrors) {
    ++logged_errors_;
    LogEvent(spdlog::level::warn, "virtio_device_error", Kv("device", name_),
             Kv("error", error.ToString()),
             Kv("logging", logged_errors_ < kMaxLoggedErrors ? "on" : "off from here"));
  }
  broken_ = true;
  for (Queue& queue : queues_) queue.Stop();
  status_ |= kStatusDeviceNeedsReset;
  // §2.1.2: with DRIVER_OK set, the device must notify a configuration change.
  if ((status_ & kStatusDriverOk) != 0) (void)Raise(kInterruptConfig);
}

Result<void> MmioTransport::Raise(uint32_t interrupt_bit) {
  interrupt_status_.fetch_or(interrupt_bit);
  ++counters_.interrupts;
  Result<void> triggered = irq_->Trigger();
  if (!triggered.ok()) ++counters_.interrupt_errors;
  return triggered;
}

Queue* MmioTransport::SelectedQueue() {
  return queue_sel_ < queues_.size() ? &queues_[queue_sel_] : nullptr;
}

Queue* MmioTransport::SelectedQueueForConfig() {
  Queue* queue = SelectedQueue();
  if (queue == nullptr || queue->ready() || activated_ || (status_ & kStatusDriverOk) != 0) {
    return nullptr;
  }
  return queue;
}

std::string KernelCmdlineFragment(uint64_t size, GuestAddress base, uint32_t irq) {
  return fmt::format("virtio_mmio.device={}@{:#x}:{}", size, base.raw(), irq);
}

}  // namespace hull::vmm::virtio
