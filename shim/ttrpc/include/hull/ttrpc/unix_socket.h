#pragma once

// The Unix stream sockets ttrpc runs on. Addresses are paths, optionally
// written "unix:///path" as containerd does.

#include <string>
#include <string_view>

#include "hull/common/result.h"
#include "hull/common/unique_fd.h"

namespace hull::ttrpc {

// "/run/x.sock" for "unix:///run/x.sock" or "/run/x.sock". EINVAL when it
// is empty or too long for sockaddr_un.
Result<std::string> UnixSocketPath(std::string_view address);

// A listening socket bound at `address`, mode 0600 (only containerd's user
// may call the shim). An existing file there is an error (EADDRINUSE): the
// caller decides whether a stale socket may be removed.
Result<UniqueFd> ListenUnix(std::string_view address, int backlog = 64);

// A socket connected to `address`.
Result<UniqueFd> ConnectUnix(std::string_view address);

}  // namespace hull::ttrpc
