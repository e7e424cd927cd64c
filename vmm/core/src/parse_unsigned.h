#pragma once

// The one whole-number parser of hull-vmm's flags and flag specs
// (config_flags.cc, config.cc): decimal digits only, the whole text, within
// T's range; the error quotes what was given and shows an example.

#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <limits>
#include <string_view>

#include "hull/common/result.h"

namespace hull::vmm {

// `what`: the flag or key ("--mem", "--net fd"); `example`: a whole valid
// use ("--mem 256").
template <typename T>
Result<T> ParseUnsigned(std::string_view what, std::string_view text, std::string_view example) {
  uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || value > std::numeric_limits<T>::max()) {
    return Error(EINVAL,
                 fmt::format("{} \"{}\": expected a whole number, e.g. {}", what, text, example));
  }
  return static_cast<T>(value);
}

}  // namespace hull::vmm
