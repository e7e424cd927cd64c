#include "hull/vmm/virtio/vhost/user_backend.h"

#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "hull/common/event_fd.h"
#include "hull/vmm/memory/guest_memory.h"
#include "vhost/fake_user_backend.h"

namespace hull::vmm::virtio::vhost {
namespace {

using namespace testing;  // NOLINT(google-build-using-namespace): the fake's constants
using std::chrono::milliseconds;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

UserBackendOptions Options(milliseconds timeout = milliseconds(2000)) {
  return {.socket_path = "/fake.sock",
          .name = "fake (test)",
          .program = "the fake",
          .reply_timeout = timeout};
}

// Connects a UserBackend to `fake` and returns it (asserting success).
std::unique_ptr<UserBackend> Connected(FakeUserBackend& fake,
                                       milliseconds timeout = milliseconds(2000)) {
  Result<std::unique_ptr<UserBackend>> backend = UserBackend::Open(fake.Start(), Options(timeout));
  HULL_CHECK(backend.ok());
  return std::move(backend).value();
}

TEST(VhostUserBackend, NegotiatesProtocolFeaturesItImplements) {
  FakeUserBackend fake;
  std::unique_ptr<UserBackend> backend = Connected(fake);
  EXPECT_EQ(fake.Requests(4), (std::vector<uint32_t>{kGetFeatures, kGetProtocolFeatures,
                                                     kSetProtocolFeatures, kGetQueueNum}));
  // libvhost-user offers much more; we take REPLY_ACK and MQ only.
  EXPECT_EQ(fake.negotiated_protocol_features(), kReplyAck | kMq);
  EXPECT_EQ(backend->protocol_features(), kReplyAck | kMq);
  EXPECT_EQ(backend->offered_features(), kLibvhostUserFeatures);
  EXPECT_EQ(backend->queue_num(), 2u);
  EXPECT_EQ(backend->name(), "vhost-user fake (test)");
}

TEST(VhostUserBackend, SpeaksPlainVhostUserToABackEndWithoutProtocolFeatures) {
  FakeUserBackend fake(uint64_t{1} << 32, 0);
  std::unique_ptr<UserBackend> backend = Connected(fake);
  EXPECT_EQ(fake.Requests(1), (std::vector<uint32_t>{kGetFeatures}));
  EXPECT_FALSE(backend->queue_num().has_value());
  fake.Clear();
  // No acks asked for, no bit 30 added, and no SET_VRING_ENABLE (rings
  // start enabled without protocol features).
  ASSERT_TRUE(backend->SetOwner().ok());
  ASSERT_TRUE(backend->SetFeatures(uint64_t{1} << 32).ok());
  ASSERT_TRUE(backend->SetVringEnable(0, true).ok());
  ASSERT_EQ(fake.Requests(2), (std::vector<uint32_t>{kSetOwner, kSetFeatures}));
  EXPECT_EQ(fake.Find(kSetOwner)[0].flags, 0x1u);
  EXPECT_EQ(GetU64(fake.Find(kSetFeatures)[0].payload, 0), uint64_t{1} << 32);
}

TEST(VhostUserBackend, AsksForAnAckOnEverySetRequest) {
  FakeUserBackend fake;
  std::unique_ptr<UserBackend> backend = Connected(fake);
  fake.Clear();
  ASSERT_TRUE(backend->SetOwner().ok());
  ASSERT_TRUE(backend->SetVringNum(0, 256).ok());
  for (const Message& m : fake.Find(kSetOwner)) EXPECT_EQ(m.flags, 0x9u);
  for (const Message& m : fake.Find(kSetVringNum)) EXPECT_EQ(m.flags, 0x9u);
}

TEST(VhostUserBackend, KeepsTheProtocolFeaturesBitInSetFeatures) {
  FakeUserBackend fake;
  std::unique_ptr<UserBackend> backend = Connected(fake);
  ASSERT_TRUE(backend->SetFeatures(uint64_t{1} << 32).ok());
  const std::vector<Message> sent = fake.Find(kSetFeatures);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(GetU64(sent[0].payload, 0), (uint64_t{1} << 32) | kProtocolFeaturesBit);
}

TEST(VhostUserBackend, SendsTheMemoryTableWithOneFdPerRegion) {
  Result<GuestMemory> memory =
      GuestMemory::Create({{GuestAddress(0), 0x100000}, {GuestAddress(0x200000), 0x100000}});
  ASSERT_TRUE(memory.ok());
  FakeUserBackend fake;
  std::unique_ptr<UserBackend> backend = Connected(fake);
  ASSERT_TRUE(backend->SetMemTable(MemoryTable(*memory)).ok());
  const std::vector<Message> sent = fake.Find(kSetMemTable);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].fd_count, 2u);
  const std::vector<MemoryRegion> table = user::DecodeMemoryTable(sent[0].payload).value();
  ASSERT_EQ(table.size(), 2u);
  EXPECT_EQ(table[1].guest_phys_addr, 0x200000u);
  EXPECT_EQ(table[1].memory_size, 0x100000u);
  EXPECT_EQ(table[1].userspace_addr,
            reinterpret_cast<uintptr_t>(memory->regions()[1].host_address()));
}

TEST(VhostUserBackend, RefusesMoreThanEightRegionsOrOneWithoutAnFd) {
  FakeUserBackend fake;
  std::unique_ptr<UserBackend> backend = Connected(fake);
  EXPECT_EQ(backend->SetMemTable(std::vector<MemoryRegion>(9, {.memory_size = 1, .fd = 0}))
                .error()
                .code(),
            EINVAL);
  EXPECT_EQ(backend->SetMemTable(std::vector<MemoryRegion>(1, {.memory_size = 1, .fd = -1}))
                .error()
                .code(),
            EINVAL);
  EXPECT_TRUE(fake.Find(kSetMemTable).empty());
}

TEST(VhostUserBackend, SetsUpAVring) {
  FakeUserBackend fake;
  std::unique_ptr<UserBackend> backend = Connected(fake);
  Result<EventFd> kick = EventFd::Create();
  Result<EventFd> call = EventFd::Create();
  ASSERT_TRUE(kick.ok() && call.ok());
  fake.Clear();
  ASSERT_TRUE(backend->SetVringNum(1, 128).ok());
  ASSERT_TRUE(backend->SetVringBase(1, 0).ok());
  ASSERT_TRUE(backend->SetVringAddr(1, {.desc = 0x1000, .avail = 0x2000, .used = 0x3000}).ok());
  ASSERT_TRUE(backend->SetVringCall(1, call->fd()).ok());
  ASSERT_TRUE(backend->SetVringKick(1, kick->fd()).ok());
  ASSERT_TRUE(backend->SetVringEnable(1, true).ok());
  EXPECT_EQ(fake.Requests(6),
            (std::vector<uint32_t>{kSetVringNum, kSetVringBase, kSetVringAddr, kSetVringCall,
                                   kSetVringKick, kSetVringEnable}));
  EXPECT_EQ(user::DecodeVringState(fake.Find(kSetVringNum)[0].payload).value(),
            (user::VringState{1, 128}));
  const user::VringAddr addr = user::DecodeVringAddr(fake.Find(kSetVringAddr)[0].payload).value();
  EXPECT_EQ(addr.desc, 0x1000u);
  EXPECT_EQ(addr.avail, 0x2000u);
  EXPECT_EQ(addr.used, 0x3000u);
  for (uint32_t request : {kSetVringKick, kSetVringCall}) {
    const Message m = fake.Find(request)[0];
    EXPECT_EQ(m.fd_count, 1u);
    EXPECT_EQ(user::DecodeVringFile(m.payload).value(), (user::VringFile{1, true}));
  }
  EXPECT_EQ(user::DecodeVringState(fake.Find(kSetVringEnable)[0].payload).value(),
            (user::VringState{1, 1}));
}

TEST(VhostUserBackend, SendsNoFdFlagWithoutAnFd) {
  FakeUserBackend fake;
  std::unique_ptr<UserBackend> backend = Connected(fake);
  ASSERT_TRUE(backend->SetVringCall(0, -1).ok());
  const Message m = fake.Find(kSetVringCall)[0];
  EXPECT_EQ(m.fd_count, 0u);
  EXPECT_EQ(user::DecodeVringFile(m.payload).value(), (user::VringFile{0, false}));
  EXPECT_EQ(backend->SetVringKick(256, -1).error().code(), EINVAL);
}

TEST(VhostUserBackend, GetsTheVringBase) {
  FakeUserBackend fake;
  fake.set_handler([](const Message& m) -> std::optional<Action> {
    if (m.request != kGetVringBase) return std::nullopt;
    std::vector<uint8_t> payload;
    PutU32(payload, GetU32(m.payload, 0));
    PutU32(payload, 77);
    return Action{RawMessage(kGetVringBase, 0x5, payload)};
  });
  std::unique_ptr<UserBackend> backend = Connected(fake);
  EXPECT_EQ(backend->GetVringBase(1).value(), 77u);
}

TEST(VhostUserBackend, ReportsARefusalWithoutBreakingTheConnection) {
  FakeUserBackend fake;
  fake.set_handler([](const Message& m) -> std::optional<Action> {
    if (m.request != kSetVringNum) return std::nullopt;
    return Action{U64Reply(kSetVringNum, 1)};
  });
  std::unique_ptr<UserBackend> backend = Connected(fake);
  Result<void> refused = backend->SetVringNum(0, 4096);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), EIO);
  EXPECT_TRUE(Contains(refused.error().message(), "refused VHOST_USER_SET_VRING_NUM"));
  EXPECT_FALSE(backend->broken());
  EXPECT_TRUE(backend->SetOwner().ok());
}

// Answers every `request` with `bytes` (and `fds`), everything else as usual.
FakeUserBackend::Handler AnswerWith(uint32_t request, std::vector<uint8_t> bytes,
                                    std::vector<int> fds = {}, bool hang_up = false) {
  return [=](const Message& m) -> std::optional<Action> {
    if (m.request != request) return std::nullopt;
    return Action{bytes, fds, hang_up};
  };
}

struct HostileCase {
  const char* name;
  std::vector<uint8_t> reply;
  int code;
  const char* says;
};

TEST(VhostUserBackend, TreatsHostileRepliesAsErrorsThatBreakTheConnection) {
  const std::vector<HostileCase> cases = {
      {"wrong request", U64Reply(kGetQueueNum, 1), EPROTO, "VHOST_USER_GET_QUEUE_NUM message"},
      {"missing reply flag", RawMessage(kGetFeatures, 0x1, std::vector<uint8_t>(8)), EPROTO,
       "reply flag"},
      {"wrong version", RawMessage(kGetFeatures, 0x6, std::vector<uint8_t>(8)), EPROTO,
       "version 2"},
      {"short size", RawMessage(kGetFeatures, 0x5, std::vector<uint8_t>(4)), EPROTO,
       "4-byte payload"},
      {"oversize", RawMessage(kGetFeatures, 0x5, std::vector<uint8_t>(4000)), EPROTO,
       "4000-byte payload"},
      {"truncated then closed", {1, 0, 0}, EPIPE, "closed the connection (did the fake exit?)"},
  };
  for (const HostileCase& c : cases) {
    // The handshake's GET_FEATURES is answered normally; the next is not.
    int calls = 0;
    FakeUserBackend fake;
    fake.set_handler([&, c](const Message& m) -> std::optional<Action> {
      if (m.request != kGetFeatures || calls++ == 0) return std::nullopt;
      return Action{c.reply, {}, c.code == EPIPE};
    });
    std::unique_ptr<UserBackend> backend = Connected(fake);
    Result<uint64_t> features = backend->GetFeatures();
    ASSERT_FALSE(features.ok()) << c.name;
    EXPECT_EQ(features.error().code(), c.code) << c.name;
    EXPECT_TRUE(Contains(features.error().message(), c.says))
        << c.name << ": " << features.error().message();
    EXPECT_TRUE(Contains(features.error().message(), "fake (test)")) << c.name;
    // Out of step with the stream now: every later request fails at once.
    EXPECT_TRUE(backend->broken()) << c.name;
    Result<void> later = backend->SetOwner();
    ASSERT_FALSE(later.ok()) << c.name;
    EXPECT_EQ(later.error().code(), c.code) << c.name;
  }
}

TEST(VhostUserBackend, RefusesAReplyCarryingFileDescriptorsAndClosesThem) {
  Result<EventFd> smuggled = EventFd::Create();
  ASSERT_TRUE(smuggled.ok());
  FakeUserBackend fake;
  fake.set_handler(AnswerWith(kGetQueueNum, U64Reply(kGetQueueNum, 2), {smuggled->fd()}));
  Result<std::unique_ptr<UserBackend>> backend = UserBackend::Open(fake.Start(), Options());
  ASSERT_FALSE(backend.ok());
  EXPECT_EQ(backend.error().code(), EPROTO);
  EXPECT_TRUE(Contains(backend.error().message(), "sent file descriptors"));
}

TEST(VhostUserBackend, TimesOutOnASilentBackEnd) {
  FakeUserBackend fake;
  fake.set_handler(AnswerWith(kGetVringBase, {}));  // never answers
  std::unique_ptr<UserBackend> backend = Connected(fake, milliseconds(200));
  const auto start = std::chrono::steady_clock::now();
  Result<uint32_t> base = backend->GetVringBase(0);
  const auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(base.ok());
  EXPECT_EQ(base.error().code(), ETIMEDOUT);
  EXPECT_TRUE(Contains(base.error().message(), "did not answer VHOST_USER_GET_VRING_BASE"))
      << base.error().message();
  EXPECT_GE(waited, milliseconds(150));
  EXPECT_LT(waited, milliseconds(2000));
  EXPECT_TRUE(backend->broken());
}

TEST(VhostUserBackend, ReportsABackEndThatHangsUpMidRequest) {
  FakeUserBackend fake;
  fake.set_handler(AnswerWith(kSetMemTable, {}, {}, /*hang_up=*/true));
  std::unique_ptr<UserBackend> backend = Connected(fake);
  Result<GuestMemory> memory = GuestMemory::Create({{GuestAddress(0), 0x10000}});
  ASSERT_TRUE(memory.ok());
  Result<void> sent = backend->SetMemTable(MemoryTable(*memory));
  ASSERT_FALSE(sent.ok());
  EXPECT_EQ(sent.error().code(), EPIPE);
  EXPECT_EQ(sent.error().message(),
            "vhost-user back end fake (test) at /fake.sock closed the connection (did the fake "
            "exit?)");
}

TEST(VhostUserBackend, SendingToAClosedBackEndIsAnErrorNotASignal) {
  FakeUserBackend fake;
  std::unique_ptr<UserBackend> backend = Connected(fake);
  fake.Stop();
  // Twice: the first write may still land in the socket buffer.
  Result<void> first = backend->SetOwner();
  Result<void> second = backend->SetOwner();
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code(), EPIPE);
  EXPECT_TRUE(Contains(second.error().message(), "closed the connection"));
}

TEST(VhostUserBackend, EvenANoOpFailsOnceTheConnectionBroke) {
  // Found by the fuzzer: without protocol features SET_VRING_ENABLE sends
  // nothing, but a broken back end must not look healthy.
  FakeUserBackend fake(uint64_t{1} << 32, 0);
  std::unique_ptr<UserBackend> backend = Connected(fake);
  fake.Stop();
  EXPECT_FALSE(backend->CheckConnection().ok());
  Result<void> enabled = backend->SetVringEnable(0, true);
  ASSERT_FALSE(enabled.ok());
  EXPECT_EQ(enabled.error().code(), EPIPE);
}

TEST(VhostUserBackend, CheckConnectionNoticesAHangUp) {
  FakeUserBackend fake;
  std::unique_ptr<UserBackend> backend = Connected(fake);
  EXPECT_TRUE(backend->CheckConnection().ok());
  fake.Stop();
  Result<void> checked = backend->CheckConnection();
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.error().code(), EPIPE);
  EXPECT_TRUE(backend->broken());
}

TEST(VhostUserBackend, CheckConnectionRefusesUnsolicitedMessages) {
  FakeUserBackend fake;
  // Answers SET_OWNER's ack, then speaks again unasked.
  std::vector<uint8_t> twice = U64Reply(kSetOwner, 0);
  const std::vector<uint8_t> extra = U64Reply(kGetFeatures, 0);
  twice.insert(twice.end(), extra.begin(), extra.end());
  fake.set_handler(AnswerWith(kSetOwner, twice));
  std::unique_ptr<UserBackend> backend = Connected(fake);
  ASSERT_TRUE(backend->SetOwner().ok());
  Result<void> checked = backend->CheckConnection();
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.error().code(), EPROTO);
  EXPECT_TRUE(Contains(checked.error().message(), "nobody asked for"));
}

TEST(VhostUserBackend, ConnectNamesTheSocketAndTheProgram) {
  Result<std::unique_ptr<UserBackend>> backend = UserBackend::Connect(
      {.socket_path = "/nonexistent/hull-test.sock", .name = "x", .program = "virtiofsd"});
  ASSERT_FALSE(backend.ok());
  EXPECT_EQ(backend.error().code(), ENOENT);
  EXPECT_TRUE(Contains(backend.error().message(), "/nonexistent/hull-test.sock"));
  EXPECT_TRUE(Contains(backend.error().message(), "is virtiofsd running"));
  Result<std::unique_ptr<UserBackend>> too_long =
      UserBackend::Connect({.socket_path = std::string(200, 'a')});
  EXPECT_EQ(too_long.error().code(), ENAMETOOLONG);
}

TEST(VhostUserBackend, ConnectsToAListeningUnixSocket) {
  char dir_template[] = "/tmp/hull-vhost-test-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const std::string path = std::string(dir_template) + "/backend.sock";
  UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.c_str(), path.size());
  ASSERT_EQ(::bind(listener.Get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(::listen(listener.Get(), 1), 0);
  // Answers the handshake's GET_FEATURES (no protocol features), then waits
  // for the front end to go.
  std::thread server([&] {
    UniqueFd conn(::accept4(listener.Get(), nullptr, nullptr, SOCK_CLOEXEC));
    uint8_t header[12];
    ASSERT_EQ(::recv(conn.Get(), header, sizeof(header), MSG_WAITALL), 12);
    const std::vector<uint8_t> reply = U64Reply(kGetFeatures, uint64_t{1} << 32);
    ASSERT_EQ(::send(conn.Get(), reply.data(), reply.size(), MSG_NOSIGNAL), 20);
    ASSERT_EQ(::recv(conn.Get(), header, 1, 0), 0);
  });
  {
    Result<std::unique_ptr<UserBackend>> backend = UserBackend::Connect({.socket_path = path});
    ASSERT_TRUE(backend.ok()) << backend.error().ToString();
    EXPECT_EQ((*backend)->offered_features(), uint64_t{1} << 32);
  }
  server.join();
  std::filesystem::remove_all(dir_template);
}

}  // namespace
}  // namespace hull::vmm::virtio::vhost
