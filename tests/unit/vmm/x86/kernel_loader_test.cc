#include "hull/vmm/x86/kernel_loader.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "hull/vmm/x86/boot_params.h"
#include "hull/vmm/x86/boot_tables.h"
#include "hull/vmm/x86/layout.h"
#include "hull/vmm/x86/mptable.h"
#include "hull/vmm/x86/pvh.h"
#include "test_images.h"

namespace hull::vmm::x86 {
namespace {

using testing::BzImageSpec;
using testing::ElfImage;

constexpr uint64_t kMem = 128 * kMiB;

// A packed field's value: gtest's macros take references, which a packed
// (unaligned) field must not bind to.
template <typename T>
T Copy(T value) {
  return value;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

GuestMemory MakeMemory(uint64_t mem = kMem) {
  Result<GuestMemory> memory = GuestMemory::Create(GuestRamRegions(mem).value());
  EXPECT_TRUE(memory.ok()) << memory.error().ToString();
  return std::move(memory).value();
}

LoadRequest Request(const std::vector<uint8_t>& kernel, const std::vector<uint8_t>* initrd) {
  LoadRequest request;
  request.kernel = kernel;
  if (initrd != nullptr) request.initrd = std::span<const uint8_t>(*initrd);
  request.cmdline = "console=ttyS0 reboot=k";
  request.mem_bytes = kMem;
  request.num_cpus = 2;
  request.kernel_name = "/k/vmlinux";
  return request;
}

TEST(X86LoadKernel, BootsAnElfVmlinuxThroughPvh) {
  const GuestMemory memory = MakeMemory();
  const auto kernel = ElfImage().Build();
  const std::vector<uint8_t> initrd(10000, 0x5A);
  Result<BootSetup> setup = LoadKernel(memory, Request(kernel, &initrd));
  ASSERT_TRUE(setup.ok()) << setup.error().ToString();
  EXPECT_EQ(setup->mode, BootMode::kPvh);
  EXPECT_EQ(setup->entry, GuestAddress(0x100'0010));
  EXPECT_EQ(setup->boot_info, GuestAddress(kPvhStartInfoAddress));
  ASSERT_TRUE(setup->initrd.has_value());
  EXPECT_EQ(setup->initrd->addr, GuestAddress(kMem - 3 * 4096));
  EXPECT_EQ(setup->initrd->size, 10000u);

  std::vector<uint8_t> loaded(10000);
  ASSERT_TRUE(memory.Read(setup->initrd->addr, loaded).ok());
  EXPECT_EQ(loaded, initrd);
  const auto info = memory.ReadObject<pvh::StartInfo>(GuestAddress(kPvhStartInfoAddress)).value();
  EXPECT_EQ(info.magic, pvh::kStartInfoMagic);
  EXPECT_EQ(info.nr_modules, 1u);
  EXPECT_EQ(memory.ReadObject<Gdt>(GuestAddress(kGdtAddress)).value(), kPvhGdt);
  char signature[4];
  ASSERT_TRUE(memory
                  .Read(GuestAddress(kMpTableAddress),
                        std::span<uint8_t>(reinterpret_cast<uint8_t*>(signature), 4))
                  .ok());
  EXPECT_EQ(std::memcmp(signature, "_MP_", 4), 0);

  const kvm::Regs regs = BootRegs(*setup);
  EXPECT_EQ(regs.rip, 0x100'0010u);
  EXPECT_EQ(regs.rbx, kPvhStartInfoAddress);
  kvm::Sregs sregs = {};
  ApplyBootSregs(*setup, sregs);
  EXPECT_EQ(sregs.cr0 & 0x8000'0000, 0u) << "PVH starts with paging off";
}

TEST(X86LoadKernel, BootsABzImageThroughThe64BitEntry) {
  const GuestMemory memory = MakeMemory();
  const auto kernel = BzImageSpec().Build();
  const std::vector<uint8_t> initrd(5000, 0x5A);
  Result<BootSetup> setup = LoadKernel(memory, Request(kernel, &initrd));
  ASSERT_TRUE(setup.ok()) << setup.error().ToString();
  EXPECT_EQ(setup->mode, BootMode::kLinux64);
  EXPECT_EQ(setup->entry, GuestAddress(0x10'0200));
  EXPECT_EQ(setup->boot_info, GuestAddress(kZeroPageAddress));
  // initrd_addr_max 0x7FFFFFFF is above RAM: the initrd ends at RAM's end.
  EXPECT_EQ(setup->initrd->addr, GuestAddress(kMem - 2 * 4096));

  const auto params = memory.ReadObject<boot::BootParams>(GuestAddress(kZeroPageAddress)).value();
  EXPECT_EQ(Copy(params.hdr.ramdisk_image), kMem - 2 * 4096);
  EXPECT_EQ(Copy(params.hdr.ramdisk_size), 5000u);
  EXPECT_EQ(Copy(params.e820_entries), 4);
  EXPECT_EQ(memory.ReadObject<Gdt>(GuestAddress(kGdtAddress)).value(), kLongModeGdt);
  EXPECT_EQ(memory.ReadObject<uint64_t>(GuestAddress(kPml4Address)).value(), kPdptAddress | 3);

  const kvm::Regs regs = BootRegs(*setup);
  EXPECT_EQ(regs.rip, 0x10'0200u);
  EXPECT_EQ(regs.rsi, kZeroPageAddress);
  kvm::Sregs sregs = {};
  ApplyBootSregs(*setup, sregs);
  EXPECT_EQ(sregs.cr3, kPml4Address);
}

TEST(X86LoadKernel, WorksWithoutAnInitramfs) {
  const GuestMemory memory = MakeMemory();
  const auto kernel = ElfImage().Build();
  Result<BootSetup> setup = LoadKernel(memory, Request(kernel, nullptr));
  ASSERT_TRUE(setup.ok()) << setup.error().ToString();
  EXPECT_FALSE(setup->initrd.has_value());
  EXPECT_EQ(memory.ReadObject<pvh::StartInfo>(GuestAddress(kPvhStartInfoAddress))->nr_modules, 0u);
}

TEST(X86LoadKernel, RejectsAFileThatIsNeitherFormat) {
  const GuestMemory memory = MakeMemory();
  const std::vector<uint8_t> kernel(4096, 0x90);
  Result<BootSetup> setup = LoadKernel(memory, Request(kernel, nullptr));
  ASSERT_FALSE(setup.ok());
  EXPECT_EQ(setup.error().code(), ENOEXEC);
  EXPECT_EQ(setup.error().message(),
            "kernel /k/vmlinux is neither an ELF vmlinux with a PVH note nor a bzImage");
}

TEST(X86LoadKernel, AnElfWithoutThePvhNoteSuggestsTheBzImage) {
  const GuestMemory memory = MakeMemory();
  ElfImage image;
  image.notes.clear();
  const auto kernel = image.Build();
  Result<BootSetup> setup = LoadKernel(memory, Request(kernel, nullptr));
  ASSERT_FALSE(setup.ok());
  const std::string& message = setup.error().message();
  EXPECT_TRUE(Contains(message,
                       "kernel /k/vmlinux: it is an ELF vmlinux without the PVH entry "
                       "note"))
      << message;
  EXPECT_TRUE(Contains(message, "CONFIG_PVH")) << message;
  EXPECT_TRUE(Contains(message, "bzImage")) << message;
}

TEST(X86LoadKernel, ParseErrorsNameTheKernel) {
  const GuestMemory memory = MakeMemory();
  BzImageSpec spec;
  spec.version = 0x0204;
  const auto kernel = spec.Build();
  Result<BootSetup> setup = LoadKernel(memory, Request(kernel, nullptr));
  ASSERT_FALSE(setup.ok());
  EXPECT_TRUE(Contains(setup.error().message(), "kernel /k/vmlinux: boot protocol 2.04"))
      << setup.error().message();
}

TEST(X86LoadKernel, AnInitramfsTooLargeSaysToRaiseMem) {
  const GuestMemory memory = MakeMemory();
  const auto kernel = ElfImage().Build();
  const std::vector<uint8_t> initrd(120 * kMiB, 0);
  Result<BootSetup> setup = LoadKernel(memory, Request(kernel, &initrd));
  ASSERT_FALSE(setup.ok());
  EXPECT_EQ(setup.error().code(), ENOMEM);
  EXPECT_TRUE(Contains(setup.error().message(),
                       "initramfs of 120 MiB does not fit in 128 MiB of "
                       "guest memory"))
      << setup.error().message();
}

TEST(X86LoadKernel, RejectsMemoryThatDoesNotMatchMemBytes) {
  const GuestMemory memory = MakeMemory(64 * kMiB);
  const auto kernel = ElfImage().Build();
  Result<BootSetup> setup = LoadKernel(memory, Request(kernel, nullptr));
  ASSERT_FALSE(setup.ok());
  EXPECT_TRUE(Contains(setup.error().message(), "GuestRamRegions")) << setup.error().message();
}

TEST(X86LoadKernel, RejectsZeroOrTooManyCpus) {
  const GuestMemory memory = MakeMemory();
  const auto kernel = ElfImage().Build();
  LoadRequest request = Request(kernel, nullptr);
  request.num_cpus = 0;
  EXPECT_FALSE(LoadKernel(memory, request).ok());
  request.num_cpus = kMaxVcpus + 1;
  EXPECT_FALSE(LoadKernel(memory, request).ok());
}

TEST(X86LoadKernel, RejectsATooLongCommandLine) {
  const GuestMemory memory = MakeMemory();
  const auto kernel = ElfImage().Build();
  LoadRequest request = Request(kernel, nullptr);
  request.cmdline = std::string(3000, 'x');
  Result<BootSetup> setup = LoadKernel(memory, request);
  ASSERT_FALSE(setup.ok());
  EXPECT_EQ(setup.error().code(), E2BIG);
}

}  // namespace
}  // namespace hull::vmm::x86
