#pragma once

#include <cstdint>
#include <string_view>

#include "hull/common/result.h"
#include "hull/vmm/memory/guest_memory.h"

namespace hull::vmm::x86 {

// Writes `cmdline` and its terminating NUL at kCmdlineAddress. It must hold
// no NUL and at most `max_length` characters (the kernel's limit, itself at
// most kCmdlineCapacity - 1).
Result<void> WriteCmdline(const GuestMemory& memory, std::string_view cmdline, uint64_t max_length);

}  // namespace hull::vmm::x86
