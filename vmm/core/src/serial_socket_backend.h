#pragma once

// The unix:PATH serial backend (see serial_backend.h). Private to hull_vmm_core.

#include <memory>
#include <string>

#include "hull/common/result.h"
#include "hull/vmm/core/serial_backend.h"

namespace hull::vmm {

Result<std::unique_ptr<SerialBackend>> OpenSerialSocketBackend(const std::string& path);

}  // namespace hull::vmm
