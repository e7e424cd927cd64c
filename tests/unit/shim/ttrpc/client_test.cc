#include "hull/ttrpc/client.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "hull/ttrpc/wire.h"
#include "test_support.h"

namespace hull::ttrpc {
namespace {

using testing::RawPeer;
using testing::TestServer;
using namespace std::chrono_literals;
const std::string kService(testing::kTestService);

std::unique_ptr<Client> ConnectTo(const TestServer& t) {
  auto client = Client::Connect("unix://" + t.path);
  EXPECT_TRUE(client.ok()) << client.error().ToString();
  return client.ok() ? std::move(*client) : nullptr;
}

// A client on one end of a socket pair, the test playing the server on the other.
struct PairedClient {
  PairedClient() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    auto made = Client::FromSocket(UniqueFd(fds[0]));
    EXPECT_TRUE(made.ok());
    client = std::move(*made);
    server = std::make_unique<RawPeer>(UniqueFd(fds[1]));
  }
  std::unique_ptr<Client> client;
  std::unique_ptr<RawPeer> server;
};

std::string ResponseFrame(uint32_t stream_id, const Reply& reply) {
  return EncodeFrame(stream_id, MessageType::kResponse, 0, SerializeResponse(reply));
}

TEST(Client, RoundTripsACallThroughAServer) {
  TestServer t;
  auto client = ConnectTo(t);
  ASSERT_NE(client, nullptr);
  auto echoed = client->Call(kService, "Echo", "ping", 5s);
  ASSERT_TRUE(echoed.ok()) << echoed.error().ToString();
  EXPECT_EQ(*echoed, "ping");
  auto empty = client->Call(kService, "Echo", "", 0s);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, "");
}

TEST(Client, GetsUnimplementedForAnUnknownMethodOrService) {
  TestServer t;
  auto client = ConnectTo(t);
  auto reply = client->Invoke(kService, "Nope", "", 5s);
  ASSERT_TRUE(reply.ok()) << reply.error().ToString();
  EXPECT_EQ(reply->status().code, StatusCode::kUnimplemented);
  EXPECT_EQ(reply->status().message, "method Nope");

  auto call = client->Call("no.such.Service", "Echo", "", 5s);
  ASSERT_FALSE(call.ok());
  EXPECT_EQ(call.error().code(), EOPNOTSUPP);
  EXPECT_EQ(call.error().message(),
            "ttrpc no.such.Service/Echo: UNIMPLEMENTED: service no.such.Service");
}

TEST(Client, GetsTheCodeAHandlerFailedWith) {
  TestServer t;
  auto client = ConnectTo(t);
  auto not_found = client->Invoke(kService, "NotFound", "", 5s);
  ASSERT_TRUE(not_found.ok());
  EXPECT_EQ(not_found->status().code, StatusCode::kNotFound);
  EXPECT_EQ(not_found->status().message, "no such thing");
  auto as_error = client->Call(kService, "NotFound", "", 5s);
  ASSERT_FALSE(as_error.ok());
  EXPECT_EQ(as_error.error().code(), ENOENT);

  auto exists = client->Invoke(kService, "Exists", "", 5s);
  ASSERT_TRUE(exists.ok());
  EXPECT_EQ(exists->status().code, StatusCode::kAlreadyExists);
  EXPECT_NE(exists->status().message.find("already there"), std::string::npos);
}

TEST(Client, GetsAnswersOutOfOrderWhenTheFirstCallBlocksUntilTheSecondFinishes) {
  TestServer t;
  auto client = ConnectTo(t);
  std::atomic<bool> first_done{false};
  Result<std::string> first = Error(EINVAL, "not yet");
  std::thread blocked([&] {
    first = client->Call(kService, "Block", "", 10s);
    first_done = true;
  });
  ASSERT_TRUE(t.handlers.entered_block.WaitOpen(5s));
  // The second call, on the same connection, is answered while the first waits.
  auto second = client->Call(kService, "Echo", "second", 10s);
  ASSERT_TRUE(second.ok()) << second.error().ToString();
  EXPECT_EQ(*second, "second");
  EXPECT_FALSE(first_done.load());

  t.handlers.release.Open();
  blocked.join();
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  EXPECT_EQ(*first, "released");
}

TEST(Client, ServesManyConcurrentCallersOnOneConnection) {
  TestServer t;
  auto client = ConnectTo(t);
  std::atomic<int> wrong{0};
  std::vector<std::thread> callers;
  for (int i = 0; i < 8; ++i) {
    callers.emplace_back([&, i] {
      for (int j = 0; j < 50; ++j) {
        const std::string payload = std::to_string(i) + "/" + std::to_string(j);
        auto reply = client->Call(kService, "Echo", payload, 10s);
        if (!reply.ok() || *reply != payload) ++wrong;
      }
    });
  }
  for (auto& caller : callers) caller.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(Client, SendsTimeoutAndMetadata) {
  TestServer t;
  auto client = ConnectTo(t);
  auto with = client->Call(kService, "Context", "", 5s, {{"containerd-namespace", "k8s.io"}});
  ASSERT_TRUE(with.ok());
  EXPECT_EQ(*with, "1;containerd-namespace=k8s.io,");
  auto without = client->Call(kService, "Context", "", 0s);
  ASSERT_TRUE(without.ok());
  EXPECT_EQ(*without, "0;");
}

TEST(Client, TimesOutAndDropsTheLateAnswer) {
  TestServer t;
  auto client = ConnectTo(t);
  auto late = client->Call(kService, "Block", "", 100ms);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code(), ETIMEDOUT);
  t.handlers.release.Open();  // the Block answer now arrives for nobody
  auto next = client->Call(kService, "Echo", "next", 5s);
  ASSERT_TRUE(next.ok()) << next.error().ToString();
  EXPECT_EQ(*next, "next");
}

TEST(Client, RefusesARequestOverTheMaximumWithoutSendingIt) {
  TestServer t;
  auto client = ConnectTo(t);
  auto big = client->Call(kService, "Echo", std::string(kMaxMessageLength, 'x'), 5s);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code(), EMSGSIZE);
  EXPECT_TRUE(client->connected());
  EXPECT_TRUE(client->Call(kService, "Echo", "fine", 5s).ok());
}

TEST(Client, FailsWaitingAndLaterCallsWhenTheServerGoesAway) {
  auto t = std::make_unique<TestServer>();
  auto client = ConnectTo(*t);
  std::thread waiting([&] {
    auto reply = client->Call(kService, "Block", "", 0s);
    // Shutdown stops the handler and lets it answer before closing.
    ASSERT_TRUE(reply.ok()) << reply.error().ToString();
    EXPECT_EQ(*reply, "stopped");
  });
  ASSERT_TRUE(t->handlers.entered_block.WaitOpen(5s));
  t.reset();
  waiting.join();
  auto after = client->Call(kService, "Echo", "", 5s);
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.error().code(), EPIPE);
  EXPECT_FALSE(client->connected());
}

TEST(Client, ConnectNamesThePathItCouldNotReach) {
  auto client = Client::Connect("/nonexistent/hull/ttrpc.sock");
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.error().code(), ENOENT);
  EXPECT_NE(client.error().message().find("/nonexistent/hull/ttrpc.sock"), std::string::npos);
}

TEST(Client, MatchesResponsesToCallsByStreamIdAndDropsStrangers) {
  PairedClient p;
  std::string first_reply, second_reply;
  const auto text = [](const Result<std::string>& r) { return r.ok() ? *r : r.error().ToString(); };
  std::thread first([&] { first_reply = text(p.client->Call("s", "A", "", 5s)); });
  auto request1 = p.server->ReadFrame();
  ASSERT_TRUE(request1.has_value());
  std::thread second([&] { second_reply = text(p.client->Call("s", "B", "", 5s)); });
  auto request2 = p.server->ReadFrame();
  ASSERT_TRUE(request2.has_value());
  EXPECT_EQ(request1->header.stream_id % 2, 1u);
  EXPECT_EQ(request2->header.stream_id, request1->header.stream_id + 2);
  EXPECT_EQ(request1->header.type, MessageType::kRequest);

  // An answer for no call, stream data, then the answers in reverse order.
  ASSERT_TRUE(p.server->Send(ResponseFrame(99, Reply(std::string("stranger")))));
  ASSERT_TRUE(p.server->Send(EncodeFrame(request1->header.stream_id, MessageType::kData, 0, "d")));
  ASSERT_TRUE(p.server->Send(ResponseFrame(request2->header.stream_id, Reply(std::string("b")))));
  ASSERT_TRUE(p.server->Send(ResponseFrame(request1->header.stream_id, Reply(std::string("a")))));
  first.join();
  second.join();
  EXPECT_EQ(first_reply, "a");
  EXPECT_EQ(second_reply, "b");
}

TEST(Client, TurnsAnOverlongResponseIntoResourceExhausted) {
  PairedClient p;
  std::thread server([&] {
    auto request = p.server->ReadFrame();
    ASSERT_TRUE(request.has_value());
    const auto header = EncodeFrameHeader(
        FrameHeader{kMaxMessageLength + 1, request->header.stream_id, MessageType::kResponse, 0});
    ASSERT_TRUE(p.server->Send(std::string(header.begin(), header.end())));
    ASSERT_TRUE(p.server->Send(std::string(kMaxMessageLength + 1, 'x')));
    auto next = p.server->ReadFrame();
    ASSERT_TRUE(next.has_value());
    ASSERT_TRUE(p.server->Send(ResponseFrame(next->header.stream_id, Reply(std::string("ok")))));
  });
  auto reply = p.client->Invoke("s", "Big", "", 5s);
  ASSERT_TRUE(reply.ok()) << reply.error().ToString();
  EXPECT_EQ(reply->status().code, StatusCode::kResourceExhausted);
  auto next = p.client->Call("s", "Small", "", 5s);
  server.join();
  ASSERT_TRUE(next.ok()) << next.error().ToString();
  EXPECT_EQ(*next, "ok");
}

TEST(Client, GivesUpOnAServerThatSpeaksSomethingElse) {
  PairedClient p;
  std::thread server([&] {
    ASSERT_TRUE(p.server->ReadFrame().has_value());
    ASSERT_TRUE(p.server->Send("HTTP/1.1 400 Bad Request\r\n\r\n"));
  });
  auto reply = p.client->Call("s", "A", "", 5s);
  server.join();
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().code(), EPROTO);
  EXPECT_FALSE(p.client->connected());
}

}  // namespace
}  // namespace hull::ttrpc
