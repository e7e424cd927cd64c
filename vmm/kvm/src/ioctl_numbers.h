#pragma once

// Request numbers of the KVM ioctls whose argument ends in a flexible array.
//
// <linux/kvm.h> builds them from sizeof(struct kvm_cpuid2) and friends, and
// since Linux 6.1 declares those arrays with __DECLARE_FLEX_ARRAY, which in
// C++ wraps the array in a struct with an empty member: g++ then sizes
// struct kvm_cpuid2 at 12 bytes instead of C's 8, the size field inside the
// request number differs, and KVM answers EINVAL. So hull spells these
// numbers out from the C layout of each fixed header, checked below against
// the values a C compiler produces.

#include <sys/ioctl.h>

#include <cstdint>

#include "hull/vmm/kvm/kvm_types.h"

namespace hull::kvm::internal {

// The fixed headers, laid out as C lays them out (the array adds nothing).
struct CpuidHeader {
  uint32_t nent;
  uint32_t padding;
};
struct MsrsHeader {
  uint32_t nmsrs;
  uint32_t pad;
};
struct MsrListHeader {
  uint32_t nmsrs;
};
struct IrqRoutingHeader {
  uint32_t nr;
  uint32_t flags;
};

inline constexpr unsigned long kGetSupportedCpuid = _IOWR(KVMIO, 0x05, CpuidHeader);
inline constexpr unsigned long kSetCpuid2 = _IOW(KVMIO, 0x90, CpuidHeader);
inline constexpr unsigned long kGetMsrIndexList = _IOWR(KVMIO, 0x02, MsrListHeader);
inline constexpr unsigned long kGetMsrs = _IOWR(KVMIO, 0x88, MsrsHeader);
inline constexpr unsigned long kSetMsrs = _IOW(KVMIO, 0x89, MsrsHeader);
inline constexpr unsigned long kSetGsiRouting = _IOW(KVMIO, 0x6a, IrqRoutingHeader);

// What `gcc` computes for the <linux/kvm.h> macros on x86-64.
static_assert(kGetSupportedCpuid == 0xc008ae05);
static_assert(kSetCpuid2 == 0x4008ae90);
static_assert(kGetMsrIndexList == 0xc004ae02);
static_assert(kGetMsrs == 0xc008ae88);
static_assert(kSetMsrs == 0x4008ae89);
static_assert(kSetGsiRouting == 0x4008ae6a);

}  // namespace hull::kvm::internal
