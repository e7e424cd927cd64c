#include "hull/vmm/core/config.h"

#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <set>
#include <utility>
#include <vector>

#include "hull/common/logging.h"
#include "parse_unsigned.h"

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

// "a=1,b=2" → pairs, in order. Values may not contain commas.
Result<std::vector<std::pair<std::string_view, std::string_view>>> SplitKeyValues(
    std::string_view what, std::string_view spec, std::string_view usage) {
  std::vector<std::pair<std::string_view, std::string_view>> pairs;
  while (!spec.empty()) {
    const size_t comma = spec.find(',');
    const std::string_view item = spec.substr(0, comma);
    spec = comma == std::string_view::npos ? std::string_view() : spec.substr(comma + 1);
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return Error(EINVAL, fmt::format("{} \"{}\": expected key=value; use {}", what, item, usage));
    }
    pairs.emplace_back(item.substr(0, eq), item.substr(eq + 1));
  }
  return pairs;
}

constexpr std::string_view kNetUsage = "--net tap=NAME[,mac=MAC] or --net fd=N[,mac=MAC]";
constexpr std::string_view kFsUsage = "--fs tag=TAG,socket=PATH[,queues=N]";

}  // namespace

Result<std::array<uint8_t, 6>> ParseMac(std::string_view text) {
  std::array<uint8_t, 6> mac{};
  if (text.size() != 17) {
    return Error(EINVAL,
                 fmt::format("MAC \"{}\": use six hex bytes, e.g. 02:00:00:00:00:01", text));
  }
  for (size_t i = 0; i < 6; ++i) {
    const std::string_view byte = text.substr(i * 3, 2);
    if (i < 5 && text[i * 3 + 2] != ':') {
      return Error(EINVAL, fmt::format("MAC \"{}\": bytes are separated by ':'", text));
    }
    auto [ptr, ec] = std::from_chars(byte.data(), byte.data() + 2, mac[i], 16);
    if (ec != std::errc() || ptr != byte.data() + 2) {
      return Error(EINVAL, fmt::format("MAC \"{}\": \"{}\" is not a hex byte", text, byte));
    }
  }
  if ((mac[0] & 1) != 0) {
    return Error(EINVAL, fmt::format("MAC {} is a multicast address: a NIC needs a unicast one "
                                     "(clear the low bit of the first byte)",
                                     text));
  }
  return mac;
}

Result<NetConfig> ParseNetSpec(std::string_view spec) {
  HULL_ASSIGN_OR_RETURN(auto pairs, SplitKeyValues("--net", spec, kNetUsage));
  NetConfig net;
  for (const auto& [key, value] : pairs) {
    if (key == "tap") {
      net.tap = value;
    } else if (key == "fd") {
      HULL_ASSIGN_OR_RETURN(const uint64_t fd,
                            ParseUnsigned<uint64_t>("--net fd", value, "--net fd=3"));
      if (fd > 1 << 20) return Error(EINVAL, fmt::format("--net fd={}: not a file descriptor", fd));
      net.fd = static_cast<int>(fd);
    } else if (key == "mac") {
      net.mac = value;
    } else {
      return Error(EINVAL, fmt::format("--net: unknown key \"{}\"; use {}", key, kNetUsage));
    }
  }
  return net;
}

Result<FsConfig> ParseFsSpec(std::string_view spec) {
  HULL_ASSIGN_OR_RETURN(auto pairs, SplitKeyValues("--fs", spec, kFsUsage));
  FsConfig fs;
  for (const auto& [key, value] : pairs) {
    if (key == "tag") {
      fs.tag = value;
    } else if (key == "socket") {
      fs.socket = value;
    } else if (key == "queues") {
      HULL_ASSIGN_OR_RETURN(
          const uint64_t n,
          ParseUnsigned<uint64_t>("--fs queues", value, "--fs tag=a,socket=s,queues=1"));
      if (n > 1024) return Error(EINVAL, fmt::format("--fs queues={}: at most 1024", n));
      fs.request_queues = static_cast<uint32_t>(n);
    } else {
      return Error(EINVAL, fmt::format("--fs: unknown key \"{}\"; use {}", key, kFsUsage));
    }
  }
  return fs;
}

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
  std::set<std::string_view> taps;
  for (const NetConfig& net : config.nets) {
    if (net.tap.empty() == !net.fd.has_value()) {
      return Error(EINVAL, fmt::format("--net: give either tap=NAME or fd=N; use {}", kNetUsage));
    }
    if (!net.tap.empty()) {
      if (net.tap.size() > 15 || net.tap.find_first_of("/ \t\n,") != std::string::npos) {
        return Error(EINVAL, fmt::format("--net tap={}: not a valid interface name (at most 15 "
                                         "characters, no '/', ',' or spaces)",
                                         net.tap));
      }
      if (!taps.insert(net.tap).second) {
        return Error(EINVAL,
                     fmt::format("--net tap={} is given twice: one tap backs one NIC", net.tap));
      }
    }
    if (net.fd.has_value() && *net.fd < 3) {
      return Error(EINVAL, fmt::format("--net fd={}: 0, 1 and 2 are stdio, not a tap", *net.fd));
    }
    if (!net.mac.empty()) HULL_TRY(ParseMac(net.mac).WithContext("--net mac"));
  }
  if (config.vsock_cid.has_value() && (*config.vsock_cid < 3 || *config.vsock_cid > 0xfffffffe)) {
    return Error(EINVAL, fmt::format("--vsock (\"vsock_cid\") {}: CIDs 0..2 and 4294967295 are "
                                     "reserved; use 3..4294967294",
                                     *config.vsock_cid));
  }
  std::set<std::string_view> tags;
  for (const FsConfig& fs : config.filesystems) {
    if (fs.tag.empty() || fs.tag.size() > kMaxFsTagBytes ||
        fs.tag.find_first_of(std::string_view("\0 ,", 3)) != std::string::npos) {
      return Error(EINVAL, fmt::format("--fs tag \"{}\": 1 to {} bytes, no spaces or commas",
                                       fs.tag, kMaxFsTagBytes));
    }
    if (!tags.insert(fs.tag).second) {
      return Error(EINVAL, fmt::format("--fs tag={} is given twice: tags name the shares, and "
                                       "must differ",
                                       fs.tag));
    }
    HULL_TRY(ValidateSocketPath("--fs socket=", fs.socket, kFsUsage));
    if (fs.request_queues < 1) {
      return Error(EINVAL, "--fs queues=0: a virtio-fs device needs at least one request queue");
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
  --net SPEC           a virtio-net NIC on a tap: tap=NAME[,mac=MAC] opens the tap
                       by name, fd=N[,mac=MAC] uses an open tap fd; repeatable
  --vsock CID          a virtio-vsock device (host kernel vhost-vsock) with this
                       guest CID (3..4294967294, unique on the host)
  --fs SPEC            a virtio-fs share served by virtiofsd (vhost-user):
                       tag=TAG,socket=PATH[,queues=N]; repeatable
  --balloon            a virtio-balloon device (target set through the API)
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
   "rng": true, "nets": [{{"tap": "tap0", "mac": "02:00:00:00:00:01"}}],
   "vsock_cid": 3, "filesystems": [{{"tag": "rootfs", "socket": "/run/fs.sock"}}],
   "balloon": false, "serial": "stdout", "api_socket": "/run/hull/vm.sock",
   "log_level": "info", "boot_timer": false}}
)",
                     program, kMaxCmdlineBytes, kMinMemMib, kMaxMemMib, kDefaultMemMib, kMaxCpus);
}

}  // namespace hull::vmm
