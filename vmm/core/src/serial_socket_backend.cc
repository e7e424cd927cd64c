#include "serial_socket_backend.h"

#include <fmt/format.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <mutex>

#include "hull/common/eintr.h"
#include "hull/common/logging.h"
#include "hull/common/unique_fd.h"
#include "hull/vmm/core/unix_listener.h"

namespace hull::vmm {
namespace {

// The newest kRingBytes of output written while no client was connected.
class OutputRing {
 public:
  // Returns how many older bytes were overwritten.
  size_t Push(std::span<const uint8_t> bytes) {
    size_t overwritten = 0;
    if (bytes.size() >= data_.size()) {
      overwritten = count_ + bytes.size() - data_.size();
      bytes = bytes.subspan(bytes.size() - data_.size());
      head_ = 0;
      count_ = 0;
    }
    for (uint8_t byte : bytes) {
      if (count_ == data_.size()) {
        head_ = (head_ + 1) % data_.size();
        --count_;
        ++overwritten;
      }
      data_[(head_ + count_) % data_.size()] = byte;
      ++count_;
    }
    return overwritten;
  }

  // The oldest contiguous run of bytes (empty when none).
  std::span<const uint8_t> Front() const {
    const size_t run = std::min(count_, data_.size() - head_);
    return std::span<const uint8_t>(data_).subspan(head_, run);
  }

  void Pop(size_t n) {
    head_ = (head_ + n) % data_.size();
    count_ -= n;
  }

  size_t size() const { return count_; }
  void Clear() { head_ = count_ = 0; }

 private:
  std::array<uint8_t, SerialBackend::kRingBytes> data_{};
  size_t head_ = 0;
  size_t count_ = 0;
};

class SocketBackend final : public SerialBackend {
 public:
  explicit SocketBackend(UnixListener listener) : listener_(std::move(listener)) {}

  ~SocketBackend() override {
    if (loop_ == nullptr) return;
    std::lock_guard lock(mutex_);
    if (client_) (void)loop_->Remove(client_.Get());
    if (listening_) (void)loop_->Remove(listener_.fd());
  }

  size_t Write(std::span<const uint8_t> bytes) override {
    std::lock_guard lock(mutex_);
    if (!client_) {
      ring_dropped_.fetch_add(ring_.Push(bytes), std::memory_order_relaxed);
      return bytes.size();
    }
    const ssize_t n = RetryOnEintr([&] {
      return ::send(client_.Get(), bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    });
    // A dead client is the event loop's to notice (EPOLLHUP); until then
    // its bytes are dropped.
    return n > 0 ? static_cast<size_t>(n) : 0;
  }

  Result<void> Attach(EventLoop& loop, InputFn on_input) override {
    if (loop_ != nullptr) return Error(EBUSY, "serial console: already attached");
    loop_ = &loop;
    on_input_ = std::move(on_input);
    return Listen();
  }

  nlohmann::json MetricsJson() const override {
    return {{"clients", clients_.load(std::memory_order_relaxed)},
            {"ring_dropped", ring_dropped_.load(std::memory_order_relaxed)}};
  }

 private:
  Result<void> Listen() {
    HULL_TRY(loop_->Add(listener_.fd(), EPOLLIN, [this](uint32_t) { OnAcceptable(); })
                 .WithContext(fmt::format("serial console {}", listener_.path())));
    listening_ = true;
    return Ok();
  }

  void OnAcceptable() {
    Result<UniqueFd> accepted = listener_.Accept();
    if (!accepted.ok()) {
      spdlog::warn("serial console: {}", accepted.error().ToString());
      return;
    }
    UniqueFd fd = std::move(accepted).value();
    if (!fd) return;
    const int raw = fd.Get();
    if (Result<void> added = loop_->Add(raw, EPOLLIN | EPOLLRDHUP,
                                        [this](uint32_t events) { OnClientReady(events); });
        !added.ok()) {
      spdlog::warn("serial console: {}", added.error().ToString());
      return;
    }
    // One client at a time: stop accepting until it leaves.
    (void)loop_->Remove(listener_.fd());
    listening_ = false;
    clients_.fetch_add(1, std::memory_order_relaxed);
    LogEvent(spdlog::level::info, "serial_client_connected", Kv("path", listener_.path()));

    std::lock_guard lock(mutex_);
    client_ = std::move(fd);
    // The ring first: what the guest printed while nobody was listening.
    while (ring_.size() > 0) {
      const std::span<const uint8_t> run = ring_.Front();
      const ssize_t n = RetryOnEintr([&] {
        return ::send(client_.Get(), run.data(), run.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      });
      if (n <= 0) break;
      ring_.Pop(static_cast<size_t>(n));
    }
    ring_dropped_.fetch_add(ring_.size(), std::memory_order_relaxed);
    ring_.Clear();
  }

  void OnClientReady(uint32_t events) {
    std::array<uint8_t, 4096> buffer;
    // Only this thread closes client_, so reading it without the lock is safe.
    const ssize_t n =
        RetryOnEintr([&] { return ::read(client_.Get(), buffer.data(), buffer.size()); });
    if (n > 0) {
      if (on_input_) on_input_(std::span<const uint8_t>(buffer.data(), static_cast<size_t>(n)));
      return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
        (events & (EPOLLHUP | EPOLLERR)) == 0) {
      return;
    }
    Disconnect();
  }

  void Disconnect() {
    {
      std::lock_guard lock(mutex_);
      (void)loop_->Remove(client_.Get());
      client_.Reset();
    }
    LogEvent(spdlog::level::info, "serial_client_disconnected", Kv("path", listener_.path()));
    if (Result<void> listening = Listen(); !listening.ok()) {
      spdlog::error("serial console: {}", listening.error().ToString());
    }
  }

  UnixListener listener_;
  EventLoop* loop_ = nullptr;
  InputFn on_input_;
  bool listening_ = false;  // event loop thread only

  std::mutex mutex_;  // client_ and ring_, shared with vCPU threads
  UniqueFd client_;
  OutputRing ring_;

  std::atomic<uint64_t> clients_{0};
  std::atomic<uint64_t> ring_dropped_{0};
};

}  // namespace

Result<std::unique_ptr<SerialBackend>> OpenSerialSocketBackend(const std::string& path) {
  HULL_ASSIGN_OR_RETURN(UnixListener listener,
                        UnixListener::Create(path, /*backlog=*/4).WithContext("serial console"));
  return std::unique_ptr<SerialBackend>(new SocketBackend(std::move(listener)));
}

}  // namespace hull::vmm
