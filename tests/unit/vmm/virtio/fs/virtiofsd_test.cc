// FsDevice against the real back end: Debian's C virtiofsd (qemu 7.2), no
// VM needed. The test plays the guest driver's part on rings in a
// GuestMemory, so the FUSE replies prove that the memory table, the ring
// addresses and the kick/call fds reached virtiofsd intact. Skipped where
// virtiofsd is not installed.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "hull/vmm/virtio/fs/fs_device.h"
#include "split_ring.h"

extern char** environ;  // NOLINT: posix_spawn's environment

namespace hull::vmm::virtio::fs {
namespace {

using virtio::testing::FakeInterrupt;
using virtio::testing::Peek;
using virtio::testing::Poke;
using virtio::testing::SplitRing;

constexpr const char* kVirtiofsd = "/usr/lib/qemu/virtiofsd";
constexpr uint64_t kMemorySize = 4 << 20;
// FUSE (include/uapi/linux/fuse.h): opcodes and the sizes we use.
constexpr uint32_t kFuseGetattr = 3;
constexpr uint32_t kFuseInit = 26;
constexpr uint32_t kFuseInHeaderSize = 40;
constexpr uint32_t kFuseOutHeaderSize = 16;
constexpr uint64_t kFuseRootId = 1;
// Where the test's requests and replies live in guest memory.
constexpr uint64_t kRequestBuffer = 0x100000;
constexpr uint64_t kReplyBuffer = 0x101000;

class FsVirtiofsdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(kVirtiofsd, X_OK) != 0) GTEST_SKIP() << kVirtiofsd << " is not installed";
    char dir[] = "/tmp/hull-virtiofsd-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
    std::filesystem::create_directory(dir_ / "share");
    std::ofstream(dir_ / "share" / "hello.txt") << "hello from the host\n";
    socket_ = (dir_ / "virtiofsd.sock").string();
    StartVirtiofsd();
  }

  void TearDown() override {
    StopVirtiofsd();
    if (HasFailure() && !dir_.empty()) {
      std::ifstream log(dir_ / "virtiofsd.log");
      std::stringstream text;
      text << log.rdbuf();
      std::cerr << "virtiofsd's log:\n" << text.str();
    }
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  // -o sandbox=chroot: the default namespace sandbox needs CLONE_NEWPID and
  // a pivot_root, which containers often refuse; chroot works wherever we
  // are root. A production set-up picks its own.
  void StartVirtiofsd() {
    const std::string socket_arg = "--socket-path=" + socket_;
    const std::string source_arg = "source=" + (dir_ / "share").string();
    std::vector<const char*> argv = {kVirtiofsd, socket_arg.c_str(), "-o", source_arg.c_str(),
                                     "-o",       "cache=auto",       "-o", "sandbox=chroot",
                                     nullptr};
    const std::string log = (dir_ / "virtiofsd.log").string();
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    // SAFETY: posix_spawn takes char* const[] but does not modify the strings.
    const int rc = ::posix_spawn(&pid_, kVirtiofsd, &actions, nullptr,
                                 const_cast<char* const*>(argv.data()), environ);
    posix_spawn_file_actions_destroy(&actions);
    ASSERT_EQ(rc, 0) << "posix_spawn " << kVirtiofsd;
  }

  void StopVirtiofsd() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  // Reaps virtiofsd when it has exited (so StopVirtiofsd kills no stranger).
  bool VirtiofsdRunning() {
    if (pid_ <= 0) return false;
    if (::waitpid(pid_, nullptr, WNOHANG) == 0) return true;
    pid_ = -1;
    return false;
  }

  // virtiofsd accepts exactly one connection, so we cannot probe the socket:
  // retry the real connection while nothing listens yet.
  Result<std::unique_ptr<FsDevice>> CreateDevice(uint32_t request_queues = 1) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (true) {
      Result<std::unique_ptr<FsDevice>> device = FsDevice::Create(
          {.tag = "hulltest", .socket_path = socket_, .request_queues = request_queues},
          [this](const Error& error) { failures_.push_back(error.message()); });
      const bool not_yet = !device.ok() && (device.error().code() == ENOENT ||
                                            device.error().code() == ECONNREFUSED);
      if (!not_yet || std::chrono::steady_clock::now() > deadline) return device;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  // Waits for the back end to signal `fd` (a call eventfd or its socket).
  static bool WaitReadable(int fd, short events = POLLIN, int timeout_ms = 10'000) {
    pollfd p{.fd = fd, .events = events, .revents = 0};
    return ::poll(&p, 1, timeout_ms) == 1;
  }

  // Puts one FUSE request {header, body} on `ring` with a 4 KiB reply
  // buffer, kicks, waits for the back end's call and relays it. Returns the
  // used element's length.
  uint32_t Roundtrip(FsDevice& device, SplitRing& ring, int kick_fd, size_t queue, uint32_t opcode,
                     uint64_t unique, uint64_t nodeid, const std::vector<uint8_t>& body) {
    const auto len = static_cast<uint32_t>(kFuseInHeaderSize + body.size());
    Poke<uint32_t>(memory_, kRequestBuffer, len);
    Poke<uint32_t>(memory_, kRequestBuffer + 4, opcode);
    Poke<uint64_t>(memory_, kRequestBuffer + 8, unique);
    Poke<uint64_t>(memory_, kRequestBuffer + 16, nodeid);
    for (uint64_t off = 24; off < kFuseInHeaderSize; off += 4) {
      Poke<uint32_t>(memory_, kRequestBuffer + off, 0);  // uid, gid, pid, padding
    }
    virtio::testing::Fill(memory_, kRequestBuffer + kFuseInHeaderSize, body);
    const uint16_t used_before = ring.UsedIdx();
    const uint16_t head = ring.AddChain({{kRequestBuffer, len, false}, {kReplyBuffer, 4096, true}});
    // libvhost-user signals every call fd once when it is handed over (for
    // a front end reconnecting after a crash): drop that one first.
    const int call_fd = device.event_sources()[queue].fd;
    eventfd_t stale = 0;
    (void)::eventfd_read(call_fd, &stale);
    EXPECT_EQ(::eventfd_write(kick_fd, 1), 0);
    // virtiofsd publishes the reply, then signals the call fd: wait for both,
    // relaying calls as the VMM's event loop would.
    const int relayed_before = interrupt_.used_buffer;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while ((ring.UsedIdx() == used_before || interrupt_.used_buffer == relayed_before) &&
           std::chrono::steady_clock::now() < deadline) {
      if (WaitReadable(call_fd, POLLIN, 100)) {
        EXPECT_TRUE(device.ProcessEvent(static_cast<uint32_t>(queue), POLLIN).ok());
      }
    }
    EXPECT_EQ(interrupt_.used_buffer, relayed_before + 1);
    EXPECT_EQ(ring.UsedIdx(), static_cast<uint16_t>(used_before + 1))
        << "virtiofsd never answered on queue " << queue;
    const virtio::testing::UsedElem used = ring.Used(used_before);
    EXPECT_EQ(used.id, head);
    return used.len;
  }

  std::filesystem::path dir_;
  std::string socket_;
  pid_t pid_ = -1;
  GuestMemory memory_ = virtio::testing::MakeMemory(kMemorySize);
  FakeInterrupt interrupt_;
  std::vector<std::string> failures_;
};

struct Rings {
  explicit Rings(const GuestMemory& memory)
      : hiprio(memory, 64, GuestAddress(0x10000), GuestAddress(0x11000), GuestAddress(0x12000)),
        requests(memory, 64, GuestAddress(0x20000), GuestAddress(0x21000), GuestAddress(0x22000)) {
    queues.push_back(hiprio.MakeQueue(kFeatureVersion1, 1024));
    queues.push_back(requests.MakeQueue(kFeatureVersion1, 1024));
  }
  SplitRing hiprio;
  SplitRing requests;
  std::vector<Queue> queues;
};

TEST_F(FsVirtiofsdTest, ServesFuseThroughTheRingsWeHandItThenReportsItsDeath) {
  Result<std::unique_ptr<FsDevice>> created = CreateDevice();
  ASSERT_TRUE(created.ok()) << created.error().ToString();
  FsDevice& device = **created;
  EXPECT_EQ(device.transport_features() & kFeatureVersion1, kFeatureVersion1);

  std::vector<EventFd> notify;
  std::vector<int> kicks;
  for (int i = 0; i < 2; ++i) {
    Result<EventFd> fd = EventFd::Create();
    ASSERT_TRUE(fd.ok());
    kicks.push_back(fd->fd());
    notify.push_back(std::move(fd).value());
  }
  device.SetNotifyFds(std::move(notify));

  // First life: FUSE_INIT {major 7, minor 31, max_readahead, flags}.
  {
    Rings rings(memory_);
    ASSERT_TRUE(device.Activate(memory_, rings.queues, kFeatureVersion1, interrupt_).ok());
    const std::vector<uint8_t> init_in = {7, 0, 0, 0, 31, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0};
    const uint32_t len = Roundtrip(device, rings.requests, kicks[1], 1, kFuseInit, 1, 0, init_in);
    ASSERT_GE(len, kFuseOutHeaderSize + 8);
    EXPECT_EQ(Peek<uint32_t>(memory_, kReplyBuffer), len);      // out.len
    EXPECT_EQ(Peek<int32_t>(memory_, kReplyBuffer + 4), 0);     // out.error
    EXPECT_EQ(Peek<uint64_t>(memory_, kReplyBuffer + 8), 1u);   // out.unique
    EXPECT_EQ(Peek<uint32_t>(memory_, kReplyBuffer + 16), 7u);  // init_out.major
    device.Reset();
    EXPECT_TRUE(failures_.empty());
  }
  // Second life, as after a driver reset: fresh rings, the rings restarted,
  // and the shared directory's root answers FUSE_GETATTR.
  {
    Rings rings(memory_);
    ASSERT_TRUE(device.Activate(memory_, rings.queues, kFeatureVersion1, interrupt_).ok());
    const std::vector<uint8_t> getattr_in(16, 0);
    const uint32_t len =
        Roundtrip(device, rings.requests, kicks[1], 1, kFuseGetattr, 2, kFuseRootId, getattr_in);
    EXPECT_EQ(Peek<int32_t>(memory_, kReplyBuffer + 4), 0);                      // out.error
    EXPECT_EQ(len, kFuseOutHeaderSize + 104u);                                   // fuse_attr_out
    const uint32_t mode = Peek<uint32_t>(memory_, kReplyBuffer + 16 + 16 + 60);  // attr.mode
    EXPECT_TRUE(S_ISDIR(mode)) << std::oct << mode;
    device.Reset();
  }
  EXPECT_TRUE(failures_.empty());
  ASSERT_TRUE(VirtiofsdRunning());

  // virtiofsd dies: its socket wakes the event loop, and the callback says so.
  StopVirtiofsd();
  const EventSource socket = device.event_sources().back();
  ASSERT_EQ(socket.token, kBackendSocketToken);
  ASSERT_TRUE(WaitReadable(socket.fd, POLLIN | POLLRDHUP));
  ASSERT_TRUE(device.ProcessEvent(socket.token, EPOLLIN | EPOLLRDHUP).ok());
  ASSERT_EQ(failures_.size(), 1u);
  EXPECT_NE(failures_[0].find("closed the connection (did virtiofsd exit?)"), std::string::npos)
      << failures_[0];
  EXPECT_NE(failures_[0].find(socket_), std::string::npos) << failures_[0];
}

TEST_F(FsVirtiofsdTest, MoreRequestQueuesThanVirtiofsdServesIsAStartUpError) {
  Result<std::unique_ptr<FsDevice>> device = CreateDevice(/*request_queues=*/2);
  ASSERT_FALSE(device.ok());
  EXPECT_EQ(device.error().code(), EINVAL);
  EXPECT_NE(device.error().message().find("serves at most 2 queues"), std::string::npos)
      << device.error().message();
  // The socket closed with the failed device: virtiofsd serves one
  // connection and goes away with it, so nothing is left behind.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (VirtiofsdRunning() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_FALSE(VirtiofsdRunning());
}

}  // namespace
}  // namespace hull::vmm::virtio::fs
