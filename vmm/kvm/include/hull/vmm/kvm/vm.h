#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>

#include "hull/common/event_fd.h"
#include "hull/common/result.h"
#include "hull/common/unique_fd.h"
#include "hull/vmm/kvm/kvm_system.h"
#include "hull/vmm/memory/guest_address.h"

namespace hull::kvm {

// One KVM virtual machine (KVM_CREATE_VM): memory slots, in-kernel devices.
class Vm {
 public:
  static Result<Vm> Create(const KvmSystem& kvm);

  // KVM_SET_USER_MEMORY_REGION: maps `size` bytes of this process at `host`
  // to guest-physical `guest` in `slot`. `host` must stay mapped for the
  // VM's lifetime (GuestMemory owns it). A size of 0 deletes the slot.
  Result<void> SetUserMemoryRegion(uint32_t slot, vmm::GuestAddress guest, uint64_t size,
                                   void* host);

  // KVM_CREATE_IRQCHIP: in-kernel PIC, IOAPIC and local APICs. Call before
  // creating vCPUs.
  Result<void> CreateIrqchip();
  // KVM_CREATE_PIT2, with the PC speaker port left to a dummy.
  Result<void> CreatePit2();
  // KVM_SET_TSS_ADDR: three pages of guest-physical space Intel VMX needs for
  // real mode; must not overlap RAM or MMIO.
  Result<void> SetTssAddr(vmm::GuestAddress address);
  // KVM_SET_IDENTITY_MAP_ADDR: one page for VMX's identity page table.
  Result<void> SetIdentityMapAddr(vmm::GuestAddress address);

  // KVM_IRQFD: a signal of `event` raises interrupt line `gsi` (edge: KVM
  // asserts and deasserts it). Unregister with the same pair.
  Result<void> RegisterIrqfd(const EventFd& event, uint32_t gsi);
  Result<void> UnregisterIrqfd(const EventFd& event, uint32_t gsi);

  // KVM_IOEVENTFD: a guest write of `len` bytes (1, 2, 4 or 8; 0 = any
  // length, MMIO only, without datamatch) to `address` signals `event`
  // inside KVM instead of exiting to us; with `datamatch`, only writes of
  // that value. With `pio`, `address` is an I/O port (below 0x10000), else
  // a guest-physical MMIO address. Unregister with the same arguments.
  Result<void> RegisterIoeventfd(const EventFd& event, vmm::GuestAddress address, uint32_t len,
                                 std::optional<uint64_t> datamatch, bool pio);
  Result<void> UnregisterIoeventfd(const EventFd& event, vmm::GuestAddress address, uint32_t len,
                                   std::optional<uint64_t> datamatch, bool pio);

  int fd() const noexcept { return fd_.Get(); }
  size_t vcpu_mmap_size() const noexcept { return vcpu_mmap_size_; }

 private:
  Vm(UniqueFd fd, size_t vcpu_mmap_size) noexcept
      : fd_(std::move(fd)), vcpu_mmap_size_(vcpu_mmap_size) {}

  UniqueFd fd_;
  size_t vcpu_mmap_size_;
};

// The kvm_ioeventfd that KVM_IOEVENTFD gets for these arguments, or the error
// for a combination KVM would refuse (or that could never match). A pure
// function so that every case can be tested anywhere.
Result<Ioeventfd> MakeIoeventfd(int fd, vmm::GuestAddress address, uint32_t len,
                                std::optional<uint64_t> datamatch, bool pio, bool deassign);

}  // namespace hull::kvm
