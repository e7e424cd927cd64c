#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <climits>

#include "hull/cgroup/stats.h"

namespace hull::cgroup {
namespace {

// Calls `fn(line_number, line)` for each line; a final newline ends the last
// line rather than starting an empty one.
template <typename Fn>
Result<void> ForEachLine(std::string_view content, Fn&& fn) {
  size_t number = 0;
  while (!content.empty()) {
    ++number;
    const size_t end = content.find('\n');
    const std::string_view line = content.substr(0, end);
    content = end == std::string_view::npos ? std::string_view() : content.substr(end + 1);
    HULL_TRY(fn(number, line));
  }
  return Ok();
}

Error BadLine(size_t number, std::string_view why) {
  return Error(EINVAL, fmt::format("line {}: {}", number, why));
}

Result<uint64_t> ParseU64(std::string_view text, std::string_view what) {
  uint64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec == std::errc::invalid_argument || ptr != end) {
    return Error(EINVAL, fmt::format("{}: \"{}\" is not a decimal number", what, text));
  }
  if (ec == std::errc::result_out_of_range) {
    return Error(ERANGE, fmt::format("{}: {} is out of range", what, text));
  }
  return value;
}

Result<uint32_t> ParseU32(std::string_view text, std::string_view what) {
  HULL_ASSIGN_OR_RETURN(uint64_t value, ParseU64(text, what));
  if (value > UINT32_MAX) return Error(ERANGE, fmt::format("{}: {} is out of range", what, text));
  return static_cast<uint32_t>(value);
}

std::string_view StripNewline(std::string_view content) {
  if (content.ends_with('\n')) content.remove_suffix(1);
  return content;
}

}  // namespace

Result<FlatKeyed> ParseFlatKeyed(std::string_view content) {
  FlatKeyed file;
  HULL_TRY(ForEachLine(content, [&](size_t number, std::string_view line) -> Result<void> {
    const size_t space = line.find(' ');
    if (space == std::string_view::npos) return BadLine(number, "no \"<key> <value>\"");
    const std::string_view key = line.substr(0, space);
    const std::string_view value = line.substr(space + 1);
    if (key.empty()) return BadLine(number, "empty key");
    if (value.empty() || value.find(' ') != std::string_view::npos) {
      return BadLine(number, fmt::format("\"{}\" is not one value", value));
    }
    if (!file.emplace(key, value).second) {
      return BadLine(number, fmt::format("key \"{}\" repeats", key));
    }
    return Ok();
  }));
  return file;
}

Result<std::vector<NestedKeyedLine>> ParseNestedKeyed(std::string_view content) {
  std::vector<NestedKeyedLine> lines;
  HULL_TRY(ForEachLine(content, [&](size_t number, std::string_view line) -> Result<void> {
    NestedKeyedLine parsed;
    size_t pos = 0;
    bool first = true;
    while (pos <= line.size()) {
      const size_t end = std::min(line.find(' ', pos), line.size());
      const std::string_view word = line.substr(pos, end - pos);
      pos = end + 1;
      if (first) {
        if (word.empty()) return BadLine(number, "empty key");
        parsed.key = word;
        first = false;
        continue;
      }
      if (word.empty()) continue;  // a trailing space, as io.max may write
      const size_t eq = word.find('=');
      if (eq == std::string_view::npos || eq == 0) {
        return BadLine(number, fmt::format("\"{}\" is not \"<name>=<value>\"", word));
      }
      parsed.fields.emplace_back(word.substr(0, eq), word.substr(eq + 1));
    }
    lines.push_back(std::move(parsed));
    return Ok();
  }));
  return lines;
}

Result<uint64_t> FlatKeyedU64(const FlatKeyed& file, std::string_view key) {
  const auto it = file.find(key);
  if (it == file.end()) return uint64_t{0};
  return ParseU64(it->second, key);
}

Result<uint64_t> ParseSingleValue(std::string_view content) {
  return ParseU64(StripNewline(content), "value");
}

Result<std::optional<uint64_t>> ParseLimitValue(std::string_view content) {
  const std::string_view text = StripNewline(content);
  if (text == "max") return std::optional<uint64_t>();
  HULL_ASSIGN_OR_RETURN(uint64_t value, ParseU64(text, "limit"));
  return std::optional<uint64_t>(value);
}

Result<std::vector<pid_t>> ParsePidList(std::string_view content) {
  std::vector<pid_t> pids;
  HULL_TRY(ForEachLine(content, [&](size_t number, std::string_view line) -> Result<void> {
    Result<uint64_t> pid = ParseU64(line, "pid");
    if (!pid.ok()) return std::move(pid).error().WithContext(fmt::format("line {}", number));
    if (*pid == 0 || *pid > INT_MAX) return BadLine(number, fmt::format("pid {} is invalid", *pid));
    pids.push_back(static_cast<pid_t>(*pid));
    return Ok();
  }));
  return pids;
}

Result<CpuStats> ParseCpuStat(std::string_view content) {
  HULL_ASSIGN_OR_RETURN(FlatKeyed file, ParseFlatKeyed(content));
  CpuStats stats;
  HULL_ASSIGN_OR_RETURN(stats.usage_usec, FlatKeyedU64(file, "usage_usec"));
  HULL_ASSIGN_OR_RETURN(stats.user_usec, FlatKeyedU64(file, "user_usec"));
  HULL_ASSIGN_OR_RETURN(stats.system_usec, FlatKeyedU64(file, "system_usec"));
  HULL_ASSIGN_OR_RETURN(stats.nr_periods, FlatKeyedU64(file, "nr_periods"));
  HULL_ASSIGN_OR_RETURN(stats.nr_throttled, FlatKeyedU64(file, "nr_throttled"));
  HULL_ASSIGN_OR_RETURN(stats.throttled_usec, FlatKeyedU64(file, "throttled_usec"));
  return stats;
}

Result<MemoryEvents> ParseMemoryEvents(std::string_view content) {
  HULL_ASSIGN_OR_RETURN(FlatKeyed file, ParseFlatKeyed(content));
  MemoryEvents events;
  HULL_ASSIGN_OR_RETURN(events.low, FlatKeyedU64(file, "low"));
  HULL_ASSIGN_OR_RETURN(events.high, FlatKeyedU64(file, "high"));
  HULL_ASSIGN_OR_RETURN(events.max, FlatKeyedU64(file, "max"));
  HULL_ASSIGN_OR_RETURN(events.oom, FlatKeyedU64(file, "oom"));
  HULL_ASSIGN_OR_RETURN(events.oom_kill, FlatKeyedU64(file, "oom_kill"));
  return events;
}

Result<void> ParseMemoryStat(std::string_view content, MemoryStats& stats) {
  HULL_ASSIGN_OR_RETURN(FlatKeyed file, ParseFlatKeyed(content));
  HULL_ASSIGN_OR_RETURN(stats.anon, FlatKeyedU64(file, "anon"));
  HULL_ASSIGN_OR_RETURN(stats.file, FlatKeyedU64(file, "file"));
  HULL_ASSIGN_OR_RETURN(stats.kernel_stack, FlatKeyedU64(file, "kernel_stack"));
  HULL_ASSIGN_OR_RETURN(stats.slab, FlatKeyedU64(file, "slab"));
  HULL_ASSIGN_OR_RETURN(stats.sock, FlatKeyedU64(file, "sock"));
  HULL_ASSIGN_OR_RETURN(stats.shmem, FlatKeyedU64(file, "shmem"));
  HULL_ASSIGN_OR_RETURN(stats.pgfault, FlatKeyedU64(file, "pgfault"));
  HULL_ASSIGN_OR_RETURN(stats.pgmajfault, FlatKeyedU64(file, "pgmajfault"));
  HULL_ASSIGN_OR_RETURN(stats.inactive_file, FlatKeyedU64(file, "inactive_file"));
  return Ok();
}

Result<std::vector<IoDeviceStats>> ParseIoStat(std::string_view content) {
  HULL_ASSIGN_OR_RETURN(std::vector<NestedKeyedLine> lines, ParseNestedKeyed(content));
  std::vector<IoDeviceStats> devices;
  devices.reserve(lines.size());
  for (const NestedKeyedLine& line : lines) {
    IoDeviceStats device;
    const size_t colon = line.key.find(':');
    if (colon == std::string::npos) {
      return Error(EINVAL, fmt::format("io.stat: \"{}\" is not a MAJ:MIN device", line.key));
    }
    const std::string_view key = line.key;
    HULL_ASSIGN_OR_RETURN(device.major, ParseU32(key.substr(0, colon), "device major"));
    HULL_ASSIGN_OR_RETURN(device.minor, ParseU32(key.substr(colon + 1), "device minor"));
    for (const auto& [name, value] : line.fields) {
      // Other fields (io.latency's depth/avg_lat, iocost's cost.*) are not ours.
      uint64_t* field = name == "rbytes"   ? &device.rbytes
                        : name == "wbytes" ? &device.wbytes
                        : name == "rios"   ? &device.rios
                        : name == "wios"   ? &device.wios
                        : name == "dbytes" ? &device.dbytes
                        : name == "dios"   ? &device.dios
                                           : nullptr;
      if (field == nullptr) continue;
      HULL_ASSIGN_OR_RETURN(*field, ParseU64(value, name));
    }
    devices.push_back(device);
  }
  return devices;
}

Result<CgroupEvents> ParseCgroupEvents(std::string_view content) {
  HULL_ASSIGN_OR_RETURN(FlatKeyed file, ParseFlatKeyed(content));
  CgroupEvents events;
  HULL_ASSIGN_OR_RETURN(uint64_t populated, FlatKeyedU64(file, "populated"));
  HULL_ASSIGN_OR_RETURN(uint64_t frozen, FlatKeyedU64(file, "frozen"));  // 0 before 5.2
  if (populated > 1 || frozen > 1) {
    return Error(EINVAL, "cgroup.events: populated and frozen must be 0 or 1");
  }
  events.populated = populated == 1;
  events.frozen = frozen == 1;
  return events;
}

}  // namespace hull::cgroup
