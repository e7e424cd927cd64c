#pragma once

// The KVM structures hull code may use, under our names. Code outside
// vmm/kvm/ includes this (or the headers that use it), never <linux/kvm.h>.

#include <linux/kvm.h>

#include <array>
#include <cstddef>
#include <cstdint>

namespace hull::kvm {

using Regs = kvm_regs;
using Sregs = kvm_sregs;
using Segment = kvm_segment;
using CpuidEntry = kvm_cpuid_entry2;
using KvmRun = kvm_run;
using Fpu = kvm_fpu;
using Ioeventfd = kvm_ioeventfd;

// A local APIC's register page as KVM_GET/SET_LAPIC carry it (struct
// kvm_lapic_state): 1 KiB, each register at its xAPIC MMIO offset.
inline constexpr size_t kLapicRegistersSize = KVM_APIC_REG_SIZE;
using LapicRegisters = std::array<uint8_t, kLapicRegistersSize>;
static_assert(sizeof(kvm_lapic_state) == kLapicRegistersSize);

// One model-specific register and its value (an entry of KVM_GET/SET_MSRS).
struct Msr {
  uint32_t index = 0;
  uint64_t value = 0;
  friend bool operator==(const Msr&, const Msr&) = default;
};

// The API version every KVM since Linux 2.6.22 reports.
inline constexpr int kKvmApiVersion = KVM_API_VERSION;

// KVM_CHECK_EXTENSION capabilities hull asks about.
enum class Capability : int {
  kIrqchip = KVM_CAP_IRQCHIP,
  kHlt = KVM_CAP_HLT,
  kUserMemory = KVM_CAP_USER_MEMORY,
  kSetTssAddr = KVM_CAP_SET_TSS_ADDR,
  kExtCpuid = KVM_CAP_EXT_CPUID,
  kNrVcpus = KVM_CAP_NR_VCPUS,
  kMaxVcpus = KVM_CAP_MAX_VCPUS,
  kNrMemslots = KVM_CAP_NR_MEMSLOTS,
  kMpState = KVM_CAP_MP_STATE,
  kIrqRouting = KVM_CAP_IRQ_ROUTING,
  kIrqfd = KVM_CAP_IRQFD,
  kPit2 = KVM_CAP_PIT2,
  kIoeventfd = KVM_CAP_IOEVENTFD,
  kSetIdentityMapAddr = KVM_CAP_SET_IDENTITY_MAP_ADDR,
  kAdjustClock = KVM_CAP_ADJUST_CLOCK,
  kTscDeadlineTimer = KVM_CAP_TSC_DEADLINE_TIMER,
  kImmediateExit = KVM_CAP_IMMEDIATE_EXIT,
};

}  // namespace hull::kvm
