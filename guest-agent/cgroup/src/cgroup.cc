// Cgroup: creation, resources, membership and statistics. Freezing, killing
// and removal are in cgroup_lifecycle.cc.

#include "hull/cgroup/cgroup.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <optional>

#include "cgroup_files.h"
#include "hull/cgroup/device_filter.h"
#include "hull/common/eintr.h"

namespace hull::cgroup {
namespace {

using internal::OpenDirectoryAt;
using internal::ReadFileAt;
using internal::SplitWords;
using internal::WriteFileAt;

bool Contains(const std::vector<std::string>& words, std::string_view word) {
  return std::find(words.begin(), words.end(), word) != words.end();
}

std::string TrimTrailingSlashes(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

std::vector<std::string> Components(const std::string& relative) {
  std::vector<std::string> parts;
  size_t pos = 0;
  while (pos <= relative.size()) {
    const size_t end = std::min(relative.find('/', pos), relative.size());
    parts.push_back(relative.substr(pos, end - pos));
    pos = end + 1;
  }
  return parts;
}

Result<UniqueFd> OpenRoot(const std::string& mount_root) {
  UniqueFd fd(
      RetryOnEintr([&] { return ::open(mount_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); }));
  if (!fd) return Error::FromErrno(errno, fmt::format("opening cgroup root {}", mount_root));
  return fd;
}

// Enables `wanted` in `dir`'s cgroup.subtree_control, where not already on.
// All at once first (one write); if the kernel refuses that, one by one, so
// that one controller it will not enable (EBUSY, EINVAL) costs only itself.
Result<void> EnableControllers(int dir_fd, const std::string& dir_path,
                               const std::vector<std::string>& wanted) {
  HULL_ASSIGN_OR_RETURN(std::string current,
                        ReadFileAt(dir_fd, dir_path, "cgroup.subtree_control"));
  const std::vector<std::string> enabled = SplitWords(current);
  std::vector<std::string> missing;
  for (const std::string& controller : wanted) {
    if (!Contains(enabled, controller)) missing.push_back(controller);
  }
  if (missing.empty()) return Ok();
  std::string all;
  for (const std::string& controller : missing) {
    all += (all.empty() ? "+" : " +") + controller;
  }
  if (WriteFileAt(dir_fd, dir_path, "cgroup.subtree_control", all).ok()) return Ok();
  for (const std::string& controller : missing) {
    Result<void> one = WriteFileAt(dir_fd, dir_path, "cgroup.subtree_control", "+" + controller);
    if (!one.ok())
      spdlog::warn("cgroup controller {} stays off: {}", controller, one.error().ToString());
  }
  return Ok();
}

}  // namespace

Result<void> ValidateRelativePath(const std::string& relative) {
  const auto bad = [&](std::string_view why) {
    return Error(EINVAL, fmt::format("cgroup path \"{}\" {}", relative, why));
  };
  if (relative.empty()) return bad("is empty");
  if (relative.find('\0') != std::string::npos) return bad("contains a NUL byte");
  for (const std::string& part : Components(relative)) {
    if (part.empty()) return bad("has an empty component (a leading, trailing or double '/')");
    if (part == "." || part == "..") return bad("has a \".\" or \"..\" component");
  }
  return Ok();
}

Result<Cgroup> Cgroup::Create(const std::string& mount_root, const std::string& relative) {
  HULL_TRY(ValidateRelativePath(relative));
  const std::string root_path = TrimTrailingSlashes(mount_root);
  HULL_ASSIGN_OR_RETURN(UniqueFd dir, OpenRoot(root_path));
  HULL_ASSIGN_OR_RETURN(std::string offered,
                        ReadFileAt(dir.Get(), root_path, "cgroup.controllers"));
  const std::vector<std::string> available = SplitWords(offered);
  std::vector<std::string> wanted;
  for (const char* controller : kManagedControllers) {
    if (Contains(available, controller)) wanted.emplace_back(controller);
  }

  std::string dir_path = root_path;
  for (const std::string& part : Components(relative)) {
    HULL_TRY(EnableControllers(dir.Get(), dir_path, wanted));
    if (::mkdirat(dir.Get(), part.c_str(), 0755) != 0 && errno != EEXIST) {
      return Error::FromErrno(errno, fmt::format("creating cgroup {}/{}", dir_path, part));
    }
    HULL_ASSIGN_OR_RETURN(dir, OpenDirectoryAt(dir.Get(), dir_path, part));
    dir_path += "/" + part;
  }
  return Cgroup(root_path, std::move(dir_path), std::move(dir));
}

Result<Cgroup> Cgroup::Open(const std::string& mount_root, const std::string& relative) {
  HULL_TRY(ValidateRelativePath(relative));
  const std::string root_path = TrimTrailingSlashes(mount_root);
  HULL_ASSIGN_OR_RETURN(UniqueFd root, OpenRoot(root_path));
  HULL_ASSIGN_OR_RETURN(UniqueFd dir, OpenDirectoryAt(root.Get(), root_path, relative));
  return Cgroup(root_path, root_path + "/" + relative, std::move(dir));
}

Result<std::string> Cgroup::Read(std::string_view name) const {
  return ReadFileAt(dir_.Get(), path_, name);
}

Result<void> Cgroup::Write(std::string_view name, std::string_view value) const {
  return WriteFileAt(dir_.Get(), path_, name, value);
}

Result<void> Cgroup::CheckControllers(const std::vector<CgroupWrite>& writes) const {
  const std::vector<std::string> needed = RequiredControllers(writes);
  if (needed.empty()) return Ok();
  HULL_ASSIGN_OR_RETURN(std::string here, Read("cgroup.controllers"));
  const std::vector<std::string> enabled = SplitWords(here);
  for (const std::string& controller : needed) {
    if (Contains(enabled, controller)) continue;
    const auto user = std::find_if(writes.begin(), writes.end(), [&](const CgroupWrite& write) {
      return write.file.starts_with(controller + ".");
    });
    const std::string message =
        fmt::format("cgroup controller \"{}\" (for {}) is not enabled in {}", controller,
                    user != writes.end() ? user->file : controller, path_);
    Result<std::string> root = internal::ReadFile(mount_root_ + "/cgroup.controllers");
    if (root.ok() && !Contains(SplitWords(*root), controller)) {
      std::string offered = root->substr(0, root->find('\n'));
      return Error(ENOTSUP, fmt::format("{}: the kernel does not offer it ({}/cgroup.controllers: "
                                        "\"{}\")",
                                        message, mount_root_, offered));
    }
    return Error(ENOTSUP, fmt::format("{}: it is available at {} but not enabled in the "
                                      "cgroup.subtree_control of every cgroup above",
                                      message, mount_root_));
  }
  return Ok();
}

Result<void> Cgroup::Apply(const oci::Resources& resources) {
  HULL_ASSIGN_OR_RETURN(std::vector<CgroupWrite> writes, TranslateResources(resources));
  HULL_TRY(CheckControllers(writes));
  for (const CgroupWrite& write : writes) {
    Result<void> written = Write(write.file, write.value);
    if (written.ok()) continue;
    if (write.skip_if_absent && written.error().code() == ENOENT) continue;
    return written;
  }
  if (!resources.devices.empty()) HULL_TRY(ApplyDeviceRules(resources.devices));
  return Ok();
}

Result<void> Cgroup::ApplyDeviceRules(const std::vector<oci::DeviceRule>& rules) {
  HULL_ASSIGN_OR_RETURN(std::vector<bpf_insn> program, GenerateDeviceProgram(rules));
  Result<UniqueFd> attached = AttachDeviceProgram(dir_.Get(), program);
  if (!attached.ok()) {
    return std::move(attached).error().WithContext(fmt::format("device rules of {}", path_));
  }
  return Ok();  // the attachment keeps the program; its fd may go
}

Result<void> Cgroup::AddProcess(pid_t pid) { return Write("cgroup.procs", std::to_string(pid)); }

Result<std::vector<pid_t>> Cgroup::Processes() const {
  HULL_ASSIGN_OR_RETURN(std::string content, Read("cgroup.procs"));
  Result<std::vector<pid_t>> pids = ParsePidList(content);
  if (!pids.ok()) return std::move(pids).error().WithContext(path_ + "/cgroup.procs");
  return pids;
}

Result<CgroupEvents> Cgroup::Events() const {
  HULL_ASSIGN_OR_RETURN(std::string content, Read("cgroup.events"));
  Result<CgroupEvents> events = ParseCgroupEvents(content);
  if (!events.ok()) return std::move(events).error().WithContext(path_ + "/cgroup.events");
  return events;
}

Result<bool> Cgroup::IsFrozen() const {
  HULL_ASSIGN_OR_RETURN(CgroupEvents events, Events());
  return events.frozen;
}

Result<uint64_t> Cgroup::OomKillCount() const {
  HULL_ASSIGN_OR_RETURN(std::string content, Read("memory.events"));
  Result<MemoryEvents> events = ParseMemoryEvents(content);
  if (!events.ok()) return std::move(events).error().WithContext(path_ + "/memory.events");
  return events->oom_kill;
}

namespace {

// Reads and parses one file of a cgroup; nullopt where it does not exist
// (its controller is not enabled) and `optional` says that is fine.
template <typename T, typename Parse>
Result<std::optional<T>> ReadParsed(int dir_fd, const std::string& dir_path, std::string_view name,
                                    Parse&& parse, bool optional) {
  Result<std::string> content = ReadFileAt(dir_fd, dir_path, name);
  if (!content.ok()) {
    if (optional && content.error().code() == ENOENT) return std::optional<T>();
    return std::move(content).error();
  }
  Result<T> parsed = parse(*content);
  if (!parsed.ok()) {
    return std::move(parsed).error().WithContext(fmt::format("parsing {}/{}", dir_path, name));
  }
  return std::optional<T>(std::move(parsed).value());
}

}  // namespace

Result<CgroupStats> Cgroup::ReadStats() const {
  const int fd = dir_.Get();
  CgroupStats stats;
  HULL_ASSIGN_OR_RETURN(std::optional<CpuStats> cpu,
                        ReadParsed<CpuStats>(fd, path_, "cpu.stat", ParseCpuStat, false));
  stats.cpu = *cpu;

  HULL_ASSIGN_OR_RETURN(std::optional<uint64_t> memory_current,
                        ReadParsed<uint64_t>(fd, path_, "memory.current", ParseSingleValue, true));
  if (memory_current.has_value()) {
    MemoryStats memory;
    memory.current = *memory_current;
    HULL_ASSIGN_OR_RETURN(
        std::optional<std::optional<uint64_t>> max,
        ReadParsed<std::optional<uint64_t>>(fd, path_, "memory.max", ParseLimitValue, false));
    memory.max = *max;
    const auto parse_stat = [&](std::string_view content) -> Result<bool> {
      HULL_TRY(ParseMemoryStat(content, memory));
      return true;
    };
    HULL_TRY(ReadParsed<bool>(fd, path_, "memory.stat", parse_stat, false));
    HULL_ASSIGN_OR_RETURN(
        std::optional<MemoryEvents> events,
        ReadParsed<MemoryEvents>(fd, path_, "memory.events", ParseMemoryEvents, false));
    memory.events = *events;
    HULL_ASSIGN_OR_RETURN(
        std::optional<uint64_t> swap,
        ReadParsed<uint64_t>(fd, path_, "memory.swap.current", ParseSingleValue, true));
    memory.swap_current = swap.value_or(0);
    stats.memory = memory;
  }

  HULL_ASSIGN_OR_RETURN(std::optional<uint64_t> pids_current,
                        ReadParsed<uint64_t>(fd, path_, "pids.current", ParseSingleValue, true));
  if (pids_current.has_value()) {
    HULL_ASSIGN_OR_RETURN(
        std::optional<std::optional<uint64_t>> max,
        ReadParsed<std::optional<uint64_t>>(fd, path_, "pids.max", ParseLimitValue, false));
    stats.pids = PidsStats{*pids_current, *max};
  }

  HULL_ASSIGN_OR_RETURN(
      std::optional<std::vector<IoDeviceStats>> io,
      ReadParsed<std::vector<IoDeviceStats>>(fd, path_, "io.stat", ParseIoStat, true));
  if (io.has_value()) stats.io = std::move(*io);
  return stats;
}

}  // namespace hull::cgroup
