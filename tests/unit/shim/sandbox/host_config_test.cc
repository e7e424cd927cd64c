#include "hull/sandbox/host_config.h"

#include <gtest/gtest.h>

#include <string>

namespace hull::sandbox {
namespace {

TEST(HostConfig, FileOverlaysTheDefaults) {
  HostConfig base;
  base.kernel = "/k";
  Result<HostConfig> config = ParseHostConfig(
      R"({"vmm": "/opt/hull-vmm", "vcpus": 4, "memory_mib": 1024, "log_level": "debug",
          "state_root": "/var/run/hull2", "agent_timeout_s": 30})",
      base, "test.json");
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->vmm, "/opt/hull-vmm");
  EXPECT_EQ(config->kernel, "/k");
  EXPECT_EQ(config->vcpus, 4u);
  EXPECT_EQ(config->memory_mib, 1024u);
  EXPECT_EQ(config->log_level, "debug");
  EXPECT_EQ(config->state_root, "/var/run/hull2");
  EXPECT_EQ(config->agent_timeout, std::chrono::seconds(30));
}

TEST(HostConfig, ErrorsNameTheKeyAndTheFile) {
  const struct {
    const char* json;
    const char* expected;
  } cases[] = {
      {R"({"vcpu": 2})", "\"vcpu\" is no setting"},
      {R"({"vcpus": 0})", "\"vcpus\" is 0, outside 1..64"},
      {R"({"vcpus": -1})", "\"vcpus\" must be a whole number"},
      {R"({"vcpus": "2"})", "\"vcpus\" must be a whole number"},
      {R"({"memory_mib": 16})", "\"memory_mib\" is 16"},
      {R"({"kernel": ""})", "\"kernel\" must be a non-empty string"},
      {R"({"state_root": "relative"})", "\"state_root\" must be absolute"},
      {R"({"log_level": "loud"})", "\"log_level\" must be trace"},
      {R"([1, 2])", "not a JSON object"},
      {R"({"vcpus": )", "not a JSON object"},
  };
  for (const auto& test : cases) {
    Result<HostConfig> config = ParseHostConfig(test.json, HostConfig{}, "conf.json");
    ASSERT_FALSE(config.ok()) << test.json;
    EXPECT_NE(config.error().message().find(test.expected), std::string::npos)
        << test.json << ": " << config.error().message();
    EXPECT_NE(config.error().message().find("conf.json"), std::string::npos);
  }
}

TEST(HostConfig, AnnotationsSizeTheVmButNameNoPath) {
  HostConfig config;
  ASSERT_TRUE(ApplyAnnotations({{"io.hull.vcpus", "3"},
                                {"io.hull.memory_mib", "512"},
                                {"io.hull.log_level", "info"},
                                {"io.kubernetes.cri.sandbox-id", "abc"},
                                {"org.opencontainers.image.ref.name", "busybox"}},
                               config)
                  .ok());
  EXPECT_EQ(config.vcpus, 3u);
  EXPECT_EQ(config.memory_mib, 512u);
  EXPECT_EQ(config.log_level, "info");

  for (const auto& [key, value] :
       std::map<std::string, std::string>{{"io.hull.kernel", "/tmp/evil"},
                                          {"io.hull.vmm", "/bin/sh"},
                                          {"io.hull.vcpus", "65"},
                                          {"io.hull.vcpus", "2x"},
                                          {"io.hull.memory_mib", "99999999999"},
                                          {"io.hull.log_level", "verbose"}}) {
    HostConfig untouched;
    Result<void> applied = ApplyAnnotations({{key, value}}, untouched);
    ASSERT_FALSE(applied.ok()) << key << "=" << value;
    EXPECT_NE(applied.error().message().find(key), std::string::npos) << applied.error().message();
    EXPECT_EQ(untouched.kernel, HostConfig{}.kernel);
  }
}

TEST(HostConfig, ResourcesGrowTheVmPlusOverhead) {
  HostConfig config;  // 1 vCPU, 256 MiB
  SizeVmForResources(
      R"({"memory": {"limit": 1073741824}, "cpu": {"quota": 150000, "period": 100000}})", config);
  EXPECT_EQ(config.memory_mib, 1024u + kGuestOverheadMib);
  EXPECT_EQ(config.vcpus, 2u);

  HostConfig small;
  SizeVmForResources(R"({"memory": {"limit": 1048576}, "cpu": {"quota": -1, "period": 100000}})",
                     small);
  EXPECT_EQ(small.memory_mib, 256u) << "never smaller than the configured size";
  EXPECT_EQ(small.vcpus, 1u);

  HostConfig junk;
  SizeVmForResources("not json", junk);
  SizeVmForResources(R"({"memory": {"limit": "lots"}, "cpu": []})", junk);
  EXPECT_EQ(junk.memory_mib, 256u);
  EXPECT_EQ(junk.vcpus, 1u);
}

}  // namespace
}  // namespace hull::sandbox
