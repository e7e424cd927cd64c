#pragma once

// `hull run`: one container in a fresh microVM, in the foreground, as
// `runc run` does: stdio is this process's, signals are forwarded, the exit
// status is the container's (128 + signal when killed), and the VM and
// everything on the host are gone when it returns.

#include <string>

#include "hull/sandbox/host_config.h"

namespace hull::cli {

struct RunOptions {
  std::string id;
  std::string bundle = ".";
  std::string pid_file;
};

// The container's exit status, or an error for what failed before it ran.
Result<int> RunContainer(const RunOptions& options, sandbox::HostConfig config);

}  // namespace hull::cli
