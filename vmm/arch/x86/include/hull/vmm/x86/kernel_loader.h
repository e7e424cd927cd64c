#pragma once

// The one call that prepares guest memory for booting Linux: it recognises
// the kernel (ELF vmlinux with a PVH note, or bzImage), loads it and the
// initramfs, and writes the command line, memory map, boot information, MP
// table and, for the 64-bit entry, the GDT and page tables. What the boot
// vCPU needs then comes from the returned BootSetup (BootRegs,
// ApplyBootSregs; vcpu_setup.h does all of a vCPU's set-up).

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "hull/common/result.h"
#include "hull/vmm/kvm/kvm_types.h"
#include "hull/vmm/memory/guest_address.h"
#include "hull/vmm/memory/guest_memory.h"
#include "hull/vmm/x86/initrd.h"

namespace hull::vmm::x86 {

struct LoadRequest {
  std::span<const uint8_t> kernel;                 // the whole kernel file
  std::optional<std::span<const uint8_t>> initrd;  // the whole initramfs
  std::string cmdline;
  uint64_t mem_bytes = 0;             // as given to GuestRamRegions for `memory`
  uint32_t num_cpus = 1;              // 1..kMaxVcpus
  std::string kernel_name = "image";  // the kernel's path, for messages
};

enum class BootMode {
  kPvh,      // ELF vmlinux: 32-bit PVH entry, %ebx = hvm_start_info
  kLinux64,  // bzImage: 64-bit entry, %rsi = zero page
};

struct BootSetup {
  BootMode mode = BootMode::kPvh;
  GuestAddress entry;
  // The hvm_start_info (kPvh) or the zero page (kLinux64).
  GuestAddress boot_info;
  // The first byte the kernel does not need while booting.
  GuestAddress kernel_end;
  std::optional<InitrdPlacement> initrd;
};

// Loads everything for booting `request` into `memory` (made from
// GuestRamRegions(request.mem_bytes)). Errors name the kernel and say what
// to change (a bigger --mem, a kernel with CONFIG_PVH or its bzImage, a
// shorter command line).
Result<BootSetup> LoadKernel(const GuestMemory& memory, const LoadRequest& request);

// The boot vCPU's registers at the entry. Application processors need none:
// the guest starts them through its local APIC (INIT/SIPI, which KVM's
// in-kernel LAPIC handles).
kvm::Regs BootRegs(const BootSetup& setup);
// The boot vCPU's special registers, edited into a KVM_GET_SREGS baseline.
void ApplyBootSregs(const BootSetup& setup, kvm::Sregs& sregs);

}  // namespace hull::vmm::x86
