// The loaders against the real guest kernel that kernel-config/build makes
// (cached outside the checkout). Skipped, saying why, when it is not built.

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "hull/vmm/x86/bzimage.h"
#include "hull/vmm/x86/elf_kernel.h"
#include "hull/vmm/x86/kernel_loader.h"
#include "hull/vmm/x86/layout.h"

namespace hull::vmm::x86 {
namespace {

// `kernel-config/build --dir`: the built kernel's directory, or nullopt.
std::optional<std::string> KernelDir() {
  const std::string command =
      std::string("'") + HULL_SOURCE_DIR + "/kernel-config/build' --dir 2>/dev/null";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return std::nullopt;
  std::string out;
  char buffer[512];
  while (std::fgets(buffer, sizeof(buffer), pipe) != nullptr) out += buffer;
  if (::pclose(pipe) != 0) return std::nullopt;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  if (out.empty()) return std::nullopt;
  return out;
}

std::optional<std::vector<uint8_t>> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

class X86RealKernel : public ::testing::Test {
 protected:
  // The file `name` of the built kernel, or a skip saying how to build it.
  std::optional<std::vector<uint8_t>> Load(const std::string& name) {
    const std::optional<std::string> dir = KernelDir();
    if (!dir) return std::nullopt;
    path_ = *dir + "/" + name;
    return ReadFile(path_);
  }
  std::string path_;
};

#define HULL_LOAD_OR_FAIL(var, name)                                                              \
  const std::optional<std::vector<uint8_t>> var = Load(name);                                     \
  if (!var) {                                                                                     \
    GTEST_FAIL() << "the guest kernel is not built (kernel-config/build --dir fails, or " << name \
                 << " is missing): run kernel-config/build";                                      \
  }

TEST_F(X86RealKernel, TheVmlinuxParsesAndHasAPvhEntryInsideItsSegments) {
  HULL_LOAD_OR_FAIL(file, "vmlinux");
  Result<ElfKernel> kernel = ParseElfKernel(*file);
  ASSERT_TRUE(kernel.ok()) << path_ << ": " << kernel.error().ToString();
  ASSERT_TRUE(kernel->pvh_entry.has_value()) << path_ << " has no PVH note (CONFIG_PVH?)";
  EXPECT_GE(kernel->start.raw(), kHighMemoryStart);
  EXPECT_GT(*kernel->pvh_entry, kernel->start);
  EXPECT_LT(*kernel->pvh_entry, kernel->end);
  EXPECT_GE(kernel->segments.size(), 2u);
}

TEST_F(X86RealKernel, TheVmlinuxLoadsInto128MiB) {
  HULL_LOAD_OR_FAIL(file, "vmlinux");
  Result<GuestMemory> memory = GuestMemory::Create(GuestRamRegions(128 * kMiB).value());
  ASSERT_TRUE(memory.ok());
  const std::vector<uint8_t> initrd(1 * kMiB, 0x1F);
  LoadRequest request;
  request.kernel = *file;
  request.initrd = std::span<const uint8_t>(initrd);
  request.cmdline = "console=ttyS0 reboot=k panic=-1";
  request.mem_bytes = 128 * kMiB;
  request.num_cpus = 2;
  request.kernel_name = path_;
  Result<BootSetup> setup = LoadKernel(*memory, request);
  ASSERT_TRUE(setup.ok()) << setup.error().ToString();
  EXPECT_EQ(setup->mode, BootMode::kPvh);
  EXPECT_GE(setup->initrd->addr, setup->kernel_end);
}

TEST_F(X86RealKernel, TheBzImageParsesWithA64BitEntry) {
  HULL_LOAD_OR_FAIL(file, "bzImage");
  Result<BzImage> image = ParseBzImage(*file);
  ASSERT_TRUE(image.ok()) << path_ << ": " << image.error().ToString();
  EXPECT_GE(image->protocol_version, 0x020F);
  EXPECT_GE(image->cmdline_size, 2047u);
  EXPECT_GT(image->init_size, 0u);
  EXPECT_GT(image->kernel_size, 0u);
  EXPECT_EQ(image->setup_header_end, 0x26Cu) << "6.1's header ends at 0x26C";
}

TEST_F(X86RealKernel, TheBzImageLoadsInto128MiB) {
  HULL_LOAD_OR_FAIL(file, "bzImage");
  Result<GuestMemory> memory = GuestMemory::Create(GuestRamRegions(128 * kMiB).value());
  ASSERT_TRUE(memory.ok());
  LoadRequest request;
  request.kernel = *file;
  request.cmdline = "console=ttyS0";
  request.mem_bytes = 128 * kMiB;
  request.num_cpus = 1;
  request.kernel_name = path_;
  Result<BootSetup> setup = LoadKernel(*memory, request);
  ASSERT_TRUE(setup.ok()) << setup.error().ToString();
  EXPECT_EQ(setup->mode, BootMode::kLinux64);
  EXPECT_EQ(setup->entry, GuestAddress(0x10'0200));
}

}  // namespace
}  // namespace hull::vmm::x86
