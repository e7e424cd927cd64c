#pragma once

// The OCI spec's linux.resources as cgroup v2 interface-file writes, the way
// runc and crun translate them on the unified hierarchy. Pure (no I/O), so it
// is tested in tables; Cgroup::Apply makes the writes.
//
//   memory.limit        → memory.max         ("max" for -1)
//   memory.reservation  → memory.low         ("max" for -1)
//   memory.swap         → memory.swap.max    (swap - limit: v1 counts memory+swap)
//   cpu.shares          → cpu.weight         (1 + (shares - 2) * 9999 / 262142)
//   cpu.quota, .period  → cpu.max            ("$QUOTA $PERIOD", quota -1: "max")
//   cpu.burst           → cpu.max.burst
//   cpu.idle            → cpu.idle
//   cpu.cpus, .mems     → cpuset.cpus, cpuset.mems
//   pids.limit          → pids.max           ("max" for 0 or -1)
//   blockIO.weight      → io.weight          ("default W", 1 + (w - 10) * 9999 / 990)
//   blockIO.weightDevice→ io.weight          ("MAJ:MIN W", same conversion)
//   blockIO.throttle*   → io.max             ("MAJ:MIN rbps=N" / wbps / riops / wiops)
//   hugepageLimits      → hugetlb.<size>.max
//   unified             → the named file, verbatim, last (so it overrides)
//
// As in runc, 0 means "not set" for memory limits, cpu.shares, cpu.quota,
// cpu.period and blockIO.weight. Ignored, as on cgroup v2 in crun:
// memory.swappiness, memory.kernel, memory.kernelTCP, memory.disableOOMKiller,
// memory.useHierarchy, blockIO.leafWeight. Device rules are no files on cgroup
// v2 (device_filter.h).

#include <cstdint>
#include <string>
#include <vector>

#include "hull/common/result.h"
#include "hull/oci/spec.h"

namespace hull::cgroup {

// Write `value` to the interface file `file` in the cgroup's directory.
struct CgroupWrite {
  std::string file;  // e.g. "memory.max"
  std::string value;
  // Where the kernel may lack the file and the value only restates "no
  // limit" (memory.swap.max without swap accounting), a missing file is no
  // error: Apply skips the write.
  bool skip_if_absent = false;

  friend bool operator==(const CgroupWrite&, const CgroupWrite&) = default;
};

// The writes for `resources`, in order: pids, memory, io, cpu, cpuset,
// hugetlb, unified. EINVAL names the field of a value out of range; EPERM
// names a `unified` key that is ours to write (cgroup.procs, cgroup.freeze,
// ...); EOPNOTSUPP a resource that cgroup v2 cannot express (real-time CPU).
Result<std::vector<CgroupWrite>> TranslateResources(const oci::Resources& resources);

// The controllers that `writes` need, each once, in first-use order: a file
// name up to its first '.' ("memory.max" → "memory"). The core "cgroup.*"
// files need none.
std::vector<std::string> RequiredControllers(const std::vector<CgroupWrite>& writes);

// cgroup v1 cpu.shares [2, 262144] (clamped into it) → cpu.weight [1, 10000].
uint64_t CpuSharesToWeight(uint64_t shares);

// cgroup v1 blkio weight [10, 1000] (clamped into it) → io.weight [1, 10000].
uint64_t BlkioWeightToIoWeight(uint64_t weight);

}  // namespace hull::cgroup
