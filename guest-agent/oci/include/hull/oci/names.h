#pragma once

// Name tables of the OCI runtime spec and the Linux facts behind them:
// capabilities, rlimits, mount options, mount propagation, namespaces,
// namespaced sysctls and seccomp actions/operators. Pure functions, no I/O.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hull/common/result.h"
#include "hull/oci/spec.h"

namespace hull::oci {

// Capabilities: "CAP_CHOWN" ↔ 0 … "CAP_CHECKPOINT_RESTORE" ↔ 40.
constexpr int kLastCapability = 40;
std::optional<int> CapabilityFromName(std::string_view name);
// "" for a number outside 0..kLastCapability.
std::string_view CapabilityName(int capability);

// Rlimits: "RLIMIT_CPU" ↔ RLIMIT_CPU (0) … "RLIMIT_RTTIME" ↔ RLIMIT_RTTIME (15).
std::optional<int> RlimitFromName(std::string_view name);
// "" for an unknown resource number.
std::string_view RlimitName(int resource);

// A mount's "options" split the way runc applies them:
//
//   1. mount(source, destination, type, MountFlags(), data)
//   2. a bind mount ignores every flag but MS_BIND/MS_REC on that first call,
//      so when NeedsBindRemount():
//        mount("", destination, "", BindRemountFlags(), "")
//      (on a mount with locked flags, e.g. from a less privileged mount
//      namespace, OR in the source's statfs flags except cleared_flags first)
//   3. for each entry of `propagation`, in order:
//        mount("", destination, "", entry, "")
struct MountOptions {
  // MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_SYNCHRONOUS, MS_DIRSYNC,
  // MS_REMOUNT, MS_MANDLOCK, MS_NOATIME, MS_NODIRATIME, MS_RELATIME,
  // MS_STRICTATIME, MS_NOSYMFOLLOW: what the options turn on, after later
  // options override earlier ones ("ro,rw" is rw). Never MS_BIND, MS_REC or
  // a propagation flag.
  unsigned long flags = 0;
  // The flags an option explicitly turned off ("rw", "suid", "dev", "exec",
  // "async", "nomand", "atime", "diratime", "norelatime", "nostrictatime",
  // "symfollow"): a bind remount must not copy these from the source.
  unsigned long cleared_flags = 0;
  // "bind" or "rbind".
  bool bind = false;
  // "rbind": the bind mount takes the submounts along (MS_REC).
  bool recursive_bind = false;
  // Propagation changes in the order given, each MS_PRIVATE, MS_SHARED,
  // MS_SLAVE or MS_UNBINDABLE, with MS_REC for the "r" forms. A list, not one
  // value: "shared" then "slave" makes a slave that is itself shared.
  std::vector<unsigned long> propagation;
  // "tmpcopyup" (a tmpfs that starts with a copy of what it covers).
  bool tmpcopyup = false;
  // Every other option, comma-joined, for the filesystem
  // ("mode=755,size=65536k").
  std::string data;

  // Flags for the first mount(2) call: MS_BIND (| MS_REC) for a bind mount,
  // else `flags`.
  unsigned long MountFlags() const;
  // Whether a bind mount carries flags that only a remount applies.
  bool NeedsBindRemount() const;
  // MS_BIND | MS_REMOUNT | flags (MS_REMOUNT already in flags included).
  unsigned long BindRemountFlags() const;
};

// Errors name the option by index ("options[2]: ..."): an option containing
// ',' or NUL, an empty option, and options hull-agent cannot honour (idmap,
// ridmap, and the recursive mount_setattr forms "rro", "rnosuid", ...).
Result<MountOptions> ParseMountOptions(const std::vector<std::string>& options);

// linux.rootfsPropagation and the propagation mount options: "private" →
// MS_PRIVATE, "rprivate" → MS_PRIVATE | MS_REC, likewise "slave", "shared",
// "unbindable" and their "r" forms.
std::optional<unsigned long> PropagationFromName(std::string_view name);

// Whether the container may set sysctl `name`: only namespaced ones, as runc
// allows, and only when the container has its own namespace of that kind
// (a new one or one joined by path, i.e. listed in linux.namespaces):
//   kernel.msgmax, kernel.msgmnb, kernel.msgmni, kernel.sem, kernel.shmall,
//   kernel.shmmax, kernel.shmmni, kernel.shm_rmid_forced, fs.mqueue.*  (IPC)
//   net.*                                                             (network)
//   kernel.hostname, kernel.domainname                                (UTS)
// A name is dotted ("net.ipv4.ip_forward"); one with '/', NUL or an empty
// component (so "..") is rejected, as the agent turns dots into a path under
// /proc/sys. Errors name the sysctl and say why.
Result<void> ValidateSysctl(std::string_view name, bool new_ipc_ns, bool new_net_ns,
                            bool new_uts_ns);

// "pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time".
std::string_view NamespaceTypeName(NamespaceType type);
std::optional<NamespaceType> NamespaceTypeFromName(std::string_view name);
// The file under /proc/<pid>/ns/: "pid", "net", "mnt", "ipc", "uts", "user",
// "cgroup", "time".
std::string_view NamespaceProcFileName(NamespaceType type);
// CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWNS, ... for clone(2), unshare(2), setns(2).
int NamespaceCloneFlag(NamespaceType type);

// "SCMP_ACT_KILL", "SCMP_ACT_ERRNO", ... and "SCMP_CMP_EQ", "SCMP_CMP_MASKED_EQ", ...
std::string_view SeccompActionName(SeccompAction action);
std::optional<SeccompAction> SeccompActionFromName(std::string_view name);
std::string_view SeccompOperatorName(SeccompOperator op);
std::optional<SeccompOperator> SeccompOperatorFromName(std::string_view name);

}  // namespace hull::oci
