// containerd's own messages (hull_containerd_proto) through a ttrpc round
// trip, the way containerd and the shim exchange them.

#include <google/protobuf/empty.pb.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <string>

#include "github.com/containerd/cgroups/v2/stats/metrics.pb.h"
#include "github.com/containerd/containerd/api/events/task.pb.h"
#include "github.com/containerd/containerd/api/services/ttrpc/events/v1/events.pb.h"
#include "github.com/containerd/containerd/runtime/v2/task/shim.pb.h"
#include "hull/containerd/typeurl.h"
#include "hull/ttrpc/client.h"
#include "hull/ttrpc/unix_socket.h"
#include "test_support.h"

namespace hull::ttrpc {
namespace {

using namespace std::chrono_literals;
namespace task = ::containerd::task::v2;
namespace events = ::containerd::events;
namespace events_service = ::containerd::services::events::ttrpc::v1;

constexpr std::string_view kTaskService = "containerd.task.v2.Task";
constexpr std::string_view kEventsService = "containerd.services.events.ttrpc.v1.Events";

template <typename Message>
bool Parse(std::string_view bytes, Message* message) {
  return message->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

struct Served {
  explicit Served(Services services) : path(dir.File("s.sock")) {
    auto listener = ListenUnix(path);
    EXPECT_TRUE(listener.ok());
    auto started = Server::Start(std::move(*listener), std::move(services));
    EXPECT_TRUE(started.ok());
    server = std::move(*started);
    auto connected = Client::Connect(path);
    EXPECT_TRUE(connected.ok());
    client = std::move(*connected);
  }
  testing::TempDir dir;
  std::string path;
  std::unique_ptr<Server> server;
  std::unique_ptr<Client> client;
};

TEST(ContainerdMessages, CreateTaskRequestWithAMountRoundTripsThroughTtrpc) {
  Services services;
  ASSERT_TRUE(services
                  .Register(kTaskService, "Create",
                            [](const CallContext&, std::string_view payload) -> Reply {
                              task::CreateTaskRequest request;
                              if (!Parse(payload, &request)) return Error(EINVAL, "bad request");
                              if (request.rootfs_size() != 1 ||
                                  request.rootfs(0).type() != "overlay") {
                                return Status{StatusCode::kInvalidArgument, "rootfs"};
                              }
                              task::CreateTaskResponse response;
                              response.set_pid(4242);
                              return response.SerializeAsString();
                            })
                  .ok());
  Served s(std::move(services));

  task::CreateTaskRequest request;
  request.set_id("c1");
  request.set_bundle("/run/containerd/io.containerd.runtime.v2.task/k8s.io/c1");
  request.set_stdout("/run/containerd/fifo/c1-stdout");
  request.set_terminal(false);
  ::containerd::types::Mount* mount = request.add_rootfs();
  mount->set_type("overlay");
  mount->set_source("overlay");
  mount->add_options("lowerdir=/l");
  mount->add_options("upperdir=/u");

  // The bytes containerd would send parse back to the same message.
  task::CreateTaskRequest parsed;
  ASSERT_TRUE(parsed.ParseFromString(request.SerializeAsString()));
  EXPECT_EQ(parsed.rootfs(0).options(1), "upperdir=/u");

  auto reply = s.client->Call(kTaskService, "Create", request.SerializeAsString(), 5s);
  ASSERT_TRUE(reply.ok()) << reply.error().ToString();
  task::CreateTaskResponse response;
  ASSERT_TRUE(response.ParseFromString(*reply));
  EXPECT_EQ(response.pid(), 4242u);

  auto wait = s.client->Invoke(kTaskService, "Wait", "", 5s);
  ASSERT_TRUE(wait.ok());
  EXPECT_EQ(wait->status().code, StatusCode::kUnimplemented);
}

TEST(ContainerdMessages, TaskExitIsForwardedInAnAnyNamedAsContainerdNamesIt) {
  std::string seen_type_url;
  uint32_t seen_exit_status = 0;
  Services services;
  ASSERT_TRUE(services
                  .Register(kEventsService, "Forward",
                            [&](const CallContext&, std::string_view payload) -> Reply {
                              events_service::ForwardRequest forward;
                              if (!Parse(payload, &forward)) return Error(EINVAL, "bad request");
                              seen_type_url = forward.envelope().event().type_url();
                              events::TaskExit exit;
                              auto unpacked = typeurl::Unpack(forward.envelope().event(), &exit);
                              if (!unpacked.ok()) return unpacked.error();
                              seen_exit_status = exit.exit_status();
                              return google::protobuf::Empty().SerializeAsString();
                            })
                  .ok());
  Served s(std::move(services));

  events::TaskExit exit;
  exit.set_container_id("c1");
  exit.set_id("c1");
  exit.set_pid(4242);
  exit.set_exit_status(137);
  exit.mutable_exited_at()->set_seconds(1700000000);
  events_service::ForwardRequest forward;
  auto* envelope = forward.mutable_envelope();
  envelope->mutable_timestamp()->set_seconds(1700000000);
  envelope->set_namespace_("k8s.io");
  envelope->set_topic("/tasks/exit");
  *envelope->mutable_event() = typeurl::Pack(exit);

  auto reply = s.client->Call(kEventsService, "Forward", forward.SerializeAsString(), 5s);
  ASSERT_TRUE(reply.ok()) << reply.error().ToString();
  EXPECT_EQ(seen_type_url, "containerd.events.TaskExit");
  EXPECT_EQ(seen_exit_status, 137u);
}

TEST(TypeUrl, PacksWithTheBareTypeNameAndUnpacksEitherForm) {
  events::TaskOOM oom;
  oom.set_container_id("c1");
  google::protobuf::Any any = typeurl::Pack(oom);
  EXPECT_EQ(any.type_url(), "containerd.events.TaskOOM");
  EXPECT_EQ(typeurl::TypeName(any), "containerd.events.TaskOOM");

  events::TaskOOM back;
  ASSERT_TRUE(typeurl::Unpack(any, &back).ok());
  EXPECT_EQ(back.container_id(), "c1");

  any.set_type_url("type.googleapis.com/containerd.events.TaskOOM");
  EXPECT_TRUE(typeurl::Unpack(any, &back).ok());

  events::TaskExit other;
  auto wrong = typeurl::Unpack(any, &other);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code(), EINVAL);

  any.set_type_url("containerd.events.TaskOOM");
  any.set_value("\xff");
  EXPECT_FALSE(typeurl::Unpack(any, &back).ok());
}

TEST(TypeUrl, NamesCgroupV2MetricsAsTheRuncShimDoes) {
  ::io::containerd::cgroups::v2::Metrics metrics;
  metrics.mutable_memory()->set_usage(1 << 20);
  metrics.mutable_pids()->set_current(3);
  task::StatsResponse stats;
  *stats.mutable_stats() = typeurl::Pack(metrics);
  EXPECT_EQ(stats.stats().type_url(), "io.containerd.cgroups.v2.Metrics");

  ::io::containerd::cgroups::v2::Metrics back;
  ASSERT_TRUE(typeurl::Unpack(stats.stats(), &back).ok());
  EXPECT_EQ(back.memory().usage(), 1u << 20);
}

}  // namespace
}  // namespace hull::ttrpc
