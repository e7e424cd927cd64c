#pragma once

// Can this host run hull sandboxes, and if not, what to do: the checks behind
// `hull check` and the preflight of VmSandbox::Start.

#include <string>
#include <vector>

#include "hull/sandbox/host_config.h"

namespace hull::sandbox {

struct HostCheck {
  std::string name;  // "/dev/kvm", "hull-vmm", ...
  bool ok = false;
  bool required = true;  // false: a warning, sandboxes still run
  std::string detail;    // what was found, or what is wrong
  std::string fix;       // empty when ok
};

std::vector<HostCheck> CheckHost(const HostConfig& config);

// The first failed required check as an error "<name>: <detail>. Fix: <fix>", or Ok.
Result<void> RequireHost(const HostConfig& config);

}  // namespace hull::sandbox
