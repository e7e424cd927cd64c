#pragma once

// Small reads and writes of /proc files, for this library only.

#include <string>
#include <string_view>

#include "hull/common/result.h"

namespace hull::container::internal {

// The whole file (meant for files of a few lines). Errors name the path.
Result<std::string> ReadProcFile(const char* path);

// Writes `text` with one write(2), as /proc files expect. Errors name the path.
Result<void> WriteProcFile(const char* path, std::string_view text);

}  // namespace hull::container::internal
