#include "hull/common/logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <array>
#include <cerrno>
#include <memory>
#include <utility>

namespace hull {
namespace {

struct LevelName {
  std::string_view name;
  spdlog::level::level_enum level;
};

constexpr std::array<LevelName, 6> kLevels = {{
    {"trace", spdlog::level::trace},
    {"debug", spdlog::level::debug},
    {"info", spdlog::level::info},
    {"warn", spdlog::level::warn},
    {"error", spdlog::level::err},
    {"off", spdlog::level::off},
}};

bool NeedsQuotes(std::string_view value) {
  if (value.empty()) return true;
  for (char c : value) {
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20 ||
        c == 0x7f) {
      return true;
    }
  }
  return false;
}

}  // namespace

Result<spdlog::level::level_enum> ParseLogLevel(std::string_view name) {
  for (const LevelName& entry : kLevels) {
    if (entry.name == name) return entry.level;
  }
  return Error(EINVAL, fmt::format("unknown log level \"{}\" (expected trace, debug, info, warn, "
                                   "error or off)",
                                   name));
}

Result<void> InitLogging(std::string_view level, std::string_view program) {
  HULL_ASSIGN_OR_RETURN(spdlog::level::level_enum parsed, ParseLogLevel(level));
  try {
    auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    auto logger = std::make_shared<spdlog::logger>(std::string(program), std::move(sink));
    // 2024-05-01T12:00:00.123 W hull-vmm[1234]: message
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%L%$ %n[%P]: %v");
    logger->set_level(parsed);
    logger->flush_on(spdlog::level::warn);
    spdlog::set_default_logger(std::move(logger));
  } catch (const spdlog::spdlog_ex& e) {
    return Error(EINVAL, fmt::format("setting up logging: {}", e.what()));
  }
  return {};
}

namespace internal {

void AppendLogField(std::string& line, std::string_view key, std::string_view value) {
  line.append(" ").append(key).append("=");
  if (!NeedsQuotes(value)) {
    line.append(value);
    return;
  }
  line.push_back('"');
  for (char c : value) {
    switch (c) {
      case '"':
        line.append("\\\"");
        break;
      case '\\':
        line.append("\\\\");
        break;
      case '\n':
        line.append("\\n");
        break;
      case '\t':
        line.append("\\t");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          line.append(fmt::format("\\x{:02x}", static_cast<unsigned char>(c)));
        } else {
          line.push_back(c);
        }
    }
  }
  line.push_back('"');
}

}  // namespace internal
}  // namespace hull
