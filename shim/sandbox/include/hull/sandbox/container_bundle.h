#pragma once

// An engine's OCI bundle made ready for the guest: its rootfs and bind-mount
// sources shared into the sandbox (virtio-fs), and its config.json rewritten
// so that every path names the guest's view:
//  - root.path: the shared rootfs;
//  - bind mounts: sources shared (read-only when the mount is);
//  - linux.namespaces: entries with a path (host namespaces) dropped, and
//    the network namespace dropped: containers use the VM's network (the
//    sandbox's interfaces live there), as in Kata; a network namespace with
//    a path (the pod's, made by CNI) is reported in network_namespace, for
//    the sandbox to mirror into the VM;
//  - linux.cgroupsPath dropped (the agent places containers in the guest's
//    cgroup tree); hooks are not run (reported in `ignored`).
// The spec is parsed and validated with the agent's own parser first, so a
// bad config.json is refused on the host with the JSON path named.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hull/common/result.h"
#include "hull/sandbox/host_config.h"
#include "hull/sandbox/vm_sandbox.h"

namespace hull::sandbox {

struct GuestBundle {
  std::string spec_json;  // for CreateContainerRequest.spec_json
  bool terminal = false;
  std::string resources_json;  // linux.resources, "{}" when none
  std::map<std::string, std::string> annotations;
  std::string network_namespace;  // the host path of the spec's network namespace, if any
  // linux.sysctl's net.* entries, taken out of the spec: the container uses
  // the VM's network namespace, so they are the sandbox's (CreateSandbox).
  std::map<std::string, std::string> network_sysctls;
  std::vector<std::string> ignored;  // what the host did not carry over, for the log
};

// Reads <bundle>/config.json; no sharing (for sizing a VM before it starts).
Result<std::string> ReadBundleSpec(const std::string& bundle);

// The spec's string annotations (for routing a container to its pod).
Result<std::map<std::string, std::string>> ReadBundleAnnotations(const std::string& bundle);

// A container's place in a pod, from the annotations engines set: CRI in
// containerd (io.kubernetes.cri.container-type "sandbox" / "container",
// io.kubernetes.cri.sandbox-id) and CRI-O (io.kubernetes.cri-o.ContainerType,
// io.kubernetes.cri-o.SandboxID).
struct PodRole {
  bool is_sandbox = false;  // the pod's sandbox (pause) container: it starts the VM
  std::string sandbox_id;   // the pod's sandbox id; empty when not in a pod
};
PodRole PodRoleOf(const std::map<std::string, std::string>& annotations);
// The sandbox (VM) container `id` runs in: its pod's sandbox for a pod's
// other containers, else its own id (a standalone container gets its own VM).
std::string SandboxIdFor(const std::string& id, const PodRole& role);

// The rewrite alone, with `share` called for each host path (name, path,
// read_only) -> guest path. Pure apart from `share`: unit-tested and fuzzed.
// `join`, when given, maps a namespace the spec names by host path (type,
// path) to the guest path of the namespace to join instead (a pod's
// container sharing its sandbox container's IPC, UTS or PID namespace);
// nullopt, or no `join`, gives the container a fresh one.
using ShareFunction =
    std::function<Result<std::string>(const std::string&, const std::string&, bool)>;
using NamespaceJoin =
    std::function<std::optional<std::string>(const std::string&, const std::string&)>;
Result<GuestBundle> RewriteSpecForGuest(const std::string& container_id, const std::string& bundle,
                                        const std::string& spec_json, const ShareFunction& share,
                                        const NamespaceJoin& join = nullptr);

// The settings of the sandbox for `bundle`, before its VM exists: `config`
// with the spec's io.hull.* annotations applied and the VM grown for its
// linux.resources, and its network namespace and network sysctls set. The spec is checked as
// PrepareBundle checks it; nothing is shared.
Result<HostConfig> ConfigForBundle(const std::string& container_id, const std::string& bundle,
                                   HostConfig config);

// RewriteSpecForGuest with the sandbox's Share(); shares are named
// "<container_id>/rootfs" and "<container_id>/mounts/<n>", so
// sandbox.Unshare(container_id) undoes them all.
Result<GuestBundle> PrepareBundle(VmSandbox& sandbox, const std::string& container_id,
                                  const std::string& bundle, const NamespaceJoin& join = nullptr);

}  // namespace hull::sandbox
