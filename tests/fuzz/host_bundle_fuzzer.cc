// Fuzzes what the host side reads from engines and users before a VM exists:
// a bundle's config.json as rewritten for the guest (rootfs and bind sources
// shared, host namespaces dropped), its io.hull.* annotations, and hull's
// JSON host configuration. Each must give a value or an error, never crash;
// what the rewrite accepts must name only guest paths the share produced.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "hull/sandbox/container_bundle.h"
#include "hull/sandbox/host_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  int shares = 0;
  hull::Result<hull::sandbox::GuestBundle> bundle = hull::sandbox::RewriteSpecForGuest(
      "fuzz", "/bundle", text,
      [&](const std::string& name, const std::string& path, bool) -> hull::Result<std::string> {
        if (name.rfind("fuzz/", 0) != 0 || path.empty()) std::abort();
        ++shares;
        return "/run/hull/storage/share/" + name;
      });
  if (bundle.ok()) {
    if (shares == 0) std::abort();  // the rootfs at least
    nlohmann::json spec = nlohmann::json::parse(bundle->spec_json, nullptr, false);
    if (spec.is_discarded()) std::abort();
    const std::string root = spec["root"]["path"].get<std::string>();
    if (root != "/run/hull/storage/share/fuzz/rootfs") std::abort();
    if (spec.contains("hooks")) std::abort();
    hull::sandbox::HostConfig sized;
    (void)hull::sandbox::ApplyAnnotations(bundle->annotations, sized);
    hull::sandbox::SizeVmForResources(bundle->resources_json, sized);
    if (sized.vcpus < 1 || sized.vcpus > 64 || sized.memory_mib < 64) std::abort();
  } else if (bundle.error().message().empty()) {
    std::abort();
  }
  hull::Result<hull::sandbox::HostConfig> config =
      hull::sandbox::ParseHostConfig(text, hull::sandbox::HostConfig{}, "fuzz.json");
  if (config.ok() && (config->vcpus < 1 || config->vcpus > 64)) std::abort();
  return 0;
}
