#include "hull/vmm/kvm/kvm_system.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <string>

namespace hull::kvm {
namespace {

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(KvmSystemOpen, AMissingDeviceNamesThePathAndTheFix) {
  Result<KvmSystem> kvm = KvmSystem::Open("/nonexistent/kvm");
  ASSERT_FALSE(kvm.ok());
  const std::string text = kvm.error().ToString();
  EXPECT_EQ(kvm.error().code(), ENOENT);
  EXPECT_TRUE(Contains(text, "no /nonexistent/kvm: this host has no KVM")) << text;
  EXPECT_TRUE(Contains(text, "load kvm_intel or kvm_amd")) << text;
  EXPECT_TRUE(Contains(text, "tests/kvm-sandbox/run")) << text;
}

TEST(KvmSystemOpen, ADeviceThatIsNotKvmFailsTheApiVersionCheck) {
  Result<KvmSystem> kvm = KvmSystem::Open("/dev/null");
  ASSERT_FALSE(kvm.ok());
  const std::string text = kvm.error().message();
  EXPECT_TRUE(Contains(text, "KVM_GET_API_VERSION on /dev/null")) << text;
}

TEST(KvmOpenError, PermissionDeniedSaysHowToGetAccess) {
  for (int errnum : {EACCES, EPERM}) {
    const Error error = KvmOpenError("/dev/kvm", errnum);
    EXPECT_EQ(error.code(), errnum);
    EXPECT_EQ(error.message(),
              "permission denied on /dev/kvm: add the user to group 'kvm' or run as root");
  }
}

TEST(KvmOpenError, ANodeWithoutADriverSaysToLoadTheModule) {
  const Error error = KvmOpenError("/dev/kvm", ENXIO);
  EXPECT_TRUE(Contains(error.message(), "load kvm_intel or kvm_amd")) << error.message();
}

TEST(KvmOpenError, OtherErrorsNameThePathAndTheSystemMessage) {
  const Error error = KvmOpenError("/dev/kvm", EMFILE);
  EXPECT_EQ(error.message(), "open /dev/kvm: Too many open files");
}

}  // namespace
}  // namespace hull::kvm
