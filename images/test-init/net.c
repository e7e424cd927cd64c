/*
 * Network actions of test-init: virtio-net (eth0, a tap on the host) as the
 * guest sees it. The host side is hull-test-peer (tests/kvm/test-peer.cc),
 * which uses the same byte pattern and checksum (devices.h). Parameters come
 * from the kernel command line; images/README.md lists them and the lines
 * printed.
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
#include "sock.h"

#define TCP_SINK_PORT 5201   /* net-tcp-send talks to `hull-test-peer tcp-sink` */
#define TCP_SOURCE_PORT 5202 /* net-tcp-recv talks to `hull-test-peer tcp-source` */

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
