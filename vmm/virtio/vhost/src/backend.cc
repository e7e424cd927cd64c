#include "hull/vmm/virtio/vhost/backend.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>

namespace hull::vmm::virtio::vhost {

std::vector<MemoryRegion> MemoryTable(const GuestMemory& memory) {
  std::vector<MemoryRegion> table;
  for (const GuestRegion& region : memory.regions()) {
    table.push_back(MemoryRegion{
        .guest_phys_addr = region.base().raw(),
        .memory_size = region.size(),
        .userspace_addr = reinterpret_cast<uintptr_t>(region.host_address()),
        .mmap_offset = 0,
        .fd = region.memfd(),
    });
  }
  return table;
}

Result<VringAddresses> VringAddressesOf(const GuestMemory& memory, const Queue& queue) {
  const uint64_t size = queue.size();
  // §2.7: the sizes of the three areas, event fields included.
  HULL_ASSIGN_OR_RETURN(std::span<uint8_t> desc, memory.Slice(queue.desc_table(), 16 * size));
  HULL_ASSIGN_OR_RETURN(std::span<uint8_t> avail, memory.Slice(queue.avail_ring(), 6 + 2 * size));
  HULL_ASSIGN_OR_RETURN(std::span<uint8_t> used, memory.Slice(queue.used_ring(), 6 + 8 * size));
  return VringAddresses{
      .desc = reinterpret_cast<uintptr_t>(desc.data()),
      .avail = reinterpret_cast<uintptr_t>(avail.data()),
      .used = reinterpret_cast<uintptr_t>(used.data()),
  };
}

Result<void> StartVrings(Backend& backend, const GuestMemory& memory, std::span<const Queue> queues,
                         size_t served_queues, uint64_t features, std::span<const int> kick_fds,
                         std::span<const int> call_fds) {
  served_queues = std::min(served_queues, queues.size());
  if (kick_fds.size() < served_queues || call_fds.size() < served_queues) {
    return Error(EINVAL, fmt::format("{}: {} queues but {} kick and {} call fds", backend.name(),
                                     served_queues, kick_fds.size(), call_fds.size()));
  }
  HULL_ASSIGN_OR_RETURN(const uint64_t offered, backend.GetFeatures());
  HULL_TRY(backend.SetFeatures(features & offered));
  const std::vector<MemoryRegion> table = MemoryTable(memory);
  HULL_TRY(backend.SetMemTable(table));
  for (size_t i = 0; i < served_queues; ++i) {
    const Queue& queue = queues[i];
    if (!queue.ready()) continue;
    const auto index = static_cast<uint32_t>(i);
    HULL_ASSIGN_OR_RETURN(VringAddresses addresses, VringAddressesOf(memory, queue));
    Result<void> done = backend.SetVringNum(index, queue.size());
    if (done.ok()) done = backend.SetVringBase(index, 0);
    if (done.ok()) done = backend.SetVringAddr(index, addresses);
    if (done.ok()) done = backend.SetVringCall(index, call_fds[i]);
    if (done.ok()) done = backend.SetVringKick(index, kick_fds[i]);
    if (done.ok()) done = backend.SetVringEnable(index, true);
    if (!done.ok()) return std::move(done).error().WithContext(fmt::format("vring {}", i));
  }
  return {};
}

void StopVrings(Backend& backend, std::span<const Queue> queues, size_t served_queues) {
  served_queues = std::min(served_queues, queues.size());
  for (size_t i = 0; i < served_queues; ++i) {
    if (!queues[i].ready()) continue;
    Result<uint32_t> base = backend.GetVringBase(static_cast<uint32_t>(i));
    if (!base.ok()) {
      spdlog::warn("{}: stopping vring {}: {}", backend.name(), i, base.error().ToString());
    }
  }
}

}  // namespace hull::vmm::virtio::vhost
