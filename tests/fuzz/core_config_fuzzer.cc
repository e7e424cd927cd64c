// Fuzzes the --config JSON parser and the validation behind it: a config
// file is input we do not control (written by tools, templated by people).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "hull/vmm/core/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // SAFETY: the fuzzer's bytes viewed as chars, read-only.
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  hull::Result<hull::vmm::VmmConfig> config = hull::vmm::ParseJsonConfig(text);
  if (!config.ok()) {
    if (config.error().message().empty()) std::abort();
    return 0;
  }
  // A parsed serial spec formats back to something that parses to it.
  hull::Result<hull::vmm::SerialConfig> serial =
      hull::vmm::ParseSerialSpec(hull::vmm::FormatSerialSpec(config->serial));
  if (!serial.ok() || !(*serial == config->serial)) std::abort();
  hull::Result<void> valid = hull::vmm::Validate(*config);
  if (valid.ok()) {
    if (config->kernel.empty() || config->cpus == 0 || config->cpus > hull::vmm::kMaxCpus ||
        config->mem_mib < hull::vmm::kMinMemMib || config->mem_mib > hull::vmm::kMaxMemMib ||
        config->cmdline.size() > hull::vmm::kMaxCmdlineBytes) {
      std::abort();
    }
  }
  return 0;
}
