#include "hull/vmm/virtio/block/block_device.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <optional>
#include <utility>

#include "hull/common/check.h"

namespace hull::vmm::virtio::block {
namespace {

template <typename T>
void PutLe(std::span<uint8_t> config, uint64_t offset, T value) {
  static_assert(std::endian::native == std::endian::little);
  std::memcpy(config.data() + offset, &value, sizeof(value));
}

}  // namespace

Result<std::unique_ptr<BlockDevice>> BlockDevice::Create(Disk disk, const BlockOptions& options) {
  const uint16_t size = options.queue_size;
  if (size < 4 || size > kMaxQueueSize || (size & (size - 1)) != 0) {
    return Error(EINVAL, fmt::format("virtio-blk {}: queue size {} is not a power of two in "
                                     "[4, {}]",
                                     disk.name(), size, kMaxQueueSize));
  }
  std::string serial = options.serial;
  if (serial.empty()) {
    serial = fmt::format("{:x}{:x}", disk.inode(), disk.device());
    serial.resize(std::min<size_t>(serial.size(), kIdBytes));
  }
  if (serial.size() > kIdBytes) {
    return Error(EINVAL, fmt::format("virtio-blk {}: serial '{}' is longer than {} bytes",
                                     disk.name(), serial, kIdBytes));
  }
  std::array<uint8_t, kIdBytes> id{};  // zero-padded, as Linux expects
  std::memcpy(id.data(), serial.data(), serial.size());
  return std::unique_ptr<BlockDevice>(new BlockDevice(std::move(disk), size, id));
}

BlockDevice::BlockDevice(Disk disk, uint16_t queue_size, std::array<uint8_t, kIdBytes> serial)
    : disk_(std::move(disk)), queue_max_sizes_{queue_size}, serial_(serial) {
  PutLe<uint64_t>(config_, kConfigCapacityOffset, disk_.capacity_sectors());
  // A request is header + data segments + status, and a chain holds at most
  // queue_size descriptors (§2.7.5.3.1).
  PutLe<uint32_t>(config_, kConfigSegMaxOffset, uint32_t{queue_size} - 2);
  PutLe<uint32_t>(config_, kConfigBlkSizeOffset, static_cast<uint32_t>(kSectorSize));
}

uint64_t BlockDevice::device_features() const {
  return kFeatureSegMax | kFeatureBlkSize | kFeatureFlush | (disk_.read_only() ? kFeatureRo : 0);
}

void BlockDevice::ReadConfig(uint64_t offset, std::span<uint8_t> data) const {
  ReadConfigBytes(config_, offset, data);
}

Result<void> BlockDevice::Activate(const GuestMemory& memory, std::span<Queue> queues,
                                   uint64_t /*features*/, VirtioInterrupt& interrupt) {
  return active_.Bind("virtio-blk", queue_max_sizes_.size(), memory, queues, interrupt);
}

void BlockDevice::Reset() { active_.Clear(); }

Result<void> BlockDevice::ProcessQueue(size_t index) {
  return active_.Drain(index,
                       [this](const DescriptorChain& chain) { return HandleRequest(chain); });
}

uint32_t BlockDevice::HandleRequest(const DescriptorChain& chain) {
  const uint8_t ioerr = kStatusIoErr;
  Expected<Request, RequestError> request =
      ParseRequest(chain, active_.memory(), disk_.capacity_sectors());
  if (!request.ok()) {
    ++metrics_.malformed_requests;
    // The status byte is the chain's last writable byte, if it has one.
    if (chain.writable_len() >= 1 &&
        chain.WriteToWritable(active_.memory(), chain.writable_len() - 1, {&ioerr, 1}).ok()) {
      return 1;
    }
    ++metrics_.dropped_requests;
    return 0;
  }
  uint32_t written = 0;
  const uint8_t status = Execute(chain, *request, &written);
  // The status is the last writable byte, which parsing found in the chain.
  if (!chain.WriteToWritable(active_.memory(), chain.writable_len() - 1, {&status, 1}).ok()) {
    ++metrics_.dropped_requests;
    return 0;
  }
  return written + 1;
}

uint8_t BlockDevice::Execute(const DescriptorChain& chain, const Request& request,
                             uint32_t* written) {
  // In range and sector-aligned (ParseRequest), so offset fits the disk.
  const uint64_t offset = request.sector * kSectorSize;
  // SAFETY: the slices are range-checked views of the request's buffers in
  // guest memory; the kernel copies file data straight into (IN) or out of
  // (OUT) them. Whatever the guest does to them meanwhile only changes the
  // data, never what we do with it.
  slices_.clear();
  switch (request.type) {
    case RequestType::kIn: {
      ++metrics_.read_requests;
      Result<void> done = chain.WritableSlices(active_.memory(), 0, request.data_len, slices_);
      if (done.ok()) done = disk_.ReadVectored(offset, slices_);
      if (!done.ok()) {
        ++metrics_.io_errors;
        return kStatusIoErr;
      }
      metrics_.read_bytes += request.data_len;
      *written = static_cast<uint32_t>(request.data_len);  // <= kMaxDataLen
      return kStatusOk;
    }
    case RequestType::kOut: {
      ++metrics_.write_requests;
      if (disk_.read_only()) {
        ++metrics_.read_only_rejections;
        return kStatusIoErr;
      }
      Result<void> done =
          chain.ReadableSlices(active_.memory(), kHeaderSize, request.data_len, slices_);
      if (done.ok()) done = disk_.WriteVectored(offset, slices_);
      if (!done.ok()) {
        ++metrics_.io_errors;
        return kStatusIoErr;
      }
      metrics_.write_bytes += request.data_len;
      return kStatusOk;
    }
    case RequestType::kFlush:
      ++metrics_.flush_requests;
      // Nothing of a read-only disk can be dirty.
      if (!disk_.read_only() && !disk_.Flush().ok()) {
        ++metrics_.io_errors;
        return kStatusIoErr;
      }
      return kStatusOk;
    case RequestType::kGetId: {
      ++metrics_.get_id_requests;
      const size_t len = static_cast<size_t>(std::min<uint64_t>(request.data_len, kIdBytes));
      if (!chain.WriteToWritable(active_.memory(), 0, std::span(serial_).first(len)).ok()) {
        return kStatusIoErr;
      }
      *written = static_cast<uint32_t>(len);
      return kStatusOk;
    }
    case RequestType::kUnsupported:
      ++metrics_.unsupported_requests;
      return kStatusUnsupported;
  }
  return kStatusUnsupported;
}

}  // namespace hull::vmm::virtio::block
