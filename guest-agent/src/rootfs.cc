#include "rootfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <string_view>

#include "hull/oci/names.h"
#include "path_in_root.h"

namespace hull::agent {
namespace {

Result<void> Mount(const std::string& source, const std::string& target, const std::string& type,
                   unsigned long flags, const std::string& data, std::string_view what) {
  if (::mount(source.empty() ? nullptr : source.c_str(), target.c_str(),
              type.empty() ? nullptr : type.c_str(), flags,
              data.empty() ? nullptr : data.c_str()) != 0) {
    return Error::FromErrno(errno, std::string(what));
  }
  return {};
}

// The flags a bind remount must keep: a remount that would clear nosuid,
// nodev or noexec of the underlying mount is refused in some contexts.
unsigned long LockedFlags(const std::string& path) {
  struct statvfs st {};
  if (::statvfs(path.c_str(), &st) != 0) return 0;
  unsigned long flags = 0;
  if (st.f_flag & ST_NOSUID) flags |= MS_NOSUID;
  if (st.f_flag & ST_NODEV) flags |= MS_NODEV;
  if (st.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
  return flags;
}

constexpr unsigned long kPropagationFlags = MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE;

Result<void> ApplyPropagation(int root_fd, const std::string& destination,
                              const std::vector<unsigned long>& propagation) {
  if (propagation.empty()) return {};
  HULL_ASSIGN_OR_RETURN(UniqueFd target, OpenInRoot(root_fd, destination, O_PATH));
  for (unsigned long flags : propagation) {
    HULL_TRY(Mount("", ProcFdPath(target.Get()), "", flags, "",
                   "setting propagation of " + destination));
  }
  return {};
}

Result<void> BindMount(int root_fd, const oci::Mount& mount, const oci::MountOptions& options) {
  struct stat source_stat {};
  if (::stat(mount.source.c_str(), &source_stat) != 0) {
    return Error::FromErrno(errno, "bind mount source " + mount.source);
  }
  UniqueFd target;
  if (S_ISDIR(source_stat.st_mode)) {
    HULL_ASSIGN_OR_RETURN(target, MkdirAllInRoot(root_fd, mount.destination, 0755));
  } else {
    HULL_ASSIGN_OR_RETURN(target, CreateFileInRoot(root_fd, mount.destination));
  }
  unsigned long bind = MS_BIND | (options.recursive_bind ? MS_REC : 0);
  HULL_TRY(Mount(mount.source, ProcFdPath(target.Get()), "", bind, "",
                 "bind mounting " + mount.source + " at " + mount.destination));
  // The first bind ignores other flags: apply them with a remount of the new
  // mount (reopened: the old fd names the mount point beneath it).
  const unsigned long flags = options.flags & ~(MS_BIND | MS_REC | MS_REMOUNT | kPropagationFlags);
  if (flags != 0) {
    HULL_ASSIGN_OR_RETURN(UniqueFd mounted, OpenInRoot(root_fd, mount.destination, O_PATH));
    const std::string path = ProcFdPath(mounted.Get());
    // Keep the source's nosuid/nodev/noexec unless an option turned it off.
    const unsigned long kept = LockedFlags(path) & ~options.cleared_flags;
    HULL_TRY(Mount("", path, "", flags | kept | MS_BIND | MS_REMOUNT, "",
                   "remounting bind mount " + mount.destination));
  }
  return ApplyPropagation(root_fd, mount.destination, options.propagation);
}

constexpr int kMaxCopyDepth = 64;

// Copies the tree under `from` (a directory fd) into `to`: directories,
// regular files, symlinks and device/FIFO nodes with their modes and owners.
// For "tmpcopyup": a tmpfs that starts as a copy of what it covers.
Result<void> CopyTree(int from, int to, int depth) {
  if (depth > kMaxCopyDepth) return Error(ELOOP, "tmpcopyup: directory tree deeper than 64");
  int listing = ::fcntl(from, F_DUPFD_CLOEXEC, 0);
  if (listing < 0) return Error::FromErrno(errno, "tmpcopyup: dup");
  DIR* dir = ::fdopendir(listing);
  if (dir == nullptr) {
    ::close(listing);
    return Error::FromErrno(errno, "tmpcopyup: fdopendir");
  }
  struct Closer {
    DIR* dir;
    ~Closer() { ::closedir(dir); }
  } closer{dir};
  while (dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    struct stat st {};
    if (::fstatat(from, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return Error::FromErrno(errno, "tmpcopyup: stat " + name);
    }
    const mode_t mode = st.st_mode & 07777;
    if (S_ISDIR(st.st_mode)) {
      if (::mkdirat(to, name.c_str(), mode) != 0)
        return Error::FromErrno(errno, "tmpcopyup: mkdir " + name);
      UniqueFd sub_from(
          ::openat(from, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      UniqueFd sub_to(::openat(to, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub_from || !sub_to) return Error::FromErrno(errno, "tmpcopyup: open directory " + name);
      HULL_TRY(CopyTree(sub_from.Get(), sub_to.Get(), depth + 1));
    } else if (S_ISREG(st.st_mode)) {
      UniqueFd in(::openat(from, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      UniqueFd out(
          ::openat(to, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
      if (!in || !out) return Error::FromErrno(errno, "tmpcopyup: open file " + name);
      char buffer[65536];
      for (;;) {
        ssize_t n = ::read(in.Get(), buffer, sizeof(buffer));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return Error::FromErrno(errno, "tmpcopyup: read " + name);
        if (n == 0) break;
        for (ssize_t done = 0; done < n;) {
          ssize_t w = ::write(out.Get(), buffer + done, static_cast<size_t>(n - done));
          if (w < 0 && errno == EINTR) continue;
          if (w < 0) return Error::FromErrno(errno, "tmpcopyup: write " + name);
          done += w;
        }
      }
    } else if (S_ISLNK(st.st_mode)) {
      std::string target(PATH_MAX, '\0');
      ssize_t n = ::readlinkat(from, name.c_str(), target.data(), target.size());
      if (n < 0) return Error::FromErrno(errno, "tmpcopyup: readlink " + name);
      target.resize(static_cast<size_t>(n));
      if (::symlinkat(target.c_str(), to, name.c_str()) != 0) {
        return Error::FromErrno(errno, "tmpcopyup: symlink " + name);
      }
    } else if (::mknodat(to, name.c_str(), st.st_mode, st.st_rdev) != 0) {
      return Error::FromErrno(errno, "tmpcopyup: mknod " + name);
    }
    if (::fchownat(to, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0) {
      return Error::FromErrno(errno, "tmpcopyup: chown " + name);
    }
    if (!S_ISLNK(st.st_mode) && ::fchmodat(to, name.c_str(), mode, 0) != 0) {
      return Error::FromErrno(errno, "tmpcopyup: chmod " + name);
    }
  }
  return {};
}

Result<void> SpecMount(int root_fd, const oci::Mount& mount, const RootfsOptions& rootfs) {
  HULL_ASSIGN_OR_RETURN(oci::MountOptions options, oci::ParseMountOptions(mount.options));
  if (mount.type == "bind" || options.bind) return BindMount(root_fd, mount, options);

  std::string type = mount.type;
  std::string source = mount.source;
  if (type == "cgroup" || type == "cgroup2") {
    // cgroup v2 only; in the container's cgroup namespace it shows its own.
    type = "cgroup2";
    source = "cgroup2";
  }
  HULL_ASSIGN_OR_RETURN(UniqueFd target, MkdirAllInRoot(root_fd, mount.destination, 0755));
  const unsigned long flags = options.flags & ~(MS_REMOUNT | kPropagationFlags);
  Result<void> mounted = Mount(source, ProcFdPath(target.Get()), type, flags, options.data,
                               "mounting " + type + " at " + mount.destination);
  if (!mounted.ok() && mounted.error().code() == EPERM &&
      ((type == "sysfs" && !rootfs.new_network_namespace) ||
       (type == "mqueue" && !rootfs.new_ipc_namespace))) {
    // sysfs and mqueue belong to the network and IPC namespaces; without new
    // ones the kernel refuses a fresh instance: share the current one, as
    // runc does.
    oci::Mount bind = mount;
    bind.source = type == "sysfs" ? "/sys" : "/dev/mqueue";
    oci::MountOptions bind_options = options;
    bind_options.recursive_bind = true;
    return BindMount(root_fd, bind, bind_options);
  }
  HULL_TRY(std::move(mounted));
  if (options.tmpcopyup) {
    if (type != "tmpfs") return Error(EINVAL, "tmpcopyup applies to tmpfs mounts only");
    // `target` still names the directory beneath the new tmpfs: "." from it
    // does not cross the mount, so it reads what the tmpfs now covers.
    UniqueFd covered(::openat(target.Get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!covered)
      return Error::FromErrno(errno, "tmpcopyup: opening what " + mount.destination + " covers");
    HULL_ASSIGN_OR_RETURN(UniqueFd mounted_path,
                          OpenInRoot(root_fd, mount.destination, O_PATH | O_DIRECTORY));
    UniqueFd fresh(::openat(mounted_path.Get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fresh)
      return Error::FromErrno(errno, "tmpcopyup: opening the tmpfs at " + mount.destination);
    HULL_TRY(CopyTree(covered.Get(), fresh.Get(), 0).WithContext("mount " + mount.destination));
  }
  return ApplyPropagation(root_fd, mount.destination, options.propagation);
}

struct DefaultDevice {
  const char* path;
  unsigned major;
  unsigned minor;
};

constexpr DefaultDevice kDefaultDevices[] = {
    {"/dev/null", 1, 3},   {"/dev/zero", 1, 5},    {"/dev/full", 1, 7},
    {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},
};

Result<void> CreateDevice(int root_fd, const std::string& path, char type, int64_t major,
                          int64_t minor, uint32_t mode, std::optional<uint32_t> uid,
                          std::optional<uint32_t> gid) {
  auto [parent, name] = SplitLast(path);
  HULL_ASSIGN_OR_RETURN(UniqueFd parent_fd, MkdirAllInRoot(root_fd, parent, 0755));
  UniqueFd dir(::openat(parent_fd.Get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return Error::FromErrno(errno, "opening " + parent);
  mode_t kind = S_IFCHR;
  if (type == 'b') kind = S_IFBLK;
  if (type == 'p') kind = S_IFIFO;
  const dev_t dev =
      type == 'p' ? 0 : makedev(static_cast<unsigned>(major), static_cast<unsigned>(minor));
  ::unlinkat(dir.Get(), name.c_str(), 0);
  if (::mknodat(dir.Get(), name.c_str(), kind | (mode & 07777), dev) != 0) {
    if (errno != EPERM || type == 'p') return Error::FromErrno(errno, "mknod " + path);
    // No CAP_MKNOD here (or a nodev mount): bind the agent's node instead.
    HULL_ASSIGN_OR_RETURN(UniqueFd target, CreateFileInRoot(root_fd, path));
    return Mount(path, ProcFdPath(target.Get()), "", MS_BIND, "", "binding device " + path);
  }
  // mknod applies the umask; the spec's mode is meant exactly.
  if (::fchmodat(dir.Get(), name.c_str(), mode & 07777, 0) != 0) {
    return Error::FromErrno(errno, "chmod " + path);
  }
  if (uid || gid) {
    if (::fchownat(dir.Get(), name.c_str(), uid ? *uid : 0, gid ? *gid : 0, AT_SYMLINK_NOFOLLOW) !=
        0) {
      return Error::FromErrno(errno, "chown " + path);
    }
  }
  return {};
}

Result<void> CreateDevices(int root_fd, const oci::Spec& spec) {
  for (const DefaultDevice& device : kDefaultDevices) {
    HULL_TRY(CreateDevice(root_fd, device.path, 'c', device.major, device.minor, 0666, 0, 0));
  }
  if (spec.linux) {
    for (const oci::Device& device : spec.linux->devices) {
      const char type = device.type == 'u' ? 'c' : device.type;
      HULL_TRY(CreateDevice(root_fd, device.path, type, device.major, device.minor,
                            device.file_mode.value_or(0666), device.uid, device.gid));
    }
  }
  HULL_ASSIGN_OR_RETURN(UniqueFd dev_path, MkdirAllInRoot(root_fd, "/dev", 0755));
  UniqueFd dev(::openat(dev_path.Get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dev) return Error::FromErrno(errno, "opening /dev of the container");
  constexpr std::pair<const char*, const char*> kLinks[] = {
      {"/proc/self/fd", "fd"},
      {"/proc/self/fd/0", "stdin"},
      {"/proc/self/fd/1", "stdout"},
      {"/proc/self/fd/2", "stderr"},
  };
  for (const auto& [target, name] : kLinks) {
    if (::symlinkat(target, dev.Get(), name) != 0 && errno != EEXIST) {
      return Error::FromErrno(errno, std::string("symlink /dev/") + name);
    }
  }
  struct stat pts {};
  if (::fstatat(dev.Get(), "pts", &pts, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(pts.st_mode)) {
    ::unlinkat(dev.Get(), "ptmx", 0);
    if (::symlinkat("pts/ptmx", dev.Get(), "ptmx") != 0) {
      return Error::FromErrno(errno, "symlink /dev/ptmx");
    }
  }
  return {};
}

Result<void> PivotRoot(const std::string& rootfs) {
  // pivot_root(".", ".") then unmounting the old root stacked on "." leaves
  // no trace of the agent's file system and needs no directory in the image.
  if (::chdir(rootfs.c_str()) != 0) return Error::FromErrno(errno, "chdir " + rootfs);
  if (::syscall(SYS_pivot_root, ".", ".") != 0)
    return Error::FromErrno(errno, "pivot_root " + rootfs);
  // The old root must not propagate the unmount back to the agent's view.
  HULL_TRY(Mount("", ".", "", MS_SLAVE | MS_REC, "", "making the old root a slave"));
  if (::umount2(".", MNT_DETACH) != 0) return Error::FromErrno(errno, "unmounting the old root");
  if (::chdir("/") != 0) return Error::FromErrno(errno, "chdir /");
  return {};
}

Result<void> MaskPath(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return {};
    return Error::FromErrno(errno, "masking " + path);
  }
  if (S_ISDIR(st.st_mode)) {
    return Mount("tmpfs", path, "tmpfs", MS_RDONLY, "size=0k", "masking directory " + path);
  }
  return Mount("/dev/null", path, "", MS_BIND, "", "masking " + path);
}

Result<void> ReadonlyPath(const std::string& path) {
  if (::mount(path.c_str(), path.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
    if (errno == ENOENT) return {};
    return Error::FromErrno(errno, "binding read-only path " + path);
  }
  return Mount("", path, "", MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC | LockedFlags(path), "",
               "remounting " + path + " read-only");
}

}  // namespace

Result<void> PrepareRootfs(const oci::Spec& spec, const RootfsOptions& options) {
  const oci::Linux empty_linux;
  const oci::Linux& linux_spec = spec.linux ? *spec.linux : empty_linux;

  // Mounts made below must not reach the agent's view: "/" becomes a slave
  // (or what rootfsPropagation says) for the whole tree.
  unsigned long propagation = MS_SLAVE | MS_REC;
  if (!linux_spec.rootfs_propagation.empty()) {
    auto flags = oci::PropagationFromName(linux_spec.rootfs_propagation);
    if (!flags) {
      return Error(EINVAL, "linux.rootfsPropagation: unknown value \"" +
                               linux_spec.rootfs_propagation + "\"");
    }
    propagation = *flags;
  }
  HULL_TRY(Mount("", "/", "", propagation, "", "setting propagation of /"));

  // The root must be a mount point for pivot_root.
  HULL_TRY(Mount(options.rootfs, options.rootfs, "", MS_BIND | MS_REC, "",
                 "binding the container root " + options.rootfs));
  UniqueFd root(::open(options.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return Error::FromErrno(errno, "opening container root " + options.rootfs);

  for (const oci::Mount& mount : spec.mounts) {
    HULL_TRY(SpecMount(root.Get(), mount, options).WithContext("mount " + mount.destination));
  }
  HULL_TRY(CreateDevices(root.Get(), spec));
  if (!options.console_path.empty()) {
    HULL_ASSIGN_OR_RETURN(UniqueFd console, CreateFileInRoot(root.Get(), "/dev/console"));
    HULL_TRY(Mount(options.console_path, ProcFdPath(console.Get()), "", MS_BIND, "",
                   "binding the tty at /dev/console"));
  }
  root.Reset();
  return PivotRoot(options.rootfs);
}

Result<void> FinishRootfs(const oci::Spec& spec) {
  if (spec.linux) {
    for (const std::string& path : spec.linux->readonly_paths) HULL_TRY(ReadonlyPath(path));
    for (const std::string& path : spec.linux->masked_paths) HULL_TRY(MaskPath(path));
  }
  if (spec.root.readonly) {
    HULL_TRY(Mount("", "/", "", MS_BIND | MS_REMOUNT | MS_RDONLY | LockedFlags("/"), "",
                   "remounting the root read-only"));
  }
  return {};
}

}  // namespace hull::agent
