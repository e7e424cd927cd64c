#pragma once

// What the virtio fuzzers share: the reader that turns libFuzzer's bytes
// into values, and guest RAM made once per process (a memfd and a mapping
// per input would cost more than the input itself).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "../unit/vmm/virtio/split_ring.h"
#include "hull/vmm/memory/guest_memory.h"

namespace hull::fuzz {

// Reads the input front to back; past its end every value is 0, so that a
// short input is still a whole (if quiet) test case.
class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  template <typename T>
  requires std::is_trivially_copyable_v<T> T Take() {
    T value{};
    const size_t n = std::min(sizeof(T), size_ - pos_);
    if (n > 0) std::memcpy(&value, data_ + pos_, n);
    pos_ += n;
    return value;
  }
  bool empty() const { return pos_ >= size_; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

// One RAM region [0, kSize), alive for the whole process. Each fuzzer lays
// its rings out afresh per input (SplitRing zeroes them).
template <uint64_t kSize>
const vmm::GuestMemory& StaticMemory() {
  static const vmm::GuestMemory memory = vmm::virtio::testing::MakeMemory(kSize);
  return memory;
}

}  // namespace hull::fuzz
