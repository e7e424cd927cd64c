// hull: the runc-compatible command line of hull (Docker, Podman and CRI-O
// run it as an OCI runtime), plus `hull check`.
//
//   hull [global options] COMMAND [options] [ID]
//
// Global options (as runc's): --root DIR (state; default /run/hull),
// --log FILE, --log-format text|json, --log-level LEVEL, --debug,
// --config FILE (hull's host configuration).

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "features.h"
#include "hull/common/logging.h"
#include "hull/sandbox/host_check.h"
#include "hull/sandbox/host_config.h"
#include "run_command.h"

namespace {

constexpr const char* kVersion = "0.1.0";

constexpr const char* kUsage =
    "usage: hull [--root DIR] [--config FILE] [--log FILE] [--log-format text|json]\n"
    "            [--log-level LEVEL] [--debug] COMMAND [options] [ID]\n"
    "\n"
    "Runs OCI containers, each in its own KVM microVM.\n"
    "\n"
    "commands:\n"
    "  run [--bundle DIR] [--pid-file FILE] ID\n"
    "                 create and start a container from the bundle in a new microVM,\n"
    "                 attached: stdio is this process's, the exit status the container's\n"
    "  check          can this host run hull? each check with the fix when it fails\n"
    "  features       the OCI runtime features hull supports (JSON)\n"
    "  --version      hull's version and the OCI runtime spec version it implements\n"
    "\n"
    "Not yet: create, start, state, kill, delete, exec, ps, list (issue #6).\n";

int Fail(const std::string& message) {
  std::fprintf(stderr, "hull: %s\n", message.c_str());
  return 1;
}

struct Global {
  std::string root;
  std::string config;
  std::string log_level = "warn";
};

// "--flag value" or "--flag=value".
bool TakeValue(std::vector<std::string>& args, size_t& i, std::string_view flag,
               std::string* value) {
  const std::string& arg = args[i];
  if (arg == flag) {
    if (i + 1 >= args.size()) return false;
    *value = args[++i];
    return true;
  }
  if (arg.size() > flag.size() && arg.compare(0, flag.size(), flag) == 0 &&
      arg[flag.size()] == '=') {
    *value = arg.substr(flag.size() + 1);
    return true;
  }
  return false;
}

int Check(const hull::sandbox::HostConfig& config) {
  bool ready = true;
  for (const hull::sandbox::HostCheck& check : hull::sandbox::CheckHost(config)) {
    const char* mark = check.ok ? "ok" : check.required ? "FAIL" : "warn";
    std::printf("%-4s %-16s %s\n", mark, check.name.c_str(), check.detail.c_str());
    if (!check.ok) {
      std::printf("     %-16s fix: %s\n", "", check.fix.c_str());
      if (check.required) ready = false;
    }
  }
  std::printf(ready ? "hull can run sandboxes on this host\n"
                    : "hull cannot run sandboxes on this host: see the fixes above\n");
  return ready ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  Global global;
  std::string ignored;
  size_t i = 0;
  for (; i < args.size() && args[i].starts_with("-"); ++i) {
    if (args[i] == "--help" || args[i] == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (args[i] == "--version" || args[i] == "-v") {
      std::printf("hull version %s\nspec: 1.1.0\n", kVersion);
      return 0;
    }
    if (args[i] == "--debug") {
      global.log_level = "debug";
    } else if (TakeValue(args, i, "--root", &global.root) ||
               TakeValue(args, i, "--config", &global.config) ||
               TakeValue(args, i, "--log-level", &global.log_level)) {
    } else if (TakeValue(args, i, "--log", &ignored) ||
               TakeValue(args, i, "--log-format", &ignored)) {
      // Accepted for runc compatibility; logs go to stderr.
    } else if (args[i] == "--systemd-cgroup") {
      // The containers' cgroups live in the guest.
    } else {
      return Fail("unknown global option " + args[i] + " (hull --help)");
    }
  }
  if (i >= args.size()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string command = args[i++];
  if (hull::Result<void> logging = hull::InitLogging(global.log_level, "hull"); !logging.ok()) {
    return Fail(logging.error().message());
  }
  hull::Result<hull::sandbox::HostConfig> config = hull::sandbox::LoadHostConfig(global.config);
  if (!config.ok()) return Fail(config.error().message());
  if (!global.root.empty()) config->state_root = global.root;
  if (global.log_level != "warn") config->log_level = global.log_level;

  if (command == "check") return Check(*config);
  if (command == "features") {
    std::fputs(hull::cli::FeaturesJson().c_str(), stdout);
    return 0;
  }
  if (command == "run") {
    hull::cli::RunOptions options;
    for (; i < args.size(); ++i) {
      if (TakeValue(args, i, "--bundle", &options.bundle) ||
          TakeValue(args, i, "-b", &options.bundle) ||
          TakeValue(args, i, "--pid-file", &options.pid_file)) {
        continue;
      }
      if (args[i] == "--detach" || args[i] == "-d") {
        return Fail("run --detach is not supported yet: use run in the foreground");
      }
      if (args[i].starts_with("-")) return Fail("run: unknown option " + args[i]);
      if (!options.id.empty())
        return Fail("run: one container ID, got " + options.id + " and " + args[i]);
      options.id = args[i];
    }
    if (options.id.empty())
      return Fail("run: a container ID is needed (hull run [--bundle DIR] ID)");
    hull::Result<int> status = hull::cli::RunContainer(options, *config);
    if (!status.ok()) return Fail(status.error().message());
    return *status;
  }
  return Fail("unknown command \"" + command + "\" (hull --help)");
}
