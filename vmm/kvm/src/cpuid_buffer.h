#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "hull/common/check.h"
#include "hull/vmm/kvm/kvm_types.h"
#include "ioctl_numbers.h"

namespace hull::kvm::internal {

inline constexpr uint32_t kMaxCpuidEntries = 4096;

// Storage for struct kvm_cpuid2 as C lays it out: the 8-byte CpuidHeader
// (nent, padding), then the kvm_cpuid_entry2 array, as
// KVM_{GET_SUPPORTED,SET}_CPUID2 want it. Built by hand rather than through
// struct kvm_cpuid2, whose C++ layout puts `entries` at offset 12, not 8
// (see ioctl_numbers.h): reading through it shifts every entry by 4 bytes.
class CpuidBuffer {
 public:
  explicit CpuidBuffer(uint32_t capacity)
      : storage_(kHeaderWords +
                 (capacity * sizeof(CpuidEntry) + sizeof(uint64_t) - 1) / sizeof(uint64_t)),
        capacity_(capacity) {
    HULL_CHECK(capacity <= kMaxCpuidEntries);
    SetCount(capacity);
  }

  // What the ioctl takes.
  void* get() { return storage_.data(); }

  uint32_t count() const {
    CpuidHeader header;
    std::memcpy(&header, storage_.data(), sizeof(header));
    return header.nent;
  }

  // The entries (KVM_GET_SUPPORTED_CPUID updates the count).
  // SAFETY: the entries start 8 bytes in (4-byte alignment suffices for
  // kvm_cpuid_entry2, a C struct of integers) and storage_ holds capacity_.
  std::span<CpuidEntry> entries() {
    const uint32_t n = count();
    HULL_CHECK(n <= capacity_);
    return {reinterpret_cast<CpuidEntry*>(storage_.data() + kHeaderWords), n};
  }

 private:
  static_assert(sizeof(CpuidHeader) == sizeof(uint64_t));
  static_assert(sizeof(CpuidEntry) == 40 && alignof(CpuidEntry) <= alignof(uint64_t));
  static constexpr uint32_t kHeaderWords = 1;

  void SetCount(uint32_t n) {
    CpuidHeader header = {.nent = n, .padding = 0};
    std::memcpy(storage_.data(), &header, sizeof(header));
  }

  std::vector<uint64_t> storage_;
  uint32_t capacity_;
};

}  // namespace hull::kvm::internal
