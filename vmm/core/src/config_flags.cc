// ParseFlags: hull-vmm's command line onto a VmmConfig.

#include <fmt/format.h>

#include <cerrno>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hull/vmm/core/config.h"
#include "parse_unsigned.h"

namespace hull::vmm {
namespace {

struct Flag {
  std::string_view name;  // "--mem"
  std::optional<std::string_view> value;
};

// Flags that take a value ("--flag value" or "--flag=value").
constexpr std::string_view kValueFlags[] = {
    "--kernel",   "--initrd", "--cmdline",   "--mem", "--cpus",  "--disk", "--serial",
    "--api-sock", "--config", "--log-level", "--net", "--vsock", "--fs"};
// Flags that take none.
constexpr std::string_view kSwitchFlags[] = {"--no-rng", "--boot-timer", "--balloon", "--help",
                                             "-h"};

bool Contains(std::span<const std::string_view> names, std::string_view name) {
  for (std::string_view n : names) {
    if (n == name) return true;
  }
  return false;
}

// Splits argv into flags, checking names and values are present.
Result<std::vector<Flag>> Tokenize(int argc, char** argv) {
  std::vector<Flag> flags;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg(argv[i]);
    std::optional<std::string_view> inline_value;
    if (arg.starts_with("--")) {
      if (size_t eq = arg.find('='); eq != std::string_view::npos) {
        inline_value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
      }
    }
    if (Contains(kSwitchFlags, arg)) {
      if (inline_value.has_value()) {
        return Error(EINVAL, fmt::format("{} takes no value", arg));
      }
      flags.push_back({arg, std::nullopt});
      continue;
    }
    if (!Contains(kValueFlags, arg)) {
      if (!arg.starts_with("-")) {
        return Error(
            EINVAL,
            fmt::format("unexpected argument \"{}\": every setting is a flag (see --help)", arg));
      }
      return Error(EINVAL, fmt::format("unknown flag {} (see --help)", arg));
    }
    if (!inline_value.has_value()) {
      if (i + 1 >= argc) return Error(EINVAL, fmt::format("{} needs a value (see --help)", arg));
      inline_value = std::string_view(argv[++i]);
    }
    flags.push_back({arg, inline_value});
  }
  return flags;
}

// "PATH", "PATH,ro" or "PATH,rw".
DiskConfig ParseDisk(std::string_view spec) {
  if (spec.ends_with(",ro")) return {std::string(spec.substr(0, spec.size() - 3)), true};
  if (spec.ends_with(",rw")) return {std::string(spec.substr(0, spec.size() - 3)), false};
  return {std::string(spec), false};
}

// Repeatable flags collect here; given at all, they replace the file's lists.
struct Lists {
  std::vector<DiskConfig> disks;
  std::vector<NetConfig> nets;
  std::vector<FsConfig> filesystems;
};

Result<void> Apply(const Flag& flag, VmmConfig& config, Lists& lists) {
  const std::string_view name = flag.name;
  const std::string_view value = flag.value.value_or("");
  if (name == "--kernel") {
    config.kernel = value;
  } else if (name == "--initrd") {
    config.initrd = std::string(value);
  } else if (name == "--cmdline") {
    config.cmdline = value;
  } else if (name == "--mem") {
    HULL_ASSIGN_OR_RETURN(config.mem_mib, ParseUnsigned<uint64_t>(name, value, "--mem 256"));
  } else if (name == "--cpus") {
    HULL_ASSIGN_OR_RETURN(config.cpus, ParseUnsigned<uint32_t>(name, value, "--cpus 2"));
  } else if (name == "--disk") {
    lists.disks.push_back(ParseDisk(value));
  } else if (name == "--net") {
    HULL_ASSIGN_OR_RETURN(NetConfig net, ParseNetSpec(value));
    lists.nets.push_back(std::move(net));
  } else if (name == "--fs") {
    HULL_ASSIGN_OR_RETURN(FsConfig fs, ParseFsSpec(value));
    lists.filesystems.push_back(std::move(fs));
  } else if (name == "--vsock") {
    HULL_ASSIGN_OR_RETURN(config.vsock_cid, ParseUnsigned<uint64_t>(name, value, "--vsock 3"));
  } else if (name == "--balloon") {
    config.balloon = true;
  } else if (name == "--serial") {
    HULL_ASSIGN_OR_RETURN(config.serial, ParseSerialSpec(value).WithContext("--serial"));
  } else if (name == "--api-sock") {
    config.api_socket = std::string(value);
  } else if (name == "--log-level") {
    config.log_level = value;
  } else if (name == "--no-rng") {
    config.rng = false;
  } else if (name == "--boot-timer") {
    config.boot_timer = true;
  }
  // --config and --help are handled by the caller.
  return Ok();
}

}  // namespace

Result<VmmConfig> ParseFlags(int argc, char** argv) {
  HULL_ASSIGN_OR_RETURN(std::vector<Flag> flags, Tokenize(argc, argv));

  VmmConfig config;
  std::optional<std::string_view> config_file;
  for (const Flag& flag : flags) {
    if (flag.name == "--help" || flag.name == "-h") {
      VmmConfig help;
      help.show_help = true;
      return help;
    }
    if (flag.name == "--config") {
      if (config_file.has_value()) {
        return Error(EINVAL, "--config is given twice: merge the files into one");
      }
      config_file = flag.value;
    }
  }
  if (config_file.has_value()) {
    HULL_ASSIGN_OR_RETURN(config, LoadJsonConfigFile(std::string(*config_file)));
  }

  Lists lists;
  for (const Flag& flag : flags) HULL_TRY(Apply(flag, config, lists));
  if (!lists.disks.empty()) config.disks = std::move(lists.disks);
  if (!lists.nets.empty()) config.nets = std::move(lists.nets);
  if (!lists.filesystems.empty()) config.filesystems = std::move(lists.filesystems);
  return config;
}

}  // namespace hull::vmm
