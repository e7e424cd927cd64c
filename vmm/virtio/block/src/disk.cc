#include "hull/vmm/virtio/block/disk.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <vector>

#include "hull/common/eintr.h"
#include "hull/vmm/virtio/block/request.h"

namespace hull::vmm::virtio::block {
namespace {

enum class Direction { kRead, kWrite };

// preadv/pwritev until every buffer is done: the kernel may move fewer bytes
// than asked (signals, MAX_RW_COUNT, IOV_MAX), so resume where it stopped.
Result<void> Transfer(Direction direction, int fd, const std::string& name, uint64_t offset,
                      std::span<const std::span<uint8_t>> buffers) {
  std::vector<iovec> iov;
  iov.reserve(buffers.size());
  for (std::span<uint8_t> buffer : buffers) {
    if (!buffer.empty()) iov.push_back(iovec{buffer.data(), buffer.size()});
  }
  const char* const what = direction == Direction::kRead ? "preadv" : "pwritev";
  size_t first = 0;
  while (first < iov.size()) {
    if (offset > static_cast<uint64_t>(std::numeric_limits<off_t>::max())) {
      return Error(EINVAL, fmt::format("{} {}: offset {:#x} is too large", what, name, offset));
    }
    const int count = static_cast<int>(std::min<size_t>(iov.size() - first, IOV_MAX));
    const ssize_t moved = RetryOnEintr([&] {
      return direction == Direction::kRead
                 ? ::preadv(fd, &iov[first], count, static_cast<off_t>(offset))
                 : ::pwritev(fd, &iov[first], count, static_cast<off_t>(offset));
    });
    if (moved < 0) {
      return Error::FromErrno(errno, fmt::format("{} {} at offset {:#x}", what, name, offset));
    }
    if (moved == 0) {
      return Error(
          EIO, fmt::format("{} {} at offset {:#x}: unexpected end of file", what, name, offset));
    }
    auto done = static_cast<size_t>(moved);
    offset += done;
    while (done > 0) {
      iovec& head = iov[first];
      if (done >= head.iov_len) {
        done -= head.iov_len;
        ++first;
      } else {
        head.iov_base = static_cast<uint8_t*>(head.iov_base) + done;
        head.iov_len -= done;
        done = 0;
      }
    }
  }
  return {};
}

}  // namespace

Result<Disk> Disk::Open(const std::string& path, bool read_only) {
  UniqueFd fd(::open(path.c_str(), (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC));
  if (!fd) {
    return Error::FromErrno(
        errno, fmt::format("open disk image {}{}", path, read_only ? " read-only" : " read-write"));
  }
  return FromFd(std::move(fd), path, read_only);
}

Result<Disk> Disk::FromFd(UniqueFd fd, std::string name, bool read_only) {
  struct stat st {};
  if (::fstat(fd.Get(), &st) != 0) {
    return Error::FromErrno(errno, fmt::format("fstat disk image {}", name));
  }
  if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
    return Error(EINVAL, fmt::format("disk image {} is not a regular file or block device", name));
  }
  const int flags = ::fcntl(fd.Get(), F_GETFL);
  if (flags < 0) return Error::FromErrno(errno, fmt::format("fcntl disk image {}", name));
  if (!read_only && (flags & O_ACCMODE) == O_RDONLY) {
    return Error(EBADF,
                 fmt::format("disk image {} is open read-only but the disk is writable", name));
  }
  // lseek rather than st_size, which is 0 for block devices.
  const off_t size = ::lseek(fd.Get(), 0, SEEK_END);
  if (size < 0) return Error::FromErrno(errno, fmt::format("lseek disk image {}", name));
  const uint64_t sectors = static_cast<uint64_t>(size) / kSectorSize;
  return Disk(std::move(fd), std::move(name), read_only, sectors, static_cast<uint64_t>(st.st_dev),
              static_cast<uint64_t>(st.st_ino));
}

Result<void> Disk::ReadVectored(uint64_t offset,
                                std::span<const std::span<uint8_t>> buffers) const {
  return Transfer(Direction::kRead, fd_.Get(), name_, offset, buffers);
}

Result<void> Disk::WriteVectored(uint64_t offset,
                                 std::span<const std::span<uint8_t>> buffers) const {
  if (read_only_) return Error(EROFS, fmt::format("write to read-only disk {}", name_));
  return Transfer(Direction::kWrite, fd_.Get(), name_, offset, buffers);
}

Result<void> Disk::Flush() const {
  if (RetryOnEintr([&] { return ::fdatasync(fd_.Get()); }) != 0) {
    return Error::FromErrno(errno, fmt::format("fdatasync disk image {}", name_));
  }
  return {};
}

}  // namespace hull::vmm::virtio::block
