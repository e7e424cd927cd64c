#pragma once

// What a virtio device (blk, rng, ...) implements; the transport
// (MmioTransport) does the rest: feature negotiation, the status state
// machine, queue configuration, interrupt status and the interrupt line.
//
// Life cycle, driven by the transport:
//   constructed → Activate (driver wrote DRIVER_OK; queues validated)
//   → ProcessQueue on each notification → Reset (driver wrote 0) → Activate ...
// The transport serialises all calls; a device needs no locking of its own.

#include <cstdint>
#include <span>
#include <vector>

#include "hull/common/event_fd.h"
#include "hull/common/result.h"
#include "hull/vmm/memory/guest_memory.h"
#include "hull/vmm/virtio/queue.h"

namespace hull::vmm::virtio {

// How a device asks its transport to interrupt the driver. The transport
// sets the matching InterruptStatus bit and raises its interrupt line.
class VirtioInterrupt {
 public:
  virtual ~VirtioInterrupt() = default;
  // A used-buffer notification (VIRTIO_MMIO_INT_VRING).
  virtual Result<void> SignalUsedBuffer() = 0;
  // A configuration change notification (VIRTIO_MMIO_INT_CONFIG).
  virtual Result<void> SignalConfigChange() = 0;
};

// A host file descriptor a device waits on (a tap, a vhost call eventfd, a
// back end's socket). The VMM polls it in its event loop with `events`
// (EPOLLET included where the device wants edges) and hands what fired to
// the transport, which calls ProcessEvent(token, ...) under its lock.
struct EventSource {
  int fd = -1;
  uint32_t events = 0;
  uint32_t token = 0;
};

class VirtioDevice {
 public:
  virtual ~VirtioDevice() = default;

  // §5: the device type (kDeviceIdBlock, ...).
  virtual uint32_t device_id() const = 0;

  // The device-type feature bits it offers (bits 0..23). The transport adds
  // its own (VERSION_1, EVENT_IDX, INDIRECT_DESC) and masks out the rest.
  virtual uint64_t device_features() const = 0;

  // Which of the transport's own features (VERSION_1, EVENT_IDX,
  // INDIRECT_DESC) the device can serve; a vhost device offers only what
  // its back end handles.
  virtual uint64_t transport_features() const { return ~uint64_t{0}; }

  // One entry per virtqueue: the largest size the device accepts for it.
  // Fixed for the device's life.
  virtual std::span<const uint16_t> queue_max_sizes() const = 0;

  // Device configuration space (§4.2.2: from offset 0x100 of the MMIO
  // window). `offset` is relative to the config space; data is 1..8 bytes
  // the guest chose. Reads outside the space read as all-ones (see
  // ReadConfigBytes); writes to read-only fields are ignored.
  virtual void ReadConfig(uint64_t offset, std::span<uint8_t> data) const = 0;
  virtual void WriteConfig(uint64_t offset, std::span<const uint8_t> data) = 0;

  // The driver set DRIVER_OK. `queues` (one per queue_max_sizes() entry, the
  // ready ones validated and started) and `interrupt` stay valid, and
  // `memory` alive, until Reset. `features`: what the driver accepted. An
  // error refuses activation: the transport sets DEVICE_NEEDS_RESET.
  virtual Result<void> Activate(const GuestMemory& memory, std::span<Queue> queues,
                                uint64_t features, VirtioInterrupt& interrupt) = 0;

  // The driver notified queue `index` (< queue count; only called while
  // activated). Processes what is available. An error is a device error:
  // the guest broke the ring protocol, and the transport sets
  // DEVICE_NEEDS_RESET and stops the queues. A request the device merely
  // cannot serve is not an error: it completes with an error status.
  virtual Result<void> ProcessQueue(size_t index) = 0;

  // The driver reset the device: forget the memory, queues and interrupt
  // given to Activate and return to the state after construction.
  virtual void Reset() = 0;

  // --- Optional: devices with host-side file descriptors. ---

  // The fds to poll, fixed from construction to destruction.
  virtual std::vector<EventSource> event_sources() const { return {}; }
  // An event source fired; called whether or not the device is active (an
  // edge-triggered fd must still be drained or remembered). An error is the
  // guest's (a broken ring): the transport answers DEVICE_NEEDS_RESET.
  virtual Result<void> ProcessEvent(uint32_t /*token*/, uint32_t /*events*/) { return {}; }

  // A device whose queues a back end outside this process serves (vhost)
  // takes the queues' notification eventfds (ioeventfds the VMM registered
  // with KVM), one per queue in order, before it is put behind a transport;
  // the VMM then does not poll them itself.
  virtual bool wants_notify_fds() const { return false; }
  virtual void SetNotifyFds(std::vector<EventFd> /*fds*/) {}

  // Named counters for the control API's metrics (hull-vmm reads them under
  // the transport's lock).
  struct Counter {
    const char* name;
    uint64_t value;
  };
  virtual std::vector<Counter> counters() const { return {}; }
};

// Copies [offset, offset + data.size()) of `config` into `data`; an access
// not wholly inside `config` reads as all-ones (and the caller may count
// it). Returns whether the access was inside. Overflow-safe.
bool ReadConfigBytes(std::span<const uint8_t> config, uint64_t offset, std::span<uint8_t> data);

}  // namespace hull::vmm::virtio
