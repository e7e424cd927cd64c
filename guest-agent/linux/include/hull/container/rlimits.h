#pragma once

// Resource limits of the container process (process.rlimits).

#include <cstdint>

#include "hull/common/result.h"

namespace hull::container {

// Sets `resource` (RLIMIT_NOFILE, ...) of the calling process with prlimit(2).
// UINT64_MAX is RLIM_INFINITY, as in the OCI spec. EINVAL when soft > hard or
// the resource is unknown; raising the hard limit needs CAP_SYS_RESOURCE, so
// apply rlimits before capabilities are dropped. Errors name the resource.
Result<void> ApplyRlimit(int resource, uint64_t soft, uint64_t hard);

}  // namespace hull::container
