// ParseSpec, ParseProcess, ParseResources: the entry points (size, depth and
// exception guards), and the parts of config.json outside "linux".

#include "hull/oci/spec_parse.h"

#include <fmt/format.h>

#include <cerrno>

#include "json_reader.h"
#include "parse_internal.h"

namespace hull::oci {
namespace internal {
namespace {

Result<ConsoleSize> ParseConsoleSize(const Json& value, const std::string& path) {
  HULL_ASSIGN_OR_RETURN(const ObjectReader object, ObjectReader::Make(value, path));
  ConsoleSize size;
  HULL_TRY(object.ReadRequired("height", size.height));
  HULL_TRY(object.ReadRequired("width", size.width));
  return size;
}

Result<User> ParseUser(const Json& value, const std::string& path) {
  HULL_ASSIGN_OR_RETURN(const ObjectReader object, ObjectReader::Make(value, path));
  User user;
  HULL_TRY(object.Read("uid", user.uid));
  HULL_TRY(object.Read("gid", user.gid));
  HULL_TRY(object.Read("umask", user.umask));
  HULL_TRY(object.ReadArray("additionalGids", user.additional_gids, AsInteger<uint32_t>));
  return user;
}

Result<Capabilities> ParseCapabilities(const Json& value, const std::string& path) {
  HULL_ASSIGN_OR_RETURN(const ObjectReader object, ObjectReader::Make(value, path));
  Capabilities caps;
  HULL_TRY(object.Read("bounding", caps.bounding));
  HULL_TRY(object.Read("effective", caps.effective));
  HULL_TRY(object.Read("inheritable", caps.inheritable));
  HULL_TRY(object.Read("permitted", caps.permitted));
  HULL_TRY(object.Read("ambient", caps.ambient));
  return caps;
}

Result<Rlimit> ParseRlimit(const Json& value, const std::string& path) {
  HULL_ASSIGN_OR_RETURN(const ObjectReader object, ObjectReader::Make(value, path));
  Rlimit rlimit;
  HULL_TRY(object.ReadRequired("type", rlimit.type));
  HULL_TRY(object.ReadRequired("hard", rlimit.hard));
  HULL_TRY(object.ReadRequired("soft", rlimit.soft));
  return rlimit;
}

Result<Root> ParseRoot(const Json& value, const std::string& path) {
  HULL_ASSIGN_OR_RETURN(const ObjectReader object, ObjectReader::Make(value, path));
  Root root;
  HULL_TRY(object.Read("path", root.path));
  HULL_TRY(object.Read("readonly", root.readonly));
  return root;
}

Result<Mount> ParseMount(const Json& value, const std::string& path) {
  HULL_ASSIGN_OR_RETURN(const ObjectReader object, ObjectReader::Make(value, path));
  Mount mount;
  HULL_TRY(object.ReadRequired("destination", mount.destination));
  HULL_TRY(object.Read("type", mount.type));
  HULL_TRY(object.Read("source", mount.source));
  HULL_TRY(object.Read("options", mount.options));
  // Mappings on a mount (runtime-spec 1.1) ask for an idmapped mount; ignoring
  // them would give the container files owned by the wrong ids.
  for (const std::string_view key : {"uidMappings", "gidMappings"}) {
    const Json* mappings = object.Find(key);
    if (mappings != nullptr && !(mappings->is_array() && mappings->empty())) {
      return Error(EINVAL, fmt::format("{}: idmapped mounts are not supported by hull-agent",
                                       object.PathOf(key)));
    }
  }
  return mount;
}

Result<Hook> ParseHook(const Json& value, const std::string& path) {
  HULL_ASSIGN_OR_RETURN(const ObjectReader object, ObjectReader::Make(value, path));
  Hook hook;
  HULL_TRY(object.ReadRequired("path", hook.path));
  HULL_TRY(object.Read("args", hook.args));
  HULL_TRY(object.Read("env", hook.env));
  HULL_TRY(object.Read("timeout", hook.timeout));
  return hook;
}

Result<Hooks> ParseHooks(const Json& value, const std::string& path) {
  HULL_ASSIGN_OR_RETURN(const ObjectReader object, ObjectReader::Make(value, path));
  Hooks hooks;
  HULL_TRY(object.ReadArray("prestart", hooks.prestart, ParseHook));
  HULL_TRY(object.ReadArray("createRuntime", hooks.create_runtime, ParseHook));
  HULL_TRY(object.ReadArray("createContainer", hooks.create_container, ParseHook));
  HULL_TRY(object.ReadArray("startContainer", hooks.start_container, ParseHook));
  HULL_TRY(object.ReadArray("poststart", hooks.poststart, ParseHook));
  HULL_TRY(object.ReadArray("poststop", hooks.poststop, ParseHook));
  return hooks;
}

Result<Spec> ParseSpecValue(const Json& value) {
  HULL_ASSIGN_OR_RETURN(const ObjectReader object, ObjectReader::Make(value, ""));
  Spec spec;
  HULL_TRY(object.Read("ociVersion", spec.oci_version));
  HULL_TRY(object.ReadObject("process", spec.process, ParseProcessValue));
  if (const Json* root = object.Find("root")) {
    HULL_ASSIGN_OR_RETURN(spec.root, ParseRoot(*root, object.PathOf("root")));
  }
  HULL_TRY(object.Read("hostname", spec.hostname));
  HULL_TRY(object.Read("domainname", spec.domainname));
  HULL_TRY(object.ReadArray("mounts", spec.mounts, ParseMount));
  HULL_TRY(object.ReadObject("linux", spec.linux, ParseLinuxValue));
  HULL_TRY(object.ReadObject("hooks", spec.hooks, ParseHooks));
  HULL_TRY(object.Read("annotations", spec.annotations));
  return spec;
}

}  // namespace

Result<Process> ParseProcessValue(const Json& value, const std::string& path) {
  HULL_ASSIGN_OR_RETURN(const ObjectReader object, ObjectReader::Make(value, path));
  Process process;
  HULL_TRY(object.Read("terminal", process.terminal));
  HULL_TRY(object.ReadObject("consoleSize", process.console_size, ParseConsoleSize));
  if (const Json* user = object.Find("user")) {
    HULL_ASSIGN_OR_RETURN(process.user, ParseUser(*user, object.PathOf("user")));
  }
  HULL_TRY(object.Read("args", process.args));
  HULL_TRY(object.Read("env", process.env));
  HULL_TRY(object.Read("cwd", process.cwd));
  HULL_TRY(object.ReadObject("capabilities", process.capabilities, ParseCapabilities));
  HULL_TRY(object.ReadArray("rlimits", process.rlimits, ParseRlimit));
  HULL_TRY(object.Read("noNewPrivileges", process.no_new_privileges));
  HULL_TRY(object.Read("oomScoreAdj", process.oom_score_adj));
  HULL_TRY(object.Read("apparmorProfile", process.apparmor_profile));
  HULL_TRY(object.Read("selinuxLabel", process.selinux_label));
  return process;
}

}  // namespace internal

Result<Spec> ParseSpec(std::string_view json) {
  return internal::RunGuarded([json]() -> Result<Spec> {
    HULL_ASSIGN_OR_RETURN(const internal::Json value, internal::ParseDocument(json, "config.json"));
    return internal::ParseSpecValue(value);
  });
}

Result<Process> ParseProcess(std::string_view json) {
  return internal::RunGuarded([json]() -> Result<Process> {
    HULL_ASSIGN_OR_RETURN(const internal::Json value, internal::ParseDocument(json, "process"));
    return internal::ParseProcessValue(value, "process");
  });
}

Result<Resources> ParseResources(std::string_view json) {
  return internal::RunGuarded([json]() -> Result<Resources> {
    HULL_ASSIGN_OR_RETURN(const internal::Json value, internal::ParseDocument(json, "resources"));
    return internal::ParseResourcesValue(value, "resources");
  });
}

}  // namespace hull::oci
