#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <utility>

#include "hull/vmm/kvm/kvm_system.h"

namespace hull::kvm {

// Opens /dev/kvm for each test. Where there is none the test FAILS with the
// reason and the fix: these tests exist to run under real KVM, and a skip
// would let a broken sandbox pass unnoticed.
class KvmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<KvmSystem> kvm = KvmSystem::Open();
    if (!kvm.ok()) GTEST_FAIL() << "this test needs KVM: " << kvm.error().ToString();
    kvm_.emplace(std::move(kvm).value());
  }

  KvmSystem& kvm() { return *kvm_; }

 private:
  std::optional<KvmSystem> kvm_;
};

}  // namespace hull::kvm
