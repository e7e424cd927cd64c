#include "hull/sandbox/container_bundle.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <tuple>
#include <vector>

namespace hull::sandbox {
namespace {

using Json = nlohmann::json;

Json MinimalSpec() {
  return Json{{"ociVersion", "1.0.2"},
              {"process", {{"args", {"sh"}}, {"cwd", "/"}, {"user", {{"uid", 0}, {"gid", 0}}}}},
              {"root", {{"path", "rootfs"}}},
              {"linux", {{"namespaces", {{{"type", "pid"}}, {{"type", "mount"}}}}}}};
}

struct Recorder {
  std::vector<std::tuple<std::string, std::string, bool>> calls;
  ShareFunction Function() {
    return [this](const std::string& name, const std::string& path,
                  bool read_only) -> Result<std::string> {
      calls.emplace_back(name, path, read_only);
      return "/guest/" + name;
    };
  }
};

TEST(ContainerBundle, RootAndBindSourcesAreSharedAndRewritten) {
  Json spec = MinimalSpec();
  spec["mounts"] = {{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
                    {{"destination", "/data"},
                     {"type", "bind"},
                     {"source", "/srv/data"},
                     {"options", {"rbind", "ro"}}},
                    {{"destination", "/etc/hosts"}, {"source", "hosts"}, {"options", {"bind"}}}};
  Recorder recorder;
  Result<GuestBundle> bundle =
      RewriteSpecForGuest("c1", "/bundles/c1", spec.dump(), recorder.Function());
  ASSERT_TRUE(bundle.ok()) << bundle.error().message();
  ASSERT_EQ(recorder.calls.size(), 3u);
  EXPECT_EQ(recorder.calls[0], std::make_tuple("c1/rootfs", "/bundles/c1/rootfs", false));
  EXPECT_EQ(recorder.calls[1], std::make_tuple("c1/mounts/0", "/srv/data", true));
  EXPECT_EQ(recorder.calls[2], std::make_tuple("c1/mounts/1", "/bundles/c1/hosts", false));
  Json rewritten = Json::parse(bundle->spec_json);
  EXPECT_EQ(rewritten["root"]["path"], "/guest/c1/rootfs");
  EXPECT_EQ(rewritten["mounts"][0]["source"], "proc");
  EXPECT_EQ(rewritten["mounts"][1]["source"], "/guest/c1/mounts/0");
  EXPECT_EQ(rewritten["mounts"][2]["source"], "/guest/c1/mounts/1");
  EXPECT_EQ(bundle->resources_json, "{}");
  EXPECT_FALSE(bundle->terminal);
}

TEST(ContainerBundle, HostNamespacesCgroupsPathAndHooksStayOnTheHost) {
  Json spec = MinimalSpec();
  spec["linux"]["namespaces"] = {{{"type", "pid"}},
                                 {{"type", "mount"}},
                                 {{"type", "network"}, {"path", "/var/run/netns/cni-1"}},
                                 {{"type", "ipc"}, {"path", "/proc/42/ns/ipc"}}};
  spec["linux"]["cgroupsPath"] = "/kubepods/pod1/c1";
  spec["linux"]["resources"] = {{"pids", {{"limit", 10}}}};
  spec["hooks"] = {{"prestart", {{{"path", "/usr/bin/true"}}}}};
  spec["process"]["terminal"] = true;
  spec["annotations"] = {{"io.hull.vcpus", "2"}};
  Recorder recorder;
  Result<GuestBundle> bundle = RewriteSpecForGuest("c1", "/b", spec.dump(), recorder.Function());
  ASSERT_TRUE(bundle.ok()) << bundle.error().message();
  Json rewritten = Json::parse(bundle->spec_json);
  EXPECT_EQ(rewritten["linux"]["namespaces"],
            Json::parse(R"([{"type":"pid"},{"type":"mount"},{"type":"ipc"}])"));
  EXPECT_FALSE(rewritten["linux"].contains("cgroupsPath"));
  EXPECT_FALSE(rewritten.contains("hooks"));
  EXPECT_EQ(Json::parse(bundle->resources_json), Json::parse(R"({"pids":{"limit":10}})"));
  EXPECT_TRUE(bundle->terminal);
  EXPECT_EQ(bundle->annotations.at("io.hull.vcpus"), "2");
  // The pod's network namespace goes to the sandbox (PodNetwork), not the guest spec.
  EXPECT_EQ(bundle->network_namespace, "/var/run/netns/cni-1");
  EXPECT_EQ(bundle->ignored.size(), 2u) << ::testing::PrintToString(bundle->ignored);
}

TEST(ContainerBundle, NamespacesSharedWithThePodSandboxAreJoinedInTheGuest) {
  Json spec = MinimalSpec();
  spec["linux"]["namespaces"] = {{{"type", "pid"}},
                                 {{"type", "mount"}},
                                 {{"type", "ipc"}, {"path", "/proc/42/ns/ipc"}},
                                 {{"type", "uts"}, {"path", "/proc/42/ns/uts"}},
                                 {{"type", "cgroup"}, {"path", "/proc/7/ns/cgroup"}}};
  Recorder recorder;
  std::vector<std::string> asked;
  Result<GuestBundle> bundle = RewriteSpecForGuest(
      "c1", "/b", spec.dump(), recorder.Function(),
      [&](const std::string& type, const std::string& path) -> std::optional<std::string> {
        asked.push_back(type + "=" + path);
        if (!path.starts_with("/proc/42/")) return std::nullopt;
        return "/proc/1/ns/" + type;
      });
  ASSERT_TRUE(bundle.ok()) << bundle.error().message();
  EXPECT_EQ(asked, (std::vector<std::string>{"ipc=/proc/42/ns/ipc", "uts=/proc/42/ns/uts",
                                             "cgroup=/proc/7/ns/cgroup"}));
  Json rewritten = Json::parse(bundle->spec_json);
  EXPECT_EQ(rewritten["linux"]["namespaces"], Json::parse(R"([{"type":"pid"},{"type":"mount"},
                            {"type":"ipc","path":"/proc/1/ns/ipc"},
                            {"type":"uts","path":"/proc/1/ns/uts"},{"type":"cgroup"}])"));
}

TEST(ContainerBundle, NetworkSysctlsMoveToTheSandbox) {
  // Podman sets net.ipv4.ping_group_range with a network namespace; in hull
  // the container uses the VM's namespace, so the sandbox sets it there.
  Json spec = MinimalSpec();
  spec["linux"]["namespaces"] = {{{"type", "network"}}, {{"type", "ipc"}}, {{"type", "mount"}}};
  spec["linux"]["sysctl"] = {{"net.ipv4.ping_group_range", "0 0"}, {"kernel.shmmax", "65536"}};
  Recorder recorder;
  Result<GuestBundle> bundle = RewriteSpecForGuest("c1", "/b", spec.dump(), recorder.Function());
  ASSERT_TRUE(bundle.ok()) << bundle.error().message();
  EXPECT_EQ(bundle->network_sysctls,
            (std::map<std::string, std::string>{{"net.ipv4.ping_group_range", "0 0"}}));
  Json rewritten = Json::parse(bundle->spec_json);
  EXPECT_EQ(rewritten["linux"]["sysctl"], Json::parse(R"({"kernel.shmmax":"65536"})"));
}

TEST(ContainerBundle, PodRolesFromCriAndCrioAnnotations) {
  PodRole none = PodRoleOf({});
  EXPECT_FALSE(none.is_sandbox);
  EXPECT_EQ(SandboxIdFor("c1", none), "c1");
  PodRole sandbox = PodRoleOf(
      {{"io.kubernetes.cri.container-type", "sandbox"}, {"io.kubernetes.cri.sandbox-id", "pod1"}});
  EXPECT_TRUE(sandbox.is_sandbox);
  EXPECT_EQ(SandboxIdFor("pod1", sandbox), "pod1");
  PodRole member = PodRoleOf({{"io.kubernetes.cri.container-type", "container"},
                              {"io.kubernetes.cri.sandbox-id", "pod1"}});
  EXPECT_FALSE(member.is_sandbox);
  EXPECT_EQ(SandboxIdFor("c2", member), "pod1");
  PodRole crio = PodRoleOf({{"io.kubernetes.cri-o.ContainerType", "container"},
                            {"io.kubernetes.cri-o.SandboxID", "pod9"}});
  EXPECT_EQ(SandboxIdFor("c3", crio), "pod9");
}

TEST(ContainerBundle, BadSpecsAreRefusedBeforeAnythingIsShared) {
  const struct {
    std::function<void(Json&)> edit;
    const char* expected;
  } cases[] = {
      {[](Json& s) { s["process"]["cwd"] = "relative"; }, "process.cwd"},
      {[](Json& s) { s.erase("root"); }, "root.path is missing"},
      {[](Json& s) {
         s["linux"]["namespaces"].push_back({{"type", "user"}});
       },
       "user namespaces"},
      {[](Json& s) {
         s["mounts"] = {{{"destination", "/x"}, {"type", "bind"}}};
       },
       "no source"},
      {[](Json& s) { s["process"]["args"] = "sh"; }, "process.args"},
  };
  for (const auto& test : cases) {
    Json spec = MinimalSpec();
    test.edit(spec);
    Recorder recorder;
    Result<GuestBundle> bundle = RewriteSpecForGuest("c1", "/b", spec.dump(), recorder.Function());
    ASSERT_FALSE(bundle.ok()) << test.expected;
    EXPECT_NE(bundle.error().message().find(test.expected), std::string::npos)
        << bundle.error().message();
  }
  Recorder recorder;
  EXPECT_FALSE(RewriteSpecForGuest("c1", "/b", "{not json", recorder.Function()).ok());
  EXPECT_FALSE(RewriteSpecForGuest("../c1", "/b", MinimalSpec().dump(), recorder.Function()).ok());
  EXPECT_TRUE(recorder.calls.empty());
}

TEST(ContainerBundle, IdsAreFileNameSafe) {
  EXPECT_TRUE(ValidateId("container", "abc-1.2_x").ok());
  for (const char* bad : {"", ".", "..", "a/b", "a b", "\xc3\xa9"}) {
    EXPECT_FALSE(ValidateId("container", bad).ok()) << bad;
  }
  EXPECT_FALSE(ValidateId("container", std::string(65, 'a')).ok());
}

}  // namespace
}  // namespace hull::sandbox
