#pragma once

// Checks on strings from a spec that the parser, the validators and the name
// tables share. Every error starts with `path`, the JSON path of the string.

#include <string>
#include <string_view>

#include "hull/common/result.h"

namespace hull::oci::internal {

// `text` in double quotes for a message: control bytes and non-ASCII bytes
// as \xNN, '"' and '\' escaped, cut after `max_bytes` with "...".
std::string Quote(std::string_view text, size_t max_bytes = 64);

// "<path>: contains a NUL byte".
Result<void> CheckNoNul(std::string_view text, std::string_view path);

// Whether one of the '/'-separated components of `path_text` is "..".
bool HasDotDotComponent(std::string_view path_text);

// Non-empty, starts with '/', no NUL, and (unless dot_dot_ok) no ".."
// component.
Result<void> CheckAbsolutePath(std::string_view text, std::string_view path,
                               bool dot_dot_ok = false);

}  // namespace hull::oci::internal
