#pragma once

// Reading and writing cgroup interface files relative to a directory fd,
// with errors that name the whole path and, for writes, the value.

#include <string>
#include <string_view>
#include <vector>

#include "hull/common/result.h"
#include "hull/common/unique_fd.h"

namespace hull::cgroup::internal {

// The whole file (at most 4 MiB; memory.stat is a few KiB). `dir_path` is
// for messages: "reading /sys/fs/cgroup/c1/memory.stat: ...".
Result<std::string> ReadFileAt(int dir_fd, std::string_view dir_path, std::string_view name);

// The whole of an open file, read from its start (a kernfs file is re-read
// after each change notification this way). `what` prefixes errors.
Result<std::string> ReadFromStart(int fd, std::string_view what);

// The names of the child cgroups (subdirectories) of `dir_fd`.
Result<std::vector<std::string>> ChildDirectories(int dir_fd, std::string_view dir_path);

// A directory below `dir_fd` (O_DIRECTORY | O_NOFOLLOW), for messages at
// `dir_path`/`name`.
Result<UniqueFd> OpenDirectoryAt(int dir_fd, std::string_view dir_path, std::string_view name);

// The whole file at `path` (absolute), for messages "reading <path>".
Result<std::string> ReadFile(const std::string& path);

// One write(2) of `value` to the file, as the kernel takes one value a write:
// `writing "max 100000" to /sys/fs/cgroup/c1/cpu.max: Invalid argument`.
// The file must exist (cgroupfs files cannot be created).
Result<void> WriteFileAt(int dir_fd, std::string_view dir_path, std::string_view name,
                         std::string_view value);

// The words of a space-separated list such as cgroup.controllers.
std::vector<std::string> SplitWords(std::string_view text);

}  // namespace hull::cgroup::internal
