#pragma once

// Paths inside a container's root file system, resolved as if that directory
// were "/": symlinks and ".." in an image (hostile or not) cannot lead a mount
// or mknod outside it. Built on openat2(RESOLVE_IN_ROOT) (Linux 5.6+). The
// fds returned are O_PATH; act on them through ProcFdPath.

#include <sys/types.h>

#include <string>
#include <string_view>

#include "hull/common/result.h"
#include "hull/common/unique_fd.h"

namespace hull::agent {

// Opens `path` (absolute or relative, taken as under the root) beneath
// `root_fd`. `flags` are open(2) flags, e.g. O_PATH | O_DIRECTORY.
Result<UniqueFd> OpenInRoot(int root_fd, std::string_view path, int flags);

// Creates every missing directory of `path` (mode `mode`), then opens it.
Result<UniqueFd> MkdirAllInRoot(int root_fd, std::string_view path, mode_t mode);

// Creates an empty regular file at `path` (and its parent directories) if
// nothing is there, then opens it O_PATH. A mount point for a file bind mount.
Result<UniqueFd> CreateFileInRoot(int root_fd, std::string_view path);

// Splits "/a/b/c" into the parent "/a/b" and the last component "c";
// "/" and "" have no last component (empty).
std::pair<std::string, std::string> SplitLast(std::string_view path);

// "/proc/self/fd/<fd>": the path that names an O_PATH fd for mount(2).
std::string ProcFdPath(int fd);

}  // namespace hull::agent
