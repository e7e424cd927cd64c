#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <string>

#include "config_test_support.h"
#include "hull/vmm/core/config.h"

namespace hull::vmm {
namespace {

using testing::Argv;

Result<VmmConfig> Parse(Argv args) { return ParseFlags(args.argc(), args.argv()); }

std::string ErrorOf(Argv args) {
  Result<VmmConfig> config = Parse(std::move(args));
  EXPECT_FALSE(config.ok());
  return config.ok() ? "" : config.error().message();
}

class TempFile {
 public:
  explicit TempFile(const std::string& text) {
    char name[] = "/tmp/hull-config-XXXXXX";
    int fd = mkstemp(name);
    EXPECT_GE(fd, 0);
    close(fd);
    path_ = name;
    std::ofstream(path_) << text;
  }
  ~TempFile() { unlink(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(ParseFlags, NoFlagsGiveTheDefaults) {
  Result<VmmConfig> config = Parse({});
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  EXPECT_EQ(*config, VmmConfig{});
  EXPECT_EQ(config->mem_mib, 128u);
  EXPECT_EQ(config->cpus, 1u);
  EXPECT_TRUE(config->rng);
  EXPECT_EQ(config->serial.kind, SerialKind::kStdout);
}

TEST(ParseFlags, ReadsEveryFlag) {
  Result<VmmConfig> config =
      Parse({"--kernel",      "/k",          "--initrd",  "/i",          "--cmdline",
             "quiet panic=1", "--mem",       "512",       "--cpus",      "4",
             "--disk",        "/a.img",      "--disk",    "/b.img,ro",   "--serial",
             "unix:/s.sock",  "--api-sock",  "/api.sock", "--log-level", "debug",
             "--no-rng",      "--boot-timer"});
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  EXPECT_EQ(config->kernel, "/k");
  EXPECT_EQ(config->initrd, "/i");
  EXPECT_EQ(config->cmdline, "quiet panic=1");
  EXPECT_EQ(config->mem_mib, 512u);
  EXPECT_EQ(config->cpus, 4u);
  EXPECT_EQ(config->disks, (std::vector<DiskConfig>{{"/a.img", false}, {"/b.img", true}}));
  EXPECT_EQ(config->serial, (SerialConfig{SerialKind::kUnix, "/s.sock"}));
  EXPECT_EQ(config->api_socket, "/api.sock");
  EXPECT_EQ(config->log_level, "debug");
  EXPECT_FALSE(config->rng);
  EXPECT_TRUE(config->boot_timer);
  EXPECT_FALSE(config->show_help);
}

TEST(ParseFlags, AcceptsFlagEqualsValue) {
  Result<VmmConfig> config = Parse({"--kernel=/k", "--cmdline=a=b c", "--mem=256"});
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->kernel, "/k");
  EXPECT_EQ(config->cmdline, "a=b c");
  EXPECT_EQ(config->mem_mib, 256u);
}

TEST(ParseFlags, TakesAValueThatLooksLikeAFlag) {
  Result<VmmConfig> config = Parse({"--cmdline", "--not-a-flag"});
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->cmdline, "--not-a-flag");
}

TEST(ParseFlags, DiskSuffixesChooseReadOnlyOrReadWrite) {
  Result<VmmConfig> config = Parse({"--disk", "/x,y.img", "--disk", "/z.img,rw"});
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->disks, (std::vector<DiskConfig>{{"/x,y.img", false}, {"/z.img", false}}));
}

TEST(ParseFlags, ParsesEverySerialKind) {
  EXPECT_EQ(Parse({"--serial", "stdout"})->serial.kind, SerialKind::kStdout);
  EXPECT_EQ(Parse({"--serial", "none"})->serial.kind, SerialKind::kNone);
  EXPECT_EQ(Parse({"--serial", "file:/log"})->serial, (SerialConfig{SerialKind::kFile, "/log"}));
  EXPECT_NE(ErrorOf({"--serial", "tcp:1234"}).find("--serial"), std::string::npos);
}

TEST(ParseFlags, HelpWinsOverEverythingElse) {
  Result<VmmConfig> config = Parse({"--mem", "1", "--help", "--config", "/nonexistent"});
  ASSERT_TRUE(config.ok());
  EXPECT_TRUE(config->show_help);
  EXPECT_TRUE(Parse({"-h"})->show_help);
}

TEST(ParseFlags, RejectsUnknownFlagsAndNamesThem) {
  EXPECT_NE(ErrorOf({"--memory", "1"}).find("unknown flag --memory"), std::string::npos);
  EXPECT_NE(ErrorOf({"vmlinux"}).find("unexpected argument \"vmlinux\""), std::string::npos);
}

TEST(ParseFlags, RejectsAMissingValue) {
  EXPECT_NE(ErrorOf({"--kernel"}).find("--kernel needs a value"), std::string::npos);
}

TEST(ParseFlags, RejectsAValueForASwitch) {
  EXPECT_NE(ErrorOf({"--no-rng=yes"}).find("--no-rng takes no value"), std::string::npos);
}

TEST(ParseFlags, RejectsNumbersThatAreNotWholeOrDoNotFit) {
  for (const char* bad : {"", "abc", "12MiB", "-1", "1.5", " 1", "99999999999999999999999"}) {
    EXPECT_NE(ErrorOf({"--mem", bad}).find("--mem"), std::string::npos) << bad;
  }
  EXPECT_NE(ErrorOf({"--cpus", "4294967297"}).find("--cpus"), std::string::npos)
      << "2^32 + 1 must not wrap to 1";
}

TEST(ParseFlags, ConfigFileIsTheBaseThatFlagsOverride) {
  TempFile file(R"({"kernel": "/file-kernel", "mem_mib": 256, "cpus": 2,
                    "disks": [{"path": "/file.img"}], "cmdline": "from-file"})");
  // The flag before --config still overrides the file.
  Result<VmmConfig> config =
      Parse({"--cpus", "8", "--config", file.path(), "--cmdline", "from-flag"});
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  EXPECT_EQ(config->kernel, "/file-kernel");
  EXPECT_EQ(config->mem_mib, 256u);
  EXPECT_EQ(config->cpus, 8u);
  EXPECT_EQ(config->cmdline, "from-flag");
  EXPECT_EQ(config->disks, (std::vector<DiskConfig>{{"/file.img", false}}));
}

TEST(ParseFlags, DiskFlagsReplaceTheConfigFilesDisks) {
  TempFile file(R"({"disks": [{"path": "/file.img"}]})");
  Result<VmmConfig> config = Parse({"--config", file.path(), "--disk", "/flag.img,ro"});
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->disks, (std::vector<DiskConfig>{{"/flag.img", true}}));
}

TEST(ParseFlags, ConfigFileErrorsNameTheFile) {
  TempFile file(R"({"kernal": "/typo"})");
  const std::string error = ErrorOf({"--config", file.path()});
  EXPECT_NE(error.find("--config " + file.path()), std::string::npos) << error;
  EXPECT_NE(error.find("unknown key \"kernal\""), std::string::npos) << error;

  const std::string missing = ErrorOf({"--config", "/nonexistent/hull.json"});
  EXPECT_NE(missing.find("--config /nonexistent/hull.json: open"), std::string::npos) << missing;
  EXPECT_NE(ErrorOf({"--config", "/tmp"}).find("not a regular file"), std::string::npos);
}

TEST(ParseFlags, RejectsTwoConfigFiles) {
  TempFile file("{}");
  EXPECT_NE(ErrorOf({"--config", file.path(), "--config", file.path()}).find("twice"),
            std::string::npos);
}

TEST(UsageText, ListsEveryFlag) {
  const std::string usage = UsageText("hull-vmm");
  for (const char* flag :
       {"--kernel", "--initrd", "--cmdline", "--mem", "--cpus", "--disk", "--no-rng", "--serial",
        "--api-sock", "--log-level", "--boot-timer", "--config", "--help"}) {
    EXPECT_NE(usage.find(flag), std::string::npos) << flag;
  }
  EXPECT_TRUE(usage.starts_with("usage: hull-vmm "));
}

}  // namespace
}  // namespace hull::vmm

namespace hull::vmm {
namespace {

TEST(ParseFlags, ReadsTheSandboxDevices) {
  Result<VmmConfig> config = Parse({"--net", "tap=tap0,mac=02:00:00:00:00:01", "--net=fd=5",
                                    "--vsock", "7", "--fs", "tag=rootfs,socket=/run/fs.sock",
                                    "--fs", "tag=vol,socket=v.sock,queues=1", "--balloon"});
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  ASSERT_EQ(config->nets.size(), 2u);
  EXPECT_EQ(config->nets[0], (NetConfig{"tap0", std::nullopt, "02:00:00:00:00:01"}));
  EXPECT_EQ(config->nets[1], (NetConfig{"", 5, ""}));
  EXPECT_EQ(config->vsock_cid, 7u);
  ASSERT_EQ(config->filesystems.size(), 2u);
  EXPECT_EQ(config->filesystems[0], (FsConfig{"rootfs", "/run/fs.sock", 1}));
  EXPECT_EQ(config->filesystems[1], (FsConfig{"vol", "v.sock", 1}));
  EXPECT_TRUE(config->balloon);
}

TEST(ParseFlags, DeviceSpecsNameWhatIsWrong) {
  EXPECT_NE(ErrorOf({"--net", "tap0"}).find("expected key=value"), std::string::npos);
  EXPECT_NE(ErrorOf({"--net", "tap=t,speed=10"}).find("unknown key \"speed\""), std::string::npos);
  EXPECT_NE(ErrorOf({"--net", "fd=x"}).find("whole number"), std::string::npos);
  EXPECT_NE(ErrorOf({"--fs", "tag=a,sock=b"}).find("unknown key \"sock\""), std::string::npos);
  EXPECT_NE(ErrorOf({"--vsock", "three"}).find("whole number"), std::string::npos);
}

TEST(ParseMac, AcceptsUnicastAndRefusesTheRest) {
  Result<std::array<uint8_t, 6>> mac = ParseMac("02:aB:00:10:ff:09");
  ASSERT_TRUE(mac.ok());
  EXPECT_EQ(*mac, (std::array<uint8_t, 6>{0x02, 0xab, 0x00, 0x10, 0xff, 0x09}));
  EXPECT_FALSE(ParseMac("02:00:00:00:00").ok());
  EXPECT_FALSE(ParseMac("02-00-00-00-00-01").ok());
  EXPECT_FALSE(ParseMac("02:00:00:00:00:zz").ok());
  EXPECT_NE(ParseMac("01:00:5e:00:00:01").error().message().find("multicast"), std::string::npos);
}

}  // namespace
}  // namespace hull::vmm
