/*
 * What test-init's network and vsock actions share (net.c, vsock.c): clocks,
 * kernel parameters, connecting with retries, whole sends. See sock.h.
 */
#define _GNU_SOURCE
#include "sock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/vm_sockets.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "devices.h"
#include "parse.h"

/* A host harness that compiles this file may read parameters from elsewhere. */
#ifndef HULL_CMDLINE_PATH
#define HULL_CMDLINE_PATH "/proc/cmdline"
#endif

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

uint8_t io_buf[64 * 1024];

uint64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t now_ms(void) { return now_us() / 1000u; }

/* Milliseconds left until deadline_ms, as poll() wants them. */
int ms_until(uint64_t deadline_ms) {
  uint64_t now = now_ms();
  if (now >= deadline_ms) return 0;
  uint64_t left = deadline_ms - now;
  return left > INT_MAX ? INT_MAX : (int)left;
}

/* ---- parameters ---- */

/* Copies the value of kernel parameter `key` (or `def` when it is absent or
 * empty) into out. Returns 0, or -1 after printing "<action>=error:...". */
int param_text(const char* action, const char* key, const char* def, char* out, size_t size) {
  char cmdline[4096];
  int fd = open(HULL_CMDLINE_PATH, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    say("%s=error:open %s: %s", action, HULL_CMDLINE_PATH, strerror(errno));
    return -1;
  }
  ssize_t n = read(fd, cmdline, sizeof(cmdline) - 1);
  int err = errno;
  close(fd);
  if (n < 0) {
    say("%s=error:read %s: %s", action, HULL_CMDLINE_PATH, strerror(err));
    return -1;
  }
  cmdline[n] = '\0';
  int found = hull_cmdline_value(cmdline, key, out, size);
  if (found < 0) {
    say("%s=error:%s: value too long", action, key);
    return -1;
  }
  if (found == 0 || out[0] == '\0') snprintf(out, size, "%s", def);
  return 0;
}

/* A decimal (or 0x hex) parameter within [min, max]. */
int param_u64(const char* action, const char* key, uint64_t def, uint64_t min, uint64_t max,
              uint64_t* out) {
  char text[64];
  char def_text[32];
  snprintf(def_text, sizeof(def_text), "%llu", (unsigned long long)def);
  if (param_text(action, key, def_text, text, sizeof(text)) != 0) return -1;
  char* end = NULL;
  errno = 0;
  unsigned long long value = strtoull(text, &end, 0);
  if (text[0] < '0' || text[0] > '9' || errno != 0 || *end != '\0' || value < min || value > max) {
    say("%s=error:%s=%s: want a number in [%llu, %llu]", action, key, text, (unsigned long long)min,
        (unsigned long long)max);
    return -1;
  }
  *out = value;
  return 0;
}

/* ---- sockets ---- */

/* Waits for a non-blocking connect to finish. Returns 0 or an errno. */
int wait_connected(int fd, uint64_t deadline_ms) {
  for (;;) {
    struct pollfd pfd = {.fd = fd, .events = POLLOUT};
    int r = poll(&pfd, 1, ms_until(deadline_ms));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return errno;
    if (r == 0) return ETIMEDOUT;
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
    return err;
  }
}

/* Connects a non-blocking stream socket to sa, retrying every 100 ms until
 * deadline_ms: the peer may not listen yet. Returns the fd, or -1 with errno
 * set to the last failure. */
int connect_retry(const struct sockaddr* sa, socklen_t len, uint64_t deadline_ms) {
  for (;;) {
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int err = connect(fd, sa, len) == 0 ? 0 : errno;
    if (err == EINPROGRESS || err == EINTR) err = wait_connected(fd, deadline_ms);
    if (err == 0) return fd;
    close(fd);
    if (now_ms() + 100 >= deadline_ms) {
      errno = err;
      return -1;
    }
    poll(NULL, 0, 100);
  }
}

/* Blocking I/O from here on, but never for longer than IO_TIMEOUT_S without
 * progress (then the call fails with EAGAIN). */
int make_blocking_with_timeouts(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) return errno;
  struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
  if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0) {
    return errno;
  }
  return 0;
}

const char* io_error(int err) {
  return err == EAGAIN ? "no progress for " STRINGIFY(IO_TIMEOUT_S) " s" : strerror(err);
}

int send_all(int fd, const uint8_t* p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return errno;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Reads into io_buf: bytes read, 0 at EOF, or -errno. */
ssize_t recv_some(int fd) {
  for (;;) {
    ssize_t r = recv(fd, io_buf, sizeof(io_buf), 0);
    if (r < 0 && errno == EINTR) continue;
    return r < 0 ? -errno : r;
  }
}
