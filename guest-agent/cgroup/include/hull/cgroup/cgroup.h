#pragma once

// One cgroup v2 directory, as hull-agent manages a container's: create it
// with the controllers enabled on the way down, apply the OCI resources,
// move processes in, freeze, kill, read statistics, remove it.
//
//   HULL_ASSIGN_OR_RETURN(Cgroup cgroup, Cgroup::Create("/sys/fs/cgroup", "hull/c1"));
//   HULL_TRY(cgroup.Apply(resources));
//   HULL_TRY(cgroup.AddProcess(pid));
//   ...
//   HULL_TRY(cgroup.Destroy(std::chrono::seconds(5)));
//
// The mount root is a parameter so that tests can point it at a fake tree of
// regular files. Only the unified hierarchy (cgroup v2) is supported.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hull/cgroup/stats.h"
#include "hull/cgroup/translate.h"
#include "hull/common/result.h"
#include "hull/common/unique_fd.h"
#include "hull/oci/spec.h"

namespace hull::cgroup {

// The controllers Create enables on the way down where the root has them.
inline constexpr const char* kManagedControllers[] = {"cpu",    "cpuset", "io",
                                                      "memory", "pids",   "hugetlb"};

// Move-only handle to a cgroup directory (an open O_DIRECTORY fd and its
// path). Destruction closes the fd and leaves the cgroup: removing it is
// Destroy's job, which needs a timeout and can fail.
class Cgroup {
 public:
  // mkdir -p `mount_root`/`relative` and enable, in the cgroup.subtree_control
  // of the root and of every directory above the new one, the managed
  // controllers that the root's cgroup.controllers offers. One that cannot be
  // enabled is logged, not fatal: Apply fails only if a resource needs it.
  // `relative` ("hull/c1") must have no empty, "." or ".." component, no
  // leading or trailing '/', no NUL.
  static Result<Cgroup> Create(const std::string& mount_root, const std::string& relative);

  // An existing cgroup; ENOENT if there is none.
  static Result<Cgroup> Open(const std::string& mount_root, const std::string& relative);

  Cgroup(Cgroup&&) noexcept = default;
  Cgroup& operator=(Cgroup&&) noexcept = default;
  Cgroup(const Cgroup&) = delete;
  Cgroup& operator=(const Cgroup&) = delete;
  ~Cgroup() = default;

  // Translates `resources` (translate.h), checks that the cgroup has every
  // controller the writes need (ENOTSUP names the controller otherwise),
  // makes the writes in order and, if there are device rules, attaches their
  // program (device_filter.h), replacing any earlier one. A failed write
  // names the file and value; writes before it stay made.
  Result<void> Apply(const oci::Resources& resources);

  // Only the device program (Apply's last step).
  Result<void> ApplyDeviceRules(const std::vector<oci::DeviceRule>& rules);

  // cgroup.procs.
  Result<void> AddProcess(pid_t pid);
  Result<std::vector<pid_t>> Processes() const;

  // Writes cgroup.freeze and waits until cgroup.events reports the state:
  // ETIMEDOUT after `timeout`.
  Result<void> Freeze(std::chrono::milliseconds timeout);
  Result<void> Thaw(std::chrono::milliseconds timeout);
  Result<bool> IsFrozen() const;

  // cgroup.events.
  Result<CgroupEvents> Events() const;

  // cpu.stat always; memory.*, pids.* and io.stat where their controller is
  // enabled (else nullopt / empty).
  Result<CgroupStats> ReadStats() const;

  // memory.events' oom_kill: processes the OOM killer took in this subtree.
  Result<uint64_t> OomKillCount() const;

  // SIGKILLs every process in the subtree: cgroup.kill (Linux 5.14+), or on
  // older kernels freeze, SIGKILL each pid in the subtree's cgroup.procs, thaw. Does not
  // wait for them to die (Destroy does).
  Result<void> Kill();

  // Kill if populated, wait until cgroup.events says "populated 0", then
  // remove the directory and any child cgroups in it. ETIMEDOUT names the
  // pids still there after `timeout`. Removing what is already gone succeeds.
  // Afterwards the handle is spent: Destroy succeeds again, the rest fail.
  Result<void> Destroy(std::chrono::milliseconds timeout);

  // mount_root/relative, e.g. "/sys/fs/cgroup/hull/c1".
  const std::string& path() const { return path_; }
  const std::string& mount_root() const { return mount_root_; }
  int dir_fd() const { return dir_.Get(); }

 private:
  Cgroup(std::string mount_root, std::string path, UniqueFd dir)
      : mount_root_(std::move(mount_root)), path_(std::move(path)), dir_(std::move(dir)) {}

  Result<std::string> Read(std::string_view name) const;
  Result<void> Write(std::string_view name, std::string_view value) const;
  Result<void> CheckControllers(const std::vector<CgroupWrite>& writes) const;
  // Waits until cgroup.events' `field` is `value`: true, or false once
  // `timeout` has passed.
  Result<bool> WaitForEvents(bool CgroupEvents::*field, bool value,
                             std::chrono::milliseconds timeout) const;
  Result<void> KillEachProcess();
  Result<void> RemoveTree();

  std::string mount_root_;
  std::string path_;
  UniqueFd dir_;
};

// The checks Create applies to `relative`.
Result<void> ValidateRelativePath(const std::string& relative);

}  // namespace hull::cgroup
