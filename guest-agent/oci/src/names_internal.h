#pragma once

// The name-table checks with the JSON path of what is checked, for the spec
// validators: "mounts[3].options[2]: ..." rather than "options[2]: ...".

#include <string>
#include <string_view>
#include <vector>

#include "hull/common/result.h"
#include "hull/oci/names.h"

namespace hull::oci::internal {

// ParseMountOptions with errors starting "<path>[<index>]: ".
Result<MountOptions> ParseMountOptionsAt(const std::vector<std::string>& options,
                                         std::string_view path);

// ValidateSysctl with errors starting "<where>: ".
Result<void> ValidateSysctlAt(std::string_view name, bool ipc_ns, bool net_ns, bool uts_ns,
                              std::string_view where);

}  // namespace hull::oci::internal
