#include "hull/vmm/virtio/device.h"

#include <algorithm>
#include <cstring>

namespace hull::vmm::virtio {

bool ReadConfigBytes(std::span<const uint8_t> config, uint64_t offset, std::span<uint8_t> data) {
  if (offset > config.size() || data.size() > config.size() - offset) {
    std::fill(data.begin(), data.end(), uint8_t{0xff});
    return false;
  }
  if (!data.empty()) std::memcpy(data.data(), config.data() + offset, data.size());
  return true;
}

}  // namespace hull::vmm::virtio
