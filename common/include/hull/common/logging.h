#pragma once

// Logging for every hull program: spdlog's default logger, writing to stderr.
//
//   HULL_TRY(hull::InitLogging(flags.log_level, "hull-vmm"));
//   spdlog::info("vCPU {} started", id);
//   hull::LogEvent(spdlog::level::debug, "vcpu_exit", hull::Kv("vcpu", 0), hull::Kv("port", port));
//     -> "vcpu_exit vcpu=0 port=1016"   (logfmt: key=value, values quoted when needed)

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <string>
#include <string_view>

#include "hull/common/result.h"

namespace hull {

// "trace", "debug", "info", "warn", "error" or "off"; anything else is EINVAL.
Result<spdlog::level::level_enum> ParseLogLevel(std::string_view name);

// Installs a stderr logger named `program` as spdlog's default at `level`.
// The default "warn" keeps a healthy run silent. Call it once, early, before
// other threads log: spdlog's default logger must not be swapped concurrently.
Result<void> InitLogging(std::string_view level = "warn", std::string_view program = "hull");

// One key=value pair of a structured log line. It refers to its value: build
// it inside the LogEvent call, never keep it.
template <typename T>
struct LogField {
  std::string_view key;
  const T& value;
};

template <typename T>
LogField<T> Kv(std::string_view key, const T& value) {
  return {key, value};
}

namespace internal {
// Appends " key=value" to `line`, quoting and escaping `value` when it is
// empty or holds spaces, quotes, '=' or control characters.
void AppendLogField(std::string& line, std::string_view key, std::string_view value);
}  // namespace internal

// The text LogEvent logs, exposed so that it can be tested and reused.
template <typename... Ts>
std::string FormatLogEvent(std::string_view event, const LogField<Ts>&... fields) {
  std::string line(event);
  (internal::AppendLogField(line, fields.key, fmt::format("{}", fields.value)), ...);
  return line;
}

// Logs "<event> k1=v1 k2=v2 ..." at `level`; formats nothing when the level
// is disabled.
template <typename... Ts>
void LogEvent(spdlog::level::level_enum level, std::string_view event,
              const LogField<Ts>&... fields) {
  if (!spdlog::should_log(level)) return;
  spdlog::log(level, "{}", FormatLogEvent(event, fields...));
}

}  // namespace hull
