#pragma once

// /etc/resolv.conf for a container, from the DNS settings the shim passes
// (the engine's --dns, --dns-search, --dns-option).

#include <string>
#include <vector>

#include "hull/common/result.h"

namespace hull::agent::net {

// The file's text:
//   nameserver 10.0.0.1        one line per server, each a valid IP address
//   search example.com corp    when there are search domains
//   options ndots:2 rotate     when there are options
// Search domains and options must be non-empty words without whitespace or
// control characters (a newline would smuggle in a line of its own); a
// domain is at most 253 characters. Errors are EINVAL and quote the value.
// Nothing at all gives an empty text.
Result<std::string> FormatResolvConf(const std::vector<std::string>& servers,
                                     const std::vector<std::string>& searches,
                                     const std::vector<std::string>& options);

}  // namespace hull::agent::net
