#include "hull/common/memory_mapping.h"

#include <fmt/format.h>
#include <sys/mman.h>

#include <cerrno>
#include <utility>

namespace hull {

Result<MemoryMapping> MemoryMapping::Map(size_t length, int prot, int flags, int fd, off_t offset) {
  if (length == 0) return Error(EINVAL, "mmap of 0 bytes");
  void* address = ::mmap(nullptr, length, prot, flags, fd, offset);
  if (address == MAP_FAILED) {
    return Error::FromErrno(
        errno, fmt::format("mmap {:#x} bytes of fd {} at offset {:#x}", length, fd, offset));
  }
  return MemoryMapping(static_cast<uint8_t*>(address), length);
}

MemoryMapping::MemoryMapping(MemoryMapping&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

MemoryMapping& MemoryMapping::operator=(MemoryMapping&& other) noexcept {
  if (this != &other) {
    Reset();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void MemoryMapping::Reset() noexcept {
  if (data_ != nullptr) ::munmap(data_, size_);
  data_ = nullptr;
  size_ = 0;
}

}  // namespace hull
