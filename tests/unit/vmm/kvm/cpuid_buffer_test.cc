// The kvm_cpuid2 buffer must use C's layout (entries at offset 8), which the
// C++ view of <linux/kvm.h> gets wrong; this pins the layout KVM expects.
#include "../../../../vmm/kvm/src/cpuid_buffer.h"

#include <gtest/gtest.h>

#include <cstring>

namespace hull::kvm::internal {
namespace {

TEST(CpuidBuffer, PutsTheCountFirstAndTheEntriesAtOffsetEight) {
  CpuidBuffer buffer(2);
  auto* bytes = static_cast<uint8_t*>(buffer.get());
  uint32_t nent = 0;
  std::memcpy(&nent, bytes, sizeof(nent));
  EXPECT_EQ(nent, 2u);
  buffer.entries()[0].function = 0x40000000;
  buffer.entries()[1].eax = 0x4b4d564b;
  uint32_t function = 0;
  std::memcpy(&function, bytes + 8, sizeof(function));
  EXPECT_EQ(function, 0x40000000u) << "entry 0's function must sit right after the header";
  uint32_t eax = 0;
  std::memcpy(&eax, bytes + 8 + sizeof(CpuidEntry) + 12,
              sizeof(eax));  // after function, index, flags
  EXPECT_EQ(eax, 0x4b4d564bu);
}

}  // namespace
}  // namespace hull::kvm::internal
