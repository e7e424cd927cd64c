#include "init_request.h"

#include <cerrno>
#include <nlohmann/json.hpp>
#include <optional>

#include "hull/oci/names.h"

namespace hull::agent {
namespace {

using Json = nlohmann::json;

Result<std::string> StringMember(const Json& json, const char* key) {
  auto it = json.find(key);
  if (it == json.end()) return std::string();
  if (!it->is_string()) return Error(EINVAL, std::string("init request: ") + key + " is no string");
  return it->get<std::string>();
}

}  // namespace

std::string SerializeInitRequest(const InitRequest& request) {
  Json json;
  json["mode"] = request.mode == InitRequest::Mode::kCreate ? "create" : "exec";
  json["container_id"] = request.container_id;
  json["spec"] = request.spec_json;
  json["process"] = request.process_json;
  json["rootfs"] = request.rootfs;
  json["cgroup_dir"] = request.cgroup_dir;
  json["console_path"] = request.console_path;
  json["root_path"] = request.root_path;
  Json join = Json::array();
  for (const JoinNamespace& ns : request.join) {
    join.push_back({{"type", oci::NamespaceTypeName(ns.type)}, {"path", ns.path}});
  }
  json["join"] = std::move(join);
  // Invalid UTF-8 in a spec must not throw: replace it (the child's parser
  // then reports the field).
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Result<InitRequest> ParseInitRequest(std::string_view text) {
  Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object())
    return Error(EINVAL, "init request is no JSON object");
  InitRequest request;
  HULL_ASSIGN_OR_RETURN(std::string mode, StringMember(json, "mode"));
  if (mode == "create") {
    request.mode = InitRequest::Mode::kCreate;
  } else if (mode == "exec") {
    request.mode = InitRequest::Mode::kExec;
  } else {
    return Error(EINVAL, "init request: unknown mode \"" + mode + "\"");
  }
  HULL_ASSIGN_OR_RETURN(request.container_id, StringMember(json, "container_id"));
  HULL_ASSIGN_OR_RETURN(request.spec_json, StringMember(json, "spec"));
  HULL_ASSIGN_OR_RETURN(request.process_json, StringMember(json, "process"));
  HULL_ASSIGN_OR_RETURN(request.rootfs, StringMember(json, "rootfs"));
  HULL_ASSIGN_OR_RETURN(request.cgroup_dir, StringMember(json, "cgroup_dir"));
  HULL_ASSIGN_OR_RETURN(request.console_path, StringMember(json, "console_path"));
  HULL_ASSIGN_OR_RETURN(request.root_path, StringMember(json, "root_path"));
  auto join = json.find("join");
  if (join != json.end()) {
    if (!join->is_array()) return Error(EINVAL, "init request: join is no array");
    for (const Json& entry : *join) {
      if (!entry.is_object()) return Error(EINVAL, "init request: join entry is no object");
      HULL_ASSIGN_OR_RETURN(std::string type, StringMember(entry, "type"));
      std::optional<oci::NamespaceType> known = oci::NamespaceTypeFromName(type);
      if (!known) return Error(EINVAL, "init request: unknown namespace type \"" + type + "\"");
      JoinNamespace ns;
      ns.type = *known;
      HULL_ASSIGN_OR_RETURN(ns.path, StringMember(entry, "path"));
      request.join.push_back(std::move(ns));
    }
  }
  return request;
}

}  // namespace hull::agent
