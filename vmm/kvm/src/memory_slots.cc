#include "hull/vmm/kvm/memory_slots.h"

#include <fmt/format.h>

namespace hull::kvm {

Result<void> RegisterGuestMemory(Vm& vm, const vmm::GuestMemory& memory, uint32_t first_slot) {
  uint32_t slot = first_slot;
  for (const vmm::GuestRegion& region : memory.regions()) {
    HULL_TRY(vm.SetUserMemoryRegion(slot, region.base(), region.size(), region.host_address())
                 .WithContext("registering guest memory"));
    ++slot;
  }
  return {};
}

}  // namespace hull::kvm
