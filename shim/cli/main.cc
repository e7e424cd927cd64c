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
#include <ctime>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "container_commands.h"
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
    "  run [--bundle DIR] [--pid-file FILE] [--detach] [--console-socket SOCK] ID\n"
    "                 create and start a container from the bundle in a new microVM,\n"
    "                 attached: stdio is this process's, the exit status the container's\n"
    "  create [--bundle DIR] [--pid-file FILE] [--console-socket SOCK] ID\n"
    "                 create the container in a new microVM and return; a monitor process\n"
    "                 (the pid file's) holds the VM and exits with the container's status\n"
    "  start ID       start the created container's process\n"
    "  state ID       the container's state (OCI JSON)\n"
    "  kill [--all] ID [SIGNAL]   signal the container's process (default TERM)\n"
    "  pause ID, resume ID        freeze or thaw the container's processes\n"
    "  exec [--process FILE] [--detach] [--pid-file FILE] [--console-socket SOCK]\n"
    "       [--tty] [--cwd DIR] [--env K=V]... ID [COMMAND...]\n"
    "                 run another process in the container\n"
    "  ps [--format table|json] ID   the container's processes (pids in the VM)\n"
    "  list [--format table|json] [--quiet]   the containers under --root\n"
    "  delete [--force] ID          remove the container (--force: even running)\n"
    "  check          can this host run hull? each check with the fix when it fails\n"
    "  features       the OCI runtime features hull supports (JSON)\n"
    "  --version      hull's version and the OCI runtime spec version it implements\n";

// Where runc's callers look for the error: --log (containerd's runc shim
// reads the last "error" entry of its --log-format json file).
std::string g_log_path;
std::string g_log_format = "text";

int Fail(const std::string& message) {
  std::fprintf(stderr, "hull: %s\n", message.c_str());
  if (!g_log_path.empty()) {
    if (FILE* log = std::fopen(g_log_path.c_str(), "a")) {
      const std::time_t now = std::time(nullptr);
      std::tm utc{};
      ::gmtime_r(&now, &utc);
      char time_text[32];
      std::strftime(time_text, sizeof(time_text), "%Y-%m-%dT%H:%M:%SZ", &utc);
      // A JSON string (quoted, escaped) is also logfmt's quoted value.
      const std::string quoted =
          nlohmann::json(message).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      if (g_log_format == "json") {
        std::fprintf(log, "{\"level\":\"error\",\"msg\":%s,\"time\":\"%s\"}\n", quoted.c_str(),
                     time_text);
      } else {
        std::fprintf(log, "time=\"%s\" level=error msg=%s\n", time_text, quoted.c_str());
      }
      std::fclose(log);
    }
  }
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
    } else if (TakeValue(args, i, "--log", &g_log_path) ||
               TakeValue(args, i, "--log-format", &g_log_format)) {
      // runc's: errors are also written there (see Fail).
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
  // The command's options, then its positional arguments (an ID, ...).
  std::vector<std::string> positional;
  auto take_id = [&](const std::string& name) -> hull::Result<std::string> {
    if (positional.empty()) {
      return hull::Error(EINVAL, name + ": a container ID is needed (hull " + name + " ID)");
    }
    return positional.front();
  };
  auto finish = [](hull::Result<int> status) {
    if (!status.ok()) return Fail(status.error().message());
    return *status;
  };

  if (command == "run" || command == "create") {
    hull::cli::RunOptions options;
    hull::cli::CreateOptions create;
    bool detach = false;
    for (; i < args.size(); ++i) {
      if (TakeValue(args, i, "--bundle", &options.bundle) ||
          TakeValue(args, i, "-b", &options.bundle) ||
          TakeValue(args, i, "--pid-file", &options.pid_file) ||
          TakeValue(args, i, "--console-socket", &create.console_socket) ||
          TakeValue(args, i, "--preserve-fds", &ignored)) {
        continue;
      }
      if (args[i] == "--detach" || args[i] == "-d") {
        detach = true;
      } else if (args[i] == "--no-pivot" || args[i] == "--no-new-keyring" || args[i] == "--keep") {
        // runc's knobs for its own container set-up; the agent does that.
      } else if (args[i].starts_with("-")) {
        return Fail(command + ": unknown option " + args[i]);
      } else {
        positional.push_back(args[i]);
      }
    }
    if (positional.size() != 1) {
      return Fail(command + ": one container ID is needed (hull " + command +
                  " [--bundle DIR] ID)");
    }
    options.id = create.id = positional[0];
    create.bundle = options.bundle;
    create.pid_file = options.pid_file;
    if (command == "create") return finish(hull::cli::CreateContainer(create, *config));
    if (detach) {
      hull::Result<int> created = hull::cli::CreateContainer(create, *config);
      if (!created.ok()) return finish(created);
      return finish(hull::cli::StartContainer(options.id, *config));
    }
    return finish(hull::cli::RunContainer(options, *config));
  }
  if (command == "exec") {
    hull::cli::ExecOptions options;
    std::string env;
    for (; i < args.size(); ++i) {
      if (!positional.empty()) {
        positional.push_back(args[i]);  // the command and its own options
        continue;
      }
      if (TakeValue(args, i, "--process", &options.process_file) ||
          TakeValue(args, i, "-p", &options.process_file) ||
          TakeValue(args, i, "--pid-file", &options.pid_file) ||
          TakeValue(args, i, "--console-socket", &options.console_socket) ||
          TakeValue(args, i, "--cwd", &options.cwd) ||
          TakeValue(args, i, "--preserve-fds", &ignored) ||
          TakeValue(args, i, "--user", &ignored) || TakeValue(args, i, "-u", &ignored)) {
        continue;
      }
      if (TakeValue(args, i, "--env", &env) || TakeValue(args, i, "-e", &env)) {
        options.env.push_back(env);
      } else if (args[i] == "--detach" || args[i] == "-d") {
        options.detach = true;
      } else if (args[i] == "--tty" || args[i] == "-t") {
        options.tty = true;
      } else if (args[i] == "--") {
        continue;
      } else if (args[i].starts_with("-")) {
        return Fail("exec: unknown option " + args[i]);
      } else {
        positional.push_back(args[i]);
      }
    }
    if (positional.empty()) return Fail("exec: a container ID is needed (hull exec ID COMMAND...)");
    options.id = positional[0];
    options.args.assign(positional.begin() + 1, positional.end());
    if (!options.args.empty() && options.args[0] == "--") options.args.erase(options.args.begin());
    return finish(hull::cli::ExecInContainer(options, *config));
  }

  bool force = false, all = false, quiet = false;
  std::string format = "table";
  for (; i < args.size(); ++i) {
    // -f is --format for ps and list, --force for delete (as in runc).
    if (TakeValue(args, i, "--format", &format) ||
        (command != "delete" && TakeValue(args, i, "-f", &format))) {
      continue;
    }
    if (args[i] == "--force" || (args[i] == "-f" && command == "delete")) {
      force = true;
    } else if (args[i] == "--all" || args[i] == "-a") {
      all = true;
    } else if (args[i] == "--quiet" || args[i] == "-q") {
      quiet = true;
    } else if (args[i].starts_with("-") && !(command == "kill" && positional.size() == 1)) {
      return Fail(command + ": unknown option " + args[i]);
    } else {
      positional.push_back(args[i]);
    }
  }
  if (command == "list") return finish(hull::cli::ListContainers(format, quiet, *config));
  hull::Result<std::string> id = take_id(command);
  if (!id.ok()) return Fail(id.error().message());
  if (command == "start") return finish(hull::cli::StartContainer(*id, *config));
  if (command == "state") return finish(hull::cli::PrintState(*id, *config));
  if (command == "kill") {
    return finish(hull::cli::KillContainer(*id, positional.size() > 1 ? positional[1] : "TERM", all,
                                           *config));
  }
  if (command == "pause") return finish(hull::cli::PauseContainer(*id, true, *config));
  if (command == "resume") return finish(hull::cli::PauseContainer(*id, false, *config));
  if (command == "delete") return finish(hull::cli::DeleteContainer(*id, force, *config));
  if (command == "ps") return finish(hull::cli::ListProcesses(*id, format, *config));
  return Fail("unknown command \"" + command + "\" (hull --help)");
}
