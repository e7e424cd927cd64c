// The KVM device and VM set-up calls against a real /dev/kvm.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "hull/vmm/kvm/kvm_system.h"
#include "hull/vmm/kvm/vcpu.h"
#include "hull/vmm/kvm/vm.h"
#include "kvm_test_support.h"

namespace hull::kvm {
namespace {

using KvmDevice = KvmTest;

TEST_F(KvmDevice, ReportsAPlausibleVcpuMmapSize) {
  Result<size_t> size = kvm().VcpuMmapSize();
  ASSERT_TRUE(size.ok()) << size.error().ToString();
  EXPECT_GE(*size, sizeof(KvmRun));
  EXPECT_GE(*size, 4096u);
  EXPECT_EQ(*size % 4096, 0u);
  EXPECT_LE(*size, 1u << 20);
}

TEST_F(KvmDevice, SupportsTheCapabilitiesHullNeeds) {
  for (Capability capability :
       {Capability::kUserMemory, Capability::kIrqchip, Capability::kPit2, Capability::kIoeventfd,
        Capability::kIrqfd, Capability::kImmediateExit}) {
    Result<int> value = kvm().CheckExtension(capability);
    ASSERT_TRUE(value.ok()) << value.error().ToString();
    EXPECT_GT(*value, 0) << "capability " << static_cast<int>(capability);
  }
}

TEST_F(KvmDevice, ReportsSupportedCpuidWithTheBasicLeaf) {
  Result<std::vector<CpuidEntry>> cpuid = kvm().GetSupportedCpuid();
  ASSERT_TRUE(cpuid.ok()) << cpuid.error().ToString();
  const auto leaf0 = std::find_if(cpuid->begin(), cpuid->end(),
                                  [](const CpuidEntry& entry) { return entry.function == 0; });
  ASSERT_NE(leaf0, cpuid->end());
  EXPECT_GE(leaf0->eax, 1u);  // the highest basic leaf
}

TEST_F(KvmDevice, AcceptsTheVmSetUpABootNeeds) {
  Result<Vm> vm = Vm::Create(kvm());
  ASSERT_TRUE(vm.ok()) << vm.error().ToString();
  // Addresses just below 4 GiB, clear of RAM and MMIO, as other VMMs use.
  ASSERT_TRUE(vm->SetIdentityMapAddr(vmm::GuestAddress(0xfffbc000)).ok());
  ASSERT_TRUE(vm->SetTssAddr(vmm::GuestAddress(0xfffbd000)).ok());
  Result<void> irqchip = vm->CreateIrqchip();
  ASSERT_TRUE(irqchip.ok()) << irqchip.error().ToString();
  Result<void> pit = vm->CreatePit2();
  ASSERT_TRUE(pit.ok()) << pit.error().ToString();

  Result<Vcpu> vcpu = Vcpu::Create(*vm, 0);
  ASSERT_TRUE(vcpu.ok()) << vcpu.error().ToString();
  Result<std::vector<CpuidEntry>> cpuid = kvm().GetSupportedCpuid();
  ASSERT_TRUE(cpuid.ok()) << cpuid.error().ToString();
  Result<void> set = vcpu->SetCpuid(*cpuid);
  EXPECT_TRUE(set.ok()) << set.error().ToString();
}

TEST_F(KvmDevice, AMemorySlotErrorNamesTheIoctlAndSlot) {
  Result<Vm> vm = Vm::Create(kvm());
  ASSERT_TRUE(vm.ok()) << vm.error().ToString();
  alignas(4096) static uint8_t page[4096];
  // Not a multiple of the page size: KVM refuses.
  Result<void> result = vm->SetUserMemoryRegion(3, vmm::GuestAddress(0), 100, page);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message().find("KVM_SET_USER_MEMORY_REGION slot 3"), std::string::npos)
      << result.error().message();
}

}  // namespace
}  // namespace hull::kvm
