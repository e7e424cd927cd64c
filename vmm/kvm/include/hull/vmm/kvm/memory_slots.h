#pragma once

#include <cstdint>

#include "hull/common/result.h"
#include "hull/vmm/kvm/vm.h"
#include "hull/vmm/memory/guest_memory.h"

namespace hull::kvm {

// Gives every region of `memory` to `vm` as a KVM memory slot, numbered from
// `first_slot` in address order. `memory` must outlive the VM's use of it.
Result<void> RegisterGuestMemory(Vm& vm, const vmm::GuestMemory& memory, uint32_t first_slot = 0);

}  // namespace hull::kvm
