#include <gtest/gtest.h>

#include <cerrno>
#include <string>

#include "hull/vmm/core/config.h"

namespace hull::vmm {
namespace {

std::string ErrorOf(std::string_view json) {
  Result<VmmConfig> config = ParseJsonConfig(json);
  EXPECT_FALSE(config.ok()) << json;
  return config.ok() ? "" : config.error().message();
}

TEST(ParseJsonConfig, ReadsEveryKey) {
  Result<VmmConfig> config = ParseJsonConfig(R"({
    "kernel": "/vmlinux", "initrd": "/initrd.img", "cmdline": "quiet",
    "mem_mib": 256, "cpus": 2,
    "disks": [{"path": "/root.img", "read_only": true}, {"path": "/data.img"}],
    "serial": "file:/var/log/console", "api_socket": "/run/vm.sock",
    "rng": false, "log_level": "info", "boot_timer": true})");
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  EXPECT_EQ(config->kernel, "/vmlinux");
  EXPECT_EQ(config->initrd, "/initrd.img");
  EXPECT_EQ(config->cmdline, "quiet");
  EXPECT_EQ(config->mem_mib, 256u);
  EXPECT_EQ(config->cpus, 2u);
  EXPECT_EQ(config->disks, (std::vector<DiskConfig>{{"/root.img", true}, {"/data.img", false}}));
  EXPECT_EQ(config->serial, (SerialConfig{SerialKind::kFile, "/var/log/console"}));
  EXPECT_EQ(config->api_socket, "/run/vm.sock");
  EXPECT_FALSE(config->rng);
  EXPECT_EQ(config->log_level, "info");
  EXPECT_TRUE(config->boot_timer);
}

TEST(ParseJsonConfig, AnEmptyObjectGivesTheDefaults) {
  Result<VmmConfig> config = ParseJsonConfig("{}");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(*config, VmmConfig{});
}

TEST(ParseJsonConfig, NullLeavesOptionalPathsUnset) {
  Result<VmmConfig> config = ParseJsonConfig(R"({"initrd": null, "api_socket": null})");
  ASSERT_TRUE(config.ok());
  EXPECT_FALSE(config->initrd.has_value());
  EXPECT_FALSE(config->api_socket.has_value());
}

TEST(ParseJsonConfig, UnknownKeysAreErrorsNamingTheKey) {
  EXPECT_NE(ErrorOf(R"({"memory": 1})").find("unknown key \"memory\""), std::string::npos);
  EXPECT_NE(ErrorOf(R"({"disks": [{"path": "/a", "ro": true}]})").find("\"disks[0].ro\""),
            std::string::npos);
}

TEST(ParseJsonConfig, WrongTypesNameTheKeyAndTheExpectedType) {
  struct Case {
    const char* json;
    const char* expected;
  };
  for (const Case& c : {
           Case{R"({"kernel": 1})", "key \"kernel\": expected a string, got number"},
           Case{R"({"mem_mib": "256"})", "key \"mem_mib\": expected a non-negative whole number"},
           Case{R"({"mem_mib": -1})", "key \"mem_mib\": expected a non-negative whole number"},
           Case{R"({"mem_mib": 1.5})", "key \"mem_mib\": expected a non-negative whole number"},
           Case{R"({"cpus": true})",
                "key \"cpus\": expected a non-negative whole number, got "
                "boolean"},
           Case{R"({"rng": "yes"})", "key \"rng\": expected true or false, got string"},
           Case{R"({"disks": {}})", "key \"disks\": expected an array of disks, got object"},
           Case{R"({"disks": ["/a"]})", "key \"disks[0]\": expected an object"},
           Case{R"({"disks": [{"path": 1}]})", "key \"disks[0].path\": expected a string"},
           Case{R"({"disks": [{"path": "/a", "read_only": 1}]})",
                "key \"disks[0].read_only\": expected true or false"},
           Case{R"({"serial": {"kind": "stdout"}})", "key \"serial\": expected a string"},
           Case{R"({"api_socket": []})", "key \"api_socket\": expected a string, got array"},
       }) {
    EXPECT_NE(ErrorOf(c.json).find(c.expected), std::string::npos)
        << c.json << " -> " << ErrorOf(c.json);
  }
}

TEST(ParseJsonConfig, RejectsADiskWithoutAPath) {
  EXPECT_NE(ErrorOf(R"({"disks": [{"read_only": true}]})").find("disks[0] has no \"path\""),
            std::string::npos);
}

TEST(ParseJsonConfig, RejectsAnUnknownSerialSpec) {
  EXPECT_NE(ErrorOf(R"({"serial": "pty"})").find("use stdout, file:PATH, unix:PATH or none"),
            std::string::npos);
}

TEST(ParseJsonConfig, RejectsNumbersThatDoNotFit) {
  EXPECT_NE(ErrorOf(R"({"cpus": 4294967297})").find("key \"cpus\": 4294967297 is out of range"),
            std::string::npos);
  EXPECT_NE(ErrorOf(R"({"mem_mib": 18446744073709551616})").find("mem_mib"), std::string::npos);
}

TEST(ParseJsonConfig, RejectsMalformedJsonWithoutThrowing) {
  for (const char* bad :
       {"", "{", "{\"kernel\": }", "[1, 2", "nul", "{\"a\": \"\xff\"}", "{} trailing"}) {
    EXPECT_NE(ErrorOf(bad).find("invalid JSON"), std::string::npos) << bad;
  }
}

TEST(ParseJsonConfig, RejectsATopLevelThatIsNotAnObject) {
  EXPECT_NE(ErrorOf("[]").find("expected a JSON object at the top level, got array"),
            std::string::npos);
  EXPECT_NE(ErrorOf("\"kernel\"").find("got string"), std::string::npos);
}

TEST(ParseJsonConfig, RejectsAnOversizedConfiguration) {
  std::string huge = "{\"cmdline\": \"" + std::string(kMaxConfigBytes, 'x') + "\"}";
  Result<VmmConfig> config = ParseJsonConfig(huge);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().code(), E2BIG);
}

TEST(ParseJsonConfig, SurvivesDeepNesting) {
  std::string deep = "{\"kernel\": " + std::string(100000, '[') + std::string(100000, ']') + "}";
  EXPECT_NE(ErrorOf(deep).find("expected a string, got array"), std::string::npos);
}

TEST(SerialSpec, FormatsWhatItParses) {
  for (const char* spec : {"stdout", "none", "file:/a b", "unix:/run/x.sock"}) {
    Result<SerialConfig> serial = ParseSerialSpec(spec);
    ASSERT_TRUE(serial.ok()) << spec;
    EXPECT_EQ(FormatSerialSpec(*serial), spec);
  }
}

}  // namespace
}  // namespace hull::vmm

namespace hull::vmm {
namespace {

TEST(ParseJsonConfig, ReadsTheSandboxDevices) {
  Result<VmmConfig> config = ParseJsonConfig(R"({
    "nets": [{"tap": "tap0", "mac": "02:00:00:00:00:01"}, {"fd": 9}],
    "vsock_cid": 12, "balloon": true,
    "filesystems": [{"tag": "rootfs", "socket": "/run/fs.sock", "queues": 1}]})");
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  EXPECT_EQ(config->nets,
            (std::vector<NetConfig>{{"tap0", std::nullopt, "02:00:00:00:00:01"}, {"", 9, ""}}));
  EXPECT_EQ(config->vsock_cid, 12u);
  EXPECT_TRUE(config->balloon);
  EXPECT_EQ(config->filesystems, (std::vector<FsConfig>{{"rootfs", "/run/fs.sock", 1}}));
}

TEST(ParseJsonConfig, DeviceEntriesNameTheirMistakes) {
  auto error = [](std::string_view json) {
    Result<VmmConfig> config = ParseJsonConfig(json);
    return config.ok() ? std::string() : config.error().message();
  };
  EXPECT_NE(error(R"({"nets": [{"tap": "t", "vlan": 1}]})").find("nets[0].vlan"),
            std::string::npos);
  EXPECT_NE(error(R"({"nets": {"tap": "t"}})").find("an array of NICs"), std::string::npos);
  EXPECT_NE(error(R"({"filesystems": [{"tag": 5}]})").find("filesystems[0].tag"),
            std::string::npos);
  EXPECT_NE(error(R"({"vsock_cid": "3"})").find("vsock_cid"), std::string::npos);
  EXPECT_NE(error(R"({"balloon": 1})").find("balloon"), std::string::npos);
}

}  // namespace
}  // namespace hull::vmm
