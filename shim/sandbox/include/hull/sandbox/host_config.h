#pragma once

// What the host side needs to start a sandbox: where hull-vmm, virtiofsd, the
// guest kernel and the agent initramfs are, and the VM size and settings a
// sandbox gets unless its annotations say otherwise.
//
// Sources, later ones winning: compiled-in defaults (the build tree and the
// kernel cache of kernel-config/build), the config file (JSON, see
// docs/containerd.md), then per sandbox the `io.hull.*` annotations of the
// allow-list below. Annotations can size the VM; they can never name a host
// path (a tenant writes them).

#include <chrono>
#include <map>
#include <string>
#include <string_view>

#include "hull/common/result.h"

namespace hull::sandbox {

struct HostConfig {
  std::string vmm;
  std::string virtiofsd = "/usr/lib/qemu/virtiofsd";
  std::string kernel;
  std::string initramfs;
  unsigned vcpus = 1;
  unsigned memory_mib = 256;
  std::string log_level = "warn";  // hull-vmm's and the agent's
  std::string state_root = "/run/hull";
  std::chrono::seconds agent_timeout{120};
  // Per sandbox, from the bundle's linux.namespaces (never from a config
  // file or an annotation): the pod network namespace whose interfaces the
  // VM takes over (PodNetwork); empty: the VM has no network device.
  std::string network_namespace;
  // Per sandbox, from the bundle's linux.sysctl: the net.* ones, written in
  // the guest's network namespace (the one its containers use).
  std::map<std::string, std::string> network_sysctls;
};

// Compiled-in paths; the kernel from $HULL_KERNEL, else the build's, else the
// newest under the kernel cache (${HULL_CACHE_DIR:-~/.cache/hull}/kernel).
HostConfig DefaultHostConfig();

// Overlays the JSON object `text` on `base`. Unknown keys, wrong types and
// out-of-range values are errors naming the key (and `origin`, e.g. the path).
Result<HostConfig> ParseHostConfig(std::string_view text, const HostConfig& base,
                                   std::string_view origin);

// Reads `path`; empty: $HULL_CONFIG, else /etc/hull/config.json when it
// exists, else the defaults.
Result<HostConfig> LoadHostConfig(const std::string& path);

// The allow-list: io.hull.vcpus (1..64), io.hull.memory_mib (64..65536),
// io.hull.log_level. Other annotations are ignored, except other io.hull.*
// keys, which are errors (a typo must not pass silently).
Result<void> ApplyAnnotations(const std::map<std::string, std::string>& annotations,
                              HostConfig& config);

// The VM size for a container's linux.resources: memory limit plus
// kGuestOverheadMib (kernel, agent, page cache floor), vCPUs = ceil(quota /
// period); the config's size where the resources set none, and never less.
inline constexpr unsigned kGuestOverheadMib = 96;
void SizeVmForResources(std::string_view resources_json, HostConfig& config);

}  // namespace hull::sandbox
