/*
 * Network and vsock actions of test-init: virtio-net (eth0, a tap on the
 * host) and virtio-vsock as the guest sees them. The host side of each is
 * hull-test-peer (tests/kvm/test-peer.cc), which uses the same byte pattern
 * and checksum (devices.h). Parameters come from the kernel command line;
 * images/README.md lists them and the lines printed.
 *
 * This runs as PID 1: every failure prints "<action>=error:..." and returns,
 * every wait has a time limit, and no write can raise SIGPIPE.
 */
#define _GNU_SOURCE
#include "net.h"

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

#define TCP_SINK_PORT 5201     /* net-tcp-send talks to `hull-test-peer tcp-sink` */
#define TCP_SOURCE_PORT 5202   /* net-tcp-recv talks to `hull-test-peer tcp-source` */
#define CONNECT_RETRY_MS 20000 /* the host side may start listening late */
#define IO_TIMEOUT_S 30        /* no progress for this long fails a TCP transfer */
#define MAX_VSOCK_CONNS 256
#define ECHO_BUF_SIZE (64 * 1024)

static uint8_t io_buf[64 * 1024];

static uint64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t now_ms(void) { return now_us() / 1000u; }

/* Milliseconds left until deadline_ms, as poll() wants them. */
static int ms_until(uint64_t deadline_ms) {
  uint64_t now = now_ms();
  if (now >= deadline_ms) return 0;
  uint64_t left = deadline_ms - now;
  return left > INT_MAX ? INT_MAX : (int)left;
}

/* ---- parameters ---- */

/* Copies the value of kernel parameter `key` (or `def` when it is absent or
 * empty) into out. Returns 0, or -1 after printing "<action>=error:...". */
static int param_text(const char* action, const char* key, const char* def, char* out,
                      size_t size) {
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
static int param_u64(const char* action, const char* key, uint64_t def, uint64_t min, uint64_t max,
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

struct net_spec {
  struct in_addr addr;
  unsigned prefix;
  struct in_addr peer;
};

/* hull.net=ADDR/PREFIX,PEER (default 10.0.2.2/24,10.0.2.1). */
static int param_net(const char* action, struct net_spec* spec) {
  char text[128];
  char orig[128];
  if (param_text(action, "hull.net", "10.0.2.2/24,10.0.2.1", text, sizeof(text)) != 0) return -1;
  snprintf(orig, sizeof(orig), "%s", text);
  char* slash = strchr(text, '/');
  char* comma = strchr(text, ',');
  char* end = NULL;
  if (slash && comma && slash < comma) {
    *slash = '\0';
    *comma = '\0';
    errno = 0;
    unsigned long prefix = strtoul(slash + 1, &end, 10);
    if (inet_pton(AF_INET, text, &spec->addr) == 1 && slash[1] >= '0' && slash[1] <= '9' &&
        errno == 0 && end == comma && prefix <= 32 &&
        inet_pton(AF_INET, comma + 1, &spec->peer) == 1) {
      spec->prefix = (unsigned)prefix;
      return 0;
    }
  }
  say("%s=error:hull.net=%s: want ADDR/PREFIX,PEER", action, orig);
  return -1;
}

static const char* ip_text(struct in_addr a, char* buf) {
  return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN) ? buf : "?";
}

/* ---- sockets ---- */

/* Waits for a non-blocking connect to finish. Returns 0 or an errno. */
static int wait_connected(int fd, uint64_t deadline_ms) {
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
static int connect_retry(const struct sockaddr* sa, socklen_t len, uint64_t deadline_ms) {
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
static int make_blocking_with_timeouts(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) return errno;
  struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
  if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0) {
    return errno;
  }
  return 0;
}

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

static const char* io_error(int err) {
  return err == EAGAIN ? "no progress for " STRINGIFY(IO_TIMEOUT_S) " s" : strerror(err);
}

static int send_all(int fd, const uint8_t* p, size_t n) {
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
static ssize_t recv_some(int fd) {
  for (;;) {
    ssize_t r = recv(fd, io_buf, sizeof(io_buf), 0);
    if (r < 0 && errno == EINTR) continue;
    return r < 0 ? -errno : r;
  }
}

/* ---- net: eth0 up with an address, then ping the peer ---- */

static int set_if_addr(int s, const char* ifname, unsigned long request, struct in_addr a) {
  struct ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr = a};
  memcpy(&ifr.ifr_addr, &sin, sizeof(sin));
  return ioctl(s, request, &ifr) == 0 ? 0 : errno;
}

static int set_if_up(int s, const char* ifname) {
  struct ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
  if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0) return errno;
  ifr.ifr_flags = (short)(ifr.ifr_flags | IFF_UP);
  return ioctl(s, SIOCSIFFLAGS, &ifr) == 0 ? 0 : errno;
}

static void report_mac(int s, const char* ifname) {
  struct ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
  if (ioctl(s, SIOCGIFHWADDR, &ifr) != 0) {
    say("net-mac=error:SIOCGIFHWADDR %s: %s", ifname, strerror(errno));
    return;
  }
  const unsigned char* m = (const unsigned char*)ifr.ifr_hwaddr.sa_data;
  say("net-mac=%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static uint16_t inet_checksum(const uint8_t* p, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < n; i += 2) sum += (uint32_t)(p[i] << 8 | p[i + 1]);
  if (n & 1) sum += (uint32_t)(p[n - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)~sum;
}

#define PING_ID 0x4855 /* "HU" */
#define PING_TRIES 5

/* Whether an IPv4 packet from a raw ICMP socket is the peer's echo reply. */
static int is_echo_reply(const uint8_t* pkt, size_t n, struct in_addr from, struct in_addr peer,
                         unsigned seq) {
  if (n < 20 || from.s_addr != peer.s_addr) return 0;
  size_t ihl = (size_t)(pkt[0] & 0x0f) * 4;
  if (ihl < 20 || n < ihl + 8) return 0;
  const uint8_t* icmp = pkt + ihl;
  return icmp[0] == 0 /* echo reply */ && icmp[1] == 0 && (icmp[4] << 8 | icmp[5]) == PING_ID &&
         (unsigned)(icmp[6] << 8 | icmp[7]) == seq;
}

static void ping_peer(struct in_addr peer) {
  char peer_text[INET_ADDRSTRLEN];
  ip_text(peer, peer_text);
  int s = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
  if (s < 0) {
    say("net-ping=error:socket(SOCK_RAW, IPPROTO_ICMP): %s", strerror(errno));
    return;
  }
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr = peer};
  int last_err = 0;
  for (unsigned seq = 1; seq <= PING_TRIES; seq++) {
    uint8_t req[64];
    for (size_t i = 8; i < sizeof(req); i++) req[i] = (uint8_t)i;
    req[0] = 8; /* echo request */
    req[1] = 0;
    req[2] = req[3] = 0;
    req[4] = PING_ID >> 8;
    req[5] = PING_ID & 0xff;
    req[6] = (uint8_t)(seq >> 8);
    req[7] = (uint8_t)seq;
    uint16_t sum = inet_checksum(req, sizeof(req));
    req[2] = (uint8_t)(sum >> 8);
    req[3] = (uint8_t)sum;

    uint64_t sent_at = now_us();
    uint64_t until_ms = sent_at / 1000 + 1000; /* 1 s receive timeout; tries 1 s apart */
    if (sendto(s, req, sizeof(req), 0, (const struct sockaddr*)&to, sizeof(to)) < 0) {
      last_err = errno;
    } else {
      for (;;) {
        struct pollfd pfd = {.fd = s, .events = POLLIN};
        int r = poll(&pfd, 1, ms_until(until_ms));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
          if (r < 0) last_err = errno;
          break;
        }
        uint8_t reply[1500];
        struct sockaddr_in from;
        socklen_t from_len = sizeof(from);
        ssize_t n =
            recvfrom(s, reply, sizeof(reply), MSG_DONTWAIT, (struct sockaddr*)&from, &from_len);
        if (n < 0) {
          /* An ICMP error for an earlier packet surfaces here once. */
          if (errno != EAGAIN && errno != EINTR) last_err = errno;
          continue;
        }
        if (is_echo_reply(reply, (size_t)n, from.sin_addr, peer, seq)) {
          say("net-ping=ok rtt_us=%llu tries=%u", (unsigned long long)(now_us() - sent_at), seq);
          close(s);
          return;
        }
      }
    }
    int wait = ms_until(until_ms);
    if (seq < PING_TRIES && wait > 0) poll(NULL, 0, wait);
  }
  close(s);
  if (last_err) {
    say("net-ping=error:no reply from %s in %d tries: %s", peer_text, PING_TRIES,
        strerror(last_err));
  } else {
    say("net-ping=error:no reply from %s in %d tries", peer_text, PING_TRIES);
  }
}

void action_net(void) {
  struct net_spec spec;
  if (param_net("net", &spec) != 0) return;
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) {
    say("net=error:socket(AF_INET): %s", strerror(errno));
    return;
  }
  struct in_addr mask = {.s_addr = htonl(spec.prefix == 0 ? 0 : 0xffffffffu << (32 - spec.prefix))};
  /* The address first: SIOCSIFADDR also sets a classful mask, which
   * SIOCSIFNETMASK then replaces. */
  const char* what = NULL;
  int err;
  if ((err = set_if_up(s, "lo")) != 0) {
    what = "SIOCSIFFLAGS lo up";
  } else if ((err = set_if_addr(s, "eth0", SIOCSIFADDR, spec.addr)) != 0) {
    what = "SIOCSIFADDR eth0";
  } else if ((err = set_if_addr(s, "eth0", SIOCSIFNETMASK, mask)) != 0) {
    what = "SIOCSIFNETMASK eth0";
  } else if ((err = set_if_up(s, "eth0")) != 0) {
    what = "SIOCSIFFLAGS eth0 up";
  }
  if (what) {
    say("net=error:%s: %s", what, strerror(err));
    close(s);
    return;
  }
  report_mac(s, "eth0");
  close(s);
  char addr_text[INET_ADDRSTRLEN];
  char peer_text[INET_ADDRSTRLEN];
  say("net=ok addr=%s/%u peer=%s", ip_text(spec.addr, addr_text), spec.prefix,
      ip_text(spec.peer, peer_text));
  ping_peer(spec.peer);
}

/* ---- net-tcp-send / net-tcp-recv: bulk TCP to and from the host ---- */

/* Connects to PEER:port; returns a blocking fd or -1 after printing. */
static int tcp_connect(const char* action, struct in_addr peer, uint16_t port) {
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr = peer};
  int fd = connect_retry((const struct sockaddr*)&sa, sizeof(sa), now_ms() + CONNECT_RETRY_MS);
  char peer_text[INET_ADDRSTRLEN];
  if (fd < 0) {
    say("%s=error:connect %s:%u: %s", action, ip_text(peer, peer_text), port, strerror(errno));
    return -1;
  }
  int err = make_blocking_with_timeouts(fd);
  if (err) {
    say("%s=error:socket options: %s", action, strerror(err));
    close(fd);
    return -1;
  }
  return fd;
}

void action_net_tcp_send(void) {
  static const char kAction[] = "net-tcp-send";
  struct net_spec spec;
  uint64_t total;
  if (param_net(kAction, &spec) != 0 ||
      param_u64(kAction, "hull.net_bytes", 104857600, 0, UINT64_MAX, &total) != 0) {
    return;
  }
  int fd = tcp_connect(kAction, spec.peer, TCP_SINK_PORT);
  if (fd < 0) return;
  uint64_t start = now_ms();
  uint32_t x = HULL_PATTERN_SEED;
  uint64_t fnv = HULL_FNV_OFFSET;
  for (uint64_t sent = 0; sent < total;) {
    size_t n = total - sent < sizeof(io_buf) ? (size_t)(total - sent) : sizeof(io_buf);
    x = hull_pattern_fill(x, io_buf, n);
    fnv = hull_fnv1a64(io_buf, n, fnv);
    int err = send_all(fd, io_buf, n);
    if (err) {
      say("%s=error:send at offset %llu: %s", kAction, (unsigned long long)sent, io_error(err));
      close(fd);
      return;
    }
    sent += n;
  }
  /* The peer closes once it has read everything; waiting for that makes the
   * time cover delivery, not just queueing in our socket buffer. */
  shutdown(fd, SHUT_WR);
  ssize_t r;
  while ((r = recv_some(fd)) > 0) {
  }
  uint64_t ms = now_ms() - start;
  close(fd);
  if (r < 0) {
    say("%s=error:waiting for the peer to close: %s", kAction, io_error((int)-r));
    return;
  }
  say("%s=ok bytes=%llu fnv=%016llx ms=%llu", kAction, (unsigned long long)total,
      (unsigned long long)fnv, (unsigned long long)ms);
}

void action_net_tcp_recv(void) {
  static const char kAction[] = "net-tcp-recv";
  struct net_spec spec;
  if (param_net(kAction, &spec) != 0) return;
  int fd = tcp_connect(kAction, spec.peer, TCP_SOURCE_PORT);
  if (fd < 0) return;
  uint64_t start = now_ms();
  uint64_t total = 0;
  uint64_t fnv = HULL_FNV_OFFSET;
  ssize_t r;
  while ((r = recv_some(fd)) > 0) {
    fnv = hull_fnv1a64(io_buf, (size_t)r, fnv);
    total += (uint64_t)r;
  }
  uint64_t ms = now_ms() - start;
  close(fd);
  if (r < 0) {
    say("%s=error:recv at offset %llu: %s", kAction, (unsigned long long)total, io_error((int)-r));
    return;
  }
  say("%s=ok bytes=%llu fnv=%016llx ms=%llu", kAction, (unsigned long long)total,
      (unsigned long long)fnv, (unsigned long long)ms);
}

/* ---- vsock-echo-server: one poll() loop echoing many connections ---- */

struct echo_conn {
  int fd;
  size_t len; /* bytes in buf */
  size_t off; /* of which already echoed */
  uint8_t* buf;
};

struct echo_stats {
  unsigned long long connections;
  unsigned long long bytes;
  unsigned long long resets;
};

static struct echo_conn echo_conns[MAX_VSOCK_CONNS];
static struct pollfd echo_pfds[MAX_VSOCK_CONNS + 2];

/* Moves data through one connection as far as it goes without blocking, in
 * a bounded number of rounds so that one busy connection cannot starve the
 * rest. Returns 0 while open, 1 at EOF (all echoed) and -1 on a reset. */
static int echo_pump(struct echo_conn* c, struct echo_stats* stats) {
  for (int round = 0; round < 16; round++) {
    if (c->off < c->len) {
      ssize_t w = send(c->fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
      c->off += (size_t)w;
      if (c->off < c->len) return 0; /* the socket is full: wait for POLLOUT */
      c->off = c->len = 0;
    }
    ssize_t r = recv(c->fd, c->buf, ECHO_BUF_SIZE, MSG_DONTWAIT);
    if (r == 0) return 1;
    if (r < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
    c->len = (size_t)r;
    stats->bytes += (unsigned long long)r;
  }
  return 0;
}

/* Echoes every connection accepted on listen_fd until a connection arrives on
 * stop_fd. Both are non-blocking listening sockets of any stream family.
 * Prints the result line; idle_s > 0 fails the run after that long without
 * any event. */
static void echo_serve(const char* action, int listen_fd, int stop_fd, unsigned idle_s) {
  struct echo_stats stats = {0, 0, 0};
  size_t n = 0;
  const char* failed = NULL;
  int err = 0;
  for (;;) {
    echo_pfds[0] = (struct pollfd){.fd = n < MAX_VSOCK_CONNS ? listen_fd : -1, .events = POLLIN};
    echo_pfds[1] = (struct pollfd){.fd = stop_fd, .events = POLLIN};
    for (size_t i = 0; i < n; i++) {
      struct echo_conn* c = &echo_conns[i];
      echo_pfds[2 + i] = (struct pollfd){.fd = c->fd, .events = c->off < c->len ? POLLOUT : POLLIN};
    }
    int r = poll(echo_pfds, 2 + n, idle_s ? (int)idle_s * 1000 : -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      failed = "poll";
      err = errno;
      break;
    }
    if (r == 0) {
      failed = "no activity before hull.vsock_idle_s";
      err = ETIMEDOUT;
      break;
    }
    if (echo_pfds[1].revents) {
      int s = accept4(stop_fd, NULL, NULL, SOCK_CLOEXEC);
      if (s >= 0) {
        close(s);
        break;
      }
    }
    for (size_t i = 0; i < n; i++) {
      if (!echo_pfds[2 + i].revents) continue;
      int state = echo_pump(&echo_conns[i], &stats);
      if (state == 0) continue;
      if (state < 0) stats.resets++;
      close(echo_conns[i].fd);
      free(echo_conns[i].buf);
      echo_conns[i].fd = -1;
    }
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
      if (echo_conns[i].fd >= 0) echo_conns[kept++] = echo_conns[i];
    }
    n = kept;
    if (echo_pfds[0].revents) {
      while (n < MAX_VSOCK_CONNS) {
        int c = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0) {
          if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED) {
            break;
          }
          failed = "accept";
          err = errno;
          break;
        }
        uint8_t* buf = malloc(ECHO_BUF_SIZE);
        if (!buf) {
          close(c);
          stats.resets++;
          continue;
        }
        echo_conns[n++] = (struct echo_conn){.fd = c, .len = 0, .off = 0, .buf = buf};
        stats.connections++;
      }
      if (failed) break;
    }
  }
  for (size_t i = 0; i < n; i++) {
    close(echo_conns[i].fd);
    free(echo_conns[i].buf);
  }
  if (failed) {
    say("%s=error:%s: %s connections=%llu bytes=%llu resets=%llu", action, failed, strerror(err),
        stats.connections, stats.bytes, stats.resets);
  } else {
    say("%s=ok connections=%llu bytes=%llu resets=%llu", action, stats.connections, stats.bytes,
        stats.resets);
  }
}

/* A non-blocking AF_VSOCK listener on VMADDR_CID_ANY:port, or -1 (errno). */
static int vsock_listen(unsigned port) {
  int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct sockaddr_vm sa = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port};
  if (bind(fd, (const struct sockaddr*)&sa, sizeof(sa)) != 0 || listen(fd, MAX_VSOCK_CONNS) != 0) {
    int err = errno;
    close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

static void report_local_cid(void) {
  int fd = open("/dev/vsock", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return; /* no vsock misc device: nothing to report */
  unsigned int cid = 0;
  if (ioctl(fd, IOCTL_VM_SOCKETS_GET_LOCAL_CID, &cid) == 0) {
    say("vsock-cid=%u", cid);
  } else {
    say("vsock-cid=error:IOCTL_VM_SOCKETS_GET_LOCAL_CID: %s", strerror(errno));
  }
  close(fd);
}

void action_vsock_echo_server(void) {
  static const char kAction[] = "vsock-echo-server";
  uint64_t port;
  uint64_t idle_s;
  if (param_u64(kAction, "hull.vsock_port", 1024, 0, 0xfffffffdu, &port) != 0 ||
      param_u64(kAction, "hull.vsock_idle_s", 600, 0, 86400, &idle_s) != 0) {
    return;
  }
  report_local_cid();
  int listen_fd = vsock_listen((unsigned)port);
  if (listen_fd < 0) {
    say("%s=error:listen on vsock port %llu: %s", kAction, (unsigned long long)port,
        strerror(errno));
    return;
  }
  int stop_fd = vsock_listen((unsigned)port + 1);
  if (stop_fd < 0) {
    say("%s=error:listen on vsock port %llu: %s", kAction, (unsigned long long)port + 1,
        strerror(errno));
    close(listen_fd);
    return;
  }
  say("%s=listening", kAction);
  echo_serve(kAction, listen_fd, stop_fd, (unsigned)idle_s);
  close(stop_fd);
  close(listen_fd);
}

/* ---- vsock-client: many verified echo conversations with the host ---- */

struct client_conn {
  int fd;
  uint32_t tx_x; /* pattern state of what we send */
  uint32_t rx_x; /* and of what must come back */
  uint64_t generated, sent, received;
  size_t tx_len, tx_off;
  int shut; /* SHUT_WR done */
  uint8_t tx[16 * 1024];
};

static uint8_t expected_buf[sizeof(io_buf)];

/* Sends what the connection may without blocking. Returns 0, or -1 with an
 * error text in err. */
static int client_send(struct client_conn* c, size_t index, uint64_t total, char* err,
                       size_t err_size) {
  for (int round = 0; round < 16 && !c->shut; round++) {
    if (c->tx_off == c->tx_len) {
      if (c->generated == total) {
        if (shutdown(c->fd, SHUT_WR) != 0) {
          snprintf(err, err_size, "connection %zu: shutdown: %s", index, strerror(errno));
          return -1;
        }
        c->shut = 1;
        break;
      }
      size_t n =
          total - c->generated < sizeof(c->tx) ? (size_t)(total - c->generated) : sizeof(c->tx);
      c->tx_x = hull_pattern_fill(c->tx_x, c->tx, n);
      c->generated += n;
      c->tx_len = n;
      c->tx_off = 0;
    }
    ssize_t w = send(c->fd, c->tx + c->tx_off, c->tx_len - c->tx_off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
      snprintf(err, err_size, "connection %zu: send at offset %llu: %s", index,
               (unsigned long long)c->sent, strerror(errno));
      return -1;
    }
    c->tx_off += (size_t)w;
    c->sent += (uint64_t)w;
  }
  return 0;
}

/* Reads and verifies what has come back. Returns 0, 1 at EOF after every
 * byte came back, or -1 with an error text in err. */
static int client_recv(struct client_conn* c, size_t index, uint64_t total, char* err,
                       size_t err_size) {
  for (int round = 0; round < 16; round++) {
    ssize_t r = recv(c->fd, io_buf, sizeof(io_buf), MSG_DONTWAIT);
    if (r < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
      snprintf(err, err_size, "connection %zu: recv at offset %llu: %s", index,
               (unsigned long long)c->received, strerror(errno));
      return -1;
    }
    if (r == 0) {
      if (c->received == total) return 1;
      snprintf(err, err_size, "connection %zu: EOF at offset %llu of %llu", index,
               (unsigned long long)c->received, (unsigned long long)total);
      return -1;
    }
    size_t n = (size_t)r;
    if (n > total - c->received) {
      snprintf(err, err_size, "connection %zu: %llu bytes more than it sent", index,
               (unsigned long long)(n - (total - c->received)));
      return -1;
    }
    c->rx_x = hull_pattern_fill(c->rx_x, expected_buf, n);
    if (memcmp(io_buf, expected_buf, n) != 0) {
      size_t i = 0;
      while (io_buf[i] == expected_buf[i]) i++;
      snprintf(err, err_size, "connection %zu: mismatch at offset %llu: got 0x%02x, want 0x%02x",
               index, (unsigned long long)(c->received + i), io_buf[i], expected_buf[i]);
      return -1;
    }
    c->received += n;
  }
  return 0;
}

/* Runs the echo conversations of n connected non-blocking sockets. Returns 0
 * or -1 with an error text in err. */
static int client_run(struct client_conn* conns, size_t n, uint64_t total, uint64_t deadline_ms,
                      char* err, size_t err_size) {
  static struct pollfd pfds[MAX_VSOCK_CONNS];
  size_t open_conns = n;
  while (open_conns > 0) {
    size_t first_open = n;
    for (size_t i = 0; i < n; i++) {
      struct client_conn* c = &conns[i];
      pfds[i] = (struct pollfd){.fd = c->fd, .events = POLLIN};
      if (c->fd >= 0 && first_open == n) first_open = i;
      if (!c->shut) pfds[i].events |= POLLOUT;
    }
    int r = poll(pfds, n, ms_until(deadline_ms));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      snprintf(err, err_size, "poll: %s", strerror(errno));
      return -1;
    }
    if (r == 0) {
      struct client_conn* c = &conns[first_open];
      snprintf(err, err_size, "timed out: connection %zu sent %llu and got back %llu of %llu bytes",
               first_open, (unsigned long long)c->sent, (unsigned long long)c->received,
               (unsigned long long)total);
      return -1;
    }
    for (size_t i = 0; i < n; i++) {
      struct client_conn* c = &conns[i];
      if (c->fd < 0 || !pfds[i].revents) continue;
      if (client_send(c, i, total, err, err_size) != 0) return -1;
      int state = client_recv(c, i, total, err, err_size);
      if (state < 0) return -1;
      if (state > 0) {
        close(c->fd);
        c->fd = -1;
        open_conns--;
      }
    }
  }
  return 0;
}

/* Connects n_conns connections to sa and runs the conversation; prints the
 * result line. */
static void client_connect_and_run(const char* action, const struct sockaddr* sa, socklen_t len,
                                   const char* target, size_t n_conns, uint64_t bytes,
                                   unsigned timeout_s) {
  struct client_conn* conns = calloc(n_conns, sizeof(*conns));
  if (!conns) {
    say("%s=error:calloc: %s", action, strerror(errno));
    return;
  }
  uint64_t connect_deadline = now_ms() + CONNECT_RETRY_MS;
  size_t connected = 0;
  for (; connected < n_conns; connected++) {
    struct client_conn* c = &conns[connected];
    c->fd = connect_retry(sa, len, connect_deadline);
    if (c->fd < 0) {
      say("%s=error:connect connection %zu to %s: %s", action, connected, target, strerror(errno));
      break;
    }
    c->tx_x = c->rx_x = HULL_PATTERN_SEED + (uint32_t)connected;
  }
  if (connected == n_conns) {
    char err[256];
    uint64_t start = now_ms();
    if (client_run(conns, n_conns, bytes, start + (uint64_t)timeout_s * 1000, err, sizeof(err)) !=
        0) {
      say("%s=error:%s", action, err);
    } else {
      say("%s=ok connections=%zu bytes=%llu ms=%llu", action, n_conns,
          (unsigned long long)(n_conns * bytes), (unsigned long long)(now_ms() - start));
    }
  }
  for (size_t i = 0; i < connected; i++) {
    if (conns[i].fd >= 0) close(conns[i].fd);
  }
  free(conns);
}

void action_vsock_client(void) {
  static const char kAction[] = "vsock-client";
  uint64_t port;
  uint64_t n_conns;
  uint64_t bytes;
  uint64_t timeout_s;
  if (param_u64(kAction, "hull.vsock_host_port", 1026, 0, 0xfffffffeu, &port) != 0 ||
      param_u64(kAction, "hull.vsock_conns", 64, 1, MAX_VSOCK_CONNS, &n_conns) != 0 ||
      param_u64(kAction, "hull.vsock_bytes", 1048576, 0, 1ULL << 40, &bytes) != 0 ||
      param_u64(kAction, "hull.vsock_timeout_s", 120, 1, 86400, &timeout_s) != 0) {
    return;
  }
  struct sockaddr_vm sa = {
      .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST, .svm_port = (unsigned)port};
  char target[64];
  snprintf(target, sizeof(target), "CID 2 port %llu", (unsigned long long)port);
  client_connect_and_run(kAction, (const struct sockaddr*)&sa, sizeof(sa), target, (size_t)n_conns,
                         bytes, (unsigned)timeout_s);
}
