#pragma once

// The host side of a virtio-blk device: a raw image file (or block device)
// accessed with positioned, vectored I/O. Short transfers are resumed and
// EINTR retried; any other failure is an Error the device turns into
// VIRTIO_BLK_S_IOERR.
//
// The capacity is the file's size rounded down to whole 512-byte sectors: a
// trailing partial sector is invisible to the guest (as in Firecracker),
// which keeps every request sector-aligned without refusing odd-sized
// images.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "hull/common/result.h"
#include "hull/common/unique_fd.h"

namespace hull::vmm::virtio::block {

class Disk {
 public:
  // Opens `path` (O_CLOEXEC; O_RDONLY when read_only, else O_RDWR). Errors
  // name the path.
  static Result<Disk> Open(const std::string& path, bool read_only);

  // Adopts an open descriptor (a memfd, a file passed in by the shim).
  // `name` is for messages. The descriptor must allow reading, and writing
  // unless read_only.
  static Result<Disk> FromFd(UniqueFd fd, std::string name, bool read_only);

  const std::string& name() const noexcept { return name_; }
  bool read_only() const noexcept { return read_only_; }
  uint64_t capacity_sectors() const noexcept { return capacity_sectors_; }
  // st_dev and st_ino of the image, for a stable default serial number.
  uint64_t device() const noexcept { return device_; }
  uint64_t inode() const noexcept { return inode_; }

  // Fills `buffers`, in order, from the image at byte `offset`. Reading past
  // the end of the file is an error (EIO): the image shrank under us.
  Result<void> ReadVectored(uint64_t offset, std::span<const std::span<uint8_t>> buffers) const;
  // Writes `buffers`, in order, to the image at byte `offset`. EROFS on a
  // read-only disk.
  Result<void> WriteVectored(uint64_t offset, std::span<const std::span<uint8_t>> buffers) const;
  // fdatasync(2): what the guest wrote is on stable storage.
  Result<void> Flush() const;

 private:
  Disk(UniqueFd fd, std::string name, bool read_only, uint64_t capacity_sectors, uint64_t device,
       uint64_t inode) noexcept
      : fd_(std::move(fd)),
        name_(std::move(name)),
        read_only_(read_only),
        capacity_sectors_(capacity_sectors),
        device_(device),
        inode_(inode) {}

  UniqueFd fd_;
  std::string name_;
  bool read_only_;
  uint64_t capacity_sectors_;
  uint64_t device_;
  uint64_t inode_;
};

}  // namespace hull::vmm::virtio::block
