#pragma once

// The parsers of the spec's parts, shared between the parse files. Each takes
// a JSON value and its path and returns the part or an Error naming the path.

#include <string>

#include "hull/common/result.h"
#include "hull/oci/spec.h"
#include "json_reader.h"

namespace hull::oci::internal {

Result<Process> ParseProcessValue(const Json& value, const std::string& path);  // spec_parse.cc
Result<Linux> ParseLinuxValue(const Json& value, const std::string& path);      // linux_parse.cc
Result<Resources> ParseResourcesValue(const Json& value,
                                      const std::string& path);  // resources_parse.cc

}  // namespace hull::oci::internal
