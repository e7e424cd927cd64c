#include "hull/vmm/core/api_server.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "socket_test_support.h"

namespace hull::vmm {
namespace {

using nlohmann::json;
using testing::LineClient;
using testing::TempDir;

// A VMM's side of the API, recording what it was asked.
struct FakeVmm {
  std::atomic<bool> paused{false};
  std::atomic<int> stops{0};
  std::atomic<uint64_t> balloon_target{0};
  std::atomic<bool> last_force{false};
  std::atomic<bool> fail_pause{false};

  ApiHandlers Handlers() {
    return ApiHandlers{
        .state = [this]() -> Result<std::string> {
          return std::string(paused ? "paused" : "running");
        },
        .pause = [this]() -> Result<void> {
          if (fail_pause) return Error(EBUSY, "vCPUs are busy");
          paused = true;
          return Ok();
        },
        .resume = [this]() -> Result<void> {
          paused = false;
          return Ok();
        },
        .stop = [this](bool force) -> Result<void> {
          last_force = force;
          ++stops;
          return Ok();
        },
        .metrics =
            [] {
              return json{{"exits", {{"hlt", 3}}}};
            },
        .balloon = [this](std::optional<uint64_t> target) -> Result<json> {
          if (target.has_value()) balloon_target = *target;
          return json{{"target_mib", balloon_target.load()}};
        },
    };
  }
};

// A server on a real socket with its event loop running on its own thread.
class ApiServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
    ASSERT_TRUE(loop.ok());
    loop_ = std::move(loop).value();
    Result<std::unique_ptr<ApiServer>> server = ApiServer::Create(path_, *loop_, vmm_.Handlers());
    ASSERT_TRUE(server.ok()) << server.error().ToString();
    server_ = std::move(server).value();
    thread_ = std::thread([this] { EXPECT_TRUE(loop_->Run().ok()); });
  }

  void TearDown() override { StopServer(); }

  // Stops the loop, then destroys the server (on this thread, the loop idle).
  void StopServer() {
    if (thread_.joinable()) {
      loop_->Stop();
      thread_.join();
    }
    server_.reset();
  }

  json Ask(LineClient& client, std::string_view request) {
    EXPECT_TRUE(client.Send(std::string(request) + "\n"));
    std::optional<std::string> line = client.ReadLine();
    EXPECT_TRUE(line.has_value()) << "no answer to " << request;
    return line ? json::parse(*line) : json();
  }

  TempDir dir_;
  std::string path_ = dir_.File("api.sock");
  FakeVmm vmm_;
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<ApiServer> server_;
  std::thread thread_;
};

TEST_F(ApiServerTest, AnswersEveryOp) {
  LineClient client(path_);
  ASSERT_TRUE(client.connected());
  EXPECT_EQ(Ask(client, R"({"op":"state"})"), (json{{"ok", true}, {"state", "running"}}));
  EXPECT_EQ(Ask(client, R"({"op":"pause"})"), (json{{"ok", true}}));
  EXPECT_EQ(Ask(client, R"({"op":"state"})")["state"], "paused");
  EXPECT_EQ(Ask(client, R"({"op":"resume"})"), (json{{"ok", true}}));
  EXPECT_EQ(Ask(client, R"({"op":"state"})")["state"], "running");
  EXPECT_EQ(Ask(client, R"({"op":"metrics"})"),
            (json{{"ok", true}, {"metrics", {{"exits", {{"hlt", 3}}}}}}));
  EXPECT_EQ(Ask(client, R"({"op":"stop","force":false})"), (json{{"ok", true}}));
  EXPECT_EQ(vmm_.stops.load(), 1);
  EXPECT_FALSE(vmm_.last_force.load());
  EXPECT_EQ(Ask(client, R"({"op":"stop","force":true})"), (json{{"ok", true}}));
  EXPECT_TRUE(vmm_.last_force.load());
  EXPECT_EQ(Ask(client, R"({"op":"balloon","target_mib":48})"),
            (json{{"ok", true}, {"balloon", {{"target_mib", 48}}}}));
  EXPECT_EQ(Ask(client, R"({"op":"balloon"})")["balloon"]["target_mib"], 48);
}

TEST_F(ApiServerTest, BalloonWithoutABalloonSaysHowToGetOne) {
  StopServer();
  ApiHandlers handlers = vmm_.Handlers();
  handlers.balloon = nullptr;
  Result<std::unique_ptr<EventLoop>> loop = EventLoop::Create();  // Stop() is sticky
  ASSERT_TRUE(loop.ok());
  loop_ = std::move(loop).value();
  Result<std::unique_ptr<ApiServer>> server = ApiServer::Create(path_, *loop_, handlers);
  ASSERT_TRUE(server.ok()) << server.error().ToString();
  server_ = std::move(server).value();
  thread_ = std::thread([this] { EXPECT_TRUE(loop_->Run().ok()); });
  LineClient client(path_);
  ASSERT_TRUE(client.connected());
  const json answer = Ask(client, R"({"op":"balloon","target_mib":1})");
  EXPECT_EQ(answer["ok"], false);
  EXPECT_NE(answer["error"].get<std::string>().find("--balloon"), std::string::npos);
}

TEST_F(ApiServerTest, HandlerErrorsReachTheClient) {
  vmm_.fail_pause = true;
  LineClient client(path_);
  const json answer = Ask(client, R"({"op":"pause"})");
  EXPECT_EQ(answer["ok"], false);
  EXPECT_EQ(answer["error"], "vCPUs are busy");
}

TEST_F(ApiServerTest, MalformedRequestsGetAnErrorAndTheConnectionStaysUsable) {
  LineClient client(path_);
  for (const char* bad : {"not json", R"({"op":"reboot"})", "[]", R"({"op":"state","x":1})"}) {
    const json answer = Ask(client, bad);
    EXPECT_EQ(answer["ok"], false) << bad;
    EXPECT_TRUE(answer["error"].is_string()) << bad;
  }
  EXPECT_EQ(Ask(client, R"({"op":"state"})")["ok"], true);
}

TEST_F(ApiServerTest, AnOverlongLineIsRefusedAndTheConnectionClosed) {
  LineClient client(path_);
  ASSERT_TRUE(client.Send(std::string(kMaxApiRequestBytes + 100, 'x')));
  std::optional<std::string> line = client.ReadLine();
  ASSERT_TRUE(line.has_value());
  const json answer = json::parse(*line);
  EXPECT_EQ(answer["ok"], false);
  EXPECT_NE(answer["error"].get<std::string>().find("longer than 4096"), std::string::npos);
  EXPECT_TRUE(client.SeesEof());
}

TEST_F(ApiServerTest, PipelinedRequestsAreAnsweredInOrder) {
  LineClient client(path_);
  ASSERT_TRUE(client.Send("{\"op\":\"pause\"}\n{\"op\":\"state\"}\r\n\n{\"op\":\"resume\"}\n"));
  EXPECT_EQ(json::parse(*client.ReadLine())["ok"], true);
  EXPECT_EQ(json::parse(*client.ReadLine())["state"], "paused");
  EXPECT_EQ(json::parse(*client.ReadLine())["ok"], false) << "the empty line is malformed";
  EXPECT_EQ(json::parse(*client.ReadLine())["ok"], true);
}

TEST_F(ApiServerTest, ARequestSplitAcrossWritesIsReassembled) {
  LineClient client(path_);
  ASSERT_TRUE(client.Send("{\"op\":"));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(Ask(client, "\"state\"}")["state"], "running");
}

TEST_F(ApiServerTest, ALastRequestWithoutNewlineIsAnsweredAtEndOfInput) {
  LineClient client(path_);
  ASSERT_TRUE(client.Send(R"({"op":"state"})"));
  ASSERT_EQ(shutdown(client.fd(), SHUT_WR), 0);
  std::optional<std::string> line = client.ReadLine();
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ(json::parse(*line)["state"], "running");
  EXPECT_TRUE(client.SeesEof());
}

TEST_F(ApiServerTest, ServesTwoClientsIndependently) {
  LineClient a(path_);
  LineClient b(path_);
  ASSERT_TRUE(a.connected() && b.connected());
  ASSERT_TRUE(a.Send("{\"op\":"));  // a is mid-request
  EXPECT_EQ(Ask(b, R"({"op":"pause"})")["ok"], true);
  EXPECT_EQ(Ask(a, "\"state\"}")["state"], "paused");
  b = LineClient(path_);  // b leaves, a new one comes
  EXPECT_EQ(Ask(b, R"({"op":"resume"})")["ok"], true);
  EXPECT_EQ(Ask(a, R"({"op":"state"})")["state"], "running");
}

TEST_F(ApiServerTest, RefusesClientsBeyondTheLimit) {
  std::vector<std::unique_ptr<LineClient>> clients;
  for (size_t i = 0; i < ApiServer::kMaxClients; ++i) {
    clients.push_back(std::make_unique<LineClient>(path_));
    EXPECT_EQ(Ask(*clients.back(), R"({"op":"state"})")["ok"], true);
  }
  LineClient extra(path_);
  std::optional<std::string> line = extra.ReadLine();
  ASSERT_TRUE(line.has_value());
  EXPECT_NE(json::parse(*line)["error"].get<std::string>().find("too many clients"),
            std::string::npos);
  EXPECT_TRUE(extra.SeesEof());
}

TEST_F(ApiServerTest, CreatesTheSocketWithMode0600) {
  struct stat st {};
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(ApiServerTest, RefusesAPathAnotherServerServes) {
  Result<std::unique_ptr<ApiServer>> second = ApiServer::Create(path_, *loop_, vmm_.Handlers());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code(), EADDRINUSE);
  EXPECT_NE(second.error().message().find(path_), std::string::npos);
  LineClient client(path_);
  EXPECT_EQ(Ask(client, R"({"op":"state"})")["ok"], true) << "the first one is unharmed";
}

TEST_F(ApiServerTest, UnlinksTheSocketOnDestruction) {
  StopServer();
  struct stat st {};
  EXPECT_NE(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(errno, ENOENT);
}

TEST(ApiServer, RemovesAStaleSocket) {
  TempDir dir;
  const std::string path = dir.File("stale.sock");
  {
    Result<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
    ASSERT_TRUE(loop.ok());
    // A server that died without cleaning up leaves its socket file.
    Result<UnixListener> dead = UnixListener::Create(path);
    ASSERT_TRUE(dead.ok());
    ASSERT_EQ(link(path.c_str(), (path + ".keep").c_str()), 0);
  }
  ASSERT_EQ(rename((path + ".keep").c_str(), path.c_str()), 0);
  Result<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
  ASSERT_TRUE(loop.ok());
  FakeVmm vmm;
  Result<std::unique_ptr<ApiServer>> server = ApiServer::Create(path, **loop, vmm.Handlers());
  ASSERT_TRUE(server.ok()) << server.error().ToString();
  LineClient client(path);
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.Send("{\"op\":\"state\"}\n"));
  ASSERT_TRUE((*loop)->RunOnce(1000).ok());  // accept
  ASSERT_TRUE((*loop)->RunOnce(1000).ok());  // answer
  EXPECT_EQ(json::parse(*client.ReadLine())["state"], "running");
}

TEST(ApiServer, RefusesAPathThatIsNotASocket) {
  TempDir dir;
  const std::string path = dir.File("precious.txt");
  std::ofstream(path) << "keep me";
  Result<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
  ASSERT_TRUE(loop.ok());
  FakeVmm vmm;
  Result<std::unique_ptr<ApiServer>> server = ApiServer::Create(path, **loop, vmm.Handlers());
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.error().code(), EEXIST);
  EXPECT_NE(server.error().message().find("not a socket"), std::string::npos);
  std::string content;
  std::getline(std::ifstream(path), content);
  EXPECT_EQ(content, "keep me");
}

TEST(ApiServer, AnswersUnsupportedForAMissingHandler) {
  TempDir dir;
  Result<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
  ASSERT_TRUE(loop.ok());
  Result<std::unique_ptr<ApiServer>> server =
      ApiServer::Create(dir.File("api.sock"), **loop, ApiHandlers{});
  ASSERT_TRUE(server.ok());
  const json answer = json::parse((*server)->Respond(R"({"op":"pause"})"));
  EXPECT_EQ(answer["ok"], false);
  EXPECT_EQ(answer["error"], "op \"pause\" is not supported by this VMM");
}

}  // namespace
}  // namespace hull::vmm
