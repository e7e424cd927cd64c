#pragma once

// Kernel parameters through /proc/sys, for the container (its own IPC, UTS or
// network namespace) and for the sandbox (the guest's network namespace).

#include <map>
#include <string>
#include <string_view>

#include "hull/common/result.h"

namespace hull::container {

// "net.ipv4.ip_forward" -> "/proc/sys/net/ipv4/ip_forward". The caller has
// validated the name (oci::ValidateSysctl): no '/', no empty component.
std::string SysctlPath(std::string_view name);

// Writes one sysctl with a single write(2). Errors name the sysctl and value.
Result<void> WriteSysctl(std::string_view name, std::string_view value);

// Every entry in order; stops at the first refusal.
Result<void> WriteSysctls(const std::map<std::string, std::string>& sysctls);

}  // namespace hull::container
