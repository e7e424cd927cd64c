#include "hull/vmm/virtio/block/disk.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "hull/vmm/virtio/block/request.h"

namespace hull::vmm::virtio::block {
namespace {

// A memfd of `size` bytes holding 0, 1, 2, ... (mod 256).
UniqueFd MakeImage(size_t size) {
  UniqueFd fd(::memfd_create("hull-disk-test", MFD_CLOEXEC));
  HULL_CHECK(fd.valid());
  std::vector<uint8_t> bytes(size);
  std::iota(bytes.begin(), bytes.end(), uint8_t{0});
  HULL_CHECK(::write(fd.Get(), bytes.data(), size) == static_cast<ssize_t>(size));
  return fd;
}

TEST(Disk, NamesThePathWhenItCannotOpenIt) {
  Result<Disk> disk = Disk::Open("/nonexistent/hull/disk.img", false);
  ASSERT_FALSE(disk.ok());
  EXPECT_EQ(disk.error().code(), ENOENT);
  EXPECT_NE(disk.error().message().find("/nonexistent/hull/disk.img"), std::string::npos)
      << disk.error().message();
}

TEST(Disk, RefusesADirectory) {
  Result<Disk> disk = Disk::Open("/", true);
  ASSERT_FALSE(disk.ok());
  EXPECT_EQ(disk.error().code(), EINVAL);
}

TEST(Disk, RoundsItsCapacityDownToWholeSectors) {
  Result<Disk> disk = Disk::FromFd(MakeImage(3 * kSectorSize + 511), "odd", false);
  ASSERT_TRUE(disk.ok());
  EXPECT_EQ(disk->capacity_sectors(), 3u);
  EXPECT_EQ(disk->name(), "odd");
}

TEST(Disk, RefusesAReadOnlyDescriptorForAWritableDisk) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  ::close(fds[1]);
  Result<Disk> pipe = Disk::FromFd(UniqueFd(fds[0]), "pipe", true);
  EXPECT_EQ(pipe.error().code(), EINVAL) << "not a file";

  UniqueFd image = MakeImage(kSectorSize);
  const std::string path = "/proc/self/fd/" + std::to_string(image.Get());
  UniqueFd read_only(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(read_only.valid());
  EXPECT_EQ(Disk::FromFd(std::move(read_only), "ro", false).error().code(), EBADF);
}

TEST(Disk, ReadsAndWritesThroughManyBuffers) {
  Result<Disk> disk = Disk::FromFd(MakeImage(8 * kSectorSize), "image", false);
  ASSERT_TRUE(disk.ok());
  std::vector<uint8_t> a(100), b(412), c(512);
  const std::vector<std::span<uint8_t>> buffers{a, b, c};
  ASSERT_TRUE(disk->ReadVectored(kSectorSize, buffers).ok());
  EXPECT_EQ(a[0], static_cast<uint8_t>(kSectorSize % 256));
  EXPECT_EQ(b[0], static_cast<uint8_t>((kSectorSize + 100) % 256));
  EXPECT_EQ(c[511], static_cast<uint8_t>((2 * kSectorSize + 511) % 256));

  std::fill(a.begin(), a.end(), 0xaa);
  std::fill(b.begin(), b.end(), 0xbb);
  std::fill(c.begin(), c.end(), 0xcc);
  ASSERT_TRUE(disk->WriteVectored(4 * kSectorSize, buffers).ok());
  std::vector<uint8_t> back(1024);
  ASSERT_TRUE(disk->ReadVectored(4 * kSectorSize, std::vector<std::span<uint8_t>>{back}).ok());
  EXPECT_EQ(back[0], 0xaa);
  EXPECT_EQ(back[100], 0xbb);
  EXPECT_EQ(back[1023], 0xcc);
  EXPECT_TRUE(disk->Flush().ok());
}

TEST(Disk, ResumesATransferOfMoreBuffersThanOneSyscallTakes) {
  // More than IOV_MAX (1024) buffers: preadv moves them in several calls.
  constexpr size_t kBuffers = 1500;
  Result<Disk> disk = Disk::FromFd(MakeImage(kBuffers * 64), "image", false);
  ASSERT_TRUE(disk.ok());
  std::vector<uint8_t> data(kBuffers * 64);
  std::vector<std::span<uint8_t>> buffers;
  for (size_t i = 0; i < kBuffers; ++i) buffers.push_back(std::span(data).subspan(i * 64, 64));
  ASSERT_TRUE(disk->ReadVectored(0, buffers).ok());
  for (size_t i = 0; i < data.size(); ++i) ASSERT_EQ(data[i], static_cast<uint8_t>(i)) << i;
}

TEST(Disk, ReportsReadingPastTheEndOfTheFileAsAnIoError) {
  Result<Disk> disk = Disk::FromFd(MakeImage(kSectorSize), "short", false);
  ASSERT_TRUE(disk.ok());
  std::vector<uint8_t> two(2 * kSectorSize);
  Result<void> read = disk->ReadVectored(0, std::vector<std::span<uint8_t>>{two});
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code(), EIO);
}

TEST(Disk, RefusesWritesWhenReadOnly) {
  Result<Disk> disk = Disk::FromFd(MakeImage(kSectorSize), "ro", true);
  ASSERT_TRUE(disk.ok());
  EXPECT_TRUE(disk->read_only());
  std::vector<uint8_t> data(kSectorSize);
  EXPECT_EQ(disk->WriteVectored(0, std::vector<std::span<uint8_t>>{data}).error().code(), EROFS);
}

}  // namespace
}  // namespace hull::vmm::virtio::block
