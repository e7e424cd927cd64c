#pragma once

// Builds a container's file system view in the (new) mount namespace of the
// calling single-threaded container-init process, in runc's order: make "/"
// non-shared, bind the root onto itself, the spec's mounts, default devices
// and /dev symlinks, /dev/console for a tty, pivot_root (PrepareRootfs);
// then, once the hostname and sysctls are written (under /proc/sys, which is
// usually a read-only path), read-only and masked paths and a read-only root
// (FinishRootfs). Every target path is resolved inside the root
// (path_in_root.h).

#include <string>

#include "hull/common/result.h"
#include "hull/oci/spec.h"

namespace hull::agent {

struct RootfsOptions {
  std::string rootfs;        // absolute, in the caller's (pre-pivot) view
  std::string console_path;  // pty slave to bind at /dev/console; empty: none
  bool new_network_namespace = false;
  bool new_ipc_namespace = false;
};

Result<void> PrepareRootfs(const oci::Spec& spec, const RootfsOptions& options);
Result<void> FinishRootfs(const oci::Spec& spec);

}  // namespace hull::agent
