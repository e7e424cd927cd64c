/*
 * vsock actions of test-init: virtio-vsock as the guest sees it, against
 * hull-test-peer on the host (tests/kvm/test-peer.cc). Same rules as net.c:
 * PID 1, every failure is a line, every wait has a limit.
 */
#define _GNU_SOURCE
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
#include "net.h"
#include "sock.h"

#define MAX_VSOCK_CONNS 256
#define ECHO_BUF_SIZE (64 * 1024)

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
