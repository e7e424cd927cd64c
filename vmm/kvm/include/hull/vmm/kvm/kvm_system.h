#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hull/common/result.h"
#include "hull/common/unique_fd.h"
#include "hull/vmm/kvm/kvm_types.h"

namespace hull::kvm {

inline constexpr std::string_view kDefaultKvmPath = "/dev/kvm";

// The opened KVM device (/dev/kvm): system-wide queries, and the factory of VMs.
class KvmSystem {
 public:
  // Opens `path` and checks KVM_GET_API_VERSION. Errors say what is wrong and
  // how to fix it (no KVM on this host, no permission, module not loaded).
  static Result<KvmSystem> Open(std::string_view path = kDefaultKvmPath);

  // KVM_CHECK_EXTENSION: 0 when unsupported, else a capability-specific value.
  Result<int> CheckExtension(Capability capability) const;
  // KVM_GET_VCPU_MMAP_SIZE: the size of each vCPU's kvm_run mapping.
  Result<size_t> VcpuMmapSize() const;
  // KVM_GET_SUPPORTED_CPUID: what this host's KVM can offer a guest.
  Result<std::vector<CpuidEntry>> GetSupportedCpuid() const;

  int fd() const noexcept { return fd_.Get(); }
  const std::string& path() const noexcept { return path_; }

 private:
  KvmSystem(UniqueFd fd, std::string path) noexcept : fd_(std::move(fd)), path_(std::move(path)) {}

  UniqueFd fd_;
  std::string path_;
};

// The error Open() reports when open(`path`) failed with `errnum`; a pure
// function so that every case (ENOENT, EACCES, ...) can be tested anywhere.
Error KvmOpenError(std::string_view path, int errnum);

}  // namespace hull::kvm
