#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "hull/common/result.h"
#include "hull/vmm/kvm/kvm_types.h"
#include "hull/vmm/kvm/vcpu_exit.h"

namespace hull::kvm {

// A vCPU's kvm_run page, shared between KVM and hull (not with the guest):
// turns the exit KVM left there into a VcpuExit, and writes the data an IN or
// MMIO read is waiting for. It only touches memory, so tests drive it with a
// plain buffer on hosts without KVM.
class RunPage {
 public:
  // `page` is the whole mapping (KVM_GET_VCPU_MMAP_SIZE bytes): at least a
  // kvm_run, aligned for it; I/O data lives further in.
  explicit RunPage(std::span<uint8_t> page);

  KvmRun& run() noexcept;

  // Decodes the exit KVM_RUN just reported. An IN or MMIO read becomes
  // pending and its data is preset to all-ones (an open bus) until answered.
  // KVM's offsets and sizes are checked against the mapping before use.
  Result<VcpuExit> DecodeExit();

  // The answer to the pending IoIn; exactly size * count bytes.
  Result<void> SetIoInData(std::span<const uint8_t> data);
  // The answer to the pending MmioRead; exactly len bytes.
  Result<void> SetMmioReadData(std::span<const uint8_t> data);

  // The next KVM_RUN consumes any answer: nothing is pending afterwards.
  void ClearPending() noexcept { pending_ = Pending::kNone; }

 private:
  enum class Pending { kNone, kIoIn, kMmioRead };

  Result<VcpuExit> DecodeIo();
  Result<VcpuExit> DecodeMmio();

  std::span<uint8_t> page_;
  Pending pending_ = Pending::kNone;
  // Where the pending answer goes in page_, and its exact length.
  size_t pending_offset_ = 0;
  size_t pending_length_ = 0;
};

}  // namespace hull::kvm
