#include "cgroup_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

#include "hull/common/eintr.h"

namespace hull::cgroup::internal {

Result<std::string> ReadFromStart(int fd, std::string_view what) {
  if (::lseek(fd, 0, SEEK_SET) < 0) return Error::FromErrno(errno, what);
  constexpr size_t kMaxSize = 4 << 20;
  std::string content;
  char buffer[4096];
  for (;;) {
    const ssize_t n = RetryOnEintr([&] { return ::read(fd, buffer, sizeof(buffer)); });
    if (n < 0) return Error::FromErrno(errno, what);
    if (n == 0) break;
    content.append(buffer, static_cast<size_t>(n));
    if (content.size() > kMaxSize) return Error(EFBIG, fmt::format("{}: over 4 MiB", what));
  }
  return content;
}

Result<std::string> ReadFileAt(int dir_fd, std::string_view dir_path, std::string_view name) {
  const std::string file(name);
  const std::string what = fmt::format("reading {}/{}", dir_path, name);
  UniqueFd fd(RetryOnEintr([&] { return ::openat(dir_fd, file.c_str(), O_RDONLY | O_CLOEXEC); }));
  if (!fd) return Error::FromErrno(errno, what);
  return ReadFromStart(fd.Get(), what);
}

Result<std::string> ReadFile(const std::string& path) {
  const std::string what = "reading " + path;
  UniqueFd fd(RetryOnEintr([&] { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC); }));
  if (!fd) return Error::FromErrno(errno, what);
  return ReadFromStart(fd.Get(), what);
}

Result<void> WriteFileAt(int dir_fd, std::string_view dir_path, std::string_view name,
                         std::string_view value) {
  const std::string file(name);
  const auto what = [&] { return fmt::format("writing \"{}\" to {}/{}", value, dir_path, name); };
  // O_TRUNC is a no-op on cgroupfs and keeps a test's fake file exact.
  UniqueFd fd(
      RetryOnEintr([&] { return ::openat(dir_fd, file.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC); }));
  if (!fd) return Error::FromErrno(errno, what());
  const ssize_t n = RetryOnEintr([&] { return ::write(fd.Get(), value.data(), value.size()); });
  if (n < 0) return Error::FromErrno(errno, what());
  if (static_cast<size_t>(n) != value.size()) {
    return Error(EIO, what() + fmt::format(": short write ({} of {} bytes)", n, value.size()));
  }
  return Ok();
}

Result<UniqueFd> OpenDirectoryAt(int dir_fd, std::string_view dir_path, std::string_view name) {
  const std::string file(name);
  UniqueFd fd(RetryOnEintr([&] {
    return ::openat(dir_fd, file.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  }));
  if (!fd) return Error::FromErrno(errno, fmt::format("opening {}/{}", dir_path, name));
  return fd;
}

Result<std::vector<std::string>> ChildDirectories(int dir_fd, std::string_view dir_path) {
  // fdopendir takes the fd it is given: give it one of its own.
  HULL_ASSIGN_OR_RETURN(UniqueFd own, OpenDirectoryAt(dir_fd, dir_path, "."));
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::fdopendir(own.Get()), &::closedir);
  if (dir == nullptr) return Error::FromErrno(errno, fmt::format("listing {}", dir_path));
  (void)own.Release();
  std::vector<std::string> names;
  for (;;) {
    errno = 0;
    const dirent* entry = ::readdir(dir.get());
    if (entry == nullptr) {
      if (errno != 0) return Error::FromErrno(errno, fmt::format("listing {}", dir_path));
      break;
    }
    const std::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    bool is_dir = entry->d_type == DT_DIR;
    if (entry->d_type == DT_UNKNOWN) {
      struct stat st {};
      is_dir = ::fstatat(::dirfd(dir.get()), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
               S_ISDIR(st.st_mode);
    }
    if (is_dir) names.emplace_back(name);
  }
  return names;
}

std::vector<std::string> SplitWords(std::string_view text) {
  std::vector<std::string> words;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t start = text.find_first_not_of(" \t\n", pos);
    if (start == std::string_view::npos) break;
    const size_t end = std::min(text.find_first_of(" \t\n", start), text.size());
    words.emplace_back(text.substr(start, end - start));
    pos = end;
  }
  return words;
}

}  // namespace hull::cgroup::internal
