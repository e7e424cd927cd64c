#include "hull/common/memory_mapping.h"

#include <fmt/format.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstdint>
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

Result<MemoryMapping> MemoryMapping::MapAligned(size_t length, size_t alignment, int prot,
                                                int flags, int fd, off_t offset) {
  if (length == 0) return Error(EINVAL, "mmap of 0 bytes");
  if (alignment == 0 || (alignment & (alignment - 1)) != 0 || (flags & MAP_FIXED) != 0 ||
      length > SIZE_MAX - alignment) {
    return Error(EINVAL,
                 fmt::format("aligned mmap: bad alignment {:#x} or flags {:#x}", alignment, flags));
  }
  // Reserve room for any alignment, map the real thing at the aligned
  // address inside it, and give back the rest of the reservation.
  const size_t reserved = length + alignment;
  void* reservation =
      ::mmap(nullptr, reserved, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (reservation == MAP_FAILED) {
    return Error::FromErrno(errno, fmt::format("reserving {:#x} bytes of address space", reserved));
  }
  const auto start = reinterpret_cast<uintptr_t>(reservation);
  const uintptr_t aligned = (start + alignment - 1) & ~(uintptr_t{alignment} - 1);
  void* address =
      ::mmap(reinterpret_cast<void*>(aligned), length, prot, flags | MAP_FIXED, fd, offset);
  if (address == MAP_FAILED) {
    const int err = errno;
    ::munmap(reservation, reserved);
    return Error::FromErrno(
        err, fmt::format("mmap {:#x} bytes of fd {} at offset {:#x}", length, fd, offset));
  }
  if (aligned > start) ::munmap(reservation, aligned - start);
  const uintptr_t end = aligned + length;
  if (start + reserved > end) ::munmap(reinterpret_cast<void*>(end), start + reserved - end);
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
