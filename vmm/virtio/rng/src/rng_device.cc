#include "hull/vmm/virtio/rng/rng_device.h"

#include <fmt/format.h>
#include <sys/random.h>

#include <algorithm>
#include <cerrno>

#include "hull/common/check.h"
#include "hull/common/eintr.h"

namespace hull::vmm::virtio::rng {
namespace {

// Fills `out` from the kernel's CSPRNG. getrandom may return fewer bytes than
// asked for requests over 256 bytes when a signal arrives; resume.
bool FillRandom(std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t got =
        RetryOnEintr([&] { return ::getrandom(out.data() + done, out.size() - done, 0); });
    if (got <= 0) return false;
    done += static_cast<size_t>(got);
  }
  return true;
}

}  // namespace

RngDevice::RngDevice(uint16_t queue_size) : queue_max_sizes_{queue_size} {
  HULL_CHECK(queue_size != 0 && (queue_size & (queue_size - 1)) == 0 &&
             queue_size <= kMaxQueueSize);
}

void RngDevice::ReadConfig(uint64_t offset, std::span<uint8_t> data) const {
  ReadConfigBytes({}, offset, data);
}

Result<void> RngDevice::Activate(const GuestMemory& memory, std::span<Queue> queues,
                                 uint64_t /*features*/, VirtioInterrupt& interrupt) {
  return active_.Bind("virtio-rng", queue_max_sizes_.size(), memory, queues, interrupt);
}

void RngDevice::Reset() { active_.Clear(); }

Result<void> RngDevice::ProcessQueue(size_t index) {
  return active_.Drain(index,
                       [this](const DescriptorChain& chain) { return HandleRequest(chain); });
}

uint32_t RngDevice::HandleRequest(const DescriptorChain& chain) {
  ++metrics_.requests;
  // §5.4.6.1: the driver offers only device-writable buffers.
  if (chain.readable_len() != 0) {
    ++metrics_.invalid_requests;
    return 0;
  }
  const auto len =
      static_cast<uint32_t>(std::min<uint64_t>(chain.writable_len(), kMaxBytesPerRequest));
  slices_.clear();
  if (!chain.WritableSlices(active_.memory(), 0, len, slices_).ok()) {
    ++metrics_.invalid_requests;
    return 0;
  }
  // SAFETY: straight into the checked slices of the driver's writable
  // buffers; we only store to them and read nothing back.
  for (std::span<uint8_t> slice : slices_) {
    if (!FillRandom(slice)) {
      ++metrics_.entropy_errors;
      return 0;
    }
  }
  metrics_.bytes += len;
  return len;
}

}  // namespace hull::vmm::virtio::rng
