// Name tables: capabilities, rlimits, namespaces, namespaced sysctls and
// seccomp actions/operators. Mount options are in mount_options.cc.

#include "hull/oci/names.h"

#include <fmt/format.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/resource.h>

#include <array>
#include <cerrno>
#include <utility>

#include "names_internal.h"
#include "text_checks.h"

namespace hull::oci {
namespace {

template <typename T>
struct Named {
  T value;
  std::string_view name;
};

// `#name` is the macro's own spelling ("CAP_CHOWN"); `name` its number.
#define HULL_NAMED(name) \
  { name, #name }

constexpr Named<int> kCapabilities[] = {
    HULL_NAMED(CAP_CHOWN),
    HULL_NAMED(CAP_DAC_OVERRIDE),
    HULL_NAMED(CAP_DAC_READ_SEARCH),
    HULL_NAMED(CAP_FOWNER),
    HULL_NAMED(CAP_FSETID),
    HULL_NAMED(CAP_KILL),
    HULL_NAMED(CAP_SETGID),
    HULL_NAMED(CAP_SETUID),
    HULL_NAMED(CAP_SETPCAP),
    HULL_NAMED(CAP_LINUX_IMMUTABLE),
    HULL_NAMED(CAP_NET_BIND_SERVICE),
    HULL_NAMED(CAP_NET_BROADCAST),
    HULL_NAMED(CAP_NET_ADMIN),
    HULL_NAMED(CAP_NET_RAW),
    HULL_NAMED(CAP_IPC_LOCK),
    HULL_NAMED(CAP_IPC_OWNER),
    HULL_NAMED(CAP_SYS_MODULE),
    HULL_NAMED(CAP_SYS_RAWIO),
    HULL_NAMED(CAP_SYS_CHROOT),
    HULL_NAMED(CAP_SYS_PTRACE),
    HULL_NAMED(CAP_SYS_PACCT),
    HULL_NAMED(CAP_SYS_ADMIN),
    HULL_NAMED(CAP_SYS_BOOT),
    HULL_NAMED(CAP_SYS_NICE),
    HULL_NAMED(CAP_SYS_RESOURCE),
    HULL_NAMED(CAP_SYS_TIME),
    HULL_NAMED(CAP_SYS_TTY_CONFIG),
    HULL_NAMED(CAP_MKNOD),
    HULL_NAMED(CAP_LEASE),
    HULL_NAMED(CAP_AUDIT_WRITE),
    HULL_NAMED(CAP_AUDIT_CONTROL),
    HULL_NAMED(CAP_SETFCAP),
    HULL_NAMED(CAP_MAC_OVERRIDE),
    HULL_NAMED(CAP_MAC_ADMIN),
    HULL_NAMED(CAP_SYSLOG),
    HULL_NAMED(CAP_WAKE_ALARM),
    HULL_NAMED(CAP_BLOCK_SUSPEND),
    HULL_NAMED(CAP_AUDIT_READ),
    HULL_NAMED(CAP_PERFMON),
    HULL_NAMED(CAP_BPF),
    HULL_NAMED(CAP_CHECKPOINT_RESTORE),
};

constexpr bool CapabilitiesAreIndexedByNumber() {
  for (size_t i = 0; i < std::size(kCapabilities); ++i) {
    if (kCapabilities[i].value != static_cast<int>(i)) return false;
  }
  return std::size(kCapabilities) == kLastCapability + 1;
}
static_assert(CapabilitiesAreIndexedByNumber());
static_assert(CAP_LAST_CAP >= kLastCapability);

constexpr Named<int> kRlimits[] = {
    HULL_NAMED(RLIMIT_CPU),      HULL_NAMED(RLIMIT_FSIZE),  HULL_NAMED(RLIMIT_DATA),
    HULL_NAMED(RLIMIT_STACK),    HULL_NAMED(RLIMIT_CORE),   HULL_NAMED(RLIMIT_RSS),
    HULL_NAMED(RLIMIT_NPROC),    HULL_NAMED(RLIMIT_NOFILE), HULL_NAMED(RLIMIT_MEMLOCK),
    HULL_NAMED(RLIMIT_AS),       HULL_NAMED(RLIMIT_LOCKS),  HULL_NAMED(RLIMIT_SIGPENDING),
    HULL_NAMED(RLIMIT_MSGQUEUE), HULL_NAMED(RLIMIT_NICE),   HULL_NAMED(RLIMIT_RTPRIO),
    HULL_NAMED(RLIMIT_RTTIME),
};
static_assert(std::size(kRlimits) == RLIMIT_NLIMITS);

#undef HULL_NAMED

struct NamespaceEntry {
  NamespaceType type;
  std::string_view name;
  std::string_view proc_file;  // under /proc/<pid>/ns/
  int clone_flag;
};

constexpr NamespaceEntry kNamespaces[] = {
    {NamespaceType::kPid, "pid", "pid", CLONE_NEWPID},
    {NamespaceType::kNetwork, "network", "net", CLONE_NEWNET},
    {NamespaceType::kMount, "mount", "mnt", CLONE_NEWNS},
    {NamespaceType::kIpc, "ipc", "ipc", CLONE_NEWIPC},
    {NamespaceType::kUts, "uts", "uts", CLONE_NEWUTS},
    {NamespaceType::kUser, "user", "user", CLONE_NEWUSER},
    {NamespaceType::kCgroup, "cgroup", "cgroup", CLONE_NEWCGROUP},
    {NamespaceType::kTime, "time", "time", CLONE_NEWTIME},
};

constexpr Named<SeccompAction> kSeccompActions[] = {
    {SeccompAction::kKill, "SCMP_ACT_KILL"},
    {SeccompAction::kKillProcess, "SCMP_ACT_KILL_PROCESS"},
    {SeccompAction::kKillThread, "SCMP_ACT_KILL_THREAD"},
    {SeccompAction::kTrap, "SCMP_ACT_TRAP"},
    {SeccompAction::kErrno, "SCMP_ACT_ERRNO"},
    {SeccompAction::kTrace, "SCMP_ACT_TRACE"},
    {SeccompAction::kAllow, "SCMP_ACT_ALLOW"},
    {SeccompAction::kLog, "SCMP_ACT_LOG"},
    {SeccompAction::kNotify, "SCMP_ACT_NOTIFY"},
};

constexpr Named<SeccompOperator> kSeccompOperators[] = {
    {SeccompOperator::kNotEqual, "SCMP_CMP_NE"},
    {SeccompOperator::kLessThan, "SCMP_CMP_LT"},
    {SeccompOperator::kLessEqual, "SCMP_CMP_LE"},
    {SeccompOperator::kEqualTo, "SCMP_CMP_EQ"},
    {SeccompOperator::kGreaterEqual, "SCMP_CMP_GE"},
    {SeccompOperator::kGreaterThan, "SCMP_CMP_GT"},
    {SeccompOperator::kMaskedEqual, "SCMP_CMP_MASKED_EQ"},
};

template <typename T, size_t N>
std::optional<T> ValueOf(const Named<T> (&table)[N], std::string_view name) {
  for (const Named<T>& entry : table) {
    if (entry.name == name) return entry.value;
  }
  return std::nullopt;
}

template <typename T, size_t N>
std::string_view NameOf(const Named<T> (&table)[N], T value) {
  for (const Named<T>& entry : table) {
    if (entry.value == value) return entry.name;
  }
  return "";
}

// IPC sysctls a container may set (besides fs.mqueue.*): runc's list.
constexpr std::string_view kIpcSysctls[] = {
    "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
    "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced",
};

bool IsIpcSysctl(std::string_view name) {
  if (name.starts_with("fs.mqueue.")) return true;
  for (const std::string_view ipc : kIpcSysctls) {
    if (name == ipc) return true;
  }
  return false;
}

// The agent writes /proc/sys/<name with '.' → '/'>; a name that could leave
// that directory or name a directory is refused.
const char* SysctlNameProblem(std::string_view name) {
  if (name.empty()) return "the name is empty";
  if (name.find('\0') != std::string_view::npos) return "the name contains a NUL byte";
  if (name.find('/') != std::string_view::npos) return "write the name with dots, without '/'";
  if (name.front() == '.' || name.back() == '.' || name.find("..") != std::string_view::npos) {
    return "the name has an empty component";
  }
  return nullptr;
}

Error NeedsNamespace(std::string_view where, std::string_view kind, std::string_view type) {
  return Error(EINVAL, fmt::format("{}: needs the container's own {} namespace (add \"{}\" to "
                                   "linux.namespaces)",
                                   where, kind, type));
}

}  // namespace

std::optional<int> CapabilityFromName(std::string_view name) {
  return ValueOf(kCapabilities, name);
}

std::string_view CapabilityName(int capability) {
  if (capability < 0 || capability > kLastCapability) return "";
  return kCapabilities[capability].name;
}

std::optional<int> RlimitFromName(std::string_view name) { return ValueOf(kRlimits, name); }

std::string_view RlimitName(int resource) { return NameOf(kRlimits, resource); }

Result<void> ValidateSysctl(std::string_view name, bool new_ipc_ns, bool new_net_ns,
                            bool new_uts_ns) {
  return internal::ValidateSysctlAt(name, new_ipc_ns, new_net_ns, new_uts_ns,
                                    fmt::format("sysctl {}", internal::Quote(name)));
}

std::string_view NamespaceTypeName(NamespaceType type) {
  for (const NamespaceEntry& entry : kNamespaces) {
    if (entry.type == type) return entry.name;
  }
  return "";
}

std::optional<NamespaceType> NamespaceTypeFromName(std::string_view name) {
  for (const NamespaceEntry& entry : kNamespaces) {
    if (entry.name == name) return entry.type;
  }
  return std::nullopt;
}

std::string_view NamespaceProcFileName(NamespaceType type) {
  for (const NamespaceEntry& entry : kNamespaces) {
    if (entry.type == type) return entry.proc_file;
  }
  return "";
}

int NamespaceCloneFlag(NamespaceType type) {
  for (const NamespaceEntry& entry : kNamespaces) {
    if (entry.type == type) return entry.clone_flag;
  }
  return 0;
}

std::string_view SeccompActionName(SeccompAction action) { return NameOf(kSeccompActions, action); }

std::optional<SeccompAction> SeccompActionFromName(std::string_view name) {
  return ValueOf(kSeccompActions, name);
}

std::string_view SeccompOperatorName(SeccompOperator op) { return NameOf(kSeccompOperators, op); }

std::optional<SeccompOperator> SeccompOperatorFromName(std::string_view name) {
  return ValueOf(kSeccompOperators, name);
}

}  // namespace hull::oci

namespace hull::oci::internal {

Result<void> ValidateSysctlAt(std::string_view name, bool ipc_ns, bool net_ns, bool uts_ns,
                              std::string_view where) {
  if (const char* problem = SysctlNameProblem(name)) {
    return Error(EINVAL, fmt::format("{}: {}", where, problem));
  }
  if (IsIpcSysctl(name)) {
    if (!ipc_ns) return NeedsNamespace(where, "IPC", "ipc");
    return Ok();
  }
  if (name.starts_with("net.")) {
    if (!net_ns) return NeedsNamespace(where, "network", "network");
    return Ok();
  }
  if (name == "kernel.hostname" || name == "kernel.domainname") {
    if (!uts_ns) return NeedsNamespace(where, "UTS", "uts");
    return Ok();
  }
  return Error(EINVAL, fmt::format("{}: not namespaced, so a container may not set it (allowed: "
                                   "kernel.msgmax, kernel.msgmnb, kernel.msgmni, kernel.sem, "
                                   "kernel.shmall, kernel.shmmax, kernel.shmmni, "
                                   "kernel.shm_rmid_forced, fs.mqueue.*, net.*, kernel.hostname, "
                                   "kernel.domainname)",
                                   where));
}

}  // namespace hull::oci::internal
