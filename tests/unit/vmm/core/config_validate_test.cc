#include <gtest/gtest.h>

#include <string>

#include "hull/vmm/core/config.h"

namespace hull::vmm {
namespace {

VmmConfig Valid() {
  VmmConfig config;
  config.kernel = "/vmlinux";
  return config;
}

// The error for `config`, which must name each of `parts`.
void ExpectError(const VmmConfig& config, std::initializer_list<std::string_view> parts) {
  Result<void> result = Validate(config);
  ASSERT_FALSE(result.ok());
  for (std::string_view part : parts) {
    EXPECT_NE(result.error().message().find(part), std::string::npos)
        << "\"" << result.error().message() << "\" lacks \"" << part << "\"";
  }
}

TEST(Validate, AcceptsAMinimalConfiguration) {
  Result<void> result = Validate(Valid());
  EXPECT_TRUE(result.ok()) << result.error().ToString();
}

TEST(Validate, AcceptsTheLimits) {
  VmmConfig config = Valid();
  config.mem_mib = kMinMemMib;
  config.cpus = kMaxCpus;
  config.cmdline = std::string(kMaxCmdlineBytes, 'x');
  EXPECT_TRUE(Validate(config).ok());
  config.mem_mib = kMaxMemMib;
  config.cpus = 1;
  EXPECT_TRUE(Validate(config).ok());
}

TEST(Validate, RequiresAKernel) { ExpectError(VmmConfig{}, {"--kernel", "required", "vmlinux"}); }

TEST(Validate, RejectsTooLittleMemory) {
  VmmConfig config = Valid();
  config.mem_mib = kMinMemMib - 1;
  ExpectError(config, {"--mem", "63 MiB", "at least --mem 64"});
}

TEST(Validate, RejectsTooMuchMemory) {
  VmmConfig config = Valid();
  config.mem_mib = kMaxMemMib + 1;
  ExpectError(config, {"--mem", "1 TiB", "smaller"});
}

TEST(Validate, RejectsCpusOutOfRange) {
  VmmConfig config = Valid();
  config.cpus = 0;
  ExpectError(config, {"--cpus", "1 to 64"});
  config.cpus = kMaxCpus + 1;
  ExpectError(config, {"--cpus", "65"});
}

TEST(Validate, RejectsALongCommandLine) {
  VmmConfig config = Valid();
  config.cmdline = std::string(kMaxCmdlineBytes + 1, 'x');
  ExpectError(config, {"--cmdline", "2048 bytes", "at most 2047", "shorten"});
}

TEST(Validate, RejectsANulInTheCommandLine) {
  VmmConfig config = Valid();
  config.cmdline = std::string("quiet\0 init=/evil", 17);
  ExpectError(config, {"--cmdline", "NUL"});
}

TEST(Validate, RejectsEmptyOrNulPaths) {
  VmmConfig config = Valid();
  config.kernel = std::string("/vm\0linux", 9);
  ExpectError(config, {"--kernel", "NUL"});
  config = Valid();
  config.initrd = "";
  ExpectError(config, {"--initrd", "empty path"});
  config = Valid();
  config.disks = {{"", false}};
  ExpectError(config, {"--disk", "empty path", "--disk PATH[,ro]"});
}

TEST(Validate, RejectsTheSameDiskTwice) {
  VmmConfig config = Valid();
  config.disks = {{"/a.img", false}, {"/a.img", true}};
  ExpectError(config, {"--disk /a.img", "twice"});
}

TEST(Validate, RejectsSerialKindsWithoutAPath) {
  VmmConfig config = Valid();
  config.serial = {SerialKind::kFile, ""};
  ExpectError(config, {"--serial file:", "--serial file:PATH"});
  config.serial = {SerialKind::kUnix, ""};
  ExpectError(config, {"--serial unix:", "--serial unix:PATH"});
}

TEST(Validate, RejectsSocketPathsThatDoNotFitSockaddrUn) {
  VmmConfig config = Valid();
  config.api_socket = "/" + std::string(kMaxSocketPathBytes, 's');
  ExpectError(config, {"--api-sock", "108 bytes", "at most 107", "shorter"});
  config = Valid();
  config.serial = {SerialKind::kUnix, "/" + std::string(kMaxSocketPathBytes, 's')};
  ExpectError(config, {"--serial unix:", "at most 107"});
  config.serial.path = "/" + std::string(kMaxSocketPathBytes - 1, 's');
  EXPECT_TRUE(Validate(config).ok()) << "107 bytes fit";
}

TEST(Validate, RejectsOneSocketForConsoleAndApi) {
  VmmConfig config = Valid();
  config.serial = {SerialKind::kUnix, "/run/vm.sock"};
  config.api_socket = "/run/vm.sock";
  ExpectError(config, {"--api-sock", "--serial unix:", "different"});
}

TEST(Validate, RejectsAnUnknownLogLevel) {
  VmmConfig config = Valid();
  config.log_level = "verbose";
  ExpectError(config, {"--log-level", "\"verbose\"", "trace, debug, info"});
}

}  // namespace
}  // namespace hull::vmm

namespace hull::vmm {
namespace {

TEST(Validate, ChecksTheSandboxDevices) {
  VmmConfig config = Valid();
  config.nets = {{"tap0", std::nullopt, ""}, {"", 7, "02:00:00:00:00:01"}};
  config.vsock_cid = 3;
  config.filesystems = {{"rootfs", "/run/a.sock", 1}, {"vol", "/run/b.sock", 1}};
  config.balloon = true;
  Result<void> ok = Validate(config);
  EXPECT_TRUE(ok.ok()) << ok.error().ToString();

  VmmConfig both = Valid();
  both.nets = {{"tap0", 7, ""}};
  ExpectError(both, {"--net", "either tap=NAME or fd=N"});
  VmmConfig twice = Valid();
  twice.nets = {{"tap0", std::nullopt, ""}, {"tap0", std::nullopt, ""}};
  ExpectError(twice, {"tap=tap0", "twice"});
  VmmConfig stdio = Valid();
  stdio.nets = {{"", 1, ""}};
  ExpectError(stdio, {"fd=1", "stdio"});
  VmmConfig long_name = Valid();
  long_name.nets = {{"a-much-too-long-name", std::nullopt, ""}};
  ExpectError(long_name, {"not a valid interface name"});
  VmmConfig mac = Valid();
  mac.nets = {{"tap0", std::nullopt, "ff:ff:ff:ff:ff:ff"}};
  ExpectError(mac, {"--net mac", "multicast"});
  for (uint64_t cid : {0u, 1u, 2u, 0xffffffffu}) {
    VmmConfig reserved = Valid();
    reserved.vsock_cid = cid;
    ExpectError(reserved, {"--vsock", "reserved"});
  }
  VmmConfig tag = Valid();
  tag.filesystems = {{std::string(kMaxFsTagBytes + 1, 't'), "/s", 1}};
  ExpectError(tag, {"--fs tag", "1 to 36 bytes"});
  VmmConfig tags = Valid();
  tags.filesystems = {{"a", "/s1", 1}, {"a", "/s2", 1}};
  ExpectError(tags, {"tag=a", "twice"});
  VmmConfig socket = Valid();
  socket.filesystems = {{"a", std::string(200, 's'), 1}};
  ExpectError(socket, {"--fs socket=", "Unix socket"});
  VmmConfig queues = Valid();
  queues.filesystems = {{"a", "/s", 0}};
  ExpectError(queues, {"queues=0"});
}

}  // namespace
}  // namespace hull::vmm
