#include "path_in_root.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "hull/common/eintr.h"

namespace hull::agent {
namespace {

std::string Relative(std::string_view path) {
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  return path.empty() ? std::string(".") : std::string(path);
}

int OpenAt2(int dir_fd, const std::string& path, int flags) {
  open_how how{};
  how.flags = static_cast<__u64>(static_cast<unsigned>(flags | O_CLOEXEC));
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(RetryOnEintr(
      [&] { return ::syscall(SYS_openat2, dir_fd, path.c_str(), &how, sizeof(how)); }));
}

}  // namespace

std::pair<std::string, std::string> SplitLast(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return {".", std::string(path)};
  std::string parent(path.substr(0, slash));
  if (parent.empty()) parent = "/";
  return {parent, std::string(path.substr(slash + 1))};
}

std::string ProcFdPath(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

Result<UniqueFd> OpenInRoot(int root_fd, std::string_view path, int flags) {
  std::string relative = Relative(path);
  int fd = OpenAt2(root_fd, relative, flags);
  if (fd < 0)
    return Error::FromErrno(errno, "opening " + std::string(path) + " in the container root");
  return UniqueFd(fd);
}

Result<UniqueFd> MkdirAllInRoot(int root_fd, std::string_view path, mode_t mode) {
  std::string relative = Relative(path);
  int fd = OpenAt2(root_fd, relative, O_PATH | O_DIRECTORY);
  if (fd >= 0) return UniqueFd(fd);
  if (errno != ENOENT) {
    return Error::FromErrno(errno,
                            "opening directory " + std::string(path) + " in the container root");
  }
  // Walk from the root, creating what is missing; each step resolves in root.
  UniqueFd current(OpenAt2(root_fd, ".", O_PATH | O_DIRECTORY));
  if (!current) return Error::FromErrno(errno, "opening the container root");
  std::string_view rest = relative;
  while (!rest.empty()) {
    size_t slash = rest.find('/');
    std::string component(rest.substr(0, slash));
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    if (component.empty() || component == ".") continue;
    if (component == "..") {
      return Error(EINVAL, "path " + std::string(path) + " has a \"..\" component");
    }
    // mkdirat on an O_PATH dir fd works; EEXIST means it is there already
    // (perhaps a symlink, which the next openat2 resolves inside the root).
    if (::mkdirat(current.Get(), component.c_str(), mode) != 0 && errno != EEXIST) {
      return Error::FromErrno(errno,
                              "creating directory " + component + " of " + std::string(path));
    }
    UniqueFd next(OpenAt2(current.Get(), component, O_PATH | O_DIRECTORY));
    if (!next)
      return Error::FromErrno(errno, "opening directory " + component + " of " + std::string(path));
    current = std::move(next);
  }
  return current;
}

Result<UniqueFd> CreateFileInRoot(int root_fd, std::string_view path) {
  int existing = OpenAt2(root_fd, Relative(path), O_PATH);
  if (existing >= 0) return UniqueFd(existing);
  if (errno != ENOENT)
    return Error::FromErrno(errno, "opening " + std::string(path) + " in the container root");
  auto [parent, name] = SplitLast(path);
  if (name.empty() || name == "." || name == "..") {
    return Error(EINVAL, "cannot create a file at " + std::string(path));
  }
  HULL_ASSIGN_OR_RETURN(UniqueFd parent_fd, MkdirAllInRoot(root_fd, parent, 0755));
  // O_PATH dir fds cannot be used with openat(O_CREAT); reopen the directory.
  UniqueFd dir(::openat(parent_fd.Get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return Error::FromErrno(errno, "opening directory " + parent);
  const char* file_name = name.c_str();
  UniqueFd file(RetryOnEintr([&] {
    return ::openat(dir.Get(), file_name, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
  }));
  if (!file) return Error::FromErrno(errno, "creating file " + std::string(path));
  return OpenInRoot(root_fd, path, O_PATH);
}

}  // namespace hull::agent
