#pragma once

// The OCI runtime specification (v1.0–1.1, config.json) as plain C++ values:
// what hull-agent needs to build a Linux container. Parsing and validation are
// in spec_parse.h; applying it is the agent's container code. Field names
// follow the specification's JSON keys (camelCase → snake_case).
//
// Absent optional JSON members are std::nullopt or empty containers; the
// parser never invents values the spec does not give, except where the
// specification itself fixes a default (noted per field).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hull::oci {

struct ConsoleSize {
  uint32_t height = 0;
  uint32_t width = 0;
};

struct User {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::optional<uint32_t> umask;
  std::vector<uint32_t> additional_gids;
};

// Capability names as the specification writes them ("CAP_CHOWN").
struct Capabilities {
  std::vector<std::string> bounding;
  std::vector<std::string> effective;
  std::vector<std::string> inheritable;
  std::vector<std::string> permitted;
  std::vector<std::string> ambient;
};

struct Rlimit {
  std::string type;  // "RLIMIT_NOFILE", ...
  uint64_t hard = 0;
  uint64_t soft = 0;
};

struct Process {
  bool terminal = false;
  std::optional<ConsoleSize> console_size;
  User user;
  std::vector<std::string> args;
  std::vector<std::string> env;  // "KEY=value"
  std::string cwd;               // absolute; required by the spec
  std::optional<Capabilities> capabilities;
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = false;
  std::optional<int32_t> oom_score_adj;
  std::string apparmor_profile;  // parsed, not applied (no AppArmor in the guest)
  std::string selinux_label;     // parsed, not applied (no SELinux in the guest)
};

struct Root {
  std::string path;
  bool readonly = false;
};

struct Mount {
  std::string destination;
  std::string type;
  std::string source;
  std::vector<std::string> options;
};

enum class NamespaceType { kPid, kNetwork, kMount, kIpc, kUts, kUser, kCgroup, kTime };

struct Namespace {
  NamespaceType type = NamespaceType::kPid;
  std::string path;  // empty: a new namespace; else join the one at this path
};

struct IdMapping {
  uint32_t container_id = 0;
  uint32_t host_id = 0;
  uint32_t size = 0;
};

struct Device {
  std::string path;
  char type = 'c';  // 'c', 'b', 'u' (unbuffered char) or 'p' (FIFO)
  int64_t major = 0;
  int64_t minor = 0;
  std::optional<uint32_t> file_mode;
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
};

// linux.resources.devices: the device cgroup allow/deny list.
struct DeviceRule {
  bool allow = false;
  std::string type;  // "a", "c" or "b"; empty means "a"
  std::optional<int64_t> major;
  std::optional<int64_t> minor;
  std::string access;  // subset of "rwm"; empty means "rwm"
};

struct MemoryResources {
  std::optional<int64_t> limit;        // bytes; -1 unlimited
  std::optional<int64_t> reservation;  // bytes; soft limit → memory.low
  std::optional<int64_t> swap;         // memory+swap (cgroup v1 semantics), -1 unlimited
  std::optional<int64_t> kernel;       // deprecated, ignored
  std::optional<int64_t> kernel_tcp;   // ignored on cgroup v2
  std::optional<uint64_t> swappiness;
  std::optional<bool> disable_oom_killer;
  std::optional<bool> use_hierarchy;
  std::optional<bool> check_before_update;
};

struct CpuResources {
  // As in runc, 0 in shares, quota and period means "not set" (engines send it).
  std::optional<uint64_t> shares;  // cgroup v1 shares (2..262144) → cpu.weight
  std::optional<int64_t> quota;    // µs per period; -1 unlimited
  std::optional<uint64_t> burst;
  std::optional<uint64_t> period;  // µs
  std::optional<int64_t> realtime_runtime;
  std::optional<uint64_t> realtime_period;
  std::string cpus;  // cpuset, e.g. "0-3"
  std::string mems;
  std::optional<int64_t> idle;
};

struct PidsResources {
  int64_t limit = 0;  // 0 or -1: unlimited
};

struct WeightDevice {
  int64_t major = 0;
  int64_t minor = 0;
  std::optional<uint16_t> weight;
  std::optional<uint16_t> leaf_weight;
};

struct ThrottleDevice {
  int64_t major = 0;
  int64_t minor = 0;
  uint64_t rate = 0;
};

struct BlockIoResources {
  // 0 means "not set" here and in WeightDevice (Docker always sends weight).
  std::optional<uint16_t> weight;  // 10..1000 (v1 blkio weight) → io.weight
  std::optional<uint16_t> leaf_weight;
  std::vector<WeightDevice> weight_device;
  std::vector<ThrottleDevice> throttle_read_bps_device;
  std::vector<ThrottleDevice> throttle_write_bps_device;
  std::vector<ThrottleDevice> throttle_read_iops_device;
  std::vector<ThrottleDevice> throttle_write_iops_device;
};

struct HugepageLimit {
  std::string page_size;  // "2MB", "1GB"
  uint64_t limit = 0;
};

struct Resources {
  std::vector<DeviceRule> devices;
  std::optional<MemoryResources> memory;
  std::optional<CpuResources> cpu;
  std::optional<PidsResources> pids;
  std::optional<BlockIoResources> block_io;
  std::vector<HugepageLimit> hugepage_limits;
  std::map<std::string, std::string> unified;  // cgroup v2 file → value
};

enum class SeccompAction {
  kKill,  // SCMP_ACT_KILL (= kill thread)
  kKillProcess,
  kKillThread,
  kTrap,
  kErrno,
  kTrace,
  kAllow,
  kLog,
  kNotify,
};

enum class SeccompOperator {
  kNotEqual,
  kLessThan,
  kLessEqual,
  kEqualTo,
  kGreaterEqual,
  kGreaterThan,
  kMaskedEqual,
};

struct SeccompArg {
  uint32_t index = 0;  // 0..5
  uint64_t value = 0;
  uint64_t value_two = 0;
  SeccompOperator op = SeccompOperator::kEqualTo;
};

struct SeccompSyscall {
  std::vector<std::string> names;
  SeccompAction action = SeccompAction::kAllow;
  std::optional<uint32_t> errno_ret;
  std::vector<SeccompArg> args;
};

struct Seccomp {
  SeccompAction default_action = SeccompAction::kAllow;
  std::optional<uint32_t> default_errno_ret;
  std::vector<std::string> architectures;  // "SCMP_ARCH_X86_64", ...
  std::vector<std::string> flags;          // "SECCOMP_FILTER_FLAG_LOG", ...
  std::string listener_path;
  std::string listener_metadata;
  std::vector<SeccompSyscall> syscalls;
};

struct Linux {
  std::vector<Namespace> namespaces;
  std::vector<IdMapping> uid_mappings;
  std::vector<IdMapping> gid_mappings;
  std::map<std::string, std::string> sysctl;
  std::optional<Resources> resources;
  std::string cgroups_path;
  std::vector<Device> devices;
  std::optional<Seccomp> seccomp;
  std::string rootfs_propagation;  // "", "private", "rprivate", "slave", ...
  std::vector<std::string> masked_paths;
  std::vector<std::string> readonly_paths;
  std::string mount_label;
};

// Hooks run in the runtime's namespace; in hull that is the host, where the
// shim runs them. The agent parses them only to accept specs that carry them.
struct Hook {
  std::string path;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::optional<int64_t> timeout;
};

struct Hooks {
  std::vector<Hook> prestart;
  std::vector<Hook> create_runtime;
  std::vector<Hook> create_container;
  std::vector<Hook> start_container;
  std::vector<Hook> poststart;
  std::vector<Hook> poststop;
};

struct Spec {
  std::string oci_version;
  std::optional<Process> process;
  Root root;
  std::string hostname;
  std::string domainname;
  std::vector<Mount> mounts;
  std::optional<Linux> linux;
  std::optional<Hooks> hooks;
  std::map<std::string, std::string> annotations;
};

}  // namespace hull::oci
