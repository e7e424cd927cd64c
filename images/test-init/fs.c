/*
 * virtio-fs and virtio-balloon actions (see images/README.md).
 *
 * fs-mount  mounts the first tag of hull.fs_tags (default "share") at
 *           /mnt/<tag>: "fs-mount=ok".
 * fs        mounts it and checks what tests/kvm/vmm-devices-test prepared
 *           on the host: reads read-me.bin ("fs-read=ok bytes=N fnv=X"),
 *           writes written.bin (1 MiB of the blk-write pattern,
 *           "fs-write=ok"), renames rename-me to renamed ("fs-rename=ok"),
 *           deletes delete-me ("fs-delete=ok"), reports permissions
 *           ("fs-modes=mode-0640=640 dir-0750=750"); with a second tag,
 *           mounts it and prints second.txt ("fs-second=ok <text>").
 * balloon   touches 160 MiB and frees it (so the host has pages to get
 *           back), prints "balloon-ready mem_total_kib=N", then waits up to
 *           120 s for MemTotal to drop by at least 120 MiB (the host inflates
 *           the balloon): "balloon=ok before_kib=A after_kib=B", and stays
 *           up to 120 s more so the host can look (the host then stops it).
 */
#define _GNU_SOURCE
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "devices.h"
#include "parse.h"
#include "sock.h"

static char tags[2][64];
static int tag_count;

/* hull.fs_tags (default "share"): 0, or -1 after "<action>=error:...". */
static int read_tags(const char* action) {
  char value[160];
  if (param_text(action, "hull.fs_tags", "share", value, sizeof(value)) != 0) return -1;
  tag_count = 0;
  char* save = NULL;
  for (char* t = strtok_r(value, ",", &save); t && tag_count < 2; t = strtok_r(NULL, ",", &save)) {
    snprintf(tags[tag_count++], sizeof(tags[0]), "%s", t);
  }
  return 0;
}

/* Mounts virtiofs `tag` at /mnt/<tag>; 0 or an errno (reported as key=error). */
static int mount_tag(const char* key, const char* tag, char* dir, size_t dir_size) {
  snprintf(dir, dir_size, "/mnt/%s", tag);
  if ((mkdir("/mnt", 0755) != 0 && errno != EEXIST) || (mkdir(dir, 0755) != 0 && errno != EEXIST)) {
    int err = errno;
    say("%s=error:mkdir %s: %s", key, dir, strerror(err));
    return err;
  }
  if (mount(tag, dir, "virtiofs", 0, NULL) != 0 && errno != EBUSY) {
    int err = errno;
    say("%s=error:mount -t virtiofs %s %s: %s", key, tag, dir, strerror(err));
    return err;
  }
  return 0;
}

void action_fs_mount(void) {
  if (read_tags("fs-mount") != 0) return;
  char dir[128];
  if (mount_tag("fs-mount", tags[0], dir, sizeof(dir)) == 0) say("fs-mount=ok");
}

static uint8_t buf[64 * 1024];

static void fs_read(const char* dir) {
  char path[256];
  snprintf(path, sizeof(path), "%s/read-me.bin", dir);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    say("fs-read=error:open %s: %s", path, strerror(errno));
    return;
  }
  uint64_t h = HULL_FNV_OFFSET;
  unsigned long long total = 0;
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      say("fs-read=error:read: %s", strerror(errno));
      close(fd);
      return;
    }
    if (n == 0) break;
    h = hull_fnv1a64(buf, (size_t)n, h);
    total += (unsigned long long)n;
  }
  close(fd);
  say("fs-read=ok bytes=%llu fnv=%016llx", total, (unsigned long long)h);
}

static void fs_write(const char* dir) {
  char path[256];
  snprintf(path, sizeof(path), "%s/written.bin", dir);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    say("fs-write=error:open %s: %s", path, strerror(errno));
    return;
  }
  uint32_t x = HULL_PATTERN_SEED;
  for (size_t done = 0; done < (1u << 20); done += sizeof(buf)) {
    x = hull_pattern_fill(x, buf, sizeof(buf));
    for (size_t off = 0; off < sizeof(buf);) {
      ssize_t w = write(fd, buf + off, sizeof(buf) - off);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        say("fs-write=error:write: %s", strerror(errno));
        close(fd);
        return;
      }
      off += (size_t)w;
    }
  }
  if (fsync(fd) != 0 || close(fd) != 0) {
    say("fs-write=error:fsync/close: %s", strerror(errno));
    return;
  }
  say("fs-write=ok");
}

static void fs_rename_delete_modes(const char* dir) {
  char from[256], to[256];
  snprintf(from, sizeof(from), "%s/rename-me", dir);
  snprintf(to, sizeof(to), "%s/renamed", dir);
  if (rename(from, to) != 0) {
    say("fs-rename=error:%s", strerror(errno));
  } else {
    say("fs-rename=ok");
  }
  snprintf(from, sizeof(from), "%s/delete-me", dir);
  if (unlink(from) != 0) {
    say("fs-delete=error:%s", strerror(errno));
  } else {
    say("fs-delete=ok");
  }
  struct stat file, sub;
  snprintf(from, sizeof(from), "%s/mode-0640", dir);
  snprintf(to, sizeof(to), "%s/dir-0750", dir);
  if (stat(from, &file) != 0 || stat(to, &sub) != 0) {
    say("fs-modes=error:stat: %s", strerror(errno));
    return;
  }
  say("fs-modes=mode-0640=%o dir-0750=%o", file.st_mode & 07777u, sub.st_mode & 07777u);
}

static void fs_second(void) {
  char dir[128], path[256], text[128];
  if (mount_tag("fs-second", tags[1], dir, sizeof(dir)) != 0) return;
  snprintf(path, sizeof(path), "%s/second.txt", dir);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    say("fs-second=error:open %s: %s", path, strerror(errno));
    return;
  }
  ssize_t n = read(fd, text, sizeof(text) - 1);
  close(fd);
  if (n < 0) {
    say("fs-second=error:read: %s", strerror(errno));
    return;
  }
  text[n] = '\0';
  while (n > 0 && text[n - 1] == '\n') text[--n] = '\0';
  say("fs-second=ok %s", text);
  umount(dir);
}

void action_fs(void) {
  if (read_tags("fs-read") != 0) return;
  char dir[128];
  if (mount_tag("fs-read", tags[0], dir, sizeof(dir)) != 0) return;
  fs_read(dir);
  fs_write(dir);
  fs_rename_delete_modes(dir);
  /* Unmounting flushes what the guest still caches to virtiofsd. */
  if (umount(dir) != 0) say("fs-umount=error:%s", strerror(errno));
  if (tag_count > 1) fs_second();
}

static long long mem_total_kib(void) {
  char text[4096];
  if (read_text("/proc/meminfo", text, sizeof(text)) != 0) return -1;
  return hull_meminfo_total_kib(text);
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

void action_balloon(void) {
  const size_t touch = (size_t)160 << 20;
  uint8_t* p = mmap(NULL, touch, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    say("balloon=error:mmap: %s", strerror(errno));
    return;
  }
  memset(p, 0x5a, touch);
  munmap(p, touch);
  const long long before = mem_total_kib();
  say("balloon-ready mem_total_kib=%lld", before);
  for (int i = 0; i < 600; ++i) {
    long long now = mem_total_kib();
    if (before > 0 && now > 0 && now <= before - 120 * 1024) {
      say("balloon=ok before_kib=%lld after_kib=%lld", before, now);
      for (int j = 0; j < 1200; ++j) sleep_ms(100);
      return;
    }
    sleep_ms(200);
  }
  say("balloon=error:MemTotal stayed at %lld KiB (from %lld) for 120 s", mem_total_kib(), before);
}
