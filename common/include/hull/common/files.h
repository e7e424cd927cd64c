#pragma once

// Small file helpers shared by the host programs and the guest agent.

#include <string>

#include "hull/common/result.h"

namespace hull {

// Writes `text` to `path` through a temporary beside it and rename(2), so a
// reader sees the old file or the whole new one, never a part.
Result<void> WriteFileAtomically(const std::string& path, const std::string& text);

}  // namespace hull
