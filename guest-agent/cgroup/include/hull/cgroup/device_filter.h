#pragma once

// The device cgroup on cgroup v2: no interface files, but an eBPF program of
// type BPF_PROG_TYPE_CGROUP_DEVICE attached to the cgroup's directory, which
// the kernel runs on each open or mknod of a device node and which returns 1
// (allow) or 0 (deny, EPERM).
//
// The program sees struct bpf_cgroup_dev_ctx { u32 access_type; u32 major;
// u32 minor; } with access_type = (access << 16) | type, access a mask of
// BPF_DEVCG_ACC_{MKNOD,READ,WRITE} and type BPF_DEVCG_DEV_{BLOCK,CHAR}.
// Ours loads them as runc's devicefilter does (r2 type, r3 access, r4 major,
// r5 minor) and then tests the OCI rules last to first: the first (that is,
// the last listed) rule that matches decides; no match denies.
//
// A rule matches a request of type T, device M:N and access A when its type
// is "a" or T, its major and minor are wildcards or M and N, and
//   - allow rule: A is within the rule's access (cgroup v1: an exception
//     must grant all of the access asked for);
//   - deny rule: A shares any bit with the rule's access (cgroup v1: a
//     request that touches a denied access is denied), so "deny c 1:3 w"
//     stops an O_RDWR open after "allow a".
// Unlike cgroup v1, an "a" rule does not reset the list: it is a rule like
// the others, matching any type (as in crun).

#include <linux/bpf.h>

#include <cstdint>
#include <vector>

#include "hull/common/result.h"
#include "hull/common/unique_fd.h"
#include "hull/oci/spec.h"

namespace hull::cgroup {

// The program for `rules` (oci::DeviceRule: type "a"/"c"/"b" or empty for
// "a"; access a subset of "rwm", empty for "rwm"; major/minor absent or -1
// for any). EINVAL names the rule of an unknown type or access letter, or of
// a device number beyond INT32_MAX.
Result<std::vector<bpf_insn>> GenerateDeviceProgram(const std::vector<oci::DeviceRule>& rules);

// Loads `program` (license "GPL") and attaches it to the cgroup directory
// `cgroup_dir_fd` with BPF_F_ALLOW_MULTI, then detaches every other device
// program attached to that directory (found with BPF_PROG_QUERY), so that a
// cgroup has exactly one; the old program stays in force until the new one
// is. Returns the loaded program's fd (the attachment holds its own
// reference, so the caller may close it). A verifier rejection carries the
// verifier's log.
Result<UniqueFd> AttachDeviceProgram(int cgroup_dir_fd, const std::vector<bpf_insn>& program);

// The ids of the device programs attached directly to `cgroup_dir_fd`.
Result<std::vector<uint32_t>> QueryDevicePrograms(int cgroup_dir_fd);

}  // namespace hull::cgroup
