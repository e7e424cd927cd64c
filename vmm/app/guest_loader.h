#pragma once

// Reads the kernel and initramfs files named by the configuration (mapped,
// not copied) and has the x86 loader place them in guest memory.

#include <string>

#include "hull/common/result.h"
#include "hull/vmm/core/config.h"
#include "hull/vmm/memory/guest_memory.h"
#include "hull/vmm/x86/kernel_loader.h"

namespace hull::vmm {

Result<x86::BootSetup> LoadGuestKernel(const GuestMemory& memory, const VmmConfig& config,
                                       const std::string& cmdline);

}  // namespace hull::vmm
