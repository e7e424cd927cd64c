#pragma once

// cgroup v2 statistics and the pure parsers of the interface files they come
// from (formats: the kernel's Documentation/admin-guide/cgroup-v2.rst,
// "Interface Files"). The parsers take file contents and never crash on bad
// content: it is an EINVAL Error naming the line (they are fuzzed).
// Cgroup::ReadStats does the reading.

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hull/common/result.h"

namespace hull::cgroup {

// cpu.stat. The first three are always there; the rest need the cpu
// controller (0 without it).
struct CpuStats {
  uint64_t usage_usec = 0;
  uint64_t user_usec = 0;
  uint64_t system_usec = 0;
  uint64_t nr_periods = 0;
  uint64_t nr_throttled = 0;
  uint64_t throttled_usec = 0;

  friend bool operator==(const CpuStats&, const CpuStats&) = default;
};

// memory.events: hierarchical counts of each event since creation.
struct MemoryEvents {
  uint64_t low = 0;
  uint64_t high = 0;
  uint64_t max = 0;
  uint64_t oom = 0;
  uint64_t oom_kill = 0;

  friend bool operator==(const MemoryEvents&, const MemoryEvents&) = default;
};

struct MemoryStats {
  uint64_t current = 0;         // memory.current
  std::optional<uint64_t> max;  // memory.max; nullopt: "max" (no limit)
  uint64_t anon = 0;            // memory.stat from here ...
  uint64_t file = 0;
  uint64_t kernel_stack = 0;
  uint64_t slab = 0;
  uint64_t sock = 0;
  uint64_t shmem = 0;
  uint64_t pgfault = 0;
  uint64_t pgmajfault = 0;
  uint64_t inactive_file = 0;  // ... to here
  uint64_t swap_current = 0;   // memory.swap.current (0 without swap accounting)
  MemoryEvents events;

  friend bool operator==(const MemoryStats&, const MemoryStats&) = default;
};

struct PidsStats {
  uint64_t current = 0;         // pids.current
  std::optional<uint64_t> max;  // pids.max; nullopt: "max"

  friend bool operator==(const PidsStats&, const PidsStats&) = default;
};

// One io.stat line.
struct IoDeviceStats {
  uint32_t major = 0;
  uint32_t minor = 0;
  uint64_t rbytes = 0;
  uint64_t wbytes = 0;
  uint64_t rios = 0;
  uint64_t wios = 0;
  uint64_t dbytes = 0;
  uint64_t dios = 0;

  friend bool operator==(const IoDeviceStats&, const IoDeviceStats&) = default;
};

struct CgroupStats {
  CpuStats cpu;
  std::optional<MemoryStats> memory;  // nullopt: the memory controller is not enabled
  std::optional<PidsStats> pids;      // nullopt: the pids controller is not enabled
  std::vector<IoDeviceStats> io;      // devices with I/O; empty without the io controller
};

// cgroup.events.
struct CgroupEvents {
  bool populated = false;  // the cgroup or a descendant has a live process
  bool frozen = false;

  friend bool operator==(const CgroupEvents&, const CgroupEvents&) = default;
};

// A flat-keyed file: "<key> <value>" lines. Values stay text, so that a key
// the kernel adds in a format of its own does not fail the keys we read.
using FlatKeyed = std::map<std::string, std::string, std::less<>>;

// A nested-keyed file: "<key> <sub>=<value> <sub>=<value> ..." lines.
struct NestedKeyedLine {
  std::string key;
  std::vector<std::pair<std::string, std::string>> fields;

  friend bool operator==(const NestedKeyedLine&, const NestedKeyedLine&) = default;
};

// Rejects a line without a key and value, an empty key and a repeated key.
Result<FlatKeyed> ParseFlatKeyed(std::string_view content);

// Rejects an empty key, a field without '=' or with an empty name.
Result<std::vector<NestedKeyedLine>> ParseNestedKeyed(std::string_view content);

// `key` of `file` as a number; a missing key is 0 (older kernels lack some).
Result<uint64_t> FlatKeyedU64(const FlatKeyed& file, std::string_view key);

// A single-value file: one decimal number and an optional newline.
Result<uint64_t> ParseSingleValue(std::string_view content);

// A limit file (memory.max, pids.max): a number, or "max" → nullopt.
Result<std::optional<uint64_t>> ParseLimitValue(std::string_view content);

// cgroup.procs / cgroup.threads: one positive id a line.
Result<std::vector<pid_t>> ParsePidList(std::string_view content);

Result<CpuStats> ParseCpuStat(std::string_view content);
Result<MemoryEvents> ParseMemoryEvents(std::string_view content);
// Fills the memory.stat fields of `stats` (anon ... inactive_file).
Result<void> ParseMemoryStat(std::string_view content, MemoryStats& stats);
Result<std::vector<IoDeviceStats>> ParseIoStat(std::string_view content);
Result<CgroupEvents> ParseCgroupEvents(std::string_view content);

}  // namespace hull::cgroup
