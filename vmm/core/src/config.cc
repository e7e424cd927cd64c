#include "hull/vmm/core/config.h"

#include <fmt/format.h>

#include <cerrno>
#include <set>

#include "hull/common/logging.h"

namespace hull::vmm {
namespace {

constexpr std::string_view kFilePrefix = "file:";
constexpr std::string_view kUnixPrefix = "unix:";

Result<void> ValidatePath(std::string_view flag, std::string_view path, std::string_view usage) {
  if (path.empty()) return Error(EINVAL, fmt::format("{}: empty path; use {}", flag, usage));
  if (path.find('\0') != std::string_view::npos) {
    return Error(EINVAL, fmt::format("{}: the path contains a NUL byte; use {}", flag, usage));
  }
  return Ok();
}

Result<void> ValidateSocketPath(std::string_view flag, std::string_view path,
                                std::string_view usage) {
  HULL_TRY(ValidatePath(flag, path, usage));
  if (path.size() > kMaxSocketPathBytes) {
    return Error(ENAMETOOLONG,
                 fmt::format("{}: the socket path is {} bytes, but at most {} fit in a Unix "
                             "socket address; use a shorter path (a relative one works)",
                             flag, path.size(), kMaxSocketPathBytes));
  }
  return Ok();
}

}  // namespace

Result<SerialConfig> ParseSerialSpec(std::string_view spec) {
  if (spec == "stdout") return SerialConfig{SerialKind::kStdout, ""};
  if (spec == "none") return SerialConfig{SerialKind::kNone, ""};
  if (spec.starts_with(kFilePrefix)) {
    return SerialConfig{SerialKind::kFile, std::string(spec.substr(kFilePrefix.size()))};
  }
  if (spec.starts_with(kUnixPrefix)) {
    return SerialConfig{SerialKind::kUnix, std::string(spec.substr(kUnixPrefix.size()))};
  }
  return Error(EINVAL, fmt::format("serial \"{}\": use stdout, file:PATH, unix:PATH or none",
                                   std::string(spec)));
}

std::string FormatSerialSpec(const SerialConfig& serial) {
  switch (serial.kind) {
    case SerialKind::kStdout:
      return "stdout";
    case SerialKind::kNone:
      return "none";
    case SerialKind::kFile:
      return fmt::format("{}{}", kFilePrefix, serial.path);
    case SerialKind::kUnix:
      return fmt::format("{}{}", kUnixPrefix, serial.path);
  }
  return "none";
}

Result<void> Validate(const VmmConfig& config) {
  if (config.kernel.empty()) {
    return Error(EINVAL,
                 "--kernel (\"kernel\") is required: give the guest kernel, an ELF vmlinux or a "
                 "bzImage, e.g. --kernel /var/lib/hull/vmlinux");
  }
  HULL_TRY(ValidatePath("--kernel", config.kernel, "--kernel PATH"));
  if (config.initrd.has_value()) {
    HULL_TRY(ValidatePath("--initrd", *config.initrd, "--initrd PATH or leave it out"));
  }
  if (config.cmdline.size() > kMaxCmdlineBytes) {
    return Error(E2BIG, fmt::format("--cmdline (\"cmdline\") is {} bytes, but the kernel takes at "
                                    "most {}: shorten it",
                                    config.cmdline.size(), kMaxCmdlineBytes));
  }
  if (config.cmdline.find('\0') != std::string::npos) {
    return Error(EINVAL,
                 "--cmdline (\"cmdline\") contains a NUL byte, which would end it early: "
                 "remove it");
  }
  if (config.mem_mib < kMinMemMib) {
    return Error(EINVAL,
                 fmt::format("--mem (\"mem_mib\") {} MiB is too small for the guest: use at "
                             "least --mem {}",
                             config.mem_mib, kMinMemMib));
  }
  if (config.mem_mib > kMaxMemMib) {
    return Error(EINVAL, fmt::format("--mem (\"mem_mib\") {} MiB is more than the {} MiB (1 TiB) "
                                     "hull-vmm supports: use a smaller --mem",
                                     config.mem_mib, kMaxMemMib));
  }
  if (config.cpus < 1 || config.cpus > kMaxCpus) {
    return Error(EINVAL,
                 fmt::format("--cpus (\"cpus\") {}: use 1 to {} vCPUs", config.cpus, kMaxCpus));
  }
  std::set<std::string_view> disk_paths;
  for (const DiskConfig& disk : config.disks) {
    HULL_TRY(ValidatePath("--disk", disk.path, "--disk PATH[,ro]"));
    if (!disk_paths.insert(disk.path).second) {
      return Error(EINVAL, fmt::format("--disk {} is given twice: one image may back only one disk "
                                       "(two writers would corrupt it); drop one",
                                       disk.path));
    }
  }
  switch (config.serial.kind) {
    case SerialKind::kFile:
      HULL_TRY(ValidatePath("--serial file:", config.serial.path, "--serial file:PATH"));
      break;
    case SerialKind::kUnix:
      HULL_TRY(ValidateSocketPath("--serial unix:", config.serial.path, "--serial unix:PATH"));
      break;
    case SerialKind::kStdout:
    case SerialKind::kNone:
      break;
  }
  if (config.api_socket.has_value()) {
    HULL_TRY(ValidateSocketPath("--api-sock", *config.api_socket, "--api-sock PATH"));
    if (config.serial.kind == SerialKind::kUnix && config.serial.path == *config.api_socket) {
      return Error(EINVAL,
                   fmt::format("--api-sock and --serial unix: both use {}: give the console "
                               "and the control API different sockets",
                               *config.api_socket));
    }
  }
  if (Result<spdlog::level::level_enum> level = ParseLogLevel(config.log_level); !level.ok()) {
    return Error(EINVAL, fmt::format("--log-level (\"log_level\") \"{}\": use trace, debug, info, "
                                     "warn, error or off",
                                     config.log_level));
  }
  return Ok();
}

std::string UsageText(std::string_view program) {
  return fmt::format(R"(usage: {} --kernel PATH [options]

Boots a Linux kernel in a KVM microVM.

  --kernel PATH        guest kernel: ELF vmlinux (PVH entry) or bzImage (required)
  --initrd PATH        initramfs
  --cmdline STR        kernel command line (at most {} bytes); hull-vmm adds
                       its console and device declarations
  --mem MiB            guest RAM, {}..{} MiB (default {})
  --cpus N             vCPUs, 1..{} (default 1)
  --disk PATH[,ro]     a virtio-blk disk; ",ro" makes it read-only; repeatable,
                       in order (vda, vdb, ...)
  --no-rng             no virtio-rng device
  --serial SPEC        the console: stdout (default; input from stdin),
                       file:PATH (output only), unix:PATH (a socket that
                       serves one client at a time; output while none is
                       connected is kept in a small ring buffer), or none
  --api-sock PATH      serve the control API on this Unix socket (mode 0600)
  --log-level LEVEL    trace, debug, info, warn (default), error or off
  --boot-timer         log the guest's boot marks at info
  --config FILE        read a JSON configuration first; flags given override it
                       (--disk flags replace its disks)
  --help               show this text

The JSON configuration holds the same settings:
  {{"kernel": "vmlinux", "initrd": "initrd.img", "cmdline": "quiet",
   "mem_mib": 256, "cpus": 2, "disks": [{{"path": "rootfs.img", "read_only": true}}],
   "rng": true, "serial": "stdout", "api_socket": "/run/hull/vm.sock",
   "log_level": "info", "boot_timer": false}}
)",
                     program, kMaxCmdlineBytes, kMinMemMib, kMaxMemMib, kDefaultMemMib, kMaxCpus);
}

}  // namespace hull::vmm
