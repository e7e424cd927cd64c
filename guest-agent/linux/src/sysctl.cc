#include "hull/container/sysctl.h"

#include <algorithm>

#include "proc_file.h"

namespace hull::container {

std::string SysctlPath(std::string_view name) {
  std::string path = "/proc/sys/";
  path.append(name);
  std::replace(path.begin() + 10, path.end(), '.', '/');
  return path;
}

Result<void> WriteSysctl(std::string_view name, std::string_view value) {
  return internal::WriteProcFile(SysctlPath(name).c_str(), value)
      .WithContext("sysctl " + std::string(name) + "=" + std::string(value));
}

Result<void> WriteSysctls(const std::map<std::string, std::string>& sysctls) {
  for (const auto& [name, value] : sysctls) HULL_TRY(WriteSysctl(name, value));
  return Ok();
}

}  // namespace hull::container
