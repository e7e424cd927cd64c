#pragma once

// Why KVM_RUN returned, as a typed value: a vCPU loop is one std::visit.
//
// Spans in an exit point into the vCPU's kvm_run page (data KVM copied there,
// not guest memory) and are valid until the next Vcpu::Run().

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "hull/vmm/memory/guest_address.h"

namespace hull::kvm {

// OUT/OUTS: `count` items of `size` bytes each, written to `port`.
struct IoOut {
  uint16_t port = 0;
  uint8_t size = 0;
  uint32_t count = 0;
  std::span<const uint8_t> bytes;  // size * count bytes
};

// IN/INS: the guest waits for size * count bytes; answer with
// Vcpu::SetIoInData() before the next Run().
struct IoIn {
  uint16_t port = 0;
  uint8_t size = 0;
  uint32_t count = 0;
};

// A store to guest-physical memory no slot backs.
struct MmioWrite {
  vmm::GuestAddress addr;
  std::span<const uint8_t> bytes;  // 1..8 bytes
};

// A load from guest-physical memory no slot backs; answer with
// Vcpu::SetMmioReadData() before the next Run().
struct MmioRead {
  vmm::GuestAddress addr;
  uint32_t len = 0;  // 1..8
};

struct Hlt {};
// Triple fault or similar: the guest is dead (a reset, for a PC).
struct Shutdown {};
// KVM_EXIT_SYSTEM_EVENT: KVM_SYSTEM_EVENT_SHUTDOWN, _RESET, _CRASH, ...
struct SystemEvent {
  uint32_t type = 0;
};
// The hardware refused to enter the guest (bad vCPU state).
struct FailEntry {
  uint64_t reason = 0;
};
struct InternalError {
  uint32_t suberror = 0;
};
// KVM_RUN was interrupted by a signal (or immediate_exit): a kick.
struct Intr {};
// An exit reason hull does not handle.
struct Unknown {
  uint32_t reason = 0;
};

using VcpuExit = std::variant<IoOut, IoIn, MmioWrite, MmioRead, Hlt, Shutdown, SystemEvent,
                              FailEntry, InternalError, Intr, Unknown>;

// "IoOut", "Hlt", ...
std::string_view ExitName(const VcpuExit& exit);
// The name with its fields, for logs and errors:
// "IoOut port=0x3f8 size=1 count=1 bytes=48".
std::string DescribeExit(const VcpuExit& exit);

}  // namespace hull::kvm
