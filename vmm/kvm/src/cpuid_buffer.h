#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "hull/common/check.h"
#include "hull/vmm/kvm/kvm_types.h"

namespace hull::kvm::internal {

inline constexpr uint32_t kMaxCpuidEntries = 4096;

// Storage for struct kvm_cpuid2, a header followed by a flexible array of
// entries, as KVM_{GET_SUPPORTED,SET}_CPUID2 want it.
class CpuidBuffer {
 public:
  explicit CpuidBuffer(uint32_t capacity)
      : storage_((sizeof(kvm_cpuid2) + capacity * sizeof(CpuidEntry) + sizeof(uint64_t) - 1) /
                 sizeof(uint64_t)),
        capacity_(capacity) {
    HULL_CHECK(capacity <= kMaxCpuidEntries);
    get()->nent = capacity;
  }

  // SAFETY: storage_ is 8-byte aligned (uint64_t), large enough for the header
  // and `capacity` entries, and kvm_cpuid2 is a C struct of integers.
  kvm_cpuid2* get() { return reinterpret_cast<kvm_cpuid2*>(storage_.data()); }

  // The entries KVM filled in (nent is updated by KVM_GET_SUPPORTED_CPUID).
  std::span<CpuidEntry> entries() {
    HULL_CHECK(get()->nent <= capacity_);
    return {get()->entries, get()->nent};
  }

 private:
  std::vector<uint64_t> storage_;
  uint32_t capacity_;
};

}  // namespace hull::kvm::internal
