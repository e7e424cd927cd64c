// Mount options → mount(2) flags, propagation changes and filesystem data,
// as runc splits them (libcontainer/specconv: parseMountOptions).

#include <fmt/format.h>
#include <sys/mount.h>

#include <cerrno>
#include <string>

#include "hull/oci/names.h"
#include "names_internal.h"
#include "text_checks.h"

namespace hull::oci {
namespace {

struct FlagOption {
  std::string_view name;
  bool clears;  // turns `flag` off ("rw") rather than on ("ro")
  unsigned long flag;
};

constexpr FlagOption kFlagOptions[] = {
    {"defaults", false, 0},
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"suid", true, MS_NOSUID},
    {"nosuid", false, MS_NOSUID},
    {"dev", true, MS_NODEV},
    {"nodev", false, MS_NODEV},
    {"exec", true, MS_NOEXEC},
    {"noexec", false, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS},
    {"async", true, MS_SYNCHRONOUS},
    {"dirsync", false, MS_DIRSYNC},
    {"remount", false, MS_REMOUNT},
    {"mand", false, MS_MANDLOCK},
    {"nomand", true, MS_MANDLOCK},
    {"atime", true, MS_NOATIME},
    {"noatime", false, MS_NOATIME},
    {"diratime", true, MS_NODIRATIME},
    {"nodiratime", false, MS_NODIRATIME},
    {"relatime", false, MS_RELATIME},
    {"norelatime", true, MS_RELATIME},
    {"strictatime", false, MS_STRICTATIME},
    {"nostrictatime", true, MS_STRICTATIME},
    {"nosymfollow", false, MS_NOSYMFOLLOW},
    {"symfollow", true, MS_NOSYMFOLLOW},
};

// runc's recursive forms, applied with mount_setattr(AT_RECURSIVE); hull-agent
// does not implement them, and passing them on as data would fail later with
// a less clear error from the filesystem.
constexpr std::string_view kRecursiveAttrOptions[] = {
    "rro",       "rrw",         "rnosuid",      "rsuid",          "rnodev",       "rdev",
    "rnoexec",   "rexec",       "rnoatime",     "ratime",         "rnodiratime",  "rdiratime",
    "rrelatime", "rnorelatime", "rstrictatime", "rnostrictatime", "rnosymfollow", "rsymfollow",
};

const FlagOption* FindFlagOption(std::string_view name) {
  for (const FlagOption& option : kFlagOptions) {
    if (option.name == name) return &option;
  }
  return nullptr;
}

bool IsRecursiveAttrOption(std::string_view name) {
  for (const std::string_view option : kRecursiveAttrOptions) {
    if (option == name) return true;
  }
  return false;
}

Result<void> ApplyOption(const std::string& option, MountOptions& out) {
  if (option.empty()) return Error(EINVAL, "empty option");
  if (option.find('\0') != std::string::npos) return Error(EINVAL, "contains a NUL byte");
  if (option.find(',') != std::string::npos) {
    return Error(EINVAL, fmt::format("{} contains ',': give each option as its own string",
                                     internal::Quote(option)));
  }
  if (const FlagOption* flag = FindFlagOption(option)) {
    if (flag->clears) {
      out.flags &= ~flag->flag;
      out.cleared_flags |= flag->flag;
    } else {
      out.flags |= flag->flag;
      out.cleared_flags &= ~flag->flag;
    }
    return Ok();
  }
  if (option == "bind" || option == "rbind") {
    out.bind = true;
    if (option == "rbind") out.recursive_bind = true;
    return Ok();
  }
  if (const std::optional<unsigned long> propagation = PropagationFromName(option)) {
    out.propagation.push_back(*propagation);
    return Ok();
  }
  if (option == "tmpcopyup") {
    out.tmpcopyup = true;
    return Ok();
  }
  if (option == "idmap" || option == "ridmap") {
    return Error(EINVAL, fmt::format("{}: idmapped mounts are not supported by hull-agent",
                                     internal::Quote(option)));
  }
  if (IsRecursiveAttrOption(option)) {
    return Error(EINVAL,
                 fmt::format("{}: recursive mount attributes are not supported by hull-agent "
                             "(use the non-recursive option)",
                             internal::Quote(option)));
  }
  if (!out.data.empty()) out.data += ',';
  out.data += option;
  return Ok();
}

}  // namespace

unsigned long MountOptions::MountFlags() const {
  if (!bind) return flags;
  return recursive_bind ? MS_BIND | MS_REC : MS_BIND;
}

bool MountOptions::NeedsBindRemount() const {
  return bind && (flags & ~static_cast<unsigned long>(MS_REMOUNT)) != 0;
}

unsigned long MountOptions::BindRemountFlags() const { return MS_BIND | MS_REMOUNT | flags; }

Result<MountOptions> ParseMountOptions(const std::vector<std::string>& options) {
  return internal::ParseMountOptionsAt(options, "options");
}

namespace internal {

Result<MountOptions> ParseMountOptionsAt(const std::vector<std::string>& options,
                                         std::string_view path) {
  MountOptions out;
  for (size_t i = 0; i < options.size(); ++i) {
    HULL_TRY(ApplyOption(options[i], out).WithContext(fmt::format("{}[{}]", path, i)));
  }
  return out;
}

}  // namespace internal

std::optional<unsigned long> PropagationFromName(std::string_view name) {
  struct Entry {
    std::string_view name;
    unsigned long flags;
  };
  static constexpr Entry kPropagation[] = {
      {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
      {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
      {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
      {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
  };
  for (const Entry& entry : kPropagation) {
    if (entry.name == name) return entry.flags;
  }
  return std::nullopt;
}

}  // namespace hull::oci
