#pragma once

// linux.seccomp of an OCI spec compiled into a seccomp BPF filter with
// libseccomp, following runc's reading of the profile:
// - the native architecture is always in the filter; each named one is added
//   ("SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64", ...; an unknown name is EINVAL);
// - a syscall name libseccomp does not know is skipped, not an error (profiles
//   list syscalls of newer kernels), and remembered in unknown_syscalls();
// - a rule whose action (with its errno) equals the default action is skipped;
// - a rule's args: when no argument index repeats, all comparisons form one
//   rule (AND); when an index repeats, each comparison is a rule of its own
//   (OR), so [arg0 == 1, arg0 == 2] matches either value;
// - SCMP_ACT_ERRNO and SCMP_ACT_TRACE return errnoRet, EPERM when not given;
// - SCMP_ACT_NOTIFY (and so listenerPath) is not supported: EOPNOTSUPP;
// - flags SECCOMP_FILTER_FLAG_TSYNC, _LOG and _SPEC_ALLOW are set;
//   _WAIT_KILLABLE_RECV only concerns notify and is accepted as a no-op; any
//   other flag is EINVAL.
// Unlike libseccomp's default, loading does not set no_new_privs: that is the
// spec's process.noNewPrivileges (SetNoNewPrivileges()), so Load() needs
// either it or CAP_SYS_ADMIN.

#include <cstdint>
#include <string>
#include <vector>

#include "hull/common/result.h"
#include "hull/oci/spec.h"

namespace hull::container {

class SeccompProgram {
 public:
  static Result<SeccompProgram> Build(const oci::Seccomp& profile);

  SeccompProgram(SeccompProgram&& other) noexcept;
  SeccompProgram& operator=(SeccompProgram&& other) noexcept;
  SeccompProgram(const SeccompProgram&) = delete;
  SeccompProgram& operator=(const SeccompProgram&) = delete;
  ~SeccompProgram();

  // Installs the filter on the calling thread (on all threads with the TSYNC
  // flag). It stays for the life of the process and is inherited by execve.
  Result<void> Load() const;

  // The filter as the kernel would get it: struct sock_filter entries, 8 bytes
  // each. For tests and inspection.
  Result<std::vector<uint8_t>> ExportBpf() const;

  // The syscall names of the profile libseccomp did not know, in profile order.
  const std::vector<std::string>& unknown_syscalls() const noexcept { return unknown_syscalls_; }

 private:
  // `ctx` is a scmp_filter_ctx (void* in <seccomp.h>, kept out of this header).
  explicit SeccompProgram(void* ctx) noexcept : ctx_(ctx) {}

  void* ctx_ = nullptr;  // null once moved from
  std::vector<std::string> unknown_syscalls_;
};

}  // namespace hull::container
