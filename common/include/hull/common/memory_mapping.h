#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <span>

#include "hull/common/result.h"

namespace hull {

// One mmap(2) mapping, unmapped on destruction. Move-only; moving keeps the
// address, so spans into the mapping stay valid while some owner lives.
class MemoryMapping {
 public:
  // mmap(nullptr, length, prot, flags, fd, offset); `fd` is -1 for anonymous.
  static Result<MemoryMapping> Map(size_t length, int prot, int flags, int fd, off_t offset);
  // The same, at an address that is a multiple of `alignment` (a power of
  // two, at least the page size): e.g. 2 MiB, so that transparent huge pages
  // can back the whole mapping. MAP_FIXED must not be in `flags`.
  static Result<MemoryMapping> MapAligned(size_t length, size_t alignment, int prot, int flags,
                                          int fd, off_t offset);

  MemoryMapping() noexcept = default;
  MemoryMapping(MemoryMapping&& other) noexcept;
  MemoryMapping& operator=(MemoryMapping&& other) noexcept;
  MemoryMapping(const MemoryMapping&) = delete;
  MemoryMapping& operator=(const MemoryMapping&) = delete;
  ~MemoryMapping() { Reset(); }

  uint8_t* data() const noexcept { return data_; }
  size_t size() const noexcept { return size_; }
  std::span<uint8_t> bytes() const noexcept { return {data_, size_}; }

  void Reset() noexcept;

 private:
  MemoryMapping(uint8_t* data, size_t size) noexcept : data_(data), size_(size) {}

  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace hull
