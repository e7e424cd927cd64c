#include "hull/vmm/x86/vcpu_state.h"

#include <cstring>

namespace hull::vmm::x86 {
namespace {

constexpr uint16_t kFpuControlWord = 0x37F;
constexpr uint32_t kMxcsr = 0x1F80;

void SetDeliveryMode(std::span<uint8_t, kvm::kLapicRegistersSize> lapic, size_t offset,
                     uint32_t mode) {
  uint32_t value = 0;
  std::memcpy(&value, lapic.data() + offset, sizeof(value));
  value = (value & ~lapic::kDeliveryModeMask) | mode;
  std::memcpy(lapic.data() + offset, &value, sizeof(value));
}

}  // namespace

std::vector<kvm::Msr> BootMsrs() {
  return {
      {.index = msr::kSysenterCs, .value = 0},
      {.index = msr::kSysenterEsp, .value = 0},
      {.index = msr::kSysenterEip, .value = 0},
      {.index = msr::kStar, .value = 0},
      {.index = msr::kCstar, .value = 0},
      {.index = msr::kKernelGsBase, .value = 0},
      {.index = msr::kSyscallMask, .value = 0},
      {.index = msr::kLstar, .value = 0},
      {.index = msr::kTsc, .value = 0},
      {.index = msr::kMiscEnable, .value = msr::kMiscEnableFastStrings},
      {.index = msr::kMtrrDefType, .value = msr::kMtrrDefTypeEnabledWriteBack},
  };
}

kvm::Fpu BootFpu() {
  kvm::Fpu fpu = {};
  fpu.fcw = kFpuControlWord;
  fpu.mxcsr = kMxcsr;
  return fpu;
}

void ConfigureLapicLints(std::span<uint8_t, kvm::kLapicRegistersSize> lapic) {
  SetDeliveryMode(lapic, lapic::kLvtLint0, lapic::kDeliveryModeExtInt);
  SetDeliveryMode(lapic, lapic::kLvtLint1, lapic::kDeliveryModeNmi);
}

}  // namespace hull::vmm::x86
