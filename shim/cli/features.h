#pragma once

#include <string>

namespace hull::cli {

// `hull features`: the OCI runtime features document (runtime-spec
// features.md) for what hull-agent implements, drawn from the agent's own
// name tables and parsers so it cannot drift from them.
std::string FeaturesJson();

}  // namespace hull::cli
