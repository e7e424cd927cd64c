// The server as a misbehaving or careful client sees it, frame by frame.

#include "hull/ttrpc/server.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "hull/ttrpc/unix_socket.h"
#include "hull/ttrpc/wire.h"
#include "test_support.h"

namespace hull::ttrpc {
namespace {

using testing::RawPeer;
using testing::ReadResponse;
using testing::TestServer;
using namespace std::chrono_literals;
const std::string kService(testing::kTestService);

TEST(Server, AnswersARequestOnItsStreamWithStatusOk) {
  TestServer t;
  RawPeer peer = RawPeer::Connect(t.path);
  ASSERT_TRUE(peer.connected());
  ASSERT_TRUE(peer.SendRequest(1, kService, "Echo", "ping"));
  auto response = ReadResponse(peer);
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->stream_id, 1u);
  EXPECT_EQ(response->code, StatusCode::kOk);
  EXPECT_EQ(response->payload, "ping");
}

TEST(Server, AnswersAnOverlongMessageWithResourceExhaustedAndKeepsTheConnection) {
  TestServer t;
  RawPeer peer = RawPeer::Connect(t.path);
  const auto header =
      EncodeFrameHeader(FrameHeader{kMaxMessageLength + 1, 1, MessageType::kRequest, 0});
  ASSERT_TRUE(peer.Send(std::string(header.begin(), header.end())));
  ASSERT_TRUE(peer.Send(std::string(kMaxMessageLength + 1, 'x')));
  auto refused = ReadResponse(peer);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->stream_id, 1u);
  EXPECT_EQ(refused->code, StatusCode::kResourceExhausted);
  EXPECT_NE(refused->message.find("exceed maximum message size"), std::string::npos);

  ASSERT_TRUE(peer.SendRequest(3, kService, "Echo", "still here"));
  auto answered = ReadResponse(peer);
  ASSERT_TRUE(answered.has_value());
  EXPECT_EQ(answered->stream_id, 3u);
  EXPECT_EQ(answered->payload, "still here");
}

TEST(Server, ClosesOnlyTheConnectionThatSendsGarbage) {
  TestServer t;
  RawPeer good = RawPeer::Connect(t.path);
  RawPeer bad = RawPeer::Connect(t.path);
  ASSERT_TRUE(good.SendRequest(1, kService, "Echo", "before"));
  ASSERT_TRUE(ReadResponse(good).has_value());

  ASSERT_TRUE(bad.Send("GET / HTTP/1.1\r\nHost: shim\r\n\r\n"));
  EXPECT_TRUE(bad.ClosedWithin());

  ASSERT_TRUE(good.SendRequest(3, kService, "Echo", "after"));
  auto response = ReadResponse(good);
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->payload, "after");
  // And new connections are served.
  RawPeer next = RawPeer::Connect(t.path);
  ASSERT_TRUE(next.SendRequest(1, kService, "Echo", "new"));
  EXPECT_TRUE(ReadResponse(next).has_value());
}

TEST(Server, ClosesAConnectionCutInsideAFrameAndServesOthers) {
  TestServer t;
  {
    RawPeer cut = RawPeer::Connect(t.path);
    ASSERT_TRUE(cut.Send(EncodeFrame(1, MessageType::kRequest, 0, "abcdef").substr(0, 12)));
  }
  RawPeer peer = RawPeer::Connect(t.path);
  ASSERT_TRUE(peer.SendRequest(1, kService, "Echo", "ok"));
  EXPECT_TRUE(ReadResponse(peer).has_value());
}

TEST(Server, RefusesEvenAndReusedStreamIds) {
  TestServer t;
  RawPeer peer = RawPeer::Connect(t.path);
  ASSERT_TRUE(peer.SendRequest(2, kService, "Echo", "even"));
  auto even = ReadResponse(peer);
  ASSERT_TRUE(even.has_value());
  EXPECT_EQ(even->stream_id, 2u);
  EXPECT_EQ(even->code, StatusCode::kInvalidArgument);
  EXPECT_EQ(even->message, "StreamID must be odd for client initiated streams");

  ASSERT_TRUE(peer.SendRequest(5, kService, "Echo", "five"));
  ASSERT_EQ(ReadResponse(peer)->code, StatusCode::kOk);
  ASSERT_TRUE(peer.SendRequest(3, kService, "Echo", "three"));
  auto reused = ReadResponse(peer);
  ASSERT_TRUE(reused.has_value());
  EXPECT_EQ(reused->stream_id, 3u);
  EXPECT_EQ(reused->code, StatusCode::kInvalidArgument);
}

TEST(Server, AnswersInvalidArgumentToARequestThatDoesNotParse) {
  TestServer t;
  RawPeer peer = RawPeer::Connect(t.path);
  ASSERT_TRUE(peer.Send(EncodeFrame(1, MessageType::kRequest, 0, std::string("\x0a\x09s", 3))));
  auto response = ReadResponse(peer);
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->code, StatusCode::kInvalidArgument);
  EXPECT_NE(response->message.find("unmarshal request error"), std::string::npos);
}

TEST(Server, RefusesStreamsPolitely) {
  TestServer t;
  RawPeer peer = RawPeer::Connect(t.path);
  ASSERT_TRUE(peer.SendRequest(1, kService, "Echo", "", kFlagRemoteOpen));
  auto streaming = ReadResponse(peer);
  ASSERT_TRUE(streaming.has_value());
  EXPECT_EQ(streaming->code, StatusCode::kUnimplemented);
  EXPECT_NE(streaming->message.find("hull.test.Echo/Echo"), std::string::npos);

  ASSERT_TRUE(peer.Send(EncodeFrame(1, MessageType::kData, kFlagRemoteClosed, "more")));
  auto data = ReadResponse(peer);
  ASSERT_TRUE(data.has_value());
  EXPECT_EQ(data->stream_id, 1u);
  EXPECT_EQ(data->code, StatusCode::kInvalidArgument);

  ASSERT_TRUE(peer.SendRequest(3, kService, "Echo", "unary"));
  EXPECT_EQ(ReadResponse(peer)->payload, "unary");
}

TEST(Server, IgnoresResponseFramesFromAClient) {
  TestServer t;
  RawPeer peer = RawPeer::Connect(t.path);
  ASSERT_TRUE(peer.Send(EncodeFrame(1, MessageType::kResponse, 0, "whatever")));
  ASSERT_TRUE(peer.SendRequest(3, kService, "Echo", "next"));
  auto response = ReadResponse(peer);
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->stream_id, 3u);
}

TEST(Server, AnswersResourceExhaustedWhenAResponseWouldBeTooLong) {
  TestServer t;
  RawPeer peer = RawPeer::Connect(t.path);
  ASSERT_TRUE(peer.SendRequest(1, kService, "Huge", ""));
  auto response = ReadResponse(peer);
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->code, StatusCode::kResourceExhausted);
}

TEST(Server, AnswersResourceExhaustedBeyondTheCallsAllowedInFlight) {
  TestServer t(ServerOptions{.max_calls_per_connection = 1});
  RawPeer peer = RawPeer::Connect(t.path);
  ASSERT_TRUE(peer.SendRequest(1, kService, "Block", ""));
  ASSERT_TRUE(t.handlers.entered_block.WaitOpen(5s));
  ASSERT_TRUE(peer.SendRequest(3, kService, "Echo", "one too many"));
  auto refused = ReadResponse(peer);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->stream_id, 3u);
  EXPECT_EQ(refused->code, StatusCode::kResourceExhausted);

  t.handlers.release.Open();
  auto released = ReadResponse(peer);
  ASSERT_TRUE(released.has_value());
  EXPECT_EQ(released->payload, "released");
  ASSERT_TRUE(peer.SendRequest(5, kService, "Echo", "room again"));
  EXPECT_EQ(ReadResponse(peer)->payload, "room again");
}

TEST(Server, ShutdownStopsBlockedHandlersAndSendsTheirAnswersFirst) {
  TestServer t;
  RawPeer peer = RawPeer::Connect(t.path);
  ASSERT_TRUE(peer.SendRequest(1, kService, "UntilStop", ""));
  ASSERT_TRUE(peer.SendRequest(3, kService, "Echo", "x"));
  ASSERT_EQ(ReadResponse(peer)->stream_id, 3u);

  t.server->Shutdown();
  auto stopped = ReadResponse(peer);
  ASSERT_TRUE(stopped.has_value());
  EXPECT_EQ(stopped->stream_id, 1u);
  EXPECT_EQ(stopped->payload, "stopped");
  EXPECT_TRUE(peer.ClosedWithin());
  // The listening socket is closed too.
  EXPECT_FALSE(ConnectUnix(t.path).ok());
  t.server->Shutdown();  // idempotent
}

TEST(Server, AHandlersStopIsRequestedWhenItsConnectionCloses) {
  TestServer t;
  {
    RawPeer peer = RawPeer::Connect(t.path);
    ASSERT_TRUE(peer.SendRequest(1, kService, "Block", ""));
    ASSERT_TRUE(t.handlers.entered_block.WaitOpen(5s));
  }
  // No Shutdown: the peer's leaving alone ends the call.
  EXPECT_TRUE(t.handlers.left_block.WaitOpen(5s));
  EXPECT_FALSE(t.handlers.release.is_open());
}

TEST(Server, StartRefusesAMissingSocket) {
  auto server = Server::Start(UniqueFd(), Services());
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.error().code(), EBADF);
}

TEST(ListenUnix, RefusesAnOccupiedPathAndAnOverlongOne) {
  testing::TempDir dir;
  const std::string path = dir.File("s.sock");
  auto first = ListenUnix("unix://" + path);
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  auto second = ListenUnix(path);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code(), EADDRINUSE);
  EXPECT_NE(second.error().message().find(path), std::string::npos);
  EXPECT_EQ(ListenUnix(std::string(200, 'x')).error().code(), EINVAL);
}

}  // namespace
}  // namespace hull::ttrpc
