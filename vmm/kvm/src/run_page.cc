#include "hull/vmm/kvm/run_page.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "hull/common/check.h"

namespace hull::kvm {

RunPage::RunPage(std::span<uint8_t> page) : page_(page) {
  HULL_CHECK(page_.size() >= sizeof(KvmRun));
  HULL_CHECK(reinterpret_cast<uintptr_t>(page_.data()) % alignof(KvmRun) == 0);
}

KvmRun& RunPage::run() noexcept {
  // SAFETY: the constructor checked size and alignment; kvm_run is a C struct
  // of integers written only by KVM and by us.
  return *reinterpret_cast<KvmRun*>(page_.data());
}

Result<VcpuExit> RunPage::DecodeExit() {
  pending_ = Pending::kNone;
  const KvmRun& r = run();
  switch (r.exit_reason) {
    case KVM_EXIT_IO:
      return DecodeIo();
    case KVM_EXIT_MMIO:
      return DecodeMmio();
    case KVM_EXIT_HLT:
      return VcpuExit(Hlt{});
    case KVM_EXIT_SHUTDOWN:
      return VcpuExit(Shutdown{});
    case KVM_EXIT_SYSTEM_EVENT:
      return VcpuExit(SystemEvent{.type = r.system_event.type});
    case KVM_EXIT_FAIL_ENTRY:
      return VcpuExit(FailEntry{.reason = r.fail_entry.hardware_entry_failure_reason});
    case KVM_EXIT_INTERNAL_ERROR:
      return VcpuExit(InternalError{.suberror = r.internal.suberror});
    case KVM_EXIT_INTR:
      return VcpuExit(Intr{});
    default:
      return VcpuExit(Unknown{.reason = r.exit_reason});
  }
}

Result<VcpuExit> RunPage::DecodeIo() {
  const auto& io = run().io;
  if (io.size != 1 && io.size != 2 && io.size != 4) {
    return Error(EPROTO, fmt::format("KVM_EXIT_IO on port {:#x} with size {}", io.port, io.size));
  }
  if (io.count == 0) {
    return Error(EPROTO, fmt::format("KVM_EXIT_IO on port {:#x} with count 0", io.port));
  }
  // u8 * u32 fits in u64; compare without adding to avoid overflow.
  const uint64_t length = uint64_t{io.size} * io.count;
  if (io.data_offset > page_.size() || length > page_.size() - io.data_offset) {
    return Error(EPROTO, fmt::format("KVM_EXIT_IO on port {:#x}: {} bytes at offset {:#x} lie "
                                     "outside the {:#x}-byte kvm_run mapping",
                                     io.port, length, io.data_offset, page_.size()));
  }
  const auto data = page_.subspan(static_cast<size_t>(io.data_offset), static_cast<size_t>(length));
  if (io.direction == KVM_EXIT_IO_OUT) {
    return VcpuExit(IoOut{.port = io.port, .size = io.size, .count = io.count, .bytes = data});
  }
  std::memset(data.data(), 0xff, data.size());
  pending_ = Pending::kIoIn;
  pending_offset_ = static_cast<size_t>(io.data_offset);
  pending_length_ = data.size();
  return VcpuExit(IoIn{.port = io.port, .size = io.size, .count = io.count});
}

Result<VcpuExit> RunPage::DecodeMmio() {
  auto& mmio = run().mmio;
  if (mmio.len == 0 || mmio.len > sizeof(mmio.data)) {
    return Error(EPROTO,
                 fmt::format("KVM_EXIT_MMIO at {:#x} with length {}", mmio.phys_addr, mmio.len));
  }
  const vmm::GuestAddress addr(mmio.phys_addr);
  if (mmio.is_write != 0) {
    return VcpuExit(
        MmioWrite{.addr = addr, .bytes = std::span<const uint8_t>(mmio.data, mmio.len)});
  }
  std::memset(mmio.data, 0xff, sizeof(mmio.data));
  pending_ = Pending::kMmioRead;
  // SAFETY: mmio.data lies inside the kvm_run at the start of page_.
  pending_offset_ = static_cast<size_t>(reinterpret_cast<const uint8_t*>(mmio.data) - page_.data());
  pending_length_ = mmio.len;
  return VcpuExit(MmioRead{.addr = addr, .len = mmio.len});
}

Result<void> RunPage::SetIoInData(std::span<const uint8_t> data) {
  if (pending_ != Pending::kIoIn) {
    return Error(EINVAL, "SetIoInData: the last exit was not an IoIn waiting for data");
  }
  if (data.size() != pending_length_) {
    return Error(EINVAL, fmt::format("SetIoInData: port {:#x} wants {} bytes, got {}",
                                     run().io.port, pending_length_, data.size()));
  }
  std::memcpy(page_.data() + pending_offset_, data.data(), data.size());
  return {};
}

Result<void> RunPage::SetMmioReadData(std::span<const uint8_t> data) {
  if (pending_ != Pending::kMmioRead) {
    return Error(EINVAL, "SetMmioReadData: the last exit was not an MmioRead waiting for data");
  }
  if (data.size() != pending_length_) {
    return Error(EINVAL, fmt::format("SetMmioReadData: read at {:#x} wants {} bytes, got {}",
                                     run().mmio.phys_addr, pending_length_, data.size()));
  }
  std::memcpy(page_.data() + pending_offset_, data.data(), data.size());
  return {};
}

}  // namespace hull::kvm
