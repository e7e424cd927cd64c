#include "hull/vmm/core/serial_backend.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "hull/vmm/devices/legacy/serial.h"
#include "socket_test_support.h"

namespace hull::vmm {
namespace {

using testing::LineClient;
using testing::TempDir;

std::span<const uint8_t> Bytes(std::string_view text) {
  // SAFETY: viewing chars as bytes.
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

struct Pipe {
  Pipe() {
    int fds[2];
    EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0);
    read_end.Reset(fds[0]);
    write_end.Reset(fds[1]);
  }
  // Everything readable now.
  std::string Drain() const {
    std::string out;
    const int flags = fcntl(read_end.Get(), F_GETFL);
    fcntl(read_end.Get(), F_SETFL, flags | O_NONBLOCK);
    char chunk[65536];
    ssize_t n;
    while ((n = read(read_end.Get(), chunk, sizeof(chunk))) > 0) out.append(chunk, size_t(n));
    fcntl(read_end.Get(), F_SETFL, flags);
    return out;
  }
  UniqueFd read_end, write_end;
};

// Points fd `target` (0 or 1) at `replacement` for its lifetime.
class RedirectFd {
 public:
  RedirectFd(int target, int replacement) : target_(target), saved_(dup(target)) {
    EXPECT_EQ(dup2(replacement, target), target);
  }
  ~RedirectFd() { dup2(saved_.Get(), target_); }

 private:
  int target_;
  UniqueFd saved_;
};

std::unique_ptr<SerialBackend> Open(const SerialConfig& config) {
  Result<std::unique_ptr<SerialBackend>> backend = SerialBackend::Open(config);
  EXPECT_TRUE(backend.ok()) << backend.error().ToString();
  return backend.ok() ? std::move(backend).value() : nullptr;
}

std::unique_ptr<EventLoop> MakeLoop() {
  Result<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
  EXPECT_TRUE(loop.ok());
  return std::move(loop).value();
}

TEST(StdoutSerialBackend, WritesToAPipeAndDropsInsteadOfBlockingWhenItIsFull) {
  Pipe pipe;
  std::unique_ptr<SerialBackend> backend;
  {
    RedirectFd stdout_to_pipe(STDOUT_FILENO, pipe.write_end.Get());
    backend = Open({SerialKind::kStdout, ""});
  }
  ASSERT_NE(backend, nullptr);
  EXPECT_EQ(backend->Write(Bytes("console\n")), 8u);
  EXPECT_EQ(pipe.Drain(), "console\n");

  // Nobody reads: the pipe fills, and writes must return rather than block.
  const std::string block(4096, 'x');
  size_t taken = 0;
  for (int i = 0; i < 1000; ++i) taken += backend->Write(Bytes(block));
  EXPECT_LT(taken, 1000u * block.size());
  EXPECT_EQ(backend->Write(Bytes("lost")), 0u);
  EXPECT_EQ(fcntl(pipe.write_end.Get(), F_GETFL) & O_NONBLOCK, 0)
      << "the shared description (our parent's stdout) stays blocking";
}

TEST(StdoutSerialBackend, ServesTheSerialDeviceAndCountsDrops) {
  Pipe pipe;
  std::unique_ptr<SerialBackend> backend;
  {
    RedirectFd stdout_to_pipe(STDOUT_FILENO, pipe.write_end.Get());
    backend = Open({SerialKind::kStdout, ""});
  }
  SerialMetrics metrics;
  class NoIrq final : public IrqLine {
    Result<void> Trigger() override { return Ok(); }
  };
  Serial serial(std::make_unique<NoIrq>(), backend.get(), metrics);
  for (char c : std::string("ok\n")) {
    const uint8_t byte = static_cast<uint8_t>(c);
    serial.Write(0, std::span<const uint8_t>(&byte, 1));
  }
  EXPECT_EQ(pipe.Drain(), "ok\n");
  EXPECT_EQ(metrics.bytes_out.load(), 3u);
  const uint8_t byte = 'z';
  const std::string block(4096, 'x');
  while (backend->Write(Bytes(block)) > 0) {
  }
  serial.Write(0, std::span<const uint8_t>(&byte, 1));
  EXPECT_EQ(metrics.out_dropped.load(), 1u);
}

TEST(StdoutSerialBackend, ReadsInputFromStdinUntilItCloses) {
  Pipe out, in;
  auto loop = MakeLoop();  // outlives the backend
  std::unique_ptr<SerialBackend> backend;
  {
    RedirectFd stdout_to_pipe(STDOUT_FILENO, out.write_end.Get());
    backend = Open({SerialKind::kStdout, ""});
  }
  RedirectFd stdin_from_pipe(STDIN_FILENO, in.read_end.Get());
  in.read_end.Reset();
  std::string input;
  ASSERT_TRUE(backend
                  ->Attach(*loop,
                           [&](std::span<const uint8_t> bytes) {
                             input.append(bytes.begin(), bytes.end());
                           })
                  .ok());
  EXPECT_EQ(loop->watched_count(), 1u);
  ASSERT_EQ(write(in.write_end.Get(), "ls\n", 3), 3);
  ASSERT_TRUE(loop->RunOnce(1000).ok());
  EXPECT_EQ(input, "ls\n");
  in.write_end.Reset();
  ASSERT_TRUE(loop->RunOnce(1000).ok());
  EXPECT_EQ(loop->watched_count(), 0u) << "stdin closed: the console goes on without input";
}

TEST(StdoutSerialBackend, GoesWithoutInputWhenStdinCannotBePolled) {
  Pipe out;
  UniqueFd null(open("/dev/null", O_RDONLY | O_CLOEXEC));
  RedirectFd stdin_from_null(STDIN_FILENO, null.Get());
  auto loop = MakeLoop();
  std::unique_ptr<SerialBackend> backend;
  {
    RedirectFd stdout_to_pipe(STDOUT_FILENO, out.write_end.Get());
    backend = Open({SerialKind::kStdout, ""});
  }
  EXPECT_TRUE(backend->Attach(*loop, [](std::span<const uint8_t>) {}).ok());
  EXPECT_EQ(loop->watched_count(), 0u);
}

TEST(FileSerialBackend, AppendsToTheFileAndCreatesItPrivate) {
  TempDir dir;
  const std::string path = dir.File("console.log");
  std::unique_ptr<SerialBackend> backend = Open({SerialKind::kFile, path});
  ASSERT_NE(backend, nullptr);
  EXPECT_EQ(backend->Write(Bytes("first\n")), 6u);
  backend = Open({SerialKind::kFile, path});
  EXPECT_EQ(backend->Write(Bytes("second\n")), 7u);
  std::stringstream content;
  content << std::ifstream(path).rdbuf();
  EXPECT_EQ(content.str(), "first\nsecond\n");
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0077, 0u) << "console output may hold secrets";
}

TEST(FileSerialBackend, ErrorsNameThePath) {
  Result<std::unique_ptr<SerialBackend>> backend =
      SerialBackend::Open({SerialKind::kFile, "/nonexistent/dir/console.log"});
  ASSERT_FALSE(backend.ok());
  EXPECT_EQ(backend.error().code(), ENOENT);
  EXPECT_NE(backend.error().message().find("/nonexistent/dir/console.log"), std::string::npos);
}

TEST(FileSerialBackend, RefusesAFifoWithoutAReaderInsteadOfHanging) {
  TempDir dir;
  const std::string path = dir.File("fifo");
  ASSERT_EQ(mkfifo(path.c_str(), 0600), 0);
  Result<std::unique_ptr<SerialBackend>> backend = SerialBackend::Open({SerialKind::kFile, path});
  ASSERT_FALSE(backend.ok());
  EXPECT_EQ(backend.error().code(), ENXIO);
}

TEST(NoneSerialBackend, TakesNothing) {
  auto loop = MakeLoop();
  std::unique_ptr<SerialBackend> backend = Open({SerialKind::kNone, ""});
  EXPECT_EQ(backend->Write(Bytes("gone")), 0u);
  EXPECT_TRUE(backend->Attach(*loop, [](std::span<const uint8_t>) {}).ok());
  EXPECT_EQ(loop->watched_count(), 0u);
}

class UnixSerialBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backend_ = Open({SerialKind::kUnix, path_});
    ASSERT_NE(backend_, nullptr);
    ASSERT_TRUE(backend_
                    ->Attach(*loop_,
                             [this](std::span<const uint8_t> bytes) {
                               input_.append(bytes.begin(), bytes.end());
                             })
                    .ok());
  }

  TempDir dir_;
  std::string path_ = dir_.File("console.sock");
  std::unique_ptr<EventLoop> loop_ = MakeLoop();
  std::unique_ptr<SerialBackend> backend_;
  std::string input_;
};

TEST_F(UnixSerialBackendTest, KeepsOutputForTheFirstClientAndThenStreamsToIt) {
  EXPECT_EQ(backend_->Write(Bytes("early boot\n")), 11u) << "kept in the ring";
  LineClient client(path_);
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(loop_->RunOnce(1000).ok());  // accept
  EXPECT_EQ(client.ReadLine(), "early boot");
  EXPECT_EQ(backend_->Write(Bytes("login:\n")), 7u);
  EXPECT_EQ(client.ReadLine(), "login:");
}

TEST_F(UnixSerialBackendTest, TheClientsBytesAreTheConsolesInput) {
  LineClient client(path_);
  ASSERT_TRUE(loop_->RunOnce(1000).ok());
  ASSERT_TRUE(client.Send("root\n"));
  ASSERT_TRUE(loop_->RunOnce(1000).ok());
  EXPECT_EQ(input_, "root\n");
}

TEST_F(UnixSerialBackendTest, ServesOneClientAtATime) {
  auto first = std::make_unique<LineClient>(path_);
  ASSERT_TRUE(loop_->RunOnce(1000).ok());
  LineClient second(path_);  // waits in the backlog
  ASSERT_TRUE(second.connected());
  ASSERT_TRUE(loop_->RunOnce(50).ok());
  EXPECT_EQ(backend_->Write(Bytes("for first\n")), 10u);
  EXPECT_EQ(first->ReadLine(), "for first");
  EXPECT_FALSE(second.ReadLine(std::chrono::milliseconds(50)).has_value());

  first.reset();
  ASSERT_TRUE(loop_->RunOnce(1000).ok());  // first's hang-up
  ASSERT_TRUE(loop_->RunOnce(1000).ok());  // second accepted
  EXPECT_EQ(backend_->Write(Bytes("for second\n")), 11u);
  EXPECT_EQ(second.ReadLine(), "for second");
  EXPECT_EQ(backend_->MetricsJson()["clients"], 2);
}

TEST_F(UnixSerialBackendTest, TheRingKeepsTheNewestBytes) {
  std::string output;
  for (size_t i = 0; i < SerialBackend::kRingBytes + 10; ++i) {
    output.push_back(static_cast<char>('a' + i % 26));
  }
  for (size_t i = 0; i < output.size(); i += 1000) {
    backend_->Write(Bytes(std::string_view(output).substr(i, 1000)));
  }
  LineClient client(path_);
  ASSERT_TRUE(loop_->RunOnce(1000).ok());
  ASSERT_TRUE(backend_->Write(Bytes("\n")) == 1u);
  std::optional<std::string> line = client.ReadLine();
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ(*line, output.substr(10));
  EXPECT_EQ(backend_->MetricsJson()["ring_dropped"], 10);
}

TEST_F(UnixSerialBackendTest, CreatesThePathPrivateAndRemovesIt) {
  struct stat st {};
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  backend_.reset();
  EXPECT_NE(stat(path_.c_str(), &st), 0);
}

}  // namespace
}  // namespace hull::vmm
