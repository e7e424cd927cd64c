// Fuzzes what a vhost-user back end (virtiofsd, or anything listening on
// that socket) can send us. The input's first byte picks parameters; the
// rest is used twice:
//   1. as one reply message for the pure parsers (ParseU64Reply for a
//      request the selector picks, ParseVringBaseReply) and as a payload for
//      every decoder;
//   2. as the whole byte stream a back end sends on a socketpair while
//      UserBackend negotiates and sets a vring up. The stream then ends
//      (EOF), so a short input is a closed connection, never a timeout.
//
// Checked beyond the sanitizers: an accepted u64 reply is exactly 20 bytes
// with flags 0x5 and the right request; once the connection breaks, every
// later request fails too; nothing ever reads past the input.

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include "hull/common/check.h"
#include "hull/common/eintr.h"
#include "hull/common/unique_fd.h"
#include "hull/vmm/memory/guest_memory.h"
#include "hull/vmm/virtio/vhost/user_backend.h"
#include "hull/vmm/virtio/vhost/user_protocol.h"

namespace {

using hull::Result;
using hull::UniqueFd;
using hull::vmm::GuestAddress;
using hull::vmm::GuestMemory;
namespace vhost = hull::vmm::virtio::vhost;
namespace user = hull::vmm::virtio::vhost::user;

constexpr std::array kU64Requests = {
    user::Request::kGetFeatures, user::Request::kGetProtocolFeatures, user::Request::kGetQueueNum,
    user::Request::kSetOwner,    user::Request::kSetFeatures,         user::Request::kSetMemTable,
    user::Request::kSetVringNum, user::Request::kSetVringEnable,
};

const GuestMemory& Memory() {
  static const GuestMemory* memory = [] {
    Result<GuestMemory> created = GuestMemory::Create({{GuestAddress(0), 0x10000}});
    HULL_CHECK(created.ok());
    return new GuestMemory(std::move(created).value());
  }();
  return *memory;
}

void FuzzParsers(uint8_t selector, std::span<const uint8_t> message) {
  const user::Request request = kU64Requests[selector % kU64Requests.size()];
  Result<uint64_t> value = user::ParseU64Reply(message, request);
  if (value.ok()) {
    HULL_CHECK(message.size() == user::kHeaderSize + 8);
    const user::Header header = user::DecodeHeader(message.first<user::kHeaderSize>());
    HULL_CHECK(header.request == static_cast<uint32_t>(request));
    HULL_CHECK(header.flags == (user::kVersion | user::kFlagReply));
    HULL_CHECK(header.size == 8);
  }
  Result<user::VringState> base = user::ParseVringBaseReply(message, selector >> 4);
  if (base.ok()) HULL_CHECK(base->index == uint32_t{selector} >> 4 && base->num <= 0xffff);

  (void)user::DecodeU64(message);
  (void)user::DecodeVringState(message);
  (void)user::DecodeVringAddr(message);
  (void)user::DecodeVringFile(message);
  Result<std::vector<vhost::MemoryRegion>> table = user::DecodeMemoryTable(message);
  if (table.ok()) {
    HULL_CHECK(!table->empty() && table->size() <= user::kMaxMemoryRegions);
    HULL_CHECK(message.size() == 8 + table->size() * user::kMemoryRegionSize);
  }
}

// Runs `step` unless the connection broke; once broken, every step must fail.
template <typename Step>
void Expect(vhost::UserBackend& backend, Step&& step) {
  const bool was_broken = backend.broken();
  const bool ok = step().ok();
  if (was_broken) HULL_CHECK(!ok);
}

void FuzzStream(uint8_t selector, std::span<const uint8_t> stream) {
  // The back end's replies must fit the socket buffer in one go.
  if (stream.size() > 32 * 1024) return;
  int fds[2];
  HULL_CHECK(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
  UniqueFd frontend(fds[0]);
  UniqueFd backend_end(fds[1]);
  size_t written = 0;
  while (written < stream.size()) {
    const ssize_t n = hull::RetryOnEintr([&] {
      return ::write(backend_end.Get(), stream.data() + written, stream.size() - written);
    });
    HULL_CHECK(n > 0);
    written += static_cast<size_t>(n);
  }
  ::shutdown(backend_end.Get(), SHUT_WR);  // EOF after the input

  Result<std::unique_ptr<vhost::UserBackend>> opened = vhost::UserBackend::Open(
      std::move(frontend), {.socket_path = "fuzz.sock",
                            .name = "fuzz",
                            .program = "the fuzzer",
                            .reply_timeout = std::chrono::milliseconds(1000)});
  if (!opened.ok()) return;
  vhost::UserBackend& backend = **opened;
  const uint32_t index = selector & 1;
  Expect(backend, [&] { return backend.SetOwner(); });
  Expect(backend, [&] { return backend.GetFeatures(); });
  Expect(backend, [&] { return backend.SetFeatures(uint64_t{1} << 32); });
  Expect(backend, [&] { return backend.SetMemTable(vhost::MemoryTable(Memory())); });
  Expect(backend, [&] { return backend.SetVringNum(index, 64); });
  Expect(backend, [&] {
    return backend.SetVringAddr(index, {.desc = 0x1000, .avail = 0x2000, .used = 0x3000});
  });
  Expect(backend, [&] { return backend.SetVringEnable(index, true); });
  Expect(backend, [&] { return backend.GetVringBase(index); });
  Expect(backend, [&] { return backend.CheckConnection(); });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t selector = data[0];
  const std::span<const uint8_t> rest(data + 1, size - 1);
  FuzzParsers(selector, rest);
  FuzzStream(selector, rest);
  return 0;
}
