#pragma once

// hull-vmm's launch configuration: flags, or a JSON file (--config) that
// flags override.
//
//   HULL_ASSIGN_OR_RETURN(VmmConfig config, ParseFlags(argc, argv));
//   if (config.show_help) { fmt::print("{}", UsageText(argv[0])); return 0; }
//   HULL_TRY(Validate(config));
//
// Parsing checks syntax and types; Validate() checks values and says how to
// fix them. Neither touches the files named.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hull/common/result.h"

namespace hull::vmm {

inline constexpr uint64_t kDefaultMemMib = 128;
inline constexpr uint64_t kMinMemMib = 64;
inline constexpr uint64_t kMaxMemMib = uint64_t{1} << 20;  // 1 TiB
inline constexpr uint32_t kMaxCpus = 64;
// x86's COMMAND_LINE_SIZE is 2048 bytes with the terminating NUL.
inline constexpr size_t kMaxCmdlineBytes = 2047;
// sockaddr_un's sun_path (108) less the NUL.
inline constexpr size_t kMaxSocketPathBytes = 107;
// A config file larger than this is a mistake, not a configuration.
inline constexpr size_t kMaxConfigBytes = size_t{1} << 20;

enum class SerialKind { kStdout, kFile, kUnix, kNone };

// --serial stdout | file:PATH | unix:PATH | none
struct SerialConfig {
  SerialKind kind = SerialKind::kStdout;
  std::string path;  // for kFile and kUnix
  bool operator==(const SerialConfig&) const = default;
};

struct DiskConfig {
  std::string path;
  bool read_only = false;
  bool operator==(const DiskConfig&) const = default;
};

// --net tap=NAME[,mac=MAC] | fd=N[,mac=MAC]: virtio-net on a tap device,
// opened by name or inherited as an open fd (a shim creates the tap in the
// pod's network namespace and passes it).
struct NetConfig {
  std::string tap;        // interface name; empty when `fd` is given
  std::optional<int> fd;  // an open tap fd (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR)
  std::string mac;        // "02:..:..": empty → derived from the name/fd, locally administered
  bool operator==(const NetConfig&) const = default;
};

// --fs tag=TAG,socket=PATH: virtio-fs served by a vhost-user back end
// (virtiofsd) listening on PATH; the guest mounts it with
// mount -t virtiofs TAG DIR.
struct FsConfig {
  std::string tag;
  std::string socket;
  uint32_t request_queues = 1;
  bool operator==(const FsConfig&) const = default;
};

inline constexpr size_t kMaxFsTagBytes = 36;  // virtio 1.2 §5.11.4

struct VmmConfig {
  std::string kernel;                 // ELF vmlinux (PVH) or bzImage
  std::optional<std::string> initrd;  // initramfs
  std::string cmdline;                // the VMM appends its device declarations
  uint64_t mem_mib = kDefaultMemMib;
  uint32_t cpus = 1;
  std::vector<DiskConfig> disks;      // virtio-blk, in order
  bool rng = true;                    // virtio-rng
  std::vector<NetConfig> nets;        // virtio-net, in order (eth0, eth1, ...)
  std::optional<uint64_t> vsock_cid;  // virtio-vsock (vhost-vsock) with this guest CID
  std::vector<FsConfig> filesystems;  // virtio-fs
  bool balloon = false;               // virtio-balloon (target through the control API)
  SerialConfig serial;
  std::optional<std::string> api_socket;
  std::string log_level = "warn";  // see hull::ParseLogLevel
  bool boot_timer = false;         // log boot marks at info
  // --help was given: print UsageText() and exit 0; nothing else is set.
  bool show_help = false;

  bool operator==(const VmmConfig&) const = default;
};

// "tap=NAME[,mac=MAC]" or "fd=N[,mac=MAC]".
Result<NetConfig> ParseNetSpec(std::string_view spec);
// "tag=TAG,socket=PATH[,queues=N]".
Result<FsConfig> ParseFsSpec(std::string_view spec);
// "02:00:00:00:00:01" → 6 bytes; EINVAL otherwise.
Result<std::array<uint8_t, 6>> ParseMac(std::string_view text);

// "stdout", "none", "file:PATH", "unix:PATH".
Result<SerialConfig> ParseSerialSpec(std::string_view spec);
std::string FormatSerialSpec(const SerialConfig& serial);

// Flags as UsageText() lists them, "--flag value" or "--flag=value". With
// --config FILE the file is read first and every flag given overrides it,
// wherever it stands on the line; --disk flags replace the file's disks.
Result<VmmConfig> ParseFlags(int argc, char** argv);

// A JSON object with the keys UsageText() lists; missing keys keep their
// defaults, unknown keys and wrong types are errors naming the key.
Result<VmmConfig> ParseJsonConfig(std::string_view json);

// Reads and parses a --config file (at most kMaxConfigBytes).
Result<VmmConfig> LoadJsonConfigFile(const std::string& path);

// Values out of range, missing or conflicting; each error names the flag
// (and JSON key) and the fix.
Result<void> Validate(const VmmConfig& config);

// The --help text.
std::string UsageText(std::string_view program);

}  // namespace hull::vmm
