/*
 * Device checks of test-init: virtio-blk and virtio-rng as the guest sees
 * them, and the boot mark that tells the VMM "init runs". Host-side tests
 * compute the same checksums (FNV-1a 64) and patterns (xorshift32).
 */
#define _GNU_SOURCE
#include "devices.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/io.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define BLK_REGION (1024 * 1024)

/* hull-vmm's boot-mark port: 1 = init started, 2 = ready. Other VMMs leave
 * the port unassigned, so the write does nothing there. */
#define BOOT_MARK_PORT 0x440

void mark_booted(void) {
  if (ioperm(BOOT_MARK_PORT, 1, 1) == 0) outb(1, BOOT_MARK_PORT);
}

uint64_t hull_fnv1a64(const uint8_t* p, size_t n, uint64_t h) {
  for (size_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

uint32_t hull_pattern_fill(uint32_t x, uint8_t* out, size_t n) {
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    out[i] = (uint8_t)x;
  }
  return x;
}

static int read_full(int fd, uint8_t* buf, size_t len, off_t off) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = pread(fd, buf + done, len - done, off + (off_t)done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n < 0 ? errno : EIO;
    done += (size_t)n;
  }
  return 0;
}

static uint8_t region[BLK_REGION];

/* blk-read: FNV-1a 64 of the first MiB of /dev/vda. */
void action_blk_read(void) {
  int fd = open("/dev/vda", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    say("blk-read=error:open /dev/vda: %s", strerror(errno));
    return;
  }
  int err = read_full(fd, region, sizeof(region), 0);
  close(fd);
  if (err) {
    say("blk-read=error:read: %s", strerror(err));
    return;
  }
  say("blk-read=ok fnv=%016llx",
      (unsigned long long)hull_fnv1a64(region, sizeof(region), HULL_FNV_OFFSET));
}

/* blk-write: the second MiB of /dev/vda gets xorshift32 bytes seeded with
 * 0x12345678 (one byte per step: the low byte of the state), then fsync. */
void action_blk_write(void) {
  hull_pattern_fill(HULL_PATTERN_SEED, region, sizeof(region));
  int fd = open("/dev/vda", O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    say("blk-write=error:open /dev/vda: %s", strerror(errno));
    return;
  }
  size_t done = 0;
  while (done < sizeof(region)) {
    ssize_t n = pwrite(fd, region + done, sizeof(region) - done, BLK_REGION + (off_t)done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      say("blk-write=error:write: %s", n < 0 ? strerror(errno) : "short write");
      close(fd);
      return;
    }
    done += (size_t)n;
  }
  if (fsync(fd) != 0) {
    say("blk-write=error:fsync: %s", strerror(errno));
  } else {
    say("blk-write=ok fnv=%016llx",
        (unsigned long long)hull_fnv1a64(region, sizeof(region), HULL_FNV_OFFSET));
  }
  close(fd);
}

/* blk-ro: /dev/vdb is a read-only disk: the kernel must report it read-only
 * and refuse to open it for writing, and reading must still work. */
void action_blk_ro(void) {
  int fd = open("/dev/vdb", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    say("blk-ro=error:open /dev/vdb: %s", strerror(errno));
    return;
  }
  int ro = -1;
  if (ioctl(fd, BLKROGET, &ro) != 0) ro = -1;
  uint8_t sector[512];
  int err = read_full(fd, sector, sizeof(sector), 0);
  close(fd);
  /* Linux refuses a write to a read-only disk at open (older kernels) or at
   * write time (6.x); either way nothing may reach the device. */
  int werr = 0;
  int wfd = open("/dev/vdb", O_WRONLY | O_CLOEXEC);
  if (wfd < 0) {
    werr = errno;
  } else {
    memset(sector, 0xAB, sizeof(sector));
    ssize_t n = pwrite(wfd, sector, sizeof(sector), 0);
    if (n < 0) werr = errno;
    if (n >= 0 && fsync(wfd) != 0) werr = errno;
    close(wfd);
  }
  say("blk-ro=%s ro_flag=%d read=%s", werr ? "refused" : "WRITABLE", ro,
      err ? strerror(err) : "ok");
  if (werr) say("blk-ro-errno=%s", strerror(werr));
}

/* rng: 64 bytes from /dev/hwrng, which must be backed by virtio-rng. */
void action_rng(void) {
  char current[64] = "";
  if (read_text("/sys/class/misc/hw_random/rng_current", current, sizeof(current)) == 0) {
    char* nl = strchr(current, '\n');
    if (nl) *nl = '\0';
  }
  int fd = open("/dev/hwrng", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    say("rng=error:open /dev/hwrng: %s current=%s", strerror(errno), current);
    return;
  }
  uint8_t buf[64];
  size_t done = 0;
  while (done < sizeof(buf)) {
    ssize_t n = read(fd, buf + done, sizeof(buf) - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += (size_t)n;
  }
  close(fd);
  int distinct = 0;
  uint8_t seen[256] = {0};
  for (size_t i = 0; i < done; i++) {
    if (!seen[buf[i]]) distinct++;
    seen[buf[i]] = 1;
  }
  say("rng=%s current=%s bytes=%zu distinct=%d", done == sizeof(buf) ? "ok" : "error:short read",
      current, done, distinct);
}
