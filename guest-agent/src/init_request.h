#pragma once

// What hull-agent tells the container-init process it spawns (first frame on
// the sync socket): which container process to build and where. Serialized as
// JSON; the OCI documents inside travel verbatim and are parsed again (and
// validated) by the single-threaded child, so both sides use one parser.

#include <string>
#include <string_view>
#include <vector>

#include "hull/common/result.h"
#include "hull/oci/spec.h"

namespace hull::agent {

struct JoinNamespace {
  oci::NamespaceType type = oci::NamespaceType::kPid;
  std::string path;  // an nsfs file, e.g. /proc/42/ns/net
};

struct InitRequest {
  enum class Mode { kCreate, kExec };
  Mode mode = Mode::kCreate;
  std::string container_id;
  // kCreate: the whole config.json; kExec: one OCI process object.
  std::string spec_json;
  std::string process_json;
  // kCreate: the container's root directory (absolute, in the agent's view).
  std::string rootfs;
  // The cgroup directory the process must enter before anything else.
  std::string cgroup_dir;
  // Namespaces to join (setns) before creating the spec's new ones. For an
  // exec, every namespace of the container's init process.
  std::vector<JoinNamespace> join;
  // kExec: the container's root as seen from the agent (/proc/<pid>/root),
  // entered after joining the mount namespace. Entering the namespace alone
  // sets the root to the namespace's root mount, which is the container's
  // only when the agent itself runs unchrooted at that namespace's root.
  std::string root_path;
  // With a tty: the pty's slave device path (bound at /dev/console). The slave
  // itself arrives as stdin/stdout/stderr.
  std::string console_path;
};

std::string SerializeInitRequest(const InitRequest& request);
Result<InitRequest> ParseInitRequest(std::string_view json);

}  // namespace hull::agent
