// Fuzzes the cgroup v2 file parsers (hull/cgroup/stats.h) with the same
// bytes: cgroup files are written by the kernel, but the agent reads them
// inside a guest whose container may have made its own cgroup namespace and
// mounts, so their content is not to be trusted with a crash.
//
// Checked beyond the sanitizers: a failure has a message; a flat-keyed file
// that parses prints back to text that parses to the same map; a nested-keyed
// line has a key and named fields; a number that parses as a single value
// also parses as a limit; pids are positive.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "hull/cgroup/stats.h"

namespace {

template <typename T>
void CheckFailureHasMessage(const hull::Result<T>& result) {
  if (!result.ok() && result.error().message().empty()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hull::cgroup;  // NOLINT(google-build-using-namespace)
  // SAFETY: the fuzzer's bytes viewed as chars, read-only.
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  hull::Result<FlatKeyed> flat = ParseFlatKeyed(text);
  CheckFailureHasMessage(flat);
  if (flat.ok()) {
    std::string printed;
    for (const auto& [key, value] : *flat) printed += key + " " + value + "\n";
    hull::Result<FlatKeyed> again = ParseFlatKeyed(printed);
    if (!again.ok() || *again != *flat) std::abort();
    for (const auto& [key, value] : *flat) CheckFailureHasMessage(FlatKeyedU64(*flat, key));
  }

  hull::Result<std::vector<NestedKeyedLine>> nested = ParseNestedKeyed(text);
  CheckFailureHasMessage(nested);
  if (nested.ok()) {
    for (const NestedKeyedLine& line : *nested) {
      if (line.key.empty()) std::abort();
      for (const auto& field : line.fields) {
        if (field.first.empty()) std::abort();
      }
    }
  }

  hull::Result<uint64_t> single = ParseSingleValue(text);
  hull::Result<std::optional<uint64_t>> limit = ParseLimitValue(text);
  CheckFailureHasMessage(single);
  CheckFailureHasMessage(limit);
  if (single.ok() && (!limit.ok() || *limit != std::optional<uint64_t>(*single))) std::abort();

  hull::Result<std::vector<pid_t>> pids = ParsePidList(text);
  CheckFailureHasMessage(pids);
  if (pids.ok()) {
    for (const pid_t pid : *pids) {
      if (pid <= 0) std::abort();
    }
  }

  CheckFailureHasMessage(ParseCpuStat(text));
  CheckFailureHasMessage(ParseMemoryEvents(text));
  MemoryStats memory;
  hull::Result<void> memory_stat = ParseMemoryStat(text, memory);
  if (!memory_stat.ok() && memory_stat.error().message().empty()) std::abort();
  CheckFailureHasMessage(ParseIoStat(text));
  CheckFailureHasMessage(ParseCgroupEvents(text));
  return 0;
}
