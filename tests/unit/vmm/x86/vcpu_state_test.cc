#include "hull/vmm/x86/vcpu_state.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>

namespace hull::vmm::x86 {
namespace {

uint32_t Register(const kvm::LapicRegisters& lapic, size_t offset) {
  uint32_t value = 0;
  std::memcpy(&value, lapic.data() + offset, sizeof(value));
  return value;
}

void SetRegister(kvm::LapicRegisters& lapic, size_t offset, uint32_t value) {
  std::memcpy(lapic.data() + offset, &value, sizeof(value));
}

TEST(X86VcpuState, BootMsrsAreFirecrackersList) {
  std::map<uint32_t, uint64_t> msrs;
  for (const kvm::Msr& m : BootMsrs()) {
    EXPECT_TRUE(msrs.emplace(m.index, m.value).second) << "MSR " << m.index << " twice";
  }
  const std::map<uint32_t, uint64_t> expected = {
      {0x174, 0},
      {0x175, 0},
      {0x176, 0},
      {0xC0000081, 0},
      {0xC0000082, 0},
      {0xC0000083, 0},
      {0xC0000084, 0},
      {0xC0000102, 0},
      {0x10, 0},
      {0x1A0, 1},
      {0x2FF, (1u << 11) | 6},
  };
  EXPECT_EQ(msrs, expected);
}

TEST(X86VcpuState, BootFpuMasksAllExceptions) {
  const kvm::Fpu fpu = BootFpu();
  EXPECT_EQ(fpu.fcw, 0x37F);
  EXPECT_EQ(fpu.mxcsr, 0x1F80u);
  EXPECT_EQ(fpu.fsw, 0);
}

TEST(X86VcpuState, LintsBecomeExtIntAndNmiKeepingTheOtherBits) {
  kvm::LapicRegisters lapic = {};
  SetRegister(lapic, 0x350, 0x0001'0000 | 0x200 | 0x31);  // masked, SMI mode, vector
  SetRegister(lapic, 0x360, 0x0001'0000);                 // masked, fixed
  SetRegister(lapic, 0x340, 0xDEAD'BEEF);
  ConfigureLapicLints(lapic);
  EXPECT_EQ(Register(lapic, 0x350), 0x0001'0000u | 0x700 | 0x31);
  EXPECT_EQ(Register(lapic, 0x360), 0x0001'0000u | 0x400);
  EXPECT_EQ(Register(lapic, 0x340), 0xDEAD'BEEFu) << "other registers untouched";
}

}  // namespace
}  // namespace hull::vmm::x86
