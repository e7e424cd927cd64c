#pragma once

// The virtio-mmio transport, version 2 (virtio 1.2 §4.2): one device behind a
// 0x200-byte MMIO window. Registers fill 0x000-0x0ff and are accessed 32 bits
// at a time at aligned offsets; the device's configuration space starts at
// 0x100. The guest finds the device through the kernel command line
// (KernelCmdlineFragment).
//
// Wiring in the VMM:
//   auto transport = std::make_unique<MmioTransport>("virtio-blk0", std::move(device),
//                                                     memory, std::move(irq_line));
//   bus.Register(base, MmioTransport::kWindowSize, transport.get());
//   for (uint32_t q = 0; q < transport->queue_count(); ++q)
//     KVM_IOEVENTFD(base + MmioTransport::NotifyAddressOffset(), 4 bytes, datamatch q)
//       → event loop: HandleNotify(q)
//   cmdline += " " + KernelCmdlineFragment(MmioTransport::kWindowSize, base, gsi);
//
// Thread safety: Read/Write (vCPU threads) and HandleNotify (event loop) may
// run concurrently; one mutex serialises them, except InterruptStatus and
// InterruptACK, which touch only an atomic and so never wait for a device
// that is processing a queue.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hull/common/result.h"
#include "hull/vmm/devices/bus_device.h"
#include "hull/vmm/devices/irq_line.h"
#include "hull/vmm/memory/guest_address.h"
#include "hull/vmm/memory/guest_memory.h"
#include "hull/vmm/virtio/constants.h"
#include "hull/vmm/virtio/device.h"
#include "hull/vmm/virtio/queue.h"

namespace hull::vmm::virtio {

// §4.2.2: InterruptStatus bits.
inline constexpr uint32_t kInterruptVring = 1;   // VIRTIO_MMIO_INT_VRING
inline constexpr uint32_t kInterruptConfig = 2;  // VIRTIO_MMIO_INT_CONFIG

// Metrics of one transport. Plain counters, read from any thread.
struct TransportCounters {
  std::atomic<uint64_t> notifications{0};          // queue notifications (MMIO or ioeventfd)
  std::atomic<uint64_t> ignored_notifications{0};  // before activation, bad queue, after an error
  std::atomic<uint64_t> interrupts{0};             // interrupt line raises
  std::atomic<uint64_t> interrupt_errors{0};       // IrqLine::Trigger failures
  std::atomic<uint64_t> activations{0};            // DRIVER_OK that started the device
  std::atomic<uint64_t> resets{0};                 // status writes of 0
  std::atomic<uint64_t> device_errors{0};          // DEVICE_NEEDS_RESET raised
  std::atomic<uint64_t> feature_rejections{0};     // FEATURES_OK refused
  std::atomic<uint64_t> illegal_status_writes{0};  // status transitions the spec does not allow
  std::atomic<uint64_t> invalid_accesses{0};  // bad width/offset, read-only or write-only misuse
};

class MmioTransport final : public BusDevice {
 public:
  static constexpr uint64_t kWindowSize = 0x200;
  static constexpr uint64_t kConfigOffset = 0x100;
  static constexpr uint32_t kMagic = 0x74726976;     // "virt"
  static constexpr uint32_t kVersion = 2;            // modern (virtio 1.x) only
  static constexpr uint32_t kVendorId = 0x4c4c5548;  // "HULL" as bytes in memory
  // The transport's own features, offered with every device's.
  static constexpr uint64_t kTransportFeatures =
      kFeatureVersion1 | kFeatureEventIdx | kFeatureIndirectDesc;

  // `memory` must outlive the transport. `irq` is the device's interrupt
  // (an irqfd in hull-vmm).
  MmioTransport(std::string name, std::unique_ptr<VirtioDevice> device, const GuestMemory& memory,
                std::unique_ptr<IrqLine> irq);
  ~MmioTransport() override;
  MmioTransport(const MmioTransport&) = delete;
  MmioTransport& operator=(const MmioTransport&) = delete;

  // BusDevice: offsets are relative to the window's base.
  std::string_view name() const override { return name_; }
  void Read(uint64_t offset, std::span<uint8_t> data) override;
  void Write(uint64_t offset, std::span<const uint8_t> data) override;

  // QueueNotify's offset: the VMM registers one ioeventfd there per queue
  // (4 bytes, datamatch = queue index) and calls HandleNotify when it fires.
  static constexpr uint64_t NotifyAddressOffset() { return 0x50; }
  size_t queue_count() const noexcept { return queue_count_; }

  // The driver notified queue `queue_index`: the same path as an MMIO write
  // of the index to QueueNotify. Ignored (and counted) before activation,
  // after a device error, or for a queue that does not exist. An error is a
  // device error: DEVICE_NEEDS_RESET is set, the queues are stopped, the
  // error is counted and logged (rate-limited) here and returned for the
  // caller's information.
  Result<void> HandleNotify(uint32_t queue_index);

  // The device's host fds (VirtioDevice::event_sources), for the VMM's event
  // loop, and the entry point when one fires. An error from the device is a
  // device error, handled as in HandleNotify.
  std::vector<EventSource> event_sources() const { return device_->event_sources(); }
  Result<void> HandleDeviceEvent(uint32_t token, uint32_t events);

  // Runs `update` on the device under the transport's lock (for the VMM's
  // requests: a balloon target, ...). When it returns true the device's
  // configuration changed: the generation moves on and a running driver
  // gets a configuration-change interrupt.
  Result<void> UpdateDevice(const std::function<Result<bool>(VirtioDevice&)>& update);
  // Read-only access under the lock (metrics).
  template <typename F>
  auto InspectDevice(F&& inspect) const {
    std::lock_guard lock(mutex_);
    return inspect(static_cast<const VirtioDevice&>(*device_));
  }

  const TransportCounters& counters() const noexcept { return counters_; }
  // The device status register as the driver reads it.
  uint32_t status() const;
  uint32_t interrupt_status() const noexcept { return interrupt_status_.load(); }
  // For device metrics (e.g. a BlockDevice's); the transport keeps owning it.
  const VirtioDevice& device() const noexcept { return *device_; }

 private:
  class Interrupt;

  uint32_t ReadRegister(uint64_t offset);
  void WriteRegister(uint64_t offset, uint32_t value);
  void WriteStatus(uint32_t value);
  void WriteFeatures(uint32_t value);
  bool FeaturesAcceptable() const;
  void ActivateDevice();
  void ResetDevice();
  Result<void> Notify(uint32_t queue_index);
  void DeviceError(const Error& error);
  Queue* SelectedQueue();
  // Queue configuration may change only while the queue is not ready and
  // the device not started.
  Queue* SelectedQueueForConfig();
  uint64_t OfferedFeatures() const;
  Result<void> Raise(uint32_t interrupt_bit);

  const std::string name_;
  const std::unique_ptr<VirtioDevice> device_;
  const GuestMemory* const memory_;
  const std::unique_ptr<IrqLine> irq_;
  const std::unique_ptr<Interrupt> interrupt_;
  const size_t queue_count_;

  mutable std::mutex mutex_;
  // Guarded by mutex_.
  std::vector<Queue> queues_;
  uint32_t status_ = 0;
  uint32_t device_features_sel_ = 0;
  uint32_t driver_features_sel_ = 0;
  uint64_t driver_features_ = 0;
  bool driver_features_beyond_64_ = false;  // a non-zero write to a page we never offer
  uint32_t queue_sel_ = 0;
  uint32_t config_generation_ = 0;
  bool activated_ = false;
  bool broken_ = false;  // DEVICE_NEEDS_RESET set; only a reset recovers
  uint32_t logged_errors_ = 0;

  std::atomic<uint32_t> interrupt_status_{0};
  TransportCounters counters_;
};

// The kernel command-line parameter that declares a virtio-mmio device
// (Linux: drivers/virtio/virtio_mmio.c), e.g. "virtio_mmio.device=512@0xd0000000:5".
std::string KernelCmdlineFragment(uint64_t size, GuestAddress base, uint32_t irq);

}  // namespace hull::vmm::virtio
