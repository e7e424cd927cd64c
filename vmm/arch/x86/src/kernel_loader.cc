#include "hull/vmm/x86/kernel_loader.h"

#include <elf.h>
#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "hull/vmm/x86/boot_regs.h"
#include "hull/vmm/x86/boot_tables.h"
#include "hull/vmm/x86/bzimage.h"
#include "hull/vmm/x86/elf_kernel.h"
#include "hull/vmm/x86/layout.h"
#include "hull/vmm/x86/mptable.h"
#include "hull/vmm/x86/pvh.h"

namespace hull::vmm::x86 {
namespace {

// PVH kernels take the initramfs anywhere below 4 GiB.
constexpr uint64_t kPvhInitrdAddrMax = 0xFFFF'FFFF;

bool LooksLikeElf(std::span<const uint8_t> file) {
  return file.size() >= SELFMAG && std::memcmp(file.data(), ELFMAG, SELFMAG) == 0;
}

bool LooksLikeBzImage(std::span<const uint8_t> file) {
  static constexpr uint8_t kHdrS[] = {'H', 'd', 'r', 'S'};
  return file.size() >= 0x206 && std::memcmp(file.data() + 0x202, kHdrS, sizeof(kHdrS)) == 0;
}

Result<void> CheckRequest(const GuestMemory& memory, const LoadRequest& request) {
  HULL_TRY(CheckGuestMemorySize(request.mem_bytes));
  if (request.num_cpus == 0 || request.num_cpus > kMaxVcpus) {
    return Error(EINVAL,
                 fmt::format("{} vCPUs: hull supports 1 to {}", request.num_cpus, kMaxVcpus));
  }
  const GuestRegion* low = memory.FindRegion(GuestAddress(0));
  if (low == nullptr || low->end().raw() != LowRamEnd(request.mem_bytes)) {
    return Error(EINVAL, fmt::format("guest memory does not have the layout of a {}-MiB guest "
                                     "(make it from GuestRamRegions)",
                                     request.mem_bytes / kMiB));
  }
  return {};
}

// Places the initramfs (if any) above `kernel_end` and copies it in.
Result<std::optional<InitrdPlacement>> LoadInitrd(const GuestMemory& memory,
                                                  const LoadRequest& request,
                                                  GuestAddress kernel_end,
                                                  uint64_t initrd_addr_max) {
  if (!request.initrd) return std::optional<InitrdPlacement>();
  const std::span<const uint8_t> initrd = *request.initrd;
  HULL_ASSIGN_OR_RETURN(
      const GuestAddress addr,
      PlaceInitrd(initrd.size(), kernel_end, LowRamEnd(request.mem_bytes), initrd_addr_max));
  HULL_TRY(
      memory.Write(addr, initrd).WithContext(fmt::format("loading the initramfs at {}", addr)));
  return std::optional<InitrdPlacement>(InitrdPlacement{.addr = addr, .size = initrd.size()});
}

Result<BootSetup> LoadPvh(const GuestMemory& memory, const LoadRequest& request,
                          std::span<const E820Entry> e820) {
  HULL_ASSIGN_OR_RETURN(const ElfKernel kernel, ParseElfKernel(request.kernel));
  if (!kernel.pvh_entry) {
    return Error(ENOEXEC,
                 "it is an ELF vmlinux without the PVH entry note (Xen note "
                 "XEN_ELFNOTE_PHYS32_ENTRY, from CONFIG_PVH=y): build the kernel with "
                 "CONFIG_PVH, or boot its bzImage (arch/x86/boot/bzImage) instead");
  }
  HULL_TRY(LoadElfKernel(memory, request.kernel, kernel));
  BootSetup setup;
  setup.mode = BootMode::kPvh;
  setup.entry = *kernel.pvh_entry;
  setup.kernel_end = kernel.end;
  HULL_ASSIGN_OR_RETURN(setup.initrd, LoadInitrd(memory, request, kernel.end, kPvhInitrdAddrMax));
  HULL_ASSIGN_OR_RETURN(setup.boot_info,
                        WritePvhBootInfo(memory, request.cmdline, setup.initrd, e820));
  HULL_TRY(WriteGdt(memory, kPvhGdt));
  return setup;
}

Result<BootSetup> LoadLinux64(const GuestMemory& memory, const LoadRequest& request,
                              std::span<const E820Entry> e820) {
  HULL_ASSIGN_OR_RETURN(const BzImage image, ParseBzImage(request.kernel));
  BootSetup setup;
  setup.mode = BootMode::kLinux64;
  setup.kernel_end = image.kernel_end;
  setup.boot_info = GuestAddress(kZeroPageAddress);
  HULL_ASSIGN_OR_RETURN(setup.initrd,
                        LoadInitrd(memory, request, image.kernel_end, image.initrd_addr_max));
  HULL_ASSIGN_OR_RETURN(
      setup.entry, LoadBzImage(memory, request.kernel, image, request.cmdline, setup.initrd, e820));
  HULL_TRY(WriteGdt(memory, kLongModeGdt));
  HULL_TRY(WriteIdentityPageTables(memory));
  return setup;
}

}  // namespace

Result<BootSetup> LoadKernel(const GuestMemory& memory, const LoadRequest& request) {
  HULL_TRY(CheckRequest(memory, request));
  HULL_ASSIGN_OR_RETURN(const std::vector<E820Entry> e820, BuildE820(request.mem_bytes));
  if (!LooksLikeElf(request.kernel) && !LooksLikeBzImage(request.kernel)) {
    return Error(ENOEXEC, fmt::format("kernel {} is neither an ELF vmlinux with a PVH note nor a "
                                      "bzImage",
                                      request.kernel_name));
  }
  Result<BootSetup> setup = LooksLikeElf(request.kernel) ? LoadPvh(memory, request, e820)
                                                         : LoadLinux64(memory, request, e820);
  if (!setup.ok()) {
    return std::move(setup).error().WithContext(fmt::format("kernel {}", request.kernel_name));
  }
  HULL_TRY(WriteMpTable(memory, request.num_cpus));
  return setup;
}

kvm::Regs BootRegs(const BootSetup& setup) {
  switch (setup.mode) {
    case BootMode::kPvh:
      return PvhBootRegs(setup.entry, setup.boot_info);
    case BootMode::kLinux64:
      return LinuxBootRegs(setup.entry, setup.boot_info);
  }
  HULL_CHECK(false);
  return {};
}

void ApplyBootSregs(const BootSetup& setup, kvm::Sregs& sregs) {
  switch (setup.mode) {
    case BootMode::kPvh:
      ApplyPvhSregs(sregs);
      return;
    case BootMode::kLinux64:
      ApplyLongModeSregs(sregs);
      return;
  }
  HULL_CHECK(false);
}

}  // namespace hull::vmm::x86
