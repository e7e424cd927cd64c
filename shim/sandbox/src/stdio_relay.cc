#include "hull/sandbox/stdio_relay.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <cerrno>

#include "hull/common/eintr.h"

namespace hull::sandbox {
namespace {

bool WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n =
        RetryOnEintr([&] { return ::write(fd, data.data() + done, data.size() - done); });
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

OutputRelay::OutputRelay(v1::Agent::Stub& agent, const std::string& container_id,
                         const std::string& exec_id, v1::ReadOutputRequest::Stream stream, int fd) {
  v1::ReadOutputRequest request;
  request.set_container_id(container_id);
  request.set_exec_id(exec_id);
  request.set_stream(stream);
  auto reader = agent.ReadOutput(&context_, request);
  thread_ = std::thread([reader = std::move(reader), fd]() mutable {
    v1::OutputChunk chunk;
    bool writable = true;
    // Keep reading after a write error (a closed pipe): the process must
    // not block on output nobody takes.
    while (reader->Read(&chunk)) {
      if (writable) writable = WriteAll(fd, chunk.data());
    }
    (void)reader->Finish();
  });
}

OutputRelay::~OutputRelay() {
  if (thread_.joinable()) {
    context_.TryCancel();
    thread_.join();
  }
}

void OutputRelay::Join() {
  if (thread_.joinable()) thread_.join();
}

InputRelay::InputRelay(v1::Agent::Stub& agent, const std::string& container_id,
                       const std::string& exec_id, int fd)
    : stop_(::eventfd(0, EFD_CLOEXEC)) {
  thread_ = std::thread([this, &agent, container_id, exec_id, fd] {
    v1::WriteStdinResponse response;
    auto writer = agent.WriteStdin(&context_, &response);
    v1::StdinChunk chunk;
    chunk.set_container_id(container_id);
    chunk.set_exec_id(exec_id);
    std::array<char, 64 * 1024> buffer{};
    for (;;) {
      std::array<pollfd, 2> fds{{{fd, POLLIN, 0}, {stop_.Get(), POLLIN, 0}}};
      if (RetryOnEintr([&] { return ::poll(fds.data(), fds.size(), -1); }) < 0) break;
      if (fds[1].revents != 0) break;  // stopped: leave the stdin open
      const ssize_t n = RetryOnEintr([&] { return ::read(fd, buffer.data(), buffer.size()); });
      if (n <= 0) {
        chunk.clear_data();
        chunk.set_close_stdin(true);
        (void)writer->Write(chunk);
        break;
      }
      chunk.set_data(buffer.data(), static_cast<size_t>(n));
      if (!writer->Write(chunk)) break;
      chunk.clear_container_id();
      chunk.clear_exec_id();
    }
    writer->WritesDone();
    (void)writer->Finish();
  });
}

void InputRelay::Stop() {
  if (!thread_.joinable()) return;
  const uint64_t one = 1;
  (void)!::write(stop_.Get(), &one, sizeof(one));
  thread_.join();
}

InputRelay::~InputRelay() { Stop(); }

}  // namespace hull::sandbox
