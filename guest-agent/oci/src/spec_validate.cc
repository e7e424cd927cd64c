// ValidateSpec: whether hull-agent can run a Spec as a Linux container. The
// process and resources parts are in process_validate.cc and
// resources_validate.cc.

#include <fmt/format.h>

#include <array>
#include <cerrno>

#include "hull/oci/names.h"
#include "hull/oci/spec_parse.h"
#include "json_reader.h"
#include "names_internal.h"
#include "text_checks.h"
#include "validate_internal.h"

namespace hull::oci {
namespace internal {
namespace {

constexpr size_t kMaxHostNameBytes = 64;  // HOST_NAME_MAX
constexpr size_t kNamespaceTypes = 8;
constexpr uint32_t kMaxSeccompArgIndex = 5;
constexpr int64_t kMaxDeviceMajor = (int64_t{1} << 12) - 1;  // the kernel's dev_t: 12 + 20 bits
constexpr int64_t kMaxDeviceMinor = (int64_t{1} << 20) - 1;

constexpr std::string_view kSeccompArchitectures[] = {
    "SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",         "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",      "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",        "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",  "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",     "SCMP_ARCH_LOONGARCH64",
    "SCMP_ARCH_M68K",    "SCMP_ARCH_SH",       "SCMP_ARCH_SHEB",
};

constexpr std::string_view kSeccompFlags[] = {
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
};

template <size_t N>
bool Contains(const std::string_view (&names)[N], std::string_view name) {
  for (const std::string_view known : names) {
    if (known == name) return true;
  }
  return false;
}

// Which namespaces the container has of its own: listed in linux.namespaces,
// new or joined by path.
class NamespaceSet {
 public:
  explicit NamespaceSet(const std::optional<Linux>& linux_part) {
    if (!linux_part) return;
    for (const Namespace& ns : linux_part->namespaces) {
      const auto index = static_cast<size_t>(ns.type);
      if (index < kNamespaceTypes) has_[index] = true;
    }
  }
  bool Has(NamespaceType type) const { return has_[static_cast<size_t>(type)]; }

 private:
  std::array<bool, kNamespaceTypes> has_{};
};

Result<void> ValidateVersion(std::string_view version) {
  if (version.empty()) return Error(EINVAL, "ociVersion: required");
  // 1.<minor>.<patch>, then perhaps "-rc.1" or "+dev".
  const std::string_view core = version.substr(0, version.find_first_of("-+"));
  std::string_view parts[3];
  size_t count = 0;
  size_t start = 0;
  bool well_formed = true;
  while (start <= core.size() && well_formed) {
    size_t end = core.find('.', start);
    if (end == std::string_view::npos) end = core.size();
    const std::string_view part = core.substr(start, end - start);
    well_formed = count < 3 && !part.empty() && part.size() <= 9 &&
                  part.find_first_not_of("0123456789") == std::string_view::npos;
    if (well_formed) parts[count++] = part;
    start = end + 1;
  }
  if (!well_formed || count != 3 || parts[0] != "1" ||
      (parts[1] != "0" && parts[1] != "1" && parts[1] != "2")) {
    return Error(EINVAL, fmt::format("ociVersion: {} is not a version hull-agent reads (1.0.x "
                                     "to 1.2.x)",
                                     Quote(version)));
  }
  return Ok();
}

Result<void> ValidateHostname(std::string_view name, std::string_view path, bool own_uts) {
  if (name.empty()) return Ok();
  HULL_TRY(CheckNoNul(name, path));
  if (name.size() > kMaxHostNameBytes) {
    return Error(EINVAL, fmt::format("{}: {} bytes is more than the {} Linux allows", path,
                                     name.size(), kMaxHostNameBytes));
  }
  if (!own_uts) {
    return Error(EINVAL, fmt::format("{}: set, but the container has no UTS namespace of its own "
                                     "(add \"uts\" to linux.namespaces)",
                                     path));
  }
  return Ok();
}

Result<void> ValidateMounts(const std::vector<Mount>& mounts) {
  for (size_t i = 0; i < mounts.size(); ++i) {
    const Mount& mount = mounts[i];
    const std::string where = ElementPath("mounts", i);
    HULL_TRY(CheckAbsolutePath(mount.destination, MemberPath(where, "destination")));
    HULL_TRY(CheckNoNul(mount.source, MemberPath(where, "source")));
    HULL_TRY(CheckNoNul(mount.type, MemberPath(where, "type")));
    HULL_TRY(ParseMountOptionsAt(mount.options, MemberPath(where, "options")));
  }
  return Ok();
}

Result<void> ValidateNamespaces(const std::vector<Namespace>& namespaces) {
  std::array<std::optional<size_t>, kNamespaceTypes> first{};
  for (size_t i = 0; i < namespaces.size(); ++i) {
    const Namespace& ns = namespaces[i];
    const std::string where = ElementPath("linux.namespaces", i);
    if (ns.type == NamespaceType::kUser) {
      return Error(EINVAL,
                   "linux.namespaces: user namespaces are not supported by hull-agent; remove the "
                   "\"user\" namespace");
    }
    const auto index = static_cast<size_t>(ns.type);
    if (index >= kNamespaceTypes) {
      return Error(EINVAL, fmt::format("{}.type: not a namespace type", where));
    }
    if (first[index]) {
      return Error(EINVAL, fmt::format("{}.type: \"{}\" appears twice (also {})", where,
                                       NamespaceTypeName(ns.type),
                                       ElementPath("linux.namespaces", *first[index])));
    }
    first[index] = i;
    if (!ns.path.empty()) HULL_TRY(CheckAbsolutePath(ns.path, MemberPath(where, "path")));
  }
  return Ok();
}

Result<void> ValidateDevices(const std::vector<Device>& devices) {
  for (size_t i = 0; i < devices.size(); ++i) {
    const Device& device = devices[i];
    const std::string where = ElementPath("linux.devices", i);
    const std::string path = MemberPath(where, "path");
    HULL_TRY(CheckAbsolutePath(device.path, path));
    if (!device.path.starts_with("/dev/")) {
      return Error(EINVAL, fmt::format("{}: must be under /dev, got {}", path, Quote(device.path)));
    }
    if (device.type != 'c' && device.type != 'b' && device.type != 'u' && device.type != 'p') {
      return Error(EINVAL, fmt::format("{}.type: not one of c, b, u, p", where));
    }
    if (device.type != 'p') {
      if (device.major < 0 || device.major > kMaxDeviceMajor) {
        return Error(EINVAL, fmt::format("{}.major: {} is outside 0..{}", where, device.major,
                                         kMaxDeviceMajor));
      }
      if (device.minor < 0 || device.minor > kMaxDeviceMinor) {
        return Error(EINVAL, fmt::format("{}.minor: {} is outside 0..{}", where, device.minor,
                                         kMaxDeviceMinor));
      }
    }
    if (device.file_mode && *device.file_mode > 07777) {
      return Error(EINVAL, fmt::format("{}.fileMode: {:#o} has bits outside 07777", where,
                                       *device.file_mode));
    }
  }
  return Ok();
}

Error NotifyUnsupported(std::string_view path) {
  return Error(EINVAL, fmt::format("{}: SCMP_ACT_NOTIFY is not supported by hull-agent (it has no "
                                   "seccomp listener)",
                                   path));
}

Result<void> CheckErrnoRet(const std::optional<uint32_t>& errno_ret, SeccompAction action,
                           std::string_view path) {
  if (errno_ret && action != SeccompAction::kErrno && action != SeccompAction::kTrace) {
    return Error(EINVAL, fmt::format("{}: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE return a value, "
                                     "not {}",
                                     path, SeccompActionName(action)));
  }
  return Ok();
}

Result<void> ValidateSeccompSyscall(const SeccompSyscall& syscall, std::string_view where) {
  const std::string names_path = MemberPath(where, "names");
  if (syscall.names.empty()) return Error(EINVAL, fmt::format("{}: empty", names_path));
  for (size_t j = 0; j < syscall.names.size(); ++j) {
    const std::string name_path = ElementPath(names_path, j);
    HULL_TRY(CheckNoNul(syscall.names[j], name_path));
    if (syscall.names[j].empty()) return Error(EINVAL, fmt::format("{}: empty", name_path));
  }
  if (syscall.action == SeccompAction::kNotify) {
    return NotifyUnsupported(MemberPath(where, "action"));
  }
  HULL_TRY(CheckErrnoRet(syscall.errno_ret, syscall.action, MemberPath(where, "errnoRet")));
  const std::string args_path = MemberPath(where, "args");
  for (size_t j = 0; j < syscall.args.size(); ++j) {
    if (syscall.args[j].index > kMaxSeccompArgIndex) {
      return Error(EINVAL, fmt::format("{}.index: {} is outside 0..{} (a system call has six "
                                       "arguments)",
                                       ElementPath(args_path, j), syscall.args[j].index,
                                       kMaxSeccompArgIndex));
    }
  }
  return Ok();
}

Result<void> ValidateSeccomp(const Seccomp& seccomp) {
  const std::string_view path = "linux.seccomp";
  if (seccomp.default_action == SeccompAction::kNotify) {
    return NotifyUnsupported(MemberPath(path, "defaultAction"));
  }
  HULL_TRY(CheckErrnoRet(seccomp.default_errno_ret, seccomp.default_action,
                         MemberPath(path, "defaultErrnoRet")));
  for (size_t i = 0; i < seccomp.architectures.size(); ++i) {
    if (!Contains(kSeccompArchitectures, seccomp.architectures[i])) {
      return Error(EINVAL, fmt::format("{}: unknown architecture {}",
                                       ElementPath(MemberPath(path, "architectures"), i),
                                       Quote(seccomp.architectures[i])));
    }
  }
  for (size_t i = 0; i < seccomp.flags.size(); ++i) {
    if (!Contains(kSeccompFlags, seccomp.flags[i])) {
      return Error(EINVAL,
                   fmt::format("{}: unknown flag {}", ElementPath(MemberPath(path, "flags"), i),
                               Quote(seccomp.flags[i])));
    }
  }
  if (!seccomp.listener_path.empty()) {
    return Error(EINVAL, fmt::format("{}: seccomp notify listeners are not supported by "
                                     "hull-agent",
                                     MemberPath(path, "listenerPath")));
  }
  const std::string syscalls_path = MemberPath(path, "syscalls");
  for (size_t i = 0; i < seccomp.syscalls.size(); ++i) {
    HULL_TRY(ValidateSeccompSyscall(seccomp.syscalls[i], ElementPath(syscalls_path, i)));
  }
  return Ok();
}

Result<void> ValidateSysctls(const Spec& spec, const NamespaceSet& namespaces) {
  for (const auto& [name, value] : spec.linux->sysctl) {
    const std::string where = KeyPath("linux.sysctl", name);
    HULL_TRY(ValidateSysctlAt(name, namespaces.Has(NamespaceType::kIpc),
                              namespaces.Has(NamespaceType::kNetwork),
                              namespaces.Has(NamespaceType::kUts), where));
    HULL_TRY(CheckNoNul(value, where));
    if ((name == "kernel.hostname" && !spec.hostname.empty()) ||
        (name == "kernel.domainname" && !spec.domainname.empty())) {
      return Error(EINVAL, fmt::format("{}: conflicts with the {} field; set one of them", where,
                                       name == "kernel.hostname" ? "hostname" : "domainname"));
    }
  }
  return Ok();
}

Result<void> ValidatePathList(const std::vector<std::string>& paths, std::string_view path) {
  for (size_t i = 0; i < paths.size(); ++i) {
    HULL_TRY(CheckAbsolutePath(paths[i], ElementPath(path, i)));
  }
  return Ok();
}

Result<void> ValidateLinux(const Spec& spec, const NamespaceSet& namespaces) {
  const Linux& linux_part = *spec.linux;
  HULL_TRY(ValidateNamespaces(linux_part.namespaces));
  if (!namespaces.Has(NamespaceType::kMount)) {
    return Error(EINVAL,
                 "linux.namespaces: hull-agent needs a \"mount\" namespace to set up the "
                 "container's root filesystem in");
  }
  for (const auto& [key, mappings] : {std::pair{"uidMappings", &linux_part.uid_mappings},
                                      std::pair{"gidMappings", &linux_part.gid_mappings}}) {
    if (!mappings->empty()) {
      return Error(EINVAL, fmt::format("linux.{}: set, but the container has no user namespace "
                                       "(and hull-agent does not support one)",
                                       key));
    }
  }
  HULL_TRY(ValidateSysctls(spec, namespaces));
  if (linux_part.resources) {
    HULL_TRY(ValidateResourcesAt(*linux_part.resources, "linux.resources"));
  }
  HULL_TRY(CheckNoNul(linux_part.cgroups_path, "linux.cgroupsPath"));
  if (HasDotDotComponent(linux_part.cgroups_path)) {
    return Error(EINVAL,
                 fmt::format("linux.cgroupsPath: must not contain \"..\" components, got {}",
                             Quote(linux_part.cgroups_path)));
  }
  HULL_TRY(ValidateDevices(linux_part.devices));
  if (linux_part.seccomp) HULL_TRY(ValidateSeccomp(*linux_part.seccomp));
  if (!linux_part.rootfs_propagation.empty() &&
      !PropagationFromName(linux_part.rootfs_propagation)) {
    return Error(EINVAL, fmt::format("linux.rootfsPropagation: unknown propagation {} (expected "
                                     "private, shared, slave, unbindable or their r- forms)",
                                     Quote(linux_part.rootfs_propagation)));
  }
  HULL_TRY(ValidatePathList(linux_part.masked_paths, "linux.maskedPaths"));
  HULL_TRY(ValidatePathList(linux_part.readonly_paths, "linux.readonlyPaths"));
  return Ok();
}

// The shim runs hooks on the host; the agent checks only their form.
Result<void> ValidateHooks(const Hooks& hooks) {
  for (const auto& [key, list] : {
           std::pair{"prestart", &hooks.prestart},
           std::pair{"createRuntime", &hooks.create_runtime},
           std::pair{"createContainer", &hooks.create_container},
           std::pair{"startContainer", &hooks.start_container},
           std::pair{"poststart", &hooks.poststart},
           std::pair{"poststop", &hooks.poststop},
       }) {
    const std::string list_path = MemberPath("hooks", key);
    for (size_t i = 0; i < list->size(); ++i) {
      const Hook& hook = (*list)[i];
      const std::string where = ElementPath(list_path, i);
      HULL_TRY(CheckAbsolutePath(hook.path, MemberPath(where, "path"), /*dot_dot_ok=*/true));
      for (size_t j = 0; j < hook.args.size(); ++j) {
        HULL_TRY(CheckNoNul(hook.args[j], ElementPath(MemberPath(where, "args"), j)));
      }
      for (size_t j = 0; j < hook.env.size(); ++j) {
        HULL_TRY(CheckNoNul(hook.env[j], ElementPath(MemberPath(where, "env"), j)));
      }
      if (hook.timeout && *hook.timeout <= 0) {
        return Error(EINVAL, fmt::format("{}.timeout: {} is not a positive number of seconds",
                                         where, *hook.timeout));
      }
    }
  }
  return Ok();
}

Result<void> ValidateWholeSpec(const Spec& spec) {
  HULL_TRY(ValidateVersion(spec.oci_version));
  if (!spec.process) {
    return Error(EINVAL, "process: required (the container's first process)");
  }
  HULL_TRY(ValidateProcessAt(*spec.process, "process"));
  if (spec.root.path.empty()) return Error(EINVAL, "root.path: required");
  HULL_TRY(CheckNoNul(spec.root.path, "root.path"));
  const NamespaceSet namespaces(spec.linux);
  HULL_TRY(ValidateHostname(spec.hostname, "hostname", namespaces.Has(NamespaceType::kUts)));
  HULL_TRY(ValidateHostname(spec.domainname, "domainname", namespaces.Has(NamespaceType::kUts)));
  HULL_TRY(ValidateMounts(spec.mounts));
  if (!spec.linux) {
    return Error(EINVAL, "linux: required: hull-agent needs at least a \"mount\" namespace");
  }
  HULL_TRY(ValidateLinux(spec, namespaces));
  if (spec.hooks) HULL_TRY(ValidateHooks(*spec.hooks));
  return Ok();
}

}  // namespace
}  // namespace internal

Result<void> ValidateSpec(const Spec& spec) { return internal::ValidateWholeSpec(spec); }

}  // namespace hull::oci
