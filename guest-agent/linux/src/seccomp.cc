#include "hull/container/seccomp.h"

#include <seccomp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hull/common/eintr.h"
#include "hull/common/unique_fd.h"

namespace hull::container {
namespace {

struct ArchName {
  std::string_view name;
  uint32_t token;
};

// The OCI spec's names of libseccomp's architectures.
constexpr std::array kArchitectures = {
    ArchName{"SCMP_ARCH_X86", SCMP_ARCH_X86},
    ArchName{"SCMP_ARCH_X86_64", SCMP_ARCH_X86_64},
    ArchName{"SCMP_ARCH_X32", SCMP_ARCH_X32},
    ArchName{"SCMP_ARCH_ARM", SCMP_ARCH_ARM},
    ArchName{"SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64},
    ArchName{"SCMP_ARCH_MIPS", SCMP_ARCH_MIPS},
    ArchName{"SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64},
    ArchName{"SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32},
    ArchName{"SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL},
    ArchName{"SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64},
    ArchName{"SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32},
    ArchName{"SCMP_ARCH_PPC", SCMP_ARCH_PPC},
    ArchName{"SCMP_ARCH_PPC64", SCMP_ARCH_PPC64},
    ArchName{"SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE},
    ArchName{"SCMP_ARCH_S390", SCMP_ARCH_S390},
    ArchName{"SCMP_ARCH_S390X", SCMP_ARCH_S390X},
    ArchName{"SCMP_ARCH_PARISC", SCMP_ARCH_PARISC},
    ArchName{"SCMP_ARCH_PARISC64", SCMP_ARCH_PARISC64},
    ArchName{"SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64},
};

Result<uint32_t> ArchitectureToken(std::string_view name) {
  for (const ArchName& arch : kArchitectures) {
    if (arch.name == name) return arch.token;
  }
  return Error(EINVAL, "unknown seccomp architecture \"" + std::string(name) + "\"");
}

// The libseccomp action of an OCI action; ERRNO and TRACE carry `errno_ret`
// (EPERM when absent), as runc does.
Result<uint32_t> ActionOf(oci::SeccompAction action, std::optional<uint32_t> errno_ret) {
  const uint32_t data = errno_ret.value_or(EPERM);
  const bool uses_data =
      action == oci::SeccompAction::kErrno || action == oci::SeccompAction::kTrace;
  if (uses_data && data > 0xffff) {
    return Error(EINVAL, "errnoRet " + std::to_string(data) + " does not fit in 16 bits");
  }
  switch (action) {
    case oci::SeccompAction::kKill:
    case oci::SeccompAction::kKillThread:
      return uint32_t{SCMP_ACT_KILL_THREAD};
    case oci::SeccompAction::kKillProcess:
      return uint32_t{SCMP_ACT_KILL_PROCESS};
    case oci::SeccompAction::kTrap:
      return uint32_t{SCMP_ACT_TRAP};
    case oci::SeccompAction::kErrno:
      return uint32_t{SCMP_ACT_ERRNO(data)};
    case oci::SeccompAction::kTrace:
      return uint32_t{SCMP_ACT_TRACE(data)};
    case oci::SeccompAction::kAllow:
      return uint32_t{SCMP_ACT_ALLOW};
    case oci::SeccompAction::kLog:
      return uint32_t{SCMP_ACT_LOG};
    case oci::SeccompAction::kNotify:
      return Error(EOPNOTSUPP, "seccomp action SCMP_ACT_NOTIFY is not supported");
  }
  return Error(EINVAL, "unknown seccomp action " + std::to_string(static_cast<int>(action)));
}

scmp_compare CompareOf(oci::SeccompOperator op) {
  switch (op) {
    case oci::SeccompOperator::kNotEqual:
      return SCMP_CMP_NE;
    case oci::SeccompOperator::kLessThan:
      return SCMP_CMP_LT;
    case oci::SeccompOperator::kLessEqual:
      return SCMP_CMP_LE;
    case oci::SeccompOperator::kEqualTo:
      return SCMP_CMP_EQ;
    case oci::SeccompOperator::kGreaterEqual:
      return SCMP_CMP_GE;
    case oci::SeccompOperator::kGreaterThan:
      return SCMP_CMP_GT;
    case oci::SeccompOperator::kMaskedEqual:
      return SCMP_CMP_MASKED_EQ;
  }
  return _SCMP_CMP_MIN;  // invalid: libseccomp refuses it
}

constexpr uint32_t kMaxSyscallArgs = 6;

// The comparisons of one rule, and whether they must be separate rules: runc
// ORs them (one rule each) when an argument index repeats, since one rule
// cannot compare the same argument twice; otherwise they are ANDed.
struct Conditions {
  std::vector<scmp_arg_cmp> compares;
  bool separate = false;
};

Result<Conditions> ConditionsOf(const std::vector<oci::SeccompArg>& args) {
  Conditions conditions;
  std::array<int, kMaxSyscallArgs> uses{};
  for (const oci::SeccompArg& arg : args) {
    if (arg.index >= kMaxSyscallArgs) {
      return Error(EINVAL, "seccomp argument index " + std::to_string(arg.index) +
                               " is not below " + std::to_string(kMaxSyscallArgs));
    }
    if (++uses[arg.index] > 1) conditions.separate = true;
    // MASKED_EQ compares (arg & value) == valueTwo; the others use value only.
    const bool masked = arg.op == oci::SeccompOperator::kMaskedEqual;
    conditions.compares.push_back(scmp_arg_cmp{.arg = arg.index,
                                               .op = CompareOf(arg.op),
                                               .datum_a = arg.value,
                                               .datum_b = masked ? arg.value_two : 0});
  }
  return conditions;
}

Result<void> AddRule(scmp_filter_ctx ctx, uint32_t action, int syscall_nr,
                     const Conditions& conditions) {
  if (!conditions.separate) {
    const int rc = seccomp_rule_add_array(ctx, action, syscall_nr,
                                          static_cast<unsigned>(conditions.compares.size()),
                                          conditions.compares.data());
    if (rc < 0) return Error::FromErrno(-rc, "seccomp_rule_add");
    return Ok();
  }
  for (const scmp_arg_cmp& compare : conditions.compares) {
    const int rc = seccomp_rule_add_array(ctx, action, syscall_nr, 1, &compare);
    if (rc < 0) {
      return Error::FromErrno(-rc,
                              "seccomp_rule_add (argument " + std::to_string(compare.arg) + ")");
    }
  }
  return Ok();
}

Result<void> SetAttribute(scmp_filter_ctx ctx, scmp_filter_attr attribute, uint32_t value,
                          std::string_view what) {
  const int rc = seccomp_attr_set(ctx, attribute, value);
  if (rc < 0) return Error::FromErrno(-rc, "seccomp_attr_set " + std::string(what));
  return Ok();
}

Result<void> SetFlag(scmp_filter_ctx ctx, std::string_view flag) {
  if (flag == "SECCOMP_FILTER_FLAG_TSYNC") {
    return SetAttribute(ctx, SCMP_FLTATR_CTL_TSYNC, 1, flag);
  }
  if (flag == "SECCOMP_FILTER_FLAG_LOG") return SetAttribute(ctx, SCMP_FLTATR_CTL_LOG, 1, flag);
  if (flag == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") {
    return SetAttribute(ctx, SCMP_FLTATR_CTL_SSB, 1, flag);
  }
  // Changes only how a notify listener's wait can be interrupted; there are
  // no notify rules (they are refused), so it has nothing to change.
  if (flag == "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") return Ok();
  return Error(EINVAL, "unknown seccomp flag \"" + std::string(flag) + "\"");
}

// Owns a scmp_filter_ctx while Build() fills it.
struct ContextDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};
using ContextOwner = std::unique_ptr<void, ContextDeleter>;

}  // namespace

Result<SeccompProgram> SeccompProgram::Build(const oci::Seccomp& profile) {
  if (!profile.listener_path.empty()) {
    return Error(EOPNOTSUPP, "seccomp listenerPath is not supported (no SCMP_ACT_NOTIFY)");
  }
  HULL_ASSIGN_OR_RETURN(const uint32_t default_action,
                        ActionOf(profile.default_action, profile.default_errno_ret)
                            .WithContext("seccomp defaultAction"));
  ContextOwner ctx(seccomp_init(default_action));
  if (ctx == nullptr) return Error(EINVAL, "seccomp_init: libseccomp refused the default action");

  // Errors as the kernel gives them, not libseccomp's ECANCELED.
  HULL_TRY(SetAttribute(ctx.get(), SCMP_FLTATR_API_SYSRAWRC, 1, "SCMP_FLTATR_API_SYSRAWRC"));
  // no_new_privs is the spec's process.noNewPrivileges, not libseccomp's call.
  HULL_TRY(SetAttribute(ctx.get(), SCMP_FLTATR_CTL_NNP, 0, "SCMP_FLTATR_CTL_NNP"));
  for (const std::string& flag : profile.flags) HULL_TRY(SetFlag(ctx.get(), flag));

  for (const std::string& name : profile.architectures) {
    HULL_ASSIGN_OR_RETURN(const uint32_t token, ArchitectureToken(name));
    const int rc = seccomp_arch_add(ctx.get(), token);
    // EEXIST: the native architecture, which seccomp_init() added.
    if (rc < 0 && rc != -EEXIST) return Error::FromErrno(-rc, "seccomp_arch_add " + name);
  }

  SeccompProgram program(nullptr);
  for (size_t i = 0; i < profile.syscalls.size(); ++i) {
    const oci::SeccompSyscall& rule = profile.syscalls[i];
    const std::string where = "seccomp syscalls[" + std::to_string(i) + "]";
    HULL_ASSIGN_OR_RETURN(const uint32_t action,
                          ActionOf(rule.action, rule.errno_ret).WithContext(where));
    // libseccomp refuses rules that would change nothing.
    if (action == default_action) continue;
    HULL_ASSIGN_OR_RETURN(const Conditions conditions, ConditionsOf(rule.args).WithContext(where));
    for (const std::string& name : rule.names) {
      const int syscall_nr = seccomp_syscall_resolve_name(name.c_str());
      if (syscall_nr == __NR_SCMP_ERROR) {
        program.unknown_syscalls_.push_back(name);
        continue;
      }
      HULL_TRY(AddRule(ctx.get(), action, syscall_nr, conditions)
                   .WithContext(where + " \"" + name + "\""));
    }
  }
  program.ctx_ = ctx.release();
  return program;
}

SeccompProgram::SeccompProgram(SeccompProgram&& other) noexcept
    : ctx_(std::exchange(other.ctx_, nullptr)),
      unknown_syscalls_(std::move(other.unknown_syscalls_)) {}

SeccompProgram& SeccompProgram::operator=(SeccompProgram&& other) noexcept {
  if (this != &other) {
    if (ctx_ != nullptr) seccomp_release(ctx_);
    ctx_ = std::exchange(other.ctx_, nullptr);
    unknown_syscalls_ = std::move(other.unknown_syscalls_);
  }
  return *this;
}

SeccompProgram::~SeccompProgram() {
  if (ctx_ != nullptr) seccomp_release(ctx_);
}

Result<void> SeccompProgram::Load() const {
  if (ctx_ == nullptr) return Error(EINVAL, "seccomp_load: the program was moved from");
  const int rc = seccomp_load(ctx_);
  if (rc < 0) return Error::FromErrno(-rc, "seccomp_load");
  return Ok();
}

Result<std::vector<uint8_t>> SeccompProgram::ExportBpf() const {
  if (ctx_ == nullptr) return Error(EINVAL, "seccomp_export_bpf: the program was moved from");
  UniqueFd fd(::memfd_create("hull-seccomp-bpf", MFD_CLOEXEC));
  if (!fd) return Error::FromErrno(errno, "memfd_create for seccomp_export_bpf");
  if (const int rc = seccomp_export_bpf(ctx_, fd.Get()); rc < 0) {
    return Error::FromErrno(-rc, "seccomp_export_bpf");
  }
  struct stat st {};
  if (::fstat(fd.Get(), &st) != 0) return Error::FromErrno(errno, "fstat seccomp BPF memfd");
  std::vector<uint8_t> bpf(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < bpf.size()) {
    const ssize_t n = RetryOnEintr([&] {
      return ::pread(fd.Get(), bpf.data() + done, bpf.size() - done, static_cast<off_t>(done));
    });
    if (n < 0) return Error::FromErrno(errno, "read seccomp BPF memfd");
    if (n == 0) return Error(EIO, "read seccomp BPF memfd: ended early");
    done += static_cast<size_t>(n);
  }
  return bpf;
}

}  // namespace hull::container
