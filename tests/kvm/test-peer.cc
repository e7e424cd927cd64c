// hull-test-peer: the host side of the guest's network and vsock tests.
//
// The guest half is test-init (images/test-init/net.c); both use the same
// byte pattern (xorshift32, one low byte per step, seed 0x12345678 plus a
// connection index) and checksum (FNV-1a 64). Each subcommand prints one
// result line "ok key=value ..." on stdout and exits 0, or "error: ..." on
// stderr and exits 1. Servers print "listening" (and vsock-hold "connected")
// first, so that a shell test can wait for them. Every blocking step gives up
// after --timeout seconds (default 120): a test tool must never hang.
//
// --tcp-loopback makes the vsock subcommands use TCP on 127.0.0.1 (the port
// alone, the CID ignored), so that the tool can test itself where AF_VSOCK
// has no transport.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <climits>
#include <csignal>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace {

constexpr uint32_t kPatternSeed = 0x12345678;
constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ULL;
constexpr size_t kIoChunk = 1 << 20;
// Transfers up to this size are generated before the clock starts, so that
// the figures measure the transport rather than the generator.
constexpr uint64_t kMaxPrecompute = uint64_t{1} << 30;

using Clock = std::chrono::steady_clock;

struct Options {
  int timeout_s = 120;
  bool tcp_loopback = false;
};

[[noreturn]] __attribute__((format(printf, 1, 2))) void Fail(const char* fmt, ...) {
  char line[1024] = "error: ";
  va_list args;
  va_start(args, fmt);
  int n = std::vsnprintf(line + 7, sizeof(line) - 8, fmt, args);
  va_end(args);
  size_t len = std::min(sizeof(line) - 2, 7 + static_cast<size_t>(std::max(n, 0)));
  line[len++] = '\n';
  // One write, then _exit: safe from any thread, with others still running.
  ssize_t ignored = write(STDERR_FILENO, line, len);
  (void)ignored;
  std::_Exit(1);
}

const char* ErrnoText(int err) { return std::strerror(err); }

uint64_t MsSince(Clock::time_point start) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
}

int MsUntil(Clock::time_point deadline) {
  auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<decltype(left)>(left, 0, INT_MAX));
}

uint64_t Fnv1a64(std::span<const uint8_t> data, uint64_t h) {
  for (uint8_t b : data) {
    h ^= b;
    h *= 0x100000001b3ULL;
  }
  return h;
}

uint32_t PatternFill(uint32_t x, std::span<uint8_t> out) {
  for (uint8_t& b : out) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = static_cast<uint8_t>(x);
  }
  return x;
}

// Owns a file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// The byte pattern of one connection: generated a chunk at a time, or all
// at once beforehand and then shared by the sending and the checking side.
class PatternStream {
 public:
  PatternStream(uint32_t seed, uint64_t total) : x_(seed), left_(total) {}
  explicit PatternStream(std::shared_ptr<const std::vector<uint8_t>> all)
      : left_(all->size()), all_(std::move(all)) {}

  static std::shared_ptr<const std::vector<uint8_t>> Precompute(uint32_t seed, uint64_t total) {
    auto all = std::make_shared<std::vector<uint8_t>>(static_cast<size_t>(total));
    PatternFill(seed, *all);
    return all;
  }

  // The next bytes, at most `max` of them; valid until the next call. Empty
  // at the end.
  std::span<const uint8_t> Next(size_t max) {
    uint64_t limit = all_ ? max : std::min(max, kChunk);
    auto n = static_cast<size_t>(std::min(limit, left_));
    left_ -= n;
    if (all_) {
      std::span<const uint8_t> out(all_->data() + pos_, n);
      pos_ += n;
      return out;
    }
    if (chunk_.empty()) chunk_.resize(kChunk);
    x_ = PatternFill(x_, std::span(chunk_.data(), n));
    return {chunk_.data(), n};
  }

 private:
  static constexpr size_t kChunk = 64 * 1024;
  uint32_t x_ = 0;
  uint64_t left_;
  std::shared_ptr<const std::vector<uint8_t>> all_;
  size_t pos_ = 0;
  std::vector<uint8_t> chunk_;
};

template <typename T>
T ParseNumber(std::string_view text, const char* what) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    Fail("%s: '%.*s' is not a number in range", what, static_cast<int>(text.size()), text.data());
  }
  return value;
}

// ---- addresses and connections ----

struct Endpoint {
  sockaddr_storage addr{};
  socklen_t len = 0;
  std::string name;  // for messages

  const sockaddr* sa() const {
    // sockaddr_storage is the type the socket API defines for this.
    return reinterpret_cast<const sockaddr*>(&addr);
  }
  int family() const { return addr.ss_family; }
};

Endpoint InetEndpoint(in_addr_t host, uint32_t port) {
  if (port > 65535) Fail("port %u is not a TCP port", port);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(static_cast<uint16_t>(port));
  sin.sin_addr.s_addr = htonl(host);
  Endpoint e;
  std::memcpy(&e.addr, &sin, sizeof(sin));
  e.len = sizeof(sin);
  char text[INET_ADDRSTRLEN] = "?";
  inet_ntop(AF_INET, &sin.sin_addr, text, sizeof(text));
  e.name = std::string(text) + ":" + std::to_string(port);
  return e;
}

Endpoint VsockEndpoint(uint32_t cid, uint32_t port, const Options& options) {
  if (options.tcp_loopback) {
    return InetEndpoint(cid == VMADDR_CID_ANY ? INADDR_ANY : INADDR_LOOPBACK, port);
  }
  sockaddr_vm svm{};
  svm.svm_family = AF_VSOCK;
  svm.svm_cid = cid;
  svm.svm_port = port;
  Endpoint e;
  std::memcpy(&e.addr, &svm, sizeof(svm));
  e.len = sizeof(svm);
  e.name = "vsock " + (cid == VMADDR_CID_ANY ? std::string("any") : std::to_string(cid)) + ":" +
           std::to_string(port);
  return e;
}

Fd Listen(const Endpoint& at) {
  Fd fd(socket(at.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) Fail("socket for %s: %s", at.name.c_str(), ErrnoText(errno));
  if (at.family() == AF_INET) {
    int one = 1;
    if (setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) {
      Fail("SO_REUSEADDR on %s: %s", at.name.c_str(), ErrnoText(errno));
    }
  }
  if (bind(fd.get(), at.sa(), at.len) != 0) Fail("bind %s: %s", at.name.c_str(), ErrnoText(errno));
  if (listen(fd.get(), 512) != 0) Fail("listen on %s: %s", at.name.c_str(), ErrnoText(errno));
  return fd;
}

void SayListening() {
  std::puts("listening");
  std::fflush(stdout);
}

// Waits up to the timeout for `events` on fd; returns revents.
short WaitFor(const Fd& fd, short events, const Options& options, const char* what) {
  for (;;) {
    pollfd pfd{fd.get(), events, 0};
    int r = poll(&pfd, 1, options.timeout_s * 1000);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) Fail("%s: poll: %s", what, ErrnoText(errno));
    if (r == 0) Fail("%s: nothing happened for %d s", what, options.timeout_s);
    return pfd.revents;
  }
}

// Accepts one connection (non-blocking), waiting up to the timeout.
Fd Accept(const Fd& listener, const Options& options, const char* what) {
  for (;;) {
    WaitFor(listener, POLLIN, options, what);
    Fd fd(accept4(listener.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (fd.valid()) return fd;
    if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
      Fail("%s: accept: %s", what, ErrnoText(errno));
    }
  }
}

// Connects a non-blocking socket to `to`, retrying every 100 ms until the
// deadline: the peer (a guest still booting) may not listen yet.
Fd ConnectRetry(const Endpoint& to, Clock::time_point deadline) {
  int err = 0;
  for (;;) {
    Fd fd(socket(to.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd.valid()) Fail("socket for %s: %s", to.name.c_str(), ErrnoText(errno));
    err = connect(fd.get(), to.sa(), to.len) == 0 ? 0 : errno;
    while (err == EINPROGRESS || err == EINTR) {
      pollfd pfd{fd.get(), POLLOUT, 0};
      int r = poll(&pfd, 1, MsUntil(deadline));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        err = r < 0 ? errno : ETIMEDOUT;
        break;
      }
      socklen_t len = sizeof(err);
      if (getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    }
    if (err == 0) return fd;
    if (Clock::now() + std::chrono::milliseconds(100) >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  Fail("connect %s: %s (retried until the timeout)", to.name.c_str(), ErrnoText(err));
}

Clock::time_point DeadlineFromNow(const Options& options) {
  return Clock::now() + std::chrono::seconds(options.timeout_s);
}

// Reads what is there (waiting up to the timeout): the byte count, 0 at EOF.
size_t ReadSome(const Fd& fd, std::span<uint8_t> buf, const Options& options, const char* what) {
  for (;;) {
    ssize_t r = recv(fd.get(), buf.data(), buf.size(), 0);
    if (r >= 0) return static_cast<size_t>(r);
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      WaitFor(fd, POLLIN, options, what);
    } else if (errno != EINTR) {
      Fail("%s: recv: %s", what, ErrnoText(errno));
    }
  }
}

void WriteAll(const Fd& fd, std::span<const uint8_t> data, const Options& options,
              const char* what) {
  while (!data.empty()) {
    ssize_t w = send(fd.get(), data.data(), data.size(), MSG_NOSIGNAL);
    if (w >= 0) {
      data = data.subspan(static_cast<size_t>(w));
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      WaitFor(fd, POLLOUT, options, what);
    } else if (errno != EINTR) {
      Fail("%s: send: %s", what, ErrnoText(errno));
    }
  }
}

// After our last byte: half-close, then wait for the peer to close, which it
// does once it has read everything.
void FinishSending(const Fd& fd, const Options& options, const char* what) {
  if (shutdown(fd.get(), SHUT_WR) != 0) Fail("%s: shutdown: %s", what, ErrnoText(errno));
  uint8_t scratch[4096];
  while (ReadSome(fd, scratch, options, what) > 0) {
  }
}

// ---- tcp-sink, tcp-source, fnv ----

int TcpSink(const Options& options, std::span<const std::string_view> args) {
  auto port = ParseNumber<uint32_t>(args[0], "PORT");
  Fd listener = Listen(InetEndpoint(INADDR_ANY, port));
  SayListening();
  Fd conn = Accept(listener, options, "tcp-sink: accept");
  auto start = Clock::now();
  std::vector<uint8_t> buf(kIoChunk);
  uint64_t total = 0;
  uint64_t fnv = kFnvOffset;
  while (size_t n = ReadSome(conn, buf, options, "tcp-sink: read")) {
    fnv = Fnv1a64(std::span(buf).first(n), fnv);
    total += n;
  }
  std::printf("ok bytes=%llu fnv=%016llx ms=%llu\n", static_cast<unsigned long long>(total),
              static_cast<unsigned long long>(fnv),
              static_cast<unsigned long long>(MsSince(start)));
  return 0;
}

int TcpSource(const Options& options, std::span<const std::string_view> args) {
  auto port = ParseNumber<uint32_t>(args[0], "PORT");
  auto total = ParseNumber<uint64_t>(args[1], "BYTES");
  PatternStream pattern = total <= kMaxPrecompute
                              ? PatternStream(PatternStream::Precompute(kPatternSeed, total))
                              : PatternStream(kPatternSeed, total);
  Fd listener = Listen(InetEndpoint(INADDR_ANY, port));
  SayListening();
  Fd conn = Accept(listener, options, "tcp-source: accept");
  auto start = Clock::now();
  uint64_t fnv = kFnvOffset;
  for (auto chunk = pattern.Next(kIoChunk); !chunk.empty(); chunk = pattern.Next(kIoChunk)) {
    fnv = Fnv1a64(chunk, fnv);
    WriteAll(conn, chunk, options, "tcp-source: send");
  }
  FinishSending(conn, options, "tcp-source: waiting for the peer to close");
  std::printf("ok bytes=%llu fnv=%016llx ms=%llu\n", static_cast<unsigned long long>(total),
              static_cast<unsigned long long>(fnv),
              static_cast<unsigned long long>(MsSince(start)));
  return 0;
}

int FnvFile(const Options&, std::span<const std::string_view> args) {
  std::string path(args[0]);
  Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) Fail("open %s: %s", path.c_str(), ErrnoText(errno));
  std::vector<uint8_t> buf(kIoChunk);
  uint64_t total = 0;
  uint64_t fnv = kFnvOffset;
  for (;;) {
    ssize_t r = read(fd.get(), buf.data(), buf.size());
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) Fail("read %s: %s", path.c_str(), ErrnoText(errno));
    if (r == 0) break;
    fnv = Fnv1a64(std::span(buf).first(static_cast<size_t>(r)), fnv);
    total += static_cast<uint64_t>(r);
  }
  std::printf("ok bytes=%llu fnv=%016llx\n", static_cast<unsigned long long>(total),
              static_cast<unsigned long long>(fnv));
  return 0;
}

// ---- vsock-echo-client: verified echo conversations, one poll() loop ----

struct EchoConversation {
  EchoConversation(size_t i, Fd f, uint64_t n, PatternStream t, PatternStream r)
      : index(i), fd(std::move(f)), total(n), tx(std::move(t)), rx(std::move(r)) {}

  size_t index;
  Fd fd;
  uint64_t total;
  PatternStream tx;
  PatternStream rx;
  std::span<const uint8_t> pending;  // taken from tx, not yet sent
  uint64_t sent = 0;
  uint64_t received = 0;
  bool shut = false;  // SHUT_WR done
};

void PumpSend(EchoConversation& c) {
  for (int round = 0; round < 16 && !c.shut; round++) {
    if (c.pending.empty()) c.pending = c.tx.Next(kIoChunk);
    if (c.pending.empty()) {
      if (shutdown(c.fd.get(), SHUT_WR) != 0) {
        Fail("connection %zu: shutdown: %s", c.index, ErrnoText(errno));
      }
      c.shut = true;
      return;
    }
    ssize_t w = send(c.fd.get(), c.pending.data(), c.pending.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
      Fail("connection %zu: send at offset %llu: %s", c.index,
           static_cast<unsigned long long>(c.sent), ErrnoText(errno));
    }
    c.pending = c.pending.subspan(static_cast<size_t>(w));
    c.sent += static_cast<uint64_t>(w);
  }
}

// Reads and verifies the echo; returns true at EOF after all of it.
bool PumpReceive(EchoConversation& c, std::span<uint8_t> buf) {
  for (int round = 0; round < 16; round++) {
    ssize_t r = recv(c.fd.get(), buf.data(), buf.size(), MSG_DONTWAIT);
    if (r < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return false;
      Fail("connection %zu: recv at offset %llu: %s", c.index,
           static_cast<unsigned long long>(c.received), ErrnoText(errno));
    }
    if (r == 0) {
      if (c.received == c.total) return true;
      Fail("connection %zu: EOF at offset %llu of %llu", c.index,
           static_cast<unsigned long long>(c.received), static_cast<unsigned long long>(c.total));
    }
    std::span<const uint8_t> got = buf.first(static_cast<size_t>(r));
    while (!got.empty()) {
      std::span<const uint8_t> want = c.rx.Next(got.size());
      if (want.empty()) {
        Fail("connection %zu: %zu bytes more than it sent", c.index, got.size());
      }
      if (std::memcmp(got.data(), want.data(), want.size()) != 0) {
        auto [want_it, got_it] = std::mismatch(want.begin(), want.end(), got.begin());
        auto at = static_cast<size_t>(want_it - want.begin());
        Fail("connection %zu: mismatch at offset %llu: got 0x%02x, want 0x%02x", c.index,
             static_cast<unsigned long long>(c.received + at), *got_it, *want_it);
      }
      got = got.subspan(want.size());
      c.received += want.size();
    }
  }
  return false;
}

// Runs the conversations to their ends; any failure ends the process.
void RunEchoConversations(std::vector<EchoConversation>& convs, const Options& options) {
  std::vector<pollfd> pfds(convs.size());
  std::vector<uint8_t> buf(kIoChunk);
  size_t open = convs.size();
  while (open > 0) {
    for (size_t i = 0; i < convs.size(); i++) {
      auto& c = convs[i];
      pfds[i] = pollfd{c.fd.get(), static_cast<short>(POLLIN | (c.shut ? 0 : POLLOUT)), 0};
    }
    int r = poll(pfds.data(), pfds.size(), options.timeout_s * 1000);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) Fail("poll: %s", ErrnoText(errno));
    if (r == 0) {
      auto c = std::find_if(convs.begin(), convs.end(), [](auto& x) { return x.fd.valid(); });
      Fail("no progress for %d s: connection %zu sent %llu and got back %llu of %llu bytes",
           options.timeout_s, c->index, static_cast<unsigned long long>(c->sent),
           static_cast<unsigned long long>(c->received), static_cast<unsigned long long>(c->total));
    }
    for (size_t i = 0; i < convs.size(); i++) {
      auto& c = convs[i];
      if (!c.fd.valid() || pfds[i].revents == 0) continue;
      PumpSend(c);
      if (PumpReceive(c, buf)) {
        c.fd.Reset();
        open--;
      }
    }
  }
}

int VsockEchoClient(const Options& options, std::span<const std::string_view> args) {
  auto cid = ParseNumber<uint32_t>(args[0], "CID");
  auto port = ParseNumber<uint32_t>(args[1], "PORT");
  auto conns = ParseNumber<size_t>(args[2], "CONNS");
  auto bytes_each = ParseNumber<uint64_t>(args[3], "BYTES_EACH");
  auto big_bytes = ParseNumber<uint64_t>(args[4], "BIG_BYTES");
  if (port >= VMADDR_PORT_ANY - 1) Fail("PORT %u leaves no room for the stop port", port);
  Endpoint server = VsockEndpoint(cid, port, options);

  std::vector<EchoConversation> convs;
  convs.reserve(conns);
  auto connect_deadline = DeadlineFromNow(options);
  for (size_t i = 0; i < conns; i++) {
    auto seed = static_cast<uint32_t>(kPatternSeed + i);
    convs.emplace_back(i, ConnectRetry(server, connect_deadline), bytes_each,
                       PatternStream(seed, bytes_each), PatternStream(seed, bytes_each));
  }
  RunEchoConversations(convs, options);
  convs.clear();

  double big_mb_s = 0;
  if (big_bytes > 0) {
    auto seed = static_cast<uint32_t>(kPatternSeed + conns);
    auto make_stream = [&] {
      return big_bytes <= kMaxPrecompute ? PatternStream(PatternStream::Precompute(seed, big_bytes))
                                         : PatternStream(seed, big_bytes);
    };
    PatternStream tx = make_stream();
    PatternStream rx = big_bytes <= kMaxPrecompute ? tx : PatternStream(seed, big_bytes);
    convs.emplace_back(conns, ConnectRetry(server, DeadlineFromNow(options)), big_bytes,
                       std::move(tx), std::move(rx));
    auto start = Clock::now();
    RunEchoConversations(convs, options);
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count();
    big_mb_s = static_cast<double>(big_bytes) / static_cast<double>(std::max<int64_t>(us, 1));
  }

  // Any connection to PORT+1 stops the guest's server.
  ConnectRetry(VsockEndpoint(cid, port + 1, options), DeadlineFromNow(options));
  std::printf("ok connections=%zu bytes=%llu big_mb_s=%.1f\n", conns + (big_bytes > 0 ? 1 : 0),
              static_cast<unsigned long long>(conns * bytes_each + big_bytes), big_mb_s);
  return 0;
}

// ---- vsock-echo-server: a thread per connection ----

void EchoUntilEof(Fd conn, size_t index, std::atomic<uint64_t>& bytes, const Options& options) {
  std::vector<uint8_t> buf(kIoChunk);
  std::string what = "connection " + std::to_string(index);
  while (size_t n = ReadSome(conn, buf, options, what.c_str())) {
    WriteAll(conn, std::span(buf).first(n), options, what.c_str());
    bytes += n;
  }
}

int VsockEchoServer(const Options& options, std::span<const std::string_view> args) {
  auto port = ParseNumber<uint32_t>(args[0], "PORT");
  auto conns = ParseNumber<size_t>(args[1], "CONNS");
  Fd listener = Listen(VsockEndpoint(VMADDR_CID_ANY, port, options));
  SayListening();
  std::atomic<uint64_t> bytes{0};
  std::vector<std::thread> threads;
  for (size_t i = 0; i < conns; i++) {
    Fd conn = Accept(listener, options, "vsock-echo-server: accept");
    threads.emplace_back(EchoUntilEof, std::move(conn), i, std::ref(bytes), std::cref(options));
  }
  for (auto& t : threads) t.join();
  std::printf("ok connections=%zu bytes=%llu\n", conns,
              static_cast<unsigned long long>(bytes.load()));
  return 0;
}

// ---- vsock-hold: how does a connection end when the VM dies? ----

int VsockHold(const Options& options, std::span<const std::string_view> args) {
  auto cid = ParseNumber<uint32_t>(args[0], "CID");
  auto port = ParseNumber<uint32_t>(args[1], "PORT");
  Fd conn = ConnectRetry(VsockEndpoint(cid, port, options), DeadlineFromNow(options));
  auto start = Clock::now();
  std::puts("connected");
  std::fflush(stdout);
  auto deadline = DeadlineFromNow(options);
  const char* ended = nullptr;
  while (!ended) {
    pollfd pfd{conn.get(), POLLIN, 0};
    int r = poll(&pfd, 1, MsUntil(deadline));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) Fail("vsock-hold: poll: %s", ErrnoText(errno));
    if (r == 0) Fail("vsock-hold: the connection was still open after %d s", options.timeout_s);
    uint8_t buf[4096];
    ssize_t n = recv(conn.get(), buf, sizeof(buf), MSG_DONTWAIT);
    if (n == 0) {
      ended = "eof";
    } else if (n < 0 && errno == ECONNRESET) {
      ended = "reset";
    } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      ended = strerrorname_np(errno);
      if (!ended) ended = "unknown-errno";
    }
  }
  std::printf("ok ended=%s ms=%llu\n", ended, static_cast<unsigned long long>(MsSince(start)));
  return 0;
}

// ---- api: one request to hull-vmm's control API ----
// (Python's start-up alone takes seconds in the emulated sandbox.)

int Api(const Options& options, std::span<const std::string_view> args) {
  const std::string path(args[0]);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) Fail("api: socket path too long");
  std::memcpy(addr.sun_path, path.data(), path.size());
  Fd conn(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!conn.valid()) Fail("api: socket: %s", ErrnoText(errno));
  if (connect(conn.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    Fail("api: connect %s: %s", path.c_str(), ErrnoText(errno));
  }
  const std::string request = std::string(args[1]) + "\n";
  if (send(conn.get(), request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    Fail("api: send: %s", ErrnoText(errno));
  }
  std::string reply;
  auto deadline = DeadlineFromNow(options);
  while (reply.empty() || reply.back() != '\n') {
    pollfd pfd{conn.get(), POLLIN, 0};
    int r = poll(&pfd, 1, MsUntil(deadline));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) Fail("api: no reply within %d s", options.timeout_s);
    char buf[4096];
    ssize_t n = recv(conn.get(), buf, sizeof(buf), 0);
    if (n <= 0) Fail("api: the VMM closed the connection without a full reply");
    reply.append(buf, static_cast<size_t>(n));
  }
  std::fputs(reply.c_str(), stdout);
  return 0;
}

// ---- command line ----

struct Command {
  std::string_view name;
  std::string_view usage;
  size_t n_args;
  int (*run)(const Options&, std::span<const std::string_view>);
};

constexpr Command kCommands[] = {
    {"tcp-sink", "PORT", 1, TcpSink},
    {"tcp-source", "PORT BYTES", 2, TcpSource},
    {"vsock-echo-client", "CID PORT CONNS BYTES_EACH BIG_BYTES", 5, VsockEchoClient},
    {"vsock-echo-server", "PORT CONNS", 2, VsockEchoServer},
    {"vsock-hold", "CID PORT", 2, VsockHold},
    {"fnv", "FILE", 1, FnvFile},
    {"api", "SOCKET REQUEST_JSON", 2, Api},
};

[[noreturn]] void Usage(const char* why) {
  std::string text = std::string(why) +
                     "\nusage: hull-test-peer [--timeout S] [--tcp-loopback] SUBCOMMAND ARGS...";
  for (const auto& c : kCommands) {
    text += "\n  " + std::string(c.name) + " " + std::string(c.usage);
  }
  Fail("%s", text.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  Options options;
  std::vector<std::string_view> args;
  for (int i = 1; i < argc; i++) {
    std::string_view arg = argv[i];
    if (arg == "--timeout") {
      if (i + 1 == argc) Usage("--timeout needs a value");
      options.timeout_s = ParseNumber<int>(argv[++i], "--timeout");
      if (options.timeout_s <= 0 || options.timeout_s > 86400) Usage("--timeout: 1 to 86400 s");
    } else if (arg == "--tcp-loopback") {
      options.tcp_loopback = true;
    } else {
      args.push_back(arg);
    }
  }
  if (args.empty()) Usage("no subcommand");
  for (const auto& c : kCommands) {
    if (c.name != args[0]) continue;
    if (args.size() - 1 != c.n_args) {
      Usage(("wrong number of arguments for " + std::string(c.name)).c_str());
    }
    int rc = c.run(options, std::span(args).subspan(1));
    std::fflush(stdout);
    return rc;
  }
  Usage(("unknown subcommand " + std::string(args[0])).c_str());
}
