#include "hull/sandbox/host_config.h"

#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace hull::sandbox {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kLogLevels[] = {"trace", "debug", "info", "warn", "error", "off"};

bool IsLogLevel(std::string_view level) {
  for (std::string_view known : kLogLevels) {
    if (level == known) return true;
  }
  return false;
}

// The newest vmlinux under the kernel cache, or "".
std::string CachedKernel() {
  std::string cache;
  if (const char* dir = std::getenv("HULL_CACHE_DIR"); dir && *dir) {
    cache = dir;
  } else if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) {
    cache = std::string(xdg) + "/hull";
  } else if (const char* home = std::getenv("HOME"); home && *home) {
    cache = std::string(home) + "/.cache/hull";
  } else {
    return "";
  }
  glob_t found{};
  std::string best;
  time_t best_time = 0;
  if (::glob((cache + "/kernel/*/vmlinux").c_str(), 0, nullptr, &found) == 0) {
    for (size_t i = 0; i < found.gl_pathc; ++i) {
      struct stat st {};
      if (::stat(found.gl_pathv[i], &st) == 0 && st.st_mtime >= best_time) {
        best_time = st.st_mtime;
        best = found.gl_pathv[i];
      }
    }
  }
  ::globfree(&found);
  return best;
}

Error Invalid(std::string_view origin, std::string_view key, std::string_view why) {
  return Error(EINVAL, std::string(origin) + ": \"" + std::string(key) + "\" " + std::string(why));
}

Result<unsigned> ParseCount(std::string_view origin, std::string_view key, std::string_view text,
                            unsigned low, unsigned high) {
  if (text.empty() || text.size() > 9) return Invalid(origin, key, "is no number");
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return Invalid(origin, key, "is no number: \"" + std::string(text) + "\"");
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value < low || value > high) {
    return Invalid(origin, key,
                   "is " + std::to_string(value) + ", outside " + std::to_string(low) + ".." +
                       std::to_string(high));
  }
  return value;
}

}  // namespace

HostConfig DefaultHostConfig() {
  HostConfig config;
#ifdef HULL_DEFAULT_VMM
  config.vmm = HULL_DEFAULT_VMM;
#endif
#ifdef HULL_DEFAULT_INITRAMFS
  config.initramfs = HULL_DEFAULT_INITRAMFS;
#endif
  if (const char* kernel = std::getenv("HULL_KERNEL"); kernel && *kernel) {
    config.kernel = kernel;
  } else {
#ifdef HULL_DEFAULT_KERNEL
    config.kernel = HULL_DEFAULT_KERNEL;
#endif
    if (config.kernel.empty() || ::access(config.kernel.c_str(), R_OK) != 0) {
      if (std::string cached = CachedKernel(); !cached.empty()) config.kernel = cached;
    }
  }
  return config;
}

Result<HostConfig> ParseHostConfig(std::string_view text, const HostConfig& base,
                                   std::string_view origin) {
  Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return Error(EINVAL, std::string(origin) + ": not a JSON object");
  }
  HostConfig config = base;
  for (auto it = json.begin(); it != json.end(); ++it) {
    // (clang 14 cannot capture structured bindings in the lambdas below.)
    const std::string& key = it.key();
    const Json& value = it.value();
    auto string_value = [&](std::string& out) -> Result<void> {
      if (!value.is_string() || value.get<std::string>().empty())
        return Invalid(origin, key, "must be a non-empty string");
      out = value.get<std::string>();
      return Ok();
    };
    auto count_value = [&](unsigned& out, unsigned low, unsigned high) -> Result<void> {
      if (!value.is_number_unsigned()) return Invalid(origin, key, "must be a whole number");
      const uint64_t number = value.get<uint64_t>();
      if (number < low || number > high) {
        return Invalid(origin, key,
                       "is " + std::to_string(number) + ", outside " + std::to_string(low) + ".." +
                           std::to_string(high));
      }
      out = static_cast<unsigned>(number);
      return Ok();
    };
    if (key == "vmm") {
      HULL_TRY(string_value(config.vmm));
    } else if (key == "virtiofsd") {
      HULL_TRY(string_value(config.virtiofsd));
    } else if (key == "kernel") {
      HULL_TRY(string_value(config.kernel));
    } else if (key == "initramfs") {
      HULL_TRY(string_value(config.initramfs));
    } else if (key == "state_root") {
      HULL_TRY(string_value(config.state_root));
      if (config.state_root.front() != '/') return Invalid(origin, key, "must be absolute");
    } else if (key == "log_level") {
      HULL_TRY(string_value(config.log_level));
      if (!IsLogLevel(config.log_level))
        return Invalid(origin, key, "must be trace, debug, info, warn, error or off");
    } else if (key == "vcpus") {
      HULL_TRY(count_value(config.vcpus, 1, 64));
    } else if (key == "memory_mib") {
      HULL_TRY(count_value(config.memory_mib, 64, 1 << 20));
    } else if (key == "agent_timeout_s") {
      unsigned seconds = 0;
      HULL_TRY(count_value(seconds, 1, 3600));
      config.agent_timeout = std::chrono::seconds(seconds);
    } else {
      return Invalid(origin, key,
                     "is no setting (known: vmm, virtiofsd, kernel, initramfs, state_root, "
                     "log_level, vcpus, memory_mib, agent_timeout_s)");
    }
  }
  return config;
}

Result<HostConfig> LoadHostConfig(const std::string& path) {
  std::string file = path;
  if (file.empty()) {
    if (const char* env = std::getenv("HULL_CONFIG"); env && *env) {
      file = env;
    } else if (::access("/etc/hull/config.json", F_OK) == 0) {
      file = "/etc/hull/config.json";
    } else {
      return DefaultHostConfig();
    }
  }
  std::ifstream in(file);
  if (!in) return Error::FromErrno(errno, "reading the hull config " + file);
  std::stringstream text;
  text << in.rdbuf();
  return ParseHostConfig(text.str(), DefaultHostConfig(), file);
}

Result<void> ApplyAnnotations(const std::map<std::string, std::string>& annotations,
                              HostConfig& config) {
  constexpr std::string_view kOrigin = "annotation";
  for (const auto& [key, value] : annotations) {
    if (!key.starts_with("io.hull.")) continue;
    if (key == "io.hull.vcpus") {
      HULL_ASSIGN_OR_RETURN(config.vcpus, ParseCount(kOrigin, key, value, 1, 64));
    } else if (key == "io.hull.memory_mib") {
      HULL_ASSIGN_OR_RETURN(config.memory_mib, ParseCount(kOrigin, key, value, 64, 65536));
    } else if (key == "io.hull.log_level") {
      if (!IsLogLevel(value))
        return Invalid(kOrigin, key, "must be trace, debug, info, warn, error or off");
      config.log_level = value;
    } else {
      return Invalid(kOrigin, key,
                     "is not allowed (allowed: io.hull.vcpus, io.hull.memory_mib, "
                     "io.hull.log_level)");
    }
  }
  return Ok();
}

void SizeVmForResources(std::string_view resources_json, HostConfig& config) {
  Json resources = Json::parse(resources_json, nullptr, /*allow_exceptions=*/false);
  if (resources.is_discarded() || !resources.is_object()) return;
  auto memory = resources.find("memory");
  if (memory != resources.end() && memory->is_object()) {
    auto limit = memory->find("limit");
    if (limit != memory->end() && limit->is_number_integer() && limit->get<int64_t>() > 0) {
      const uint64_t mib = (limit->get<uint64_t>() + (1 << 20) - 1) >> 20;
      const uint64_t wanted = std::min<uint64_t>(mib + kGuestOverheadMib, 1 << 20);
      if (wanted > config.memory_mib) config.memory_mib = static_cast<unsigned>(wanted);
    }
  }
  auto cpu = resources.find("cpu");
  if (cpu != resources.end() && cpu->is_object()) {
    auto quota = cpu->find("quota");
    auto period = cpu->find("period");
    if (quota != cpu->end() && period != cpu->end() && quota->is_number_integer() &&
        period->is_number_unsigned() && quota->get<int64_t>() > 0 && period->get<uint64_t>() > 0) {
      const uint64_t vcpus =
          (static_cast<uint64_t>(quota->get<int64_t>()) + period->get<uint64_t>() - 1) /
          period->get<uint64_t>();
      const uint64_t wanted = std::min<uint64_t>(vcpus, 64);
      if (wanted > config.vcpus) config.vcpus = static_cast<unsigned>(wanted);
    }
  }
}

}  // namespace hull::sandbox
