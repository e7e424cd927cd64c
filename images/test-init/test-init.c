/*
 * test-init: /init of the test initramfs that hull's VM tests boot.
 *
 * It reports what the guest sees (CPUs, memory, file systems, vsock, uptime,
 * kernel, command line) on the console as "HULL-TEST-INIT key=value" lines,
 * runs the actions named by the kernel parameter hull.test=a,b,c, prints
 * "HULL-TEST-INIT end" and reboots, which ends the VMM (QEMU runs with
 * -no-reboot). Host-side tests match these lines, so the format is an
 * interface: see images/README.md before changing it.
 *
 * It is built static with no sanitizers (images/CMakeLists.txt) because the
 * initramfs holds nothing else: no libc, no device nodes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "devices.h"
#include "fs.h"
#include "net.h"
#include "parse.h"

#define PREFIX "HULL-TEST-INIT "

/* Writes one whole line with a single write(2) so that nothing is buffered
 * when PID 1 exits or the machine reboots, and so that kernel messages on the
 * same console cannot split a line in the middle as easily. */
void say(const char* fmt, ...) {
  char line[8192];
  size_t prefix_len = sizeof(PREFIX) - 1;
  memcpy(line, PREFIX, prefix_len);
  va_list args;
  va_start(args, fmt);
  int n = vsnprintf(line + prefix_len, sizeof(line) - prefix_len - 1, fmt, args);
  va_end(args);
  if (n < 0) return;
  size_t len = prefix_len + (size_t)n;
  if (len > sizeof(line) - 2) len = sizeof(line) - 2; /* truncated */
  line[len++] = '\n';

  for (size_t done = 0; done < len;) {
    ssize_t w = write(STDOUT_FILENO, line + done, len - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return; /* no console: nobody to tell */
    done += (size_t)w;
  }
}

/* Declared in devices.h. */
int read_text(const char* path, char* buf, size_t size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  size_t used = 0;
  while (used + 1 < size) {
    ssize_t r = read(fd, buf + used, size - 1 - used);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      int err = errno;
      close(fd);
      return err;
    }
    if (r == 0) break;
    used += (size_t)r;
  }
  buf[used] = '\0';
  close(fd);
  return 0;
}

static void chomp(char* s) {
  size_t len = strlen(s);
  while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == ' ')) s[--len] = '\0';
}

/* mkdir -p for one level; an existing directory is fine. */
static int ensure_dir(const char* path, mode_t mode) {
  if (mkdir(path, mode) == 0 || errno == EEXIST) return 0;
  return errno;
}

/* Mounts a pseudo file system. Returns 0 or an errno; EBUSY means the kernel
 * (or a previous init) already mounted it, which is what we wanted. */
static int mount_fs(const char* type, const char* target, unsigned long flags, const char* data) {
  int err = ensure_dir(target, 0755);
  if (err != 0) return err;
  if (mount(type, target, type, flags, data) == 0 || errno == EBUSY) return 0;
  return errno;
}

/* Setup failures are remembered and reported once the console works. */
struct setup_error {
  const char* what;
  int err;
};

/* Returns how many errors it stored in errors[4]. */
static size_t set_up_console_and_mounts(struct setup_error errors[4]) {
  size_t n_errors = 0;
  const unsigned long kNoExecNoSuid = MS_NOSUID | MS_NODEV | MS_NOEXEC;

  int err = mount_fs("proc", "/proc", kNoExecNoSuid, NULL);
  if (err) errors[n_errors++] = (struct setup_error){"mount /proc", err};
  err = mount_fs("sysfs", "/sys", kNoExecNoSuid, NULL);
  if (err) errors[n_errors++] = (struct setup_error){"mount /sys", err};
  err = mount_fs("devtmpfs", "/dev", MS_NOSUID, "mode=0755");
  if (err) errors[n_errors++] = (struct setup_error){"mount /dev", err};

  /* The initramfs carries no /dev/console, so the kernel could not give us
   * stdin/stdout/stderr; devtmpfs now provides the node. */
  int fd = open("/dev/console", O_RDWR | O_NOCTTY);
  if (fd >= 0) {
    for (int target = 0; target <= 2; target++) {
      if (fd != target) dup2(fd, target);
    }
    if (fd > 2) close(fd);
  } else {
    errors[n_errors++] = (struct setup_error){"open /dev/console", errno};
  }
  return n_errors;
}

/* ---- facts about the guest, printed in a fixed order ---- */

static void report_cpus(void) {
  static const char kPath[] = "/sys/devices/system/cpu/online";
  char buf[1024];
  int err = read_text(kPath, buf, sizeof(buf));
  if (err) {
    say("cpus=error:%s: %s", kPath, strerror(err));
    return;
  }
  long n = hull_count_cpu_list(buf);
  if (n < 0) {
    chomp(buf);
    say("cpus=error:cannot parse %s: '%s'", kPath, buf);
    return;
  }
  say("cpus=%ld", n);
}

static void report_memory(void) {
  char buf[8192];
  int err = read_text("/proc/meminfo", buf, sizeof(buf));
  if (err) {
    say("mem_kib=error:/proc/meminfo: %s", strerror(err));
    return;
  }
  long long kib = hull_meminfo_total_kib(buf);
  if (kib < 0) {
    say("mem_kib=error:no MemTotal in /proc/meminfo");
    return;
  }
  say("mem_kib=%lld", kib);
}

static void report_filesystems(void) {
  char buf[4096];
  char list[4096];
  int err = read_text("/proc/filesystems", buf, sizeof(buf));
  if (err) {
    say("fs=error:/proc/filesystems: %s", strerror(err));
    return;
  }
  if (hull_format_filesystems(buf, list, sizeof(list)) != 0) {
    say("fs=error:/proc/filesystems lists too many names");
    return;
  }
  say("fs=%s", list);
}

static void report_vsock(void) {
  /* Creating the socket proves the vsock core and a transport exist; it does
   * not need a peer. */
  int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    say("vsock=error:%s", strerror(errno));
    return;
  }
  close(fd);
  say("vsock=ok");
}

static void report_uptime(void) {
  char buf[256];
  int err = read_text("/proc/uptime", buf, sizeof(buf));
  long long ms = err ? -1 : hull_uptime_ms(buf);
  if (ms < 0) {
    say("uptime_ms=error:%s", err ? strerror(err) : "cannot parse /proc/uptime");
    return;
  }
  say("uptime_ms=%lld", ms);
}

static void report_kernel(void) {
  struct utsname uts;
  if (uname(&uts) != 0) {
    say("kernel=error:%s", strerror(errno));
    return;
  }
  say("kernel=%s", uts.release);
}

/* ---- actions (hull.test=...) ---- */

static void action_exit(void) {
  /* PID 1 exiting makes the kernel panic ("Attempted to kill init"): tests
   * use it to check that a guest panic ends the VMM with a failure. */
  exit(3);
}

static void action_hang(void) {
  /* PID 1 has no default signal handlers, so nothing but the VMM's timeout
   * ends this. */
  for (;;) pause();
}

static void action_cgroup2(void) {
  static const char kDir[] = "/sys/fs/cgroup";
  /* sysfs already provides the directory when CONFIG_CGROUPS is set. */
  int err = ensure_dir(kDir, 0755);
  if (err) {
    say("cgroup2=error:mkdir %s: %s", kDir, strerror(err));
    return;
  }
  if (mount("cgroup2", kDir, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0 &&
      errno != EBUSY) {
    say("cgroup2=error:mount %s: %s", kDir, strerror(errno));
    return;
  }
  char controllers[1024];
  err = read_text("/sys/fs/cgroup/cgroup.controllers", controllers, sizeof(controllers));
  if (err) {
    say("cgroup2=error:read cgroup.controllers: %s", strerror(err));
    return;
  }
  chomp(controllers);
  say("cgroup2=ok controllers=%s", controllers);
}

/* Writes text to path; returns 0 or an errno. */
static int write_text(const char* path, const char* text) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno;
  size_t len = strlen(text);
  ssize_t w = write(fd, text, len);
  int err = w < 0 ? errno : ((size_t)w != len ? EIO : 0);
  if (close(fd) != 0 && err == 0) err = errno;
  return err;
}

static void action_overlay(void) {
  /* The layout a container runtime builds: a read-only lower layer, a
   * writable upper layer on tmpfs (which supports the xattrs overlayfs wants,
   * unlike the initramfs's rootfs), and the merged view. */
  static const char kBase[] = "/hull-overlay";
  static const char* const kDirs[] = {"/hull-overlay/lower", "/hull-overlay/upper",
                                      "/hull-overlay/work", "/hull-overlay/merged"};
  int err = ensure_dir(kBase, 0755);
  if (err) {
    say("overlay=error:mkdir %s: %s", kBase, strerror(err));
    return;
  }
  if (mount("tmpfs", kBase, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") != 0) {
    say("overlay=error:mount tmpfs on %s: %s", kBase, strerror(errno));
    return;
  }
  for (size_t i = 0; i < sizeof(kDirs) / sizeof(kDirs[0]); i++) {
    err = ensure_dir(kDirs[i], 0755);
    if (err) {
      say("overlay=error:mkdir %s: %s", kDirs[i], strerror(err));
      goto out_tmpfs;
    }
  }
  err = write_text("/hull-overlay/lower/from-lower", "lower\n");
  if (err) {
    say("overlay=error:write lower/from-lower: %s", strerror(err));
    goto out_tmpfs;
  }
  if (mount("overlay", "/hull-overlay/merged", "overlay", 0,
            "lowerdir=/hull-overlay/lower,upperdir=/hull-overlay/upper,"
            "workdir=/hull-overlay/work") != 0) {
    say("overlay=error:mount overlay: %s", strerror(errno));
    goto out_tmpfs;
  }

  /* A write through the merged view must land in the upper layer, and the
   * lower layer's file must show through. */
  char buf[64];
  err = write_text("/hull-overlay/merged/from-merged", "merged\n");
  if (err) {
    say("overlay=error:write merged/from-merged: %s", strerror(err));
  } else if ((err = read_text("/hull-overlay/upper/from-merged", buf, sizeof(buf))) != 0 ||
             strcmp(buf, "merged\n") != 0) {
    say("overlay=error:upper/from-merged: %s", err ? strerror(err) : "wrong contents");
  } else if ((err = read_text("/hull-overlay/merged/from-lower", buf, sizeof(buf))) != 0 ||
             strcmp(buf, "lower\n") != 0) {
    say("overlay=error:merged/from-lower: %s", err ? strerror(err) : "wrong contents");
  } else {
    say("overlay=ok");
  }
  umount2("/hull-overlay/merged", MNT_DETACH);
out_tmpfs:
  umount2(kBase, MNT_DETACH);
}

/* To add a check, write action_<name>() and list it here. An action reports
 * "<name>=ok ..." or "<name>=error:<why>" and returns; it must not end the
 * run unless ending it is the point (exit, hang). */
static const struct action {
  const char* name;
  void (*run)(void);
} kActions[] = {
    {"exit", action_exit},
    {"hang", action_hang},
    {"cgroup2", action_cgroup2},
    {"overlay", action_overlay},
    {"blk-read", action_blk_read},
    {"blk-write", action_blk_write},
    {"blk-ro", action_blk_ro},
    {"rng", action_rng},
    {"net", action_net},
    {"fs-mount", action_fs_mount},
    {"fs", action_fs},
    {"balloon", action_balloon},
    {"net-tcp-send", action_net_tcp_send},
    {"net-tcp-recv", action_net_tcp_recv},
    {"vsock-echo-server", action_vsock_echo_server},
    {"vsock-client", action_vsock_client},
};

static void run_action(const char* name) {
  for (size_t i = 0; i < sizeof(kActions) / sizeof(kActions[0]); i++) {
    if (strcmp(kActions[i].name, name) == 0) {
      say("action %s", name);
      kActions[i].run();
      return;
    }
  }
  say("action %s=unknown", name);
}

int main(void) {
  /* On a host this would mount over /proc, /sys and /dev and then reboot
   * the machine: refuse unless we really are a VM's init. */
  if (getpid() != 1) {
    fprintf(stderr, "test-init: must run as PID 1 (the init of a test VM); refusing\n");
    return 2;
  }
  mark_booted();

  struct setup_error setup_errors[4];
  size_t n_setup_errors = set_up_console_and_mounts(setup_errors);
  say("begin");
  for (size_t i = 0; i < n_setup_errors; i++) {
    say("warning %s: %s", setup_errors[i].what, strerror(setup_errors[i].err));
  }
  report_cpus();
  report_memory();
  report_filesystems();
  report_vsock();
  report_uptime();
  report_kernel();

  char cmdline[4096];
  int err = read_text("/proc/cmdline", cmdline, sizeof(cmdline));
  if (err) {
    say("cmdline=error:%s", strerror(err));
    cmdline[0] = '\0';
  } else {
    chomp(cmdline);
    say("cmdline=%s", cmdline);
  }

  char actions[4096];
  int found = hull_cmdline_value(cmdline, "hull.test", actions, sizeof(actions));
  if (found < 0) {
    say("action hull.test=error:value too long");
  } else if (found > 0) {
    char* save = NULL;
    for (char* name = strtok_r(actions, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
      run_action(name);
    }
  }

  say("end");
  sync();
  reboot(RB_AUTOBOOT);
  /* Only reached when the reboot was refused. */
  say("reboot=error:%s", strerror(errno));
  for (;;) pause();
}
