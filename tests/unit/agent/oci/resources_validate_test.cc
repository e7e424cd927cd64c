#include <gtest/gtest.h>

#include <string>

#include "hull/oci/spec_parse.h"

namespace hull::oci {
namespace {

Resources Parsed(std::string_view json) {
  Result<Resources> resources = ParseResources(json);
  EXPECT_TRUE(resources.ok()) << json << ": " << resources.error().ToString();
  return resources.ok() ? std::move(resources).value() : Resources{};
}

TEST(ValidateResources, AcceptsSaneValues) {
  for (
      const char* json : {
          R"({})",
          R"({"memory": {"limit": -1, "swap": -1, "reservation": 0}})",
          R"({"memory": {"limit": 1048576, "swap": 1048576, "swappiness": 100}})",
          R"({"memory": {"limit": 1048576, "swap": 0}})",
          R"({"memory": {"limit": -1, "swap": 0}})",
          R"({"cpu": {"shares": 2, "quota": -1, "period": 1000}})",
          R"({"cpu": {"shares": 262144, "quota": 1000, "period": 1000000, "idle": 1}})",
          R"({"cpu": {"shares": 0, "quota": 0, "period": 0}})",
          R"({"cpu": {"cpus": "0", "mems": "0-1"}})",
          R"({"cpu": {"cpus": "0-3,5,7-8", "mems": ""}})",
          R"({"pids": {"limit": -1}})",
          R"({"pids": {"limit": 0}})",
          R"({"blockIO": {"weight": 0}})",
          R"({"blockIO": {"weight": 10, "leafWeight": 1000,
               "weightDevice": [{"major": 8, "minor": 0, "weight": 10, "leafWeight": 1000}]}})",
          R"({"devices": [{"allow": false}, {"allow": true, "type": "a", "access": "m"},
               {"allow": true, "type": "b", "major": -1, "minor": -1, "access": "rwm"}]})",
          R"({"hugepageLimits": [{"pageSize": "1GB", "limit": 0}, {"pageSize": "64KB", "limit": 1}]})",
          R"({"unified": {"memory.high": "max", "cgroup.max.depth": "5"}})",
      }) {
    Result<void> valid = ValidateResources(Parsed(json));
    EXPECT_TRUE(valid.ok()) << json << ": " << valid.error().ToString();
  }
}

TEST(ValidateResources, RejectsInsaneValuesNamingTheField) {
  struct Case {
    const char* json;
    const char* expected;
  };
  for (const Case& c : {
           Case{R"({"memory": {"limit": -2}})",
                "resources.memory.limit: -2 is neither -1 (unlimited) nor a byte count"},
           Case{R"({"memory": {"reservation": -5}})", "resources.memory.reservation: -5"},
           Case{R"({"memory": {"swap": -3}})", "resources.memory.swap: -3"},
           Case{R"({"memory": {"limit": 2048, "swap": 1024}})",
                "resources.memory.swap: 1024 is below resources.memory.limit 2048"},
           Case{R"({"memory": {"swap": 1024}})",
                "resources.memory.swap: a swap limit needs a memory limit"},
           Case{R"({"memory": {"limit": -1, "swap": 1024}})",
                "resources.memory.swap: a swap limit needs a memory limit"},
           Case{R"({"memory": {"swappiness": 101}})",
                "resources.memory.swappiness: 101 is outside 0..100"},
           Case{R"({"cpu": {"shares": 1}})", "resources.cpu.shares: 1 is outside 2..262144"},
           Case{R"({"cpu": {"shares": 262145}})", "resources.cpu.shares: 262145 is outside"},
           Case{R"({"cpu": {"quota": -2}})", "resources.cpu.quota: -2 is neither -1"},
           Case{R"({"cpu": {"quota": 999}})", "resources.cpu.quota: 999 is neither -1"},
           Case{R"({"cpu": {"period": 999}})", "resources.cpu.period: 999 microseconds is outside"},
           Case{R"({"cpu": {"period": 1000001}})", "resources.cpu.period: 1000001"},
           Case{R"({"cpu": {"idle": 2}})", "resources.cpu.idle: 2 is neither 0 nor 1"},
           Case{R"({"cpu": {"realtimeRuntime": -2}})", "resources.cpu.realtimeRuntime: -2"},
           Case{R"({"pids": {"limit": -2}})", "resources.pids.limit: -2"},
           Case{R"({"blockIO": {"weight": 9}})", "resources.blockIO.weight: 9 is outside 10..1000"},
           Case{R"({"blockIO": {"leafWeight": 1001}})", "resources.blockIO.leafWeight: 1001"},
           Case{R"({"blockIO": {"weightDevice": [{"major": 8, "minor": 0, "weight": 5}]}})",
                "resources.blockIO.weightDevice[0].weight: 5 is outside 10..1000"},
           Case{R"({"blockIO": {"weightDevice": [{"major": -8, "minor": 0}]}})",
                "resources.blockIO.weightDevice[0].major: -8 is outside"},
           Case{
               R"({"blockIO": {"throttleWriteBpsDevice": [{"major": 8, "minor": -1, "rate": 1}]}})",
               "resources.blockIO.throttleWriteBpsDevice[0].minor: -1 is outside"},
           Case{R"({"devices": [{"allow": true, "type": "p"}]})",
                "resources.devices[0].type: expected \"a\", \"c\" or \"b\", got \"p\""},
           Case{R"({"devices": [{"allow": true, "access": "rwx"}]})",
                "resources.devices[0].access: expected letters of \"rwm\", got \"rwx\""},
           Case{R"({"devices": [{"allow": true}, {"allow": true, "major": -2}]})",
                "resources.devices[1].major: -2 is not a device number"},
           Case{
               R"({"hugepageLimits": [{"pageSize": "2M", "limit": 1}]})",
               "resources.hugepageLimits[0].pageSize: expected a size such as \"2MB\", got \"2M\""},
           Case{R"({"hugepageLimits": [{"pageSize": "MB", "limit": 1}]})",
                "resources.hugepageLimits[0].pageSize"},
           Case{R"({"unified": {"../../cgroup.procs": "1"}})",
                "resources.unified[\"../../cgroup.procs\"]: expected a cgroup file name"},
           Case{R"({"unified": {"memoryhigh": "1"}})",
                "resources.unified[\"memoryhigh\"]: expected a cgroup file name"},
           Case{R"({"unified": {"cgroup.procs": "1"}})",
                "resources.unified[\"cgroup.procs\"]: cgroup.procs is managed by hull-agent"},
           Case{R"({"unified": {"memory.high": "1\u0000"}})",
                "resources.unified[\"memory.high\"]: contains a NUL byte"},
       }) {
    Result<void> valid = ValidateResources(Parsed(c.json));
    ASSERT_FALSE(valid.ok()) << c.json;
    EXPECT_NE(valid.error().message().find(c.expected), std::string::npos)
        << c.json << "\n expected: " << c.expected << "\n      got: " << valid.error().message();
  }
}

TEST(ValidateResources, ChecksCpusetListSyntax) {
  for (const char* good : {"0", "0-3", "0-3,5", "1,2,3", "0-0", "12-15,100"}) {
    CpuResources cpu;
    cpu.cpus = good;
    Resources resources;
    resources.cpu = cpu;
    EXPECT_TRUE(ValidateResources(resources).ok()) << good;
  }
  for (const char* bad : {",", "0,", ",0", "3-1", "a", "0-", "-1", "0--2", "0 - 3", "1,,2", "0-3 ",
                          "9999999999", "0x1"}) {
    CpuResources cpu;
    cpu.mems = bad;
    Resources resources;
    resources.cpu = cpu;
    Result<void> valid = ValidateResources(resources);
    ASSERT_FALSE(valid.ok()) << bad;
    EXPECT_NE(valid.error().message().find("resources.cpu.mems: expected a list such as"),
              std::string::npos)
        << valid.error().message();
  }
}

}  // namespace
}  // namespace hull::oci
