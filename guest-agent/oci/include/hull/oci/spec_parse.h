#pragma once

// config.json → Spec, and the checks that a Spec can run as a Linux container
// in hull-agent. The JSON comes from the host (the shim, from the engine), so
// it is parsed as untrusted input: nothing throws and no input crashes.
//
// Parsing is strict about types and lenient about members:
//   - a member of the wrong JSON type, a negative or fractional number where a
//     whole number is wanted, a number out of the field's range, an unknown
//     namespace type, seccomp action or operator, or a device type other than
//     c/b/u/p is an Error(EINVAL) whose message starts with the JSON path:
//       process.user.uid: expected an unsigned 32-bit integer, got -1
//       linux.namespaces[2].type: unknown namespace type "foo"
//   - unknown members are ignored (the spec allows extensions);
//   - a member whose value is null is treated as absent, as Go's
//     encoding/json (and so runc) does;
//   - members the spec marks REQUIRED are demanded where the C++ value could
//     not tell their absence from a default (namespace type, seccomp actions
//     and operators, device type and numbers, rlimit limits, id mappings,
//     ...); other required ones (ociVersion, process.cwd, root.path) are
//     checked by the Validate functions;
//   - input over kMaxSpecBytes (E2BIG) or nested deeper than kMaxJsonDepth is
//     rejected before it is parsed.
//
// Validation checks what hull-agent needs beyond the types (absolute paths,
// known names, sane cgroup values, no user namespace, ...); each error starts
// with the path of the field it is about.
//
// Paths start at the document's root: "process.cwd" in config.json. The
// stand-alone documents are named by what they are: an exec's process object
// gives "process.cwd", an update's resources object "resources.memory.limit".

#include <cstddef>
#include <string_view>

#include "hull/common/result.h"
#include "hull/oci/spec.h"

namespace hull::oci {

inline constexpr size_t kMaxSpecBytes = size_t{4} << 20;
inline constexpr int kMaxJsonDepth = 64;

// A whole config.json.
Result<Spec> ParseSpec(std::string_view json);
// One "process" object (exec).
Result<Process> ParseProcess(std::string_view json);
// One "linux.resources" object (update).
Result<Resources> ParseResources(std::string_view json);

// ociVersion 1.0.x–1.2.x; a process with args; root.path; mounts, namespaces,
// sysctls, devices, seccomp, cgroupsPath and resources as hull-agent can
// apply them.
Result<void> ValidateSpec(const Spec& spec);
// A process to start or exec: args, cwd, env, capabilities, rlimits, ...
Result<void> ValidateProcess(const Process& process);
// Resources to apply or update: ranges of the cgroup values, cpuset syntax,
// device rules, unified keys that stay inside the cgroup's directory.
Result<void> ValidateResources(const Resources& resources);

}  // namespace hull::oci
