#pragma once

// The kernel vhost ioctl ABI (include/uapi/linux/vhost.h, vhost_types.h),
// laid out here because <linux/vhost.h> pulls in <linux/virtio_ring.h>,
// whose inline C does not compile as C++. Values and layouts are the
// kernel's stable ABI; the static_asserts pin the sizes the ioctl numbers
// encode.

#include <sys/ioctl.h>

#include <cstdint>

namespace hull::vmm::virtio::vhost::abi {

struct VringState {  // struct vhost_vring_state
  uint32_t index;
  uint32_t num;
};
struct VringFile {  // struct vhost_vring_file
  uint32_t index;
  int32_t fd;
};
struct VringAddr {  // struct vhost_vring_addr
  uint32_t index;
  uint32_t flags;
  uint64_t desc_user_addr;
  uint64_t used_user_addr;
  uint64_t avail_user_addr;
  uint64_t log_guest_addr;
};
struct MemoryHeader {  // struct vhost_memory, without its flexible array
  uint32_t nregions;
  uint32_t padding;
};
struct MemoryRegion {  // struct vhost_memory_region
  uint64_t guest_phys_addr;
  uint64_t memory_size;
  uint64_t userspace_addr;
  uint64_t flags_padding;
};
static_assert(sizeof(VringState) == 8 && sizeof(VringFile) == 8 && sizeof(VringAddr) == 40);
static_assert(sizeof(MemoryHeader) == 8 && sizeof(MemoryRegion) == 32);

inline constexpr unsigned kVhostType = 0xAF;  // VHOST_VIRTIO

// The _IO* macros expand to old-style casts; compute the same numbers.
constexpr unsigned long Ioc(unsigned dir, unsigned nr, unsigned size) {
  return (static_cast<unsigned long>(dir) << _IOC_DIRSHIFT) |
         (static_cast<unsigned long>(kVhostType) << _IOC_TYPESHIFT) |
         (static_cast<unsigned long>(nr) << _IOC_NRSHIFT) |
         (static_cast<unsigned long>(size) << _IOC_SIZESHIFT);
}
inline constexpr unsigned kNone = _IOC_NONE;
inline constexpr unsigned kWrite = _IOC_WRITE;
inline constexpr unsigned kRead = _IOC_READ;

inline constexpr unsigned long kGetFeatures = Ioc(kRead, 0x00, sizeof(uint64_t));
inline constexpr unsigned long kSetFeatures = Ioc(kWrite, 0x00, sizeof(uint64_t));
inline constexpr unsigned long kSetOwner = Ioc(kNone, 0x01, 0);
inline constexpr unsigned long kSetMemTable = Ioc(kWrite, 0x03, sizeof(MemoryHeader));
inline constexpr unsigned long kSetVringNum = Ioc(kWrite, 0x10, sizeof(VringState));
inline constexpr unsigned long kSetVringAddr = Ioc(kWrite, 0x11, sizeof(VringAddr));
inline constexpr unsigned long kSetVringBase = Ioc(kWrite, 0x12, sizeof(VringState));
inline constexpr unsigned long kGetVringBase = Ioc(kRead | kWrite, 0x12, sizeof(VringState));
inline constexpr unsigned long kSetVringKick = Ioc(kWrite, 0x20, sizeof(VringFile));
inline constexpr unsigned long kSetVringCall = Ioc(kWrite, 0x21, sizeof(VringFile));
// vhost-vsock.
inline constexpr unsigned long kVsockSetGuestCid = Ioc(kWrite, 0x60, sizeof(uint64_t));
inline constexpr unsigned long kVsockSetRunning = Ioc(kWrite, 0x61, sizeof(int));
// vhost-net.
inline constexpr unsigned long kNetSetBackend = Ioc(kWrite, 0x30, sizeof(VringFile));

}  // namespace hull::vmm::virtio::vhost::abi
