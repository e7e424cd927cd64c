#pragma once

// runc's detached life cycle, which Podman (through conmon), Docker
// (through containerd's runc shim) and CRI-O drive: create, start, state,
// kill, pause, resume, exec, ps, list, delete.
//
// `hull create` forks a monitor and returns once the container exists. The
// monitor is the container on the host: it owns the microVM (virtiofsd,
// hull-vmm), keeps the stdio it inherited from the engine (conmon's pipes)
// or the pty whose master it sent to --console-socket, relays them to the
// agent, and exits with the container's exit status (128 + signal when it
// was killed) after stopping the VM, so the engine's waitpid() of the pid
// file's pid is the container's wait. The other commands find the VM by the
// state file <root>/containers/<id>/state.json (its vsock CID) and talk to
// hull-agent directly; `delete` ends the monitor (SIGTERM: it stops the VM)
// and removes the state. `exec --detach` forks a monitor per exec the same
// way.

#include <string>
#include <vector>

#include "hull/common/result.h"
#include "hull/sandbox/host_config.h"

namespace hull::cli {

struct CreateOptions {
  std::string id;
  std::string bundle = ".";
  std::string pid_file;
  std::string console_socket;
};

struct ExecOptions {
  std::string id;
  std::string process_file;  // --process: an OCI process (JSON)
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd;
  bool tty = false;
  bool detach = false;
  std::string pid_file;
  std::string console_socket;
};

// Each returns the exit status of the command (an Error for what failed).
Result<int> CreateContainer(const CreateOptions& options, const sandbox::HostConfig& config);
Result<int> StartContainer(const std::string& id, const sandbox::HostConfig& config);
Result<int> PrintState(const std::string& id, const sandbox::HostConfig& config);
Result<int> KillContainer(const std::string& id, const std::string& signal, bool all,
                          const sandbox::HostConfig& config);
Result<int> PauseContainer(const std::string& id, bool pause, const sandbox::HostConfig& config);
Result<int> DeleteContainer(const std::string& id, bool force, const sandbox::HostConfig& config);
Result<int> ExecInContainer(const ExecOptions& options, const sandbox::HostConfig& config);
Result<int> ListProcesses(const std::string& id, const std::string& format,
                          const sandbox::HostConfig& config);
Result<int> ListContainers(const std::string& format, bool quiet,
                           const sandbox::HostConfig& config);

// A signal by number ("15") or name ("TERM", "SIGTERM").
Result<int> ParseSignal(const std::string& text);

}  // namespace hull::cli
