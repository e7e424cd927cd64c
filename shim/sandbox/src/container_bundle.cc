#include "hull/sandbox/container_bundle.h"

#include <cerrno>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "hull/oci/spec_parse.h"

namespace hull::sandbox {
namespace {

using Json = nlohmann::json;

bool HasOption(const Json& mount, std::string_view option) {
  auto options = mount.find("options");
  if (options == mount.end() || !options->is_array()) return false;
  for (const Json& value : *options) {
    if (value.is_string() && value.get<std::string>() == option) return true;
  }
  return false;
}

bool IsBind(const Json& mount) {
  auto type = mount.find("type");
  if (type != mount.end() && type->is_string() && type->get<std::string>() == "bind") return true;
  return HasOption(mount, "bind") || HasOption(mount, "rbind");
}

// The spec's annotations whose values are strings.
std::map<std::string, std::string> StringAnnotations(const Json& spec) {
  std::map<std::string, std::string> annotations;
  if (auto found = spec.find("annotations"); found != spec.end() && found->is_object()) {
    for (const auto& [key, value] : found->items()) {
      if (value.is_string()) annotations[key] = value.get<std::string>();
    }
  }
  return annotations;
}

}  // namespace

Result<std::string> ReadBundleSpec(const std::string& bundle) {
  const std::string path = bundle + "/config.json";
  std::ifstream in(path);
  if (!in)
    return Error::FromErrno(errno, "reading " + path + " (is --bundle the bundle directory?)");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Result<std::map<std::string, std::string>> ReadBundleAnnotations(const std::string& bundle) {
  HULL_ASSIGN_OR_RETURN(std::string spec_json, ReadBundleSpec(bundle));
  Json spec = Json::parse(spec_json, nullptr, /*allow_exceptions=*/false);
  if (spec.is_discarded() || !spec.is_object()) {
    return Error(EINVAL, bundle + "/config.json is no JSON object");
  }
  return StringAnnotations(spec);
}

PodRole PodRoleOf(const std::map<std::string, std::string>& annotations) {
  auto value = [&](const char* key) {
    auto it = annotations.find(key);
    return it == annotations.end() ? std::string() : it->second;
  };
  PodRole role;
  std::string type = value("io.kubernetes.cri.container-type");
  role.sandbox_id = value("io.kubernetes.cri.sandbox-id");
  if (type.empty()) {
    type = value("io.kubernetes.cri-o.ContainerType");
    role.sandbox_id = value("io.kubernetes.cri-o.SandboxID");
  }
  role.is_sandbox = type == "sandbox";
  return role;
}

std::string SandboxIdFor(const std::string& id, const PodRole& role) {
  if (role.is_sandbox || role.sandbox_id.empty()) return id;
  return role.sandbox_id;
}

Result<GuestBundle> RewriteSpecForGuest(const std::string& container_id, const std::string& bundle,
                                        const std::string& spec_json, const ShareFunction& share,
                                        const NamespaceJoin& join) {
  HULL_TRY(ValidateId("container", container_id));
  // The agent's parser first: precise errors for a bad config.json.
  HULL_TRY(oci::ParseSpec(spec_json).WithContext(bundle + "/config.json"));
  Json spec = Json::parse(spec_json, nullptr, /*allow_exceptions=*/false);
  if (spec.is_discarded() || !spec.is_object()) {
    return Error(EINVAL, bundle + "/config.json is no JSON object");
  }
  GuestBundle result;

  auto root_it = spec.find("root");
  if (root_it == spec.end() || !root_it->is_object() || !root_it->contains("path") ||
      !(*root_it)["path"].is_string() || (*root_it)["path"].get<std::string>().empty()) {
    return Error(EINVAL, bundle +
                             "/config.json: root.path is missing: hull needs the bundle's "
                             "root file system");
  }
  std::string root = (*root_it)["path"].get<std::string>();
  if (root.front() != '/') root = bundle + "/" + root;
  HULL_ASSIGN_OR_RETURN(std::string guest_root, share(container_id + "/rootfs", root, false));
  spec["root"]["path"] = guest_root;

  if (auto mounts = spec.find("mounts"); mounts != spec.end() && mounts->is_array()) {
    size_t n = 0;
    for (Json& mount : *mounts) {
      if (!IsBind(mount)) continue;
      auto source = mount.find("source");
      if (source == mount.end() || !source->is_string()) {
        return Error(EINVAL, "a bind mount at " + mount.value("destination", std::string("?")) +
                                 " has no source");
      }
      std::string host = source->get<std::string>();
      if (host.empty() || host.front() != '/') host = bundle + "/" + host;
      HULL_ASSIGN_OR_RETURN(
          std::string guest,
          share(container_id + "/mounts/" + std::to_string(n++), host, HasOption(mount, "ro")));
      *source = guest;
    }
  }

  if (auto linux_it = spec.find("linux"); linux_it != spec.end() && linux_it->is_object()) {
    Json& linux_spec = *linux_it;
    if (auto namespaces = linux_spec.find("namespaces");
        namespaces != linux_spec.end() && namespaces->is_array()) {
      Json kept = Json::array();
      for (const Json& ns : *namespaces) {
        const std::string type = ns.value("type", std::string());
        if (type == "user") {
          return Error(EINVAL,
                       "linux.namespaces: hull runs no user namespaces inside the VM (the VM is "
                       "the isolation boundary); run the container without one (rootful)");
        }
        if (type == "network") {
          if (auto path = ns.find("path"); path != ns.end() && path->is_string()) {
            result.network_namespace = path->get<std::string>();
          }
          continue;
        }
        if (ns.contains("path") && join && ns["path"].is_string()) {
          if (std::optional<std::string> guest = join(type, ns["path"].get<std::string>())) {
            kept.push_back(Json{{"type", type}, {"path", *guest}});
            continue;
          }
        }
        if (ns.contains("path")) {
          result.ignored.push_back("the " + type + " namespace path " + ns["path"].dump() +
                                   " (a host namespace)");
          Json fresh = {{"type", type}};
          kept.push_back(std::move(fresh));
          continue;
        }
        kept.push_back(ns);
      }
      *namespaces = std::move(kept);
    }
    if (auto sysctls = linux_spec.find("sysctl");
        sysctls != linux_spec.end() && sysctls->is_object()) {
      Json kept = Json::object();
      for (const auto& [name, value] : sysctls->items()) {
        if (name.starts_with("net.") && value.is_string()) {
          result.network_sysctls[name] = value.get<std::string>();
          if (join) result.ignored.push_back("sysctl " + name + " (set on the pod's sandbox)");
        } else {
          kept[name] = value;
        }
      }
      *sysctls = std::move(kept);
    }
    if (linux_spec.contains("cgroupsPath")) linux_spec.erase("cgroupsPath");
    if (auto resources = linux_spec.find("resources");
        resources != linux_spec.end() && resources->is_object()) {
      result.resources_json = resources->dump();
    }
  }
  if (result.resources_json.empty()) result.resources_json = "{}";
  result.annotations = StringAnnotations(spec);
  if (auto hooks = spec.find("hooks"); hooks != spec.end() && !hooks->empty()) {
    result.ignored.push_back("hooks (not run)");
    spec.erase("hooks");
  }
  if (auto process = spec.find("process"); process != spec.end() && process->is_object()) {
    result.terminal = process->value("terminal", false);
  }
  result.spec_json = spec.dump(-1, ' ', false, Json::error_handler_t::replace);
  // What the agent will check, checked here on the rewritten spec.
  HULL_ASSIGN_OR_RETURN(oci::Spec parsed, oci::ParseSpec(result.spec_json));
  HULL_TRY(oci::ValidateSpec(parsed).WithContext(bundle + "/config.json"));
  return result;
}

Result<HostConfig> ConfigForBundle(const std::string& container_id, const std::string& bundle,
                                   HostConfig config) {
  HULL_ASSIGN_OR_RETURN(std::string spec_json, ReadBundleSpec(bundle));
  HULL_ASSIGN_OR_RETURN(GuestBundle sized,
                        RewriteSpecForGuest(container_id, bundle, spec_json,
                                            [](const std::string& name, const std::string&,
                                               bool) -> Result<std::string> {
                                              return std::string(kGuestShareRoot) + "/" + name;
                                            }));
  HULL_TRY(ApplyAnnotations(sized.annotations, config).WithContext(bundle + "/config.json"));
  SizeVmForResources(sized.resources_json, config);
  config.network_namespace = sized.network_namespace;
  config.network_sysctls = sized.network_sysctls;
  return config;
}

Result<GuestBundle> PrepareBundle(VmSandbox& sandbox, const std::string& container_id,
                                  const std::string& bundle, const NamespaceJoin& join) {
  HULL_ASSIGN_OR_RETURN(std::string spec_json, ReadBundleSpec(bundle));
  Result<GuestBundle> prepared = RewriteSpecForGuest(
      container_id, bundle, spec_json,
      [&](const std::string& name, const std::string& path, bool read_only) {
        return sandbox.Share(name, path, read_only);
      },
      join);
  if (!prepared.ok()) (void)sandbox.Unshare(container_id);
  return prepared;
}

}  // namespace hull::sandbox
