#include "text_checks.h"

#include <fmt/format.h>

#include <cerrno>

namespace hull::oci::internal {

std::string Quote(std::string_view text, size_t max_bytes) {
  std::string out = "\"";
  const std::string_view shown = text.substr(0, max_bytes);
  for (const char c : shown) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20 || byte >= 0x7f) {
      out += fmt::format("\\x{:02x}", byte);
    } else {
      out += c;
    }
  }
  out += '"';
  if (shown.size() < text.size()) out += "...";
  return out;
}

Result<void> CheckNoNul(std::string_view text, std::string_view path) {
  if (text.find('\0') != std::string_view::npos) {
    return Error(EINVAL, fmt::format("{}: contains a NUL byte", path));
  }
  return Ok();
}

bool HasDotDotComponent(std::string_view path_text) {
  size_t start = 0;
  while (start <= path_text.size()) {
    size_t end = path_text.find('/', start);
    if (end == std::string_view::npos) end = path_text.size();
    if (path_text.substr(start, end - start) == "..") return true;
    start = end + 1;
  }
  return false;
}

Result<void> CheckAbsolutePath(std::string_view text, std::string_view path, bool dot_dot_ok) {
  HULL_TRY(CheckNoNul(text, path));
  if (text.empty() || text.front() != '/') {
    return Error(EINVAL, fmt::format("{}: must be an absolute path, got {}", path, Quote(text)));
  }
  if (!dot_dot_ok && HasDotDotComponent(text)) {
    return Error(EINVAL,
                 fmt::format("{}: must not contain \"..\" components, got {}", path, Quote(text)));
  }
  return Ok();
}

}  // namespace hull::oci::internal
