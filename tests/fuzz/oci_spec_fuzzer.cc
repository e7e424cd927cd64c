// Fuzzes the OCI config.json parser and the validation behind it: the spec,
// an exec's process and an update's resources come from the host, through
// the shim, from whatever the engine was given. Each parser must return a
// value or an error, never crash or throw; what validation accepts must hold
// the properties hull-agent relies on when it applies the spec.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "hull/oci/names.h"
#include "hull/oci/spec_parse.h"

namespace {

using hull::oci::NamespaceType;

void CheckError(const hull::Error& error) {
  if (error.message().empty() || error.code() == 0) std::abort();
}

// What a valid process guarantees to the code that starts it.
void CheckValidProcess(const hull::oci::Process& process) {
  if (process.args.empty() || process.args[0].empty()) std::abort();
  if (process.cwd.empty() || process.cwd[0] != '/') std::abort();
  for (const std::string& env : process.env) {
    const size_t equals = env.find('=');
    if (equals == std::string::npos || equals == 0) std::abort();
  }
  for (const hull::oci::Rlimit& rlimit : process.rlimits) {
    if (!hull::oci::RlimitFromName(rlimit.type) || rlimit.soft > rlimit.hard) std::abort();
  }
}

void CheckValidSpec(const hull::oci::Spec& spec) {
  if (!spec.process || !spec.linux || spec.root.path.empty()) std::abort();
  CheckValidProcess(*spec.process);
  bool ipc = false, net = false, uts = false, mount = false;
  for (const hull::oci::Namespace& ns : spec.linux->namespaces) {
    if (ns.type == NamespaceType::kUser) std::abort();
    ipc |= ns.type == NamespaceType::kIpc;
    net |= ns.type == NamespaceType::kNetwork;
    uts |= ns.type == NamespaceType::kUts;
    mount |= ns.type == NamespaceType::kMount;
  }
  if (!mount) std::abort();
  for (const hull::oci::Mount& m : spec.mounts) {
    if (m.destination.empty() || m.destination[0] != '/') std::abort();
    if (!hull::oci::ParseMountOptions(m.options).ok()) std::abort();
  }
  for (const auto& [name, value] : spec.linux->sysctl) {
    if (!hull::oci::ValidateSysctl(name, ipc, net, uts).ok()) std::abort();
  }
  for (const hull::oci::Device& device : spec.linux->devices) {
    if (device.path.rfind("/dev/", 0) != 0) std::abort();
  }
  if (spec.linux->resources && !hull::oci::ValidateResources(*spec.linux->resources).ok()) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // SAFETY: the fuzzer's bytes viewed as chars, read-only.
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  hull::Result<hull::oci::Spec> spec = hull::oci::ParseSpec(text);
  if (spec.ok()) {
    hull::Result<void> valid = hull::oci::ValidateSpec(*spec);
    if (valid.ok()) {
      CheckValidSpec(*spec);
    } else {
      CheckError(valid.error());
    }
  } else {
    CheckError(spec.error());
  }

  hull::Result<hull::oci::Process> process = hull::oci::ParseProcess(text);
  if (process.ok()) {
    hull::Result<void> valid = hull::oci::ValidateProcess(*process);
    if (valid.ok()) {
      CheckValidProcess(*process);
    } else {
      CheckError(valid.error());
    }
  } else {
    CheckError(process.error());
  }

  hull::Result<hull::oci::Resources> resources = hull::oci::ParseResources(text);
  if (resources.ok()) {
    hull::Result<void> valid = hull::oci::ValidateResources(*resources);
    if (!valid.ok()) CheckError(valid.error());
  } else {
    CheckError(resources.error());
  }
  return 0;
}
