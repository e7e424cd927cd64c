#include "hull/vmm/kvm/kvm_system.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstdint>

#include "cpuid_buffer.h"
#include "hull/common/eintr.h"
#include "ioctl_numbers.h"

namespace hull::kvm {

Error KvmOpenError(std::string_view path, int errnum) {
  switch (errnum) {
    case ENOENT:
      return Error(errnum, fmt::format("no {}: this host has no KVM (enable virtualisation in the "
                                       "firmware and load kvm_intel or kvm_amd, or run through "
                                       "tests/kvm-sandbox/run)",
                                       path));
    case EACCES:
    case EPERM:
      return Error(errnum, fmt::format("permission denied on {}: add the user to group 'kvm' or "
                                       "run as root",
                                       path));
    case ENODEV:
    case ENXIO:
      return Error(errnum, fmt::format("{} exists but no KVM driver answers it: load kvm_intel or "
                                       "kvm_amd (and enable virtualisation in the firmware)",
                                       path));
    default:
      return Error::FromErrno(errnum, fmt::format("open {}", path));
  }
}

Result<KvmSystem> KvmSystem::Open(std::string_view path) {
  std::string owned_path(path);
  UniqueFd fd(RetryOnEintr([&] { return ::open(owned_path.c_str(), O_RDWR | O_CLOEXEC); }));
  if (!fd) return KvmOpenError(owned_path, errno);

  const int version = ::ioctl(fd.Get(), KVM_GET_API_VERSION, 0);
  if (version < 0) {
    return Error::FromErrno(
        errno, fmt::format("KVM_GET_API_VERSION on {} (is it the KVM device?)", owned_path));
  }
  if (version != kKvmApiVersion) {
    return Error(EPROTO, fmt::format("KVM_GET_API_VERSION on {} returned {}, hull needs {}",
                                     owned_path, version, kKvmApiVersion));
  }
  return KvmSystem(std::move(fd), std::move(owned_path));
}

Result<int> KvmSystem::CheckExtension(Capability capability) const {
  const int value = ::ioctl(fd_.Get(), KVM_CHECK_EXTENSION, static_cast<int>(capability));
  if (value < 0) {
    return Error::FromErrno(errno,
                            fmt::format("KVM_CHECK_EXTENSION {}", static_cast<int>(capability)));
  }
  return value;
}

Result<size_t> KvmSystem::VcpuMmapSize() const {
  const int size = ::ioctl(fd_.Get(), KVM_GET_VCPU_MMAP_SIZE, 0);
  if (size < 0) return Error::FromErrno(errno, "KVM_GET_VCPU_MMAP_SIZE");
  if (static_cast<size_t>(size) < sizeof(KvmRun)) {
    return Error(EPROTO,
                 fmt::format("KVM_GET_VCPU_MMAP_SIZE returned {}, smaller than kvm_run ({})", size,
                             sizeof(KvmRun)));
  }
  return static_cast<size_t>(size);
}

Result<std::vector<CpuidEntry>> KvmSystem::GetSupportedCpuid() const {
  // KVM answers E2BIG until the buffer holds every entry; 256 suffices today.
  for (uint32_t capacity = 256; capacity <= internal::kMaxCpuidEntries; capacity *= 2) {
    internal::CpuidBuffer buffer(capacity);
    if (::ioctl(fd_.Get(), internal::kGetSupportedCpuid, buffer.get()) == 0) {
      const auto entries = buffer.entries();
      return std::vector<CpuidEntry>(entries.begin(), entries.end());
    }
    if (errno != E2BIG) {
      return Error::FromErrno(errno, fmt::format("KVM_GET_SUPPORTED_CPUID ({} entries)", capacity));
    }
  }
  return Error(E2BIG, fmt::format("KVM_GET_SUPPORTED_CPUID: more than {} entries",
                                  internal::kMaxCpuidEntries));
}

}  // namespace hull::kvm
