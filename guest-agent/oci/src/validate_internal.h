#pragma once

// The validators with the JSON path of what they check, so that one process
// or resources object is named "process" on exec and in config.json, and
// "linux.resources" in config.json but "resources" on update.

#include <string_view>

#include "hull/common/result.h"
#include "hull/oci/spec.h"

namespace hull::oci::internal {

Result<void> ValidateProcessAt(const Process& process,
                               std::string_view path);  // process_validate.cc
Result<void> ValidateResourcesAt(const Resources& resources,
                                 std::string_view path);  // resources_validate.cc

// A cpuset list as cpuset.cpus takes it: "0-3,5", "7". Empty is not a list.
bool IsCpusetList(std::string_view text);

}  // namespace hull::oci::internal
