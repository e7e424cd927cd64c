#include "request_validation.h"

#include <cerrno>
#include <string>

namespace hull::agent {
namespace {

constexpr size_t kMaxIdLength = 128;
constexpr size_t kMaxSpecBytes = 4u << 20;
constexpr uint32_t kMaxSignal = 64;

bool IsIdChar(char c, bool first) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return !first && (c == '_' || c == '.' || c == '-');
}

Error Invalid(std::string message) { return Error(EINVAL, std::move(message)); }

bool HasNul(std::string_view text) { return text.find('\0') != std::string_view::npos; }

// Absolute, normalised (no "." or ".." or empty components), no NUL.
bool IsCleanAbsolutePath(std::string_view path) {
  if (path.empty() || path.front() != '/' || HasNul(path)) return false;
  size_t start = 1;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view component = path.substr(start, slash - start);
    if (component == "." || component == "..") return false;
    if (component.empty() && slash != path.size()) return false;
    start = slash + 1;
  }
  return true;
}

bool IsInterfaceName(std::string_view name) {
  if (name.empty() || name.size() > 15) return false;
  for (char c : name) {
    if (c == '/' || c == ':' || c == '\0' || c == ' ' || static_cast<unsigned char>(c) < 0x20) {
      return false;
    }
  }
  return name != "." && name != "..";
}

bool IsPrintable(std::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

Result<void> ValidateContainerId(const std::string& id, std::string_view field) {
  if (id.empty()) return Invalid(std::string(field) + " is empty");
  if (id.size() > kMaxIdLength) {
    return Invalid(std::string(field) + " is longer than " + std::to_string(kMaxIdLength) +
                   " characters");
  }
  for (size_t i = 0; i < id.size(); ++i) {
    if (!IsIdChar(id[i], i == 0)) {
      return Invalid(
          std::string(field) +
          " may hold only letters, digits, '_', '.' and '-' (and start with a letter or digit)");
    }
  }
  return {};
}

Result<void> ValidateExecId(const std::string& id, bool allow_init) {
  if (id.empty()) {
    if (allow_init) return {};
    return Invalid("exec_id is empty: an exec'd process needs its own id");
  }
  return ValidateContainerId(id, "exec_id");
}

Result<void> ValidateCreateSandbox(const v1::CreateSandboxRequest& request) {
  if (!request.sandbox_id().empty())
    HULL_TRY(ValidateContainerId(request.sandbox_id(), "sandbox_id"));
  if (request.hostname().size() > 64 || !IsPrintable(request.hostname())) {
    return Invalid("hostname must be at most 64 printable characters");
  }
  for (const std::string& server : request.dns().servers()) {
    if (server.empty() || server.size() > 64 || !IsPrintable(server) ||
        server.find(' ') != std::string::npos) {
      return Invalid("dns.servers: \"" + server.substr(0, 64) + "\" is no address");
    }
  }
  for (const auto& list : {request.dns().searches(), request.dns().options()}) {
    for (const std::string& entry : list) {
      if (entry.empty() || entry.size() > 253 || !IsPrintable(entry) ||
          entry.find(' ') != std::string::npos) {
        return Invalid("dns: search domains and options must be single printable words");
      }
    }
  }
  for (int i = 0; i < request.interfaces_size(); ++i) {
    const v1::Interface& interface = request.interfaces(i);
    const std::string field = "interfaces[" + std::to_string(i) + "]";
    if (!IsInterfaceName(interface.name()))
      return Invalid(field + ".name is no valid interface name");
    if (interface.mac().size() != 17)
      return Invalid(field + ".mac must look like aa:bb:cc:dd:ee:ff");
    if (interface.mtu() != 0 && (interface.mtu() < 68 || interface.mtu() > 65535)) {
      return Invalid(field + ".mtu must be 0 (unchanged) or 68..65535");
    }
    for (const v1::IpAddress& address : interface.addresses()) {
      if (address.cidr().find('/') == std::string::npos || address.cidr().size() > 64 ||
          HasNul(address.cidr())) {
        return Invalid(field + ".addresses: \"" + address.cidr().substr(0, 64) + "\" is no CIDR");
      }
    }
  }
  for (int i = 0; i < request.routes_size(); ++i) {
    const v1::Route& route = request.routes(i);
    const std::string field = "routes[" + std::to_string(i) + "]";
    if (route.destination().empty() || route.destination().size() > 64 ||
        HasNul(route.destination())) {
      return Invalid(field + ".destination must be a CIDR or \"default\"");
    }
    if (!route.device().empty() && !IsInterfaceName(route.device())) {
      return Invalid(field + ".device is no valid interface name");
    }
    if (route.gateway().size() > 64 || route.source().size() > 64)
      return Invalid(field + ": address too long");
  }
  for (int i = 0; i < request.storages_size(); ++i) {
    const v1::Storage& storage = request.storages(i);
    const std::string field = "storages[" + std::to_string(i) + "]";
    if (!IsCleanAbsolutePath(storage.mount_point()) ||
        storage.mount_point().compare(0, kStorageRoot.size(), kStorageRoot) != 0 ||
        storage.mount_point().size() == kStorageRoot.size()) {
      return Invalid(field + ".mount_point must be a clean path under " +
                     std::string(kStorageRoot));
    }
    if (storage.fstype().empty() || !IsPrintable(storage.fstype()) ||
        storage.fstype().size() > 32) {
      return Invalid(field + ".fstype is empty or malformed");
    }
    if (storage.source().empty() || HasNul(storage.source()) || storage.source().size() > 4096) {
      return Invalid(field + ".source is empty or malformed");
    }
    for (const std::string& option : storage.options()) {
      if (HasNul(option) || option.find(',') != std::string::npos) {
        return Invalid(field + ".options: an option may hold neither ',' nor NUL");
      }
    }
  }
  for (const auto& [name, value] : request.sysctls()) {
    if (name.compare(0, 4, "net.") != 0 || name.find('/') != std::string::npos ||
        name.find("..") != std::string::npos || HasNul(name) || HasNul(value)) {
      return Invalid("sysctls: \"" + name.substr(0, 64) + "\" is not a net.* sysctl");
    }
  }
  return {};
}

Result<void> ValidateCreateContainer(const v1::CreateContainerRequest& request) {
  HULL_TRY(ValidateContainerId(request.container_id()));
  if (request.spec_json().empty()) return Invalid("spec_json is empty");
  if (request.spec_json().size() > kMaxSpecBytes) return Invalid("spec_json is larger than 4 MiB");
  if (!request.rootfs().empty() && !IsCleanAbsolutePath(request.rootfs())) {
    return Invalid("rootfs must be a clean absolute path");
  }
  return {};
}

Result<void> ValidateExecProcess(const v1::ExecProcessRequest& request) {
  HULL_TRY(ValidateContainerId(request.container_id()));
  HULL_TRY(ValidateExecId(request.exec_id(), /*allow_init=*/false));
  if (request.process_json().empty()) return Invalid("process_json is empty");
  if (request.process_json().size() > kMaxSpecBytes)
    return Invalid("process_json is larger than 4 MiB");
  return {};
}

Result<void> ValidateSignal(const v1::SignalProcessRequest& request) {
  HULL_TRY(ValidateContainerId(request.container_id()));
  HULL_TRY(ValidateExecId(request.exec_id(), /*allow_init=*/true));
  if (request.signal() == 0 || request.signal() > kMaxSignal) {
    return Invalid("signal must be 1.." + std::to_string(kMaxSignal));
  }
  return {};
}

Result<void> ValidateResize(const v1::ResizeTtyRequest& request) {
  HULL_TRY(ValidateContainerId(request.container_id()));
  HULL_TRY(ValidateExecId(request.exec_id(), /*allow_init=*/true));
  if (request.rows() > 0xffff || request.columns() > 0xffff)
    return Invalid("rows and columns must fit 16 bits");
  return {};
}

Result<void> ValidateProcessRequest(const v1::ProcessRequest& request) {
  HULL_TRY(ValidateContainerId(request.container_id()));
  return ValidateExecId(request.exec_id(), /*allow_init=*/true);
}

Result<void> ValidateUpdate(const v1::UpdateContainerRequest& request) {
  HULL_TRY(ValidateContainerId(request.container_id()));
  if (request.resources_json().empty()) return Invalid("resources_json is empty");
  if (request.resources_json().size() > kMaxSpecBytes)
    return Invalid("resources_json is larger than 4 MiB");
  return {};
}

}  // namespace hull::agent
