/* Shared by test-init's network and vsock actions (sock.c). */
#ifndef HULL_TEST_INIT_SOCK_H
#define HULL_TEST_INIT_SOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#define CONNECT_RETRY_MS 20000 /* the host side may start listening late */
#define IO_TIMEOUT_S 30        /* no progress for this long fails a TCP transfer */

/* A 64 KiB scratch buffer for one action at a time. */
extern uint8_t io_buf[64 * 1024];

uint64_t now_us(void);
uint64_t now_ms(void);
/* Milliseconds left until deadline_ms, as poll() wants them. */
int ms_until(uint64_t deadline_ms);

/* Copies the value of kernel parameter `key` (or `def` when it is absent or
 * empty) into out. Returns 0, or -1 after printing "<action>=error:...". */
int param_text(const char* action, const char* key, const char* def, char* out, size_t size);
/* A decimal (or 0x hex) parameter within [min, max]. */
int param_u64(const char* action, const char* key, uint64_t def, uint64_t min, uint64_t max,
              uint64_t* out);

/* Waits for a non-blocking connect to finish. Returns 0 or an errno. */
int wait_connected(int fd, uint64_t deadline_ms);
/* Connects a non-blocking stream socket to sa, retrying every 100 ms until
 * deadline_ms. Returns the fd, or -1 with errno set to the last failure. */
int connect_retry(const struct sockaddr* sa, socklen_t len, uint64_t deadline_ms);
/* Blocking I/O from here on, but never for longer than IO_TIMEOUT_S without
 * progress (then the call fails with EAGAIN). Returns 0 or an errno. */
int make_blocking_with_timeouts(int fd);
/* strerror, with EAGAIN read as the I/O timeout. */
const char* io_error(int err);
/* Sends all n bytes (no SIGPIPE). Returns 0 or an errno. */
int send_all(int fd, const uint8_t* p, size_t n);
/* Reads into io_buf: bytes read, 0 at EOF, or -errno. */
ssize_t recv_some(int fd);

#endif
