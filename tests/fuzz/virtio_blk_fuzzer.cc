// Fuzzes virtio-blk request handling end to end: the input describes a batch
// of requests (type, sector, data and status buffers, mostly well-formed so
// that parsing and I/O are reached, sometimes raw), which are laid out in a
// split ring in guest memory and served by a BlockDevice whose disk is a
// 64-sector memfd (read-only or not, as the input says).
//
// Checked beyond the sanitizers: every request comes back in the used ring
// unless the ring itself was broken, and the disk never grows.

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "../unit/vmm/virtio/split_ring.h"
#include "fuzz_input.h"
#include "hull/common/check.h"
#include "hull/common/unique_fd.h"
#include "hull/vmm/virtio/block/block_device.h"

namespace {

using hull::Result;
using hull::UniqueFd;
using hull::fuzz::Input;
using hull::vmm::GuestAddress;
using hull::vmm::GuestMemory;
using namespace hull::vmm::virtio;         // NOLINT(google-build-using-namespace)
using namespace hull::vmm::virtio::block;  // NOLINT(google-build-using-namespace)

constexpr uint64_t kRam = 0x80000;
constexpr uint64_t kDiskSectors = 64;
constexpr uint64_t kDiskBytes = kDiskSectors * kSectorSize;

const GuestMemory& Memory() { return hull::fuzz::StaticMemory<kRam>(); }

int DiskFd() {
  static const int fd = [] {
    const int memfd = ::memfd_create("hull-blk-fuzz", MFD_CLOEXEC);
    HULL_CHECK(memfd >= 0 && ::ftruncate(memfd, kDiskBytes) == 0);
    return memfd;
  }();
  return fd;
}

// Addresses: request i's header at kDataBase + i * 0x100 (16 bytes), its
// status bytes after it; data buffers from kDataBase + 0x8000 on.
void AddRequest(testing::SplitRing& ring, Input& in, uint16_t index) {
  const GuestMemory& memory = Memory();
  const auto shape = in.Take<uint8_t>();
  const uint64_t header = testing::kDataBase + uint64_t{index} * 0x100;
  auto type = in.Take<uint8_t>() % 5u;
  const uint32_t raw_type = type == 4 ? in.Take<uint32_t>() : std::array{0u, 1u, 4u, 8u}[type];
  auto sector = in.Take<uint64_t>();
  if ((shape & 1) == 0) sector %= kDiskSectors + 4;  // around the end of the disk
  testing::Poke<uint32_t>(memory, header, raw_type);
  testing::Poke<uint32_t>(memory, header + 4, 0);
  testing::Poke<uint64_t>(memory, header + 8, sector);

  std::vector<testing::Buffer> buffers;
  buffers.push_back({header, (shape & 2) == 0 ? 16u : in.Take<uint8_t>() % 32u, false});
  const bool data_writable = (shape & 4) == 0 ? raw_type != 1 : (shape & 8) != 0;
  const auto segments = in.Take<uint8_t>() % 4u;
  for (uint32_t s = 0; s < segments; ++s) {
    const auto where = in.Take<uint16_t>();
    const auto len = in.Take<uint16_t>();
    const uint64_t addr = testing::kDataBase + 0x8000 + where % 0x40000u;
    buffers.push_back({addr, (shape & 16) == 0 ? 512u * (len % 9u) : len % 0x2000u, data_writable});
  }
  if ((shape & 32) == 0) {
    buffers.push_back({header + 16, 1, true});
  } else if ((shape & 64) != 0) {
    buffers.push_back({header + 16, in.Take<uint8_t>() % 3u, (shape & 128) != 0});
  }
  if (buffers.size() > ring.size()) buffers.resize(ring.size());
  ring.MakeAvailable(ring.WriteChain(buffers));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  const GuestMemory& memory = Memory();
  const auto config = in.Take<uint8_t>();
  const auto queue_size = static_cast<uint16_t>(4u << (config % 5));  // 4..64
  const bool read_only = (config & 8) != 0;
  const uint64_t features = kFeatureVersion1 | ((config & 16) ? kFeatureEventIdx : 0);

  Result<Disk> disk = Disk::FromFd(UniqueFd(::dup(DiskFd())), "fuzz-disk", read_only);
  HULL_CHECK(disk.ok());
  Result<std::unique_ptr<BlockDevice>> device =
      BlockDevice::Create(std::move(*disk), BlockOptions{queue_size, "fuzz"});
  HULL_CHECK(device.ok());

  testing::SplitRing ring(memory, queue_size);
  std::vector<Queue> queues;
  queues.push_back(ring.MakeQueue(features, queue_size));
  testing::FakeInterrupt interrupt;
  HULL_CHECK((*device)->Activate(memory, queues, features, interrupt).ok());

  // A few rounds of (requests, notify), as a driver would.
  for (int round = 0; round < 4 && !in.empty(); ++round) {
    const auto requests = static_cast<uint16_t>(in.Take<uint8_t>() % (queue_size / 2 + 1));
    const uint16_t first = ring.avail_idx();
    for (uint16_t i = 0; i < requests; ++i) {
      AddRequest(ring, in, static_cast<uint16_t>((first + i) % queue_size));
    }
    if ((in.Take<uint8_t>() & 1) != 0) ring.SetUsedEvent(in.Take<uint16_t>());
    if (!(*device)->ProcessQueue(0).ok()) break;  // a device error: the transport stops here
    HULL_CHECK(ring.UsedIdx() == ring.avail_idx());
  }
  struct stat st {};
  HULL_CHECK(::fstat(DiskFd(), &st) == 0 && static_cast<uint64_t>(st.st_size) == kDiskBytes);
  return 0;
}
