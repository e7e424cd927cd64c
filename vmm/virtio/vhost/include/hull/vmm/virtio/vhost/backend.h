#pragma once

// A vhost back end: something outside hull-vmm's own threads that serves
// virtqueues straight from guest memory. Two kinds implement it:
//   KernelBackend  the host kernel's vhost (/dev/vhost-vsock; ioctls)
//   UserBackend    a vhost-user process on a Unix socket (virtiofsd)
// Both take the same calls in the same order; StartVrings drives them.
//
// Addresses handed to a back end are OUR virtual addresses of guest memory
// (the kernel uses them directly; a vhost-user back end translates them
// through the memory table, which also carries the memfds it maps).

#include <cstdint>
#include <span>
#include <string_view>

#include "hull/common/result.h"
#include "hull/vmm/memory/guest_memory.h"
#include "hull/vmm/virtio/queue.h"

namespace hull::vmm::virtio::vhost {

// One region of guest RAM as a back end sees it.
struct MemoryRegion {
  uint64_t guest_phys_addr = 0;
  uint64_t memory_size = 0;
  uint64_t userspace_addr = 0;  // where we map it
  uint64_t mmap_offset = 0;     // offset of the region in `fd`
  int fd = -1;                  // the region's memfd (vhost-user passes it)
};

// A vring's three areas as our virtual addresses.
struct VringAddresses {
  uint64_t desc = 0;
  uint64_t avail = 0;
  uint64_t used = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;

  // For messages: "vhost-vsock", "vhost-user virtiofsd (fs0)", ...
  virtual std::string_view name() const = 0;

  // Claims the back end for this process (VHOST_SET_OWNER).
  virtual Result<void> SetOwner() = 0;
  // The virtio feature bits the back end serves (transport bits included).
  virtual Result<uint64_t> GetFeatures() = 0;
  // The features the driver accepted, masked to what GetFeatures offered.
  virtual Result<void> SetFeatures(uint64_t features) = 0;
  virtual Result<void> SetMemTable(std::span<const MemoryRegion> regions) = 0;

  virtual Result<void> SetVringNum(uint32_t index, uint32_t size) = 0;
  // The next available index the back end starts from (0 after a reset).
  virtual Result<void> SetVringBase(uint32_t index, uint32_t base) = 0;
  virtual Result<void> SetVringAddr(uint32_t index, const VringAddresses& addresses) = 0;
  // The eventfd the driver's notifications arrive on (our ioeventfd).
  virtual Result<void> SetVringKick(uint32_t index, int fd) = 0;
  // The eventfd the back end signals when it used buffers; we poll it and
  // raise the transport's interrupt.
  virtual Result<void> SetVringCall(uint32_t index, int fd) = 0;
  // Starts or stops serving the ring (vhost-user's SET_VRING_ENABLE; the
  // kernel back ends start a ring once it has a kick fd and ignore this).
  virtual Result<void> SetVringEnable(uint32_t index, bool enable) = 0;
  // Stops the ring and returns the back end's next available index.
  virtual Result<uint32_t> GetVringBase(uint32_t index) = 0;
};

// The memory table for `memory`: one entry per region, with its memfd.
std::vector<MemoryRegion> MemoryTable(const GuestMemory& memory);

// The vring's areas as our virtual addresses. EFAULT when an area is not
// wholly in guest RAM (Queue::Activate checked that already; the guest
// cannot move them while the queue is active).
Result<VringAddresses> VringAddressesOf(const GuestMemory& memory, const Queue& queue);

// Hands the back end everything it needs to serve `queues` (the transport's,
// activated): the negotiated `features`, the memory table, and for each
// ready queue its size, base index 0, addresses, kick fd and call fd, then
// enables it. `kick_fds`/`call_fds`: one per queue, in queue order. Queues
// at or past `served_queues` are left to the caller (e.g. vsock's event
// queue, which the VMM keeps).
Result<void> StartVrings(Backend& backend, const GuestMemory& memory, std::span<const Queue> queues,
                         size_t served_queues, uint64_t features, std::span<const int> kick_fds,
                         std::span<const int> call_fds);

// Stops every ring StartVrings started (GetVringBase; errors are logged,
// not returned: this runs on reset and shutdown).
void StopVrings(Backend& backend, std::span<const Queue> queues, size_t served_queues);

}  // namespace hull::vmm::virtio::vhost
