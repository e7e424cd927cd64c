#pragma once

// Checks of every RPC request before the agent acts on it: identifiers,
// paths, signal numbers, tty sizes, sandbox network and storage settings.
// Pure functions of the protobuf messages (fuzzed by agent_request_fuzzer).
// An error is EINVAL with a message naming the field.

#include "agent.pb.h"
#include "hull/common/result.h"

namespace hull::agent {

// [A-Za-z0-9][A-Za-z0-9_.-]{0,127}: a container id becomes a cgroup
// directory name, so nothing that could be a path.
Result<void> ValidateContainerId(const std::string& id, std::string_view field = "container_id");
// Like a container id; "" names the init process where `allow_init`.
Result<void> ValidateExecId(const std::string& id, bool allow_init);

Result<void> ValidateCreateSandbox(const v1::CreateSandboxRequest& request);
Result<void> ValidateCreateContainer(const v1::CreateContainerRequest& request);
Result<void> ValidateExecProcess(const v1::ExecProcessRequest& request);
Result<void> ValidateSignal(const v1::SignalProcessRequest& request);
Result<void> ValidateResize(const v1::ResizeTtyRequest& request);
Result<void> ValidateProcessRequest(const v1::ProcessRequest& request);
Result<void> ValidateUpdate(const v1::UpdateContainerRequest& request);

// Mount points of sandbox storages live under this directory of the guest.
inline constexpr std::string_view kStorageRoot = "/run/hull/storage/";

}  // namespace hull::agent
