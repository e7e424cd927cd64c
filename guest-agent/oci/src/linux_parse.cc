// The "linux" object of config.json: namespaces, id mappings, sysctls,
// devices, seccomp and the rest (resources are in resources_parse.cc).

#include <fmt/format.h>

#include <cerrno>

#include "hull/oci/names.h"
#include "parse_internal.h"
#include "text_checks.h"

namespace hull::oci::internal {
namespace {

Result<Namespace> ParseNamespace(const Json& value, const std::string& path) {
  HULL_ASSIGN_OR_RETURN(const ObjectReader object, ObjectReader::Make(value, path));
  Namespace ns;
  std::string type;
  HULL_TRY(object.ReadRequired("type", type));
  const std::optional<NamespaceType> parsed = NamespaceTypeFromName(type);
  if (!parsed) {
    return Error(EINVAL,
                 fmt::format("{}: unknown namespace type {}", object.PathOf("type"), Quote(type)));
  }
  ns.type = *parsed;
  HULL_TRY(object.Read("path", ns.path));
  return ns;
}

Result<IdMapping> ParseIdMapping(const Json& value, const std::string& path) {
  HULL_ASSIGN_OR_RETURN(const ObjectReader object, ObjectReader::Make(value, path));
  IdMapping mapping;
  HULL_TRY(object.ReadRequired("containerID", mapping.container_id));
  HULL_TRY(object.ReadRequired("hostID", mapping.host_id));
  HULL_TRY(object.ReadRequired("size", mapping.size));
  return mapping;
}

Result<Device> ParseDevice(const Json& value, const std::string& path) {
  HULL_ASSIGN_OR_RETURN(const ObjectReader object, ObjectReader::Make(value, path));
  Device device;
  HULL_TRY(object.ReadRequired("path", device.path));
  std::string type;
  HULL_TRY(object.ReadRequired("type", type));
  if (type != "c" && type != "b" && type != "u" && type != "p") {
    return Error(EINVAL, fmt::format("{}: expected one of \"c\", \"b\", \"u\", \"p\", got {}",
                                     object.PathOf("type"), Quote(type)));
  }
  device.type = type[0];
  // A FIFO has no device number; every other kind needs both halves, which
  // the int64 fields could not tell apart from a real 0.
  if (device.type != 'p') {
    for (const std::string_view key : {"major", "minor"}) {
      if (!object.Has(key)) {
        return Error(EINVAL, fmt::format("{}: required for a \"{}\" device", object.PathOf(key),
                                         device.type));
      }
    }
  }
  HULL_TRY(object.Read("major", device.major));
  HULL_TRY(object.Read("minor", device.minor));
  HULL_TRY(object.Read("fileMode", device.file_mode));
  HULL_TRY(object.Read("uid", device.uid));
  HULL_TRY(object.Read("gid", device.gid));
  return device;
}

Result<SeccompAction> ParseSeccompAction(const ObjectReader& object, std::string_view key) {
  std::string name;
  HULL_TRY(object.ReadRequired(key, name));
  const std::optional<SeccompAction> action = SeccompActionFromName(name);
  if (!action) {
    return Error(EINVAL,
                 fmt::format("{}: unknown seccomp action {}", object.PathOf(key), Quote(name)));
  }
  return *action;
}

Result<SeccompArg> ParseSeccompArg(const Json& value, const std::string& path) {
  HULL_ASSIGN_OR_RETURN(const ObjectReader object, ObjectReader::Make(value, path));
  SeccompArg arg;
  HULL_TRY(object.ReadRequired("index", arg.index));
  HULL_TRY(object.ReadRequired("value", arg.value));
  HULL_TRY(object.Read("valueTwo", arg.value_two));
  std::string op;
  HULL_TRY(object.ReadRequired("op", op));
  const std::optional<SeccompOperator> parsed = SeccompOperatorFromName(op);
  if (!parsed) {
    return Error(EINVAL,
                 fmt::format("{}: unknown seccomp operator {}", object.PathOf("op"), Quote(op)));
  }
  arg.op = *parsed;
  return arg;
}

Result<SeccompSyscall> ParseSeccompSyscall(const Json& value, const std::string& path) {
  HULL_ASSIGN_OR_RETURN(const ObjectReader object, ObjectReader::Make(value, path));
  SeccompSyscall syscall;
  HULL_TRY(object.ReadRequired("names", syscall.names));
  HULL_ASSIGN_OR_RETURN(syscall.action, ParseSeccompAction(object, "action"));
  HULL_TRY(object.Read("errnoRet", syscall.errno_ret));
  HULL_TRY(object.ReadArray("args", syscall.args, ParseSeccompArg));
  return syscall;
}

Result<Seccomp> ParseSeccomp(const Json& value, const std::string& path) {
  HULL_ASSIGN_OR_RETURN(const ObjectReader object, ObjectReader::Make(value, path));
  Seccomp seccomp;
  HULL_ASSIGN_OR_RETURN(seccomp.default_action, ParseSeccompAction(object, "defaultAction"));
  HULL_TRY(object.Read("defaultErrnoRet", seccomp.default_errno_ret));
  HULL_TRY(object.Read("architectures", seccomp.architectures));
  HULL_TRY(object.Read("flags", seccomp.flags));
  HULL_TRY(object.Read("listenerPath", seccomp.listener_path));
  HULL_TRY(object.Read("listenerMetadata", seccomp.listener_metadata));
  HULL_TRY(object.ReadArray("syscalls", seccomp.syscalls, ParseSeccompSyscall));
  return seccomp;
}

}  // namespace

Result<Linux> ParseLinuxValue(const Json& value, const std::string& path) {
  HULL_ASSIGN_OR_RETURN(const ObjectReader object, ObjectReader::Make(value, path));
  Linux linux_part;
  HULL_TRY(object.ReadArray("namespaces", linux_part.namespaces, ParseNamespace));
  HULL_TRY(object.ReadArray("uidMappings", linux_part.uid_mappings, ParseIdMapping));
  HULL_TRY(object.ReadArray("gidMappings", linux_part.gid_mappings, ParseIdMapping));
  HULL_TRY(object.Read("sysctl", linux_part.sysctl));
  HULL_TRY(object.ReadObject("resources", linux_part.resources, ParseResourcesValue));
  HULL_TRY(object.Read("cgroupsPath", linux_part.cgroups_path));
  HULL_TRY(object.ReadArray("devices", linux_part.devices, ParseDevice));
  HULL_TRY(object.ReadObject("seccomp", linux_part.seccomp, ParseSeccomp));
  HULL_TRY(object.Read("rootfsPropagation", linux_part.rootfs_propagation));
  HULL_TRY(object.Read("maskedPaths", linux_part.masked_paths));
  HULL_TRY(object.Read("readonlyPaths", linux_part.readonly_paths));
  HULL_TRY(object.Read("mountLabel", linux_part.mount_label));
  return linux_part;
}

}  // namespace hull::oci::internal
