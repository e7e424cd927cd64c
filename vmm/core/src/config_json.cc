// ParseJsonConfig: a --config file onto a VmmConfig. nlohmann::json throws;
// every exception is caught here and becomes an Error.

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <exception>
#include <limits>
#include <new>
#include <nlohmann/json.hpp>
#include <string>

#include "hull/common/eintr.h"
#include "hull/common/unique_fd.h"
#include "hull/vmm/core/config.h"

namespace hull::vmm {
namespace {

using nlohmann::json;

Error TypeError(std::string_view key, std::string_view expected, const json& value) {
  return Error(EINVAL, fmt::format("config: key \"{}\": expected {}, got {}", key, expected,
                                   value.type_name()));
}

Result<std::string> GetString(std::string_view key, const json& value) {
  if (!value.is_string()) return TypeError(key, "a string", value);
  return value.get<std::string>();
}

Result<bool> GetBool(std::string_view key, const json& value) {
  if (!value.is_boolean()) return TypeError(key, "true or false", value);
  return value.get<bool>();
}

template <typename T>
Result<T> GetUnsigned(std::string_view key, const json& value) {
  if (!value.is_number_unsigned()) return TypeError(key, "a non-negative whole number", value);
  const uint64_t n = value.get<uint64_t>();
  if (n > std::numeric_limits<T>::max()) {
    return Error(EINVAL, fmt::format("config: key \"{}\": {} is out of range", key, n));
  }
  return static_cast<T>(n);
}

Result<DiskConfig> ParseDisk(size_t index, const json& value) {
  const std::string where = fmt::format("disks[{}]", index);
  if (!value.is_object())
    return TypeError(where, "an object {\"path\": ..., \"read_only\": ...}", value);
  DiskConfig disk;
  bool has_path = false;
  for (const auto& [key, item] : value.items()) {
    const std::string name = fmt::format("{}.{}", where, key);
    if (key == "path") {
      HULL_ASSIGN_OR_RETURN(disk.path, GetString(name, item));
      has_path = true;
    } else if (key == "read_only") {
      HULL_ASSIGN_OR_RETURN(disk.read_only, GetBool(name, item));
    } else {
      return Error(EINVAL, fmt::format("config: unknown key \"{}\" (a disk has \"path\" and "
                                       "\"read_only\")",
                                       name));
    }
  }
  if (!has_path) return Error(EINVAL, fmt::format("config: {} has no \"path\"", where));
  return disk;
}

Result<NetConfig> ParseNet(size_t index, const json& value) {
  const std::string where = fmt::format("nets[{}]", index);
  if (!value.is_object()) return TypeError(where, "an object {\"tap\": ..., \"mac\": ...}", value);
  NetConfig net;
  for (const auto& [key, item] : value.items()) {
    const std::string name = fmt::format("{}.{}", where, key);
    if (key == "tap") {
      HULL_ASSIGN_OR_RETURN(net.tap, GetString(name, item));
    } else if (key == "fd") {
      HULL_ASSIGN_OR_RETURN(net.fd, GetUnsigned<int>(name, item));
    } else if (key == "mac") {
      HULL_ASSIGN_OR_RETURN(net.mac, GetString(name, item));
    } else {
      return Error(EINVAL, fmt::format("config: unknown key \"{}\" (a NIC has \"tap\" or "
                                       "\"fd\", and \"mac\")",
                                       name));
    }
  }
  return net;
}

Result<FsConfig> ParseFs(size_t index, const json& value) {
  const std::string where = fmt::format("filesystems[{}]", index);
  if (!value.is_object()) {
    return TypeError(where, "an object {\"tag\": ..., \"socket\": ...}", value);
  }
  FsConfig fs;
  for (const auto& [key, item] : value.items()) {
    const std::string name = fmt::format("{}.{}", where, key);
    if (key == "tag") {
      HULL_ASSIGN_OR_RETURN(fs.tag, GetString(name, item));
    } else if (key == "socket") {
      HULL_ASSIGN_OR_RETURN(fs.socket, GetString(name, item));
    } else if (key == "queues") {
      HULL_ASSIGN_OR_RETURN(fs.request_queues, GetUnsigned<uint32_t>(name, item));
    } else {
      return Error(EINVAL, fmt::format("config: unknown key \"{}\" (a share has \"tag\", "
                                       "\"socket\" and \"queues\")",
                                       name));
    }
  }
  return fs;
}

Result<void> ApplyKey(const std::string& key, const json& value, VmmConfig& config) {
  if (key == "kernel") {
    HULL_ASSIGN_OR_RETURN(config.kernel, GetString(key, value));
  } else if (key == "initrd") {
    if (value.is_null()) {
      config.initrd.reset();
    } else {
      HULL_ASSIGN_OR_RETURN(config.initrd, GetString(key, value));
    }
  } else if (key == "cmdline") {
    HULL_ASSIGN_OR_RETURN(config.cmdline, GetString(key, value));
  } else if (key == "mem_mib") {
    HULL_ASSIGN_OR_RETURN(config.mem_mib, GetUnsigned<uint64_t>(key, value));
  } else if (key == "cpus") {
    HULL_ASSIGN_OR_RETURN(config.cpus, GetUnsigned<uint32_t>(key, value));
  } else if (key == "disks") {
    if (!value.is_array()) return TypeError(key, "an array of disks", value);
    config.disks.clear();
    for (size_t i = 0; i < value.size(); ++i) {
      HULL_ASSIGN_OR_RETURN(DiskConfig disk, ParseDisk(i, value[i]));
      config.disks.push_back(std::move(disk));
    }
  } else if (key == "nets") {
    if (!value.is_array()) return TypeError(key, "an array of NICs", value);
    config.nets.clear();
    for (size_t i = 0; i < value.size(); ++i) {
      HULL_ASSIGN_OR_RETURN(NetConfig net, ParseNet(i, value[i]));
      config.nets.push_back(std::move(net));
    }
  } else if (key == "filesystems") {
    if (!value.is_array()) return TypeError(key, "an array of shares", value);
    config.filesystems.clear();
    for (size_t i = 0; i < value.size(); ++i) {
      HULL_ASSIGN_OR_RETURN(FsConfig fs, ParseFs(i, value[i]));
      config.filesystems.push_back(std::move(fs));
    }
  } else if (key == "vsock_cid") {
    if (value.is_null()) {
      config.vsock_cid.reset();
    } else {
      HULL_ASSIGN_OR_RETURN(config.vsock_cid, GetUnsigned<uint64_t>(key, value));
    }
  } else if (key == "balloon") {
    HULL_ASSIGN_OR_RETURN(config.balloon, GetBool(key, value));
  } else if (key == "rng") {
    HULL_ASSIGN_OR_RETURN(config.rng, GetBool(key, value));
  } else if (key == "serial") {
    HULL_ASSIGN_OR_RETURN(std::string spec, GetString(key, value));
    HULL_ASSIGN_OR_RETURN(config.serial, ParseSerialSpec(spec).WithContext("config"));
  } else if (key == "api_socket") {
    if (value.is_null()) {
      config.api_socket.reset();
    } else {
      HULL_ASSIGN_OR_RETURN(config.api_socket, GetString(key, value));
    }
  } else if (key == "log_level") {
    HULL_ASSIGN_OR_RETURN(config.log_level, GetString(key, value));
  } else if (key == "boot_timer") {
    HULL_ASSIGN_OR_RETURN(config.boot_timer, GetBool(key, value));
  } else {
    return Error(EINVAL, fmt::format("config: unknown key \"{}\" (see --help for the keys)", key));
  }
  return Ok();
}

Result<VmmConfig> ParseJsonConfigOrThrow(std::string_view text) {
  const json root = json::parse(text.begin(), text.end());
  if (!root.is_object()) {
    return Error(EINVAL, fmt::format("config: expected a JSON object at the top level, got {}",
                                     root.type_name()));
  }
  VmmConfig config;
  for (const auto& [key, value] : root.items()) HULL_TRY(ApplyKey(key, value, config));
  return config;
}

}  // namespace

Result<VmmConfig> ParseJsonConfig(std::string_view text) {
  if (text.size() > kMaxConfigBytes) {
    return Error(E2BIG, fmt::format("config: {} bytes is more than the {} a configuration may have",
                                    text.size(), kMaxConfigBytes));
  }
  try {
    return ParseJsonConfigOrThrow(text);
  } catch (const json::exception& e) {
    return Error(EINVAL, fmt::format("config: invalid JSON: {}", e.what()));
  } catch (const std::bad_alloc&) {
    return Error(ENOMEM, "config: out of memory parsing JSON");
  } catch (const std::exception& e) {
    return Error(EINVAL, fmt::format("config: {}", e.what()));
  }
}

Result<VmmConfig> LoadJsonConfigFile(const std::string& path) {
  const std::string context = fmt::format("--config {}", path);
  UniqueFd fd(RetryOnEintr([&] { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC); }));
  if (!fd) return Error::FromErrno(errno, fmt::format("{}: open", context));
  struct stat st {};
  if (::fstat(fd.Get(), &st) != 0)
    return Error::FromErrno(errno, fmt::format("{}: fstat", context));
  if (!S_ISREG(st.st_mode)) return Error(EINVAL, fmt::format("{}: not a regular file", context));
  std::string text;
  char buffer[4096];
  for (;;) {
    const ssize_t n = RetryOnEintr([&] { return ::read(fd.Get(), buffer, sizeof(buffer)); });
    if (n < 0) return Error::FromErrno(errno, fmt::format("{}: read", context));
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
    if (text.size() > kMaxConfigBytes) {
      return Error(E2BIG, fmt::format("{}: larger than {} bytes", context, kMaxConfigBytes));
    }
  }
  return ParseJsonConfig(text).WithContext(context);
}

}  // namespace hull::vmm
