#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "hull/common/check.h"
#include "hull/vmm/kvm/kvm_types.h"
#include "ioctl_numbers.h"

namespace hull::kvm::internal {

// KVM refuses more MSRs per call than this (MAX_IO_MSRS in arch/x86/kvm/x86.c).
inline constexpr uint32_t kMaxMsrsPerCall = 256;

// Storage for struct kvm_msrs as C lays it out: the 8-byte MsrsHeader, then
// the kvm_msr_entry array. Built by hand rather than through struct kvm_msrs,
// whose C++ layout differs (see ioctl_numbers.h).
class MsrBuffer {
 public:
  explicit MsrBuffer(uint32_t count) : storage_(kHeaderWords + count * kEntryWords), count_(count) {
    HULL_CHECK(count <= kMaxMsrsPerCall);
    MsrsHeader header = {.nmsrs = count, .pad = 0};
    static_assert(sizeof(header) == sizeof(uint64_t));
    std::memcpy(storage_.data(), &header, sizeof(header));
  }

  // What the ioctl takes.
  void* get() { return storage_.data(); }

  // SAFETY: the entries start 8 bytes in (8-byte aligned, as kvm_msr_entry
  // needs) and storage_ holds count_ of them; kvm_msr_entry is a C struct of
  // integers.
  std::span<kvm_msr_entry> entries() {
    return {reinterpret_cast<kvm_msr_entry*>(storage_.data() + kHeaderWords), count_};
  }

 private:
  static_assert(sizeof(MsrsHeader) == 8);
  static_assert(sizeof(kvm_msr_entry) == 16 && alignof(kvm_msr_entry) <= alignof(uint64_t));
  static constexpr uint32_t kHeaderWords = 1;
  static constexpr uint32_t kEntryWords = sizeof(kvm_msr_entry) / sizeof(uint64_t);

  std::vector<uint64_t> storage_;
  uint32_t count_;
};

}  // namespace hull::kvm::internal
