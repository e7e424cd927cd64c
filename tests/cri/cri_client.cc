// hull-cri-client: a small client for the Kubernetes CRI RuntimeService
// (cri_api.proto), so that tests can drive containerd's CRI plugin the way
// the kubelet does where no crictl is packaged (Debian 12). One RPC per
// invocation; output is one plain line a shell script can match.

#include <grpcpp/grpcpp.h>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "cri_api.grpc.pb.h"

namespace {

namespace cri = runtime::v1;

constexpr int kExitRpcFailed = 1;
constexpr int kExitUsage = 2;
constexpr char kProgram[] = "hull-cri-client";

constexpr std::string_view kUsage =
    R"(usage: hull-cri-client --endpoint unix:///path/to/containerd.sock [--timeout SECONDS] COMMAND ARGS...

  --endpoint URI       the CRI socket (gRPC target, e.g. unix:///run/containerd/containerd.sock)
  --timeout SECONDS    deadline of the RPC (default 300)

commands:
  version                       prints "runtime_name runtime_version runtime_api_version"
  runp POD_FLAGS [--handler H]  RunPodSandbox; prints the pod sandbox id
  create --pod POD_ID POD_FLAGS --name NAME --image IMAGE [--env K=V]... [--label K=V]...
         [--annotation K=V]... [--log-path REL] [--memory-limit BYTES]
         [--cpu-quota N --cpu-period N] [-- ARGS...]
                                CreateContainer (ARGS become the command); prints the container id
  start ID                      StartContainer
  stop ID [--grace SECONDS]     StopContainer (default grace 10)
  rm ID                         RemoveContainer
  exec ID [--exec-timeout S] -- ARGS...
                                ExecSync; copies its stdout and stderr, exits with its exit code
  status ID                     ContainerStatus; prints "state=STATE exit_code=N"
  stats ID                      ContainerStats; prints
                                "cpu_usage_core_nano_seconds=N memory_working_set_bytes=N"
  inspectp ID                   PodSandboxStatus; prints "state=STATE ip=ADDRESS"
  ps [--pod POD_ID]             ListContainers; one line each: "ID STATE NAME POD_ID"
  stopp ID                      StopPodSandbox
  rmp ID                        RemovePodSandbox

POD_FLAGS: --pod-name N --pod-uid U --pod-namespace NS [--pod-hostname H] [--pod-log-dir DIR]
           [--pod-annotation K=V]...
  (create takes the pod's flags again: CreateContainer carries the sandbox's config.)

exit status: 0 on success, 1 when the RPC fails, 2 on bad usage; exec exits with the command's.
)";

const std::set<std::string, std::less<>> kPodOptions = {"--pod-name",      "--pod-uid",
                                                        "--pod-namespace", "--pod-hostname",
                                                        "--pod-log-dir",   "--pod-annotation"};

// A usage error: main prints it with the usage text and exits 2.
struct UsageError {
  std::string message;
};

// One command's words after the command name: positionals, "--name value"
// options (every option takes a value) and what follows "--".
struct CommandArgs {
  std::vector<std::string> positional;
  std::multimap<std::string, std::string, std::less<>> options;
  std::vector<std::string> trailing;
  bool has_trailing = false;

  // The option's one value, if given; a second occurrence is an error.
  std::optional<std::string> Single(std::string_view name, std::optional<UsageError>& error) const {
    auto [first, last] = options.equal_range(name);
    if (first == last) return std::nullopt;
    if (std::next(first) != last && !error) {
      error = UsageError{std::string(name) + " given more than once"};
    }
    return first->second;
  }

  std::vector<std::string> All(std::string_view name) const {
    std::vector<std::string> values;
    auto [first, last] = options.equal_range(name);
    for (auto it = first; it != last; ++it) values.push_back(it->second);
    return values;
  }
};

// Splits `words` into positionals, options named in `known` and the words
// after "--". "--name=value" is accepted as well as "--name value".
std::optional<UsageError> ParseCommandArgs(const std::vector<std::string>& words,
                                           const std::set<std::string, std::less<>>& known,
                                           CommandArgs& out) {
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& word = words[i];
    if (word == "--") {
      out.has_trailing = true;
      out.trailing.assign(words.begin() + static_cast<std::ptrdiff_t>(i) + 1, words.end());
      return std::nullopt;
    }
    if (word.size() > 2 && word.starts_with("--")) {
      std::string name = word;
      std::optional<std::string> value;
      if (size_t eq = word.find('='); eq != std::string::npos) {
        name = word.substr(0, eq);
        value = word.substr(eq + 1);
      }
      if (!known.contains(name)) return UsageError{"unknown option " + name};
      if (!value) {
        if (i + 1 >= words.size()) return UsageError{name + " needs a value"};
        value = words[++i];
      }
      out.options.emplace(name, *value);
      continue;
    }
    out.positional.push_back(word);
  }
  return std::nullopt;
}

template <typename Int>
std::optional<Int> ParseInt(std::string_view text) {
  Int value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// An integer option's value, if given, at least `min`.
std::optional<int64_t> IntOption(const CommandArgs& args, std::string_view name, int64_t min,
                                 std::optional<UsageError>& error) {
  std::optional<std::string> text = args.Single(name, error);
  if (!text) return std::nullopt;
  std::optional<int64_t> value = ParseInt<int64_t>(*text);
  if ((!value || *value < min) && !error) {
    error = UsageError{std::string(name) + ": '" + *text +
                       "' is not an integer >= " + std::to_string(min)};
  }
  return value;
}

// Splits each "K=V" of a repeatable option (the key must not be empty).
std::vector<std::pair<std::string, std::string>> KeyValues(const CommandArgs& args,
                                                           std::string_view name,
                                                           std::optional<UsageError>& error) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const std::string& text : args.All(name)) {
    size_t eq = text.find('=');
    if (eq == std::string::npos || eq == 0) {
      if (!error) error = UsageError{std::string(name) + ": '" + text + "' is not KEY=VALUE"};
      continue;
    }
    pairs.emplace_back(text.substr(0, eq), text.substr(eq + 1));
  }
  return pairs;
}

std::string Required(const CommandArgs& args, std::string_view name,
                     std::optional<UsageError>& error) {
  std::optional<std::string> value = args.Single(name, error);
  if (!value || value->empty()) {
    if (!error) error = UsageError{std::string(name) + " is required"};
    return {};
  }
  return *value;
}

// Network and IPC shared by the pod, a PID namespace per container: what the
// kubelet asks for a pod without hostNetwork or shareProcessNamespace.
void SetKubeletNamespaces(cri::NamespaceOption& namespaces) {
  namespaces.set_network(cri::POD);
  namespaces.set_pid(cri::CONTAINER);
  namespaces.set_ipc(cri::POD);
}

// The PodSandboxConfig that POD_FLAGS describe.
cri::PodSandboxConfig PodConfig(const CommandArgs& args, std::optional<UsageError>& error) {
  cri::PodSandboxConfig config;
  cri::PodSandboxMetadata& metadata = *config.mutable_metadata();
  metadata.set_name(Required(args, "--pod-name", error));
  metadata.set_uid(Required(args, "--pod-uid", error));
  metadata.set_namespace_(Required(args, "--pod-namespace", error));
  if (auto hostname = args.Single("--pod-hostname", error)) config.set_hostname(*hostname);
  if (auto dir = args.Single("--pod-log-dir", error)) config.set_log_directory(*dir);
  for (auto& [key, value] : KeyValues(args, "--pod-annotation", error)) {
    (*config.mutable_annotations())[key] = value;
  }
  SetKubeletNamespaces(
      *config.mutable_linux()->mutable_security_context()->mutable_namespace_options());
  return config;
}

// States print by their proto names; a value newer than this client's proto
// prints as its number.
std::string StateName(const std::string& name, int value) {
  return name.empty() ? std::to_string(value) : name;
}

std::string StateName(cri::ContainerState state) {
  return StateName(cri::ContainerState_Name(state), state);
}

std::string StateName(cri::PodSandboxState state) {
  return StateName(cri::PodSandboxState_Name(state), state);
}

// grpc::StatusCode's names, by value (0 to 16, as in grpc/status.h).
constexpr std::string_view kStatusCodeNames[] = {
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};

std::string_view StatusCodeName(grpc::StatusCode code) {
  auto index = static_cast<size_t>(code);
  return index < std::size(kStatusCodeNames) ? kStatusCodeNames[index] : "CODE_UNKNOWN";
}

// The stub and the per-call deadline; Call() runs one RPC and reports its
// failure as "hull-cri-client: RPC: CODE: message".
class Client {
 public:
  Client(const std::string& endpoint, std::chrono::seconds timeout) : timeout_(timeout) {
    grpc::ChannelArguments arguments;
    // ExecSync answers carry up to 16 MiB of stdout and as much stderr.
    arguments.SetMaxReceiveMessageSize(64 << 20);
    stub_ = cri::RuntimeService::NewStub(
        grpc::CreateCustomChannel(endpoint, grpc::InsecureChannelCredentials(), arguments));
  }

  template <typename Request, typename Response>
  bool Call(std::string_view rpc,
            grpc::Status (cri::RuntimeService::Stub::*method)(grpc::ClientContext*, const Request&,
                                                              Response*),
            const Request& request, Response& response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + timeout_);
    grpc::Status status = (stub_.get()->*method)(&context, request, &response);
    if (status.ok()) return true;
    std::string code(StatusCodeName(status.error_code()));
    std::fprintf(stderr, "%s: %s: %s: %s\n", kProgram, std::string(rpc).c_str(), code.c_str(),
                 status.error_message().c_str());
    return false;
  }

 private:
  std::chrono::seconds timeout_;
  std::unique_ptr<cri::RuntimeService::Stub> stub_;
};

using Stub = cri::RuntimeService::Stub;

// What a command needs: its parsed words, the client, and where to report a
// usage error. Each returns the process's exit status.
struct Invocation {
  const CommandArgs& args;
  Client& client;
  std::optional<UsageError>& error;
};

int Done(bool ok) { return ok ? 0 : kExitRpcFailed; }

// The single positional ID of start, stop, rm, exec, status, stats and the pod commands.
std::string OnlyId(const Invocation& in) {
  if (in.args.positional.size() != 1 || in.args.positional.front().empty()) {
    if (!in.error) in.error = UsageError{"expected exactly one ID"};
    return {};
  }
  return in.args.positional.front();
}

bool NoPositionals(const Invocation& in) {
  if (in.args.positional.empty()) return true;
  if (!in.error) in.error = UsageError{"unexpected argument " + in.args.positional.front()};
  return false;
}

int Version(const Invocation& in) {
  if (!NoPositionals(in)) return kExitUsage;
  cri::VersionRequest request;
  request.set_version("v1");
  cri::VersionResponse response;
  if (!in.client.Call("Version", &Stub::Version, request, response)) return kExitRpcFailed;
  std::printf("%s %s %s\n", response.runtime_name().c_str(), response.runtime_version().c_str(),
              response.runtime_api_version().c_str());
  return 0;
}

int RunPod(const Invocation& in) {
  cri::RunPodSandboxRequest request;
  *request.mutable_config() = PodConfig(in.args, in.error);
  if (auto handler = in.args.Single("--handler", in.error)) request.set_runtime_handler(*handler);
  if (!NoPositionals(in) || in.error) return kExitUsage;
  cri::RunPodSandboxResponse response;
  if (!in.client.Call("RunPodSandbox", &Stub::RunPodSandbox, request, response)) {
    return kExitRpcFailed;
  }
  std::printf("%s\n", response.pod_sandbox_id().c_str());
  return 0;
}

int Create(const Invocation& in) {
  const CommandArgs& args = in.args;
  cri::CreateContainerRequest request;
  request.set_pod_sandbox_id(Required(args, "--pod", in.error));
  *request.mutable_sandbox_config() = PodConfig(args, in.error);

  cri::ContainerConfig& config = *request.mutable_config();
  config.mutable_metadata()->set_name(Required(args, "--name", in.error));
  config.mutable_image()->set_image(Required(args, "--image", in.error));
  for (const std::string& word : args.trailing) config.add_command(word);
  for (auto& [key, value] : KeyValues(args, "--env", in.error)) {
    cri::KeyValue& env = *config.add_envs();
    env.set_key(key);
    env.set_value(value);
  }
  for (auto& [key, value] : KeyValues(args, "--label", in.error)) {
    (*config.mutable_labels())[key] = value;
  }
  for (auto& [key, value] : KeyValues(args, "--annotation", in.error)) {
    (*config.mutable_annotations())[key] = value;
  }
  if (auto log_path = args.Single("--log-path", in.error)) config.set_log_path(*log_path);

  cri::LinuxContainerConfig& linux = *config.mutable_linux();
  SetKubeletNamespaces(*linux.mutable_security_context()->mutable_namespace_options());
  std::optional<int64_t> memory = IntOption(args, "--memory-limit", 1, in.error);
  std::optional<int64_t> quota = IntOption(args, "--cpu-quota", 1, in.error);
  std::optional<int64_t> period = IntOption(args, "--cpu-period", 1, in.error);
  if (quota.has_value() != period.has_value() && !in.error) {
    in.error = UsageError{"--cpu-quota and --cpu-period go together"};
  }
  if (memory) linux.mutable_resources()->set_memory_limit_in_bytes(*memory);
  if (quota && period) {
    linux.mutable_resources()->set_cpu_quota(*quota);
    linux.mutable_resources()->set_cpu_period(*period);
  }
  if (!NoPositionals(in) || in.error) return kExitUsage;

  cri::CreateContainerResponse response;
  if (!in.client.Call("CreateContainer", &Stub::CreateContainer, request, response)) {
    return kExitRpcFailed;
  }
  std::printf("%s\n", response.container_id().c_str());
  return 0;
}

int Start(const Invocation& in) {
  cri::StartContainerRequest request;
  request.set_container_id(OnlyId(in));
  if (in.error) return kExitUsage;
  cri::StartContainerResponse response;
  return Done(in.client.Call("StartContainer", &Stub::StartContainer, request, response));
}

int Stop(const Invocation& in) {
  cri::StopContainerRequest request;
  request.set_container_id(OnlyId(in));
  request.set_timeout(IntOption(in.args, "--grace", 0, in.error).value_or(10));
  if (in.error) return kExitUsage;
  cri::StopContainerResponse response;
  return Done(in.client.Call("StopContainer", &Stub::StopContainer, request, response));
}

int Remove(const Invocation& in) {
  cri::RemoveContainerRequest request;
  request.set_container_id(OnlyId(in));
  if (in.error) return kExitUsage;
  cri::RemoveContainerResponse response;
  return Done(in.client.Call("RemoveContainer", &Stub::RemoveContainer, request, response));
}

void WriteAll(std::FILE* stream, const std::string& bytes) {
  std::fwrite(bytes.data(), 1, bytes.size(), stream);
  std::fflush(stream);
}

int Exec(const Invocation& in) {
  cri::ExecSyncRequest request;
  request.set_container_id(OnlyId(in));
  request.set_timeout(IntOption(in.args, "--exec-timeout", 0, in.error).value_or(0));
  if (in.args.trailing.empty() && !in.error) {
    in.error = UsageError{"exec needs a command after --"};
  }
  if (in.error) return kExitUsage;
  for (const std::string& word : in.args.trailing) request.add_cmd(word);
  cri::ExecSyncResponse response;
  if (!in.client.Call("ExecSync", &Stub::ExecSync, request, response)) return kExitRpcFailed;
  WriteAll(stdout, response.stdout());
  WriteAll(stderr, response.stderr());
  // An exit status is 8 bits; a code outside them still must not read as success.
  int32_t code = response.exit_code();
  return code >= 0 && code <= 255 ? code : 255;
}

int Status(const Invocation& in) {
  cri::ContainerStatusRequest request;
  request.set_container_id(OnlyId(in));
  if (in.error) return kExitUsage;
  cri::ContainerStatusResponse response;
  if (!in.client.Call("ContainerStatus", &Stub::ContainerStatus, request, response)) {
    return kExitRpcFailed;
  }
  const cri::ContainerStatus& status = response.status();
  std::printf("state=%s exit_code=%d\n", StateName(status.state()).c_str(), status.exit_code());
  return 0;
}

int Stats(const Invocation& in) {
  cri::ContainerStatsRequest request;
  request.set_container_id(OnlyId(in));
  if (in.error) return kExitUsage;
  cri::ContainerStatsResponse response;
  if (!in.client.Call("ContainerStats", &Stub::ContainerStats, request, response)) {
    return kExitRpcFailed;
  }
  const cri::ContainerStats& stats = response.stats();
  // Absent values (not measured yet) print as 0.
  std::printf("cpu_usage_core_nano_seconds=%llu memory_working_set_bytes=%llu\n",
              static_cast<unsigned long long>(stats.cpu().usage_core_nano_seconds().value()),
              static_cast<unsigned long long>(stats.memory().working_set_bytes().value()));
  return 0;
}

int InspectPod(const Invocation& in) {
  cri::PodSandboxStatusRequest request;
  request.set_pod_sandbox_id(OnlyId(in));
  if (in.error) return kExitUsage;
  cri::PodSandboxStatusResponse response;
  if (!in.client.Call("PodSandboxStatus", &Stub::PodSandboxStatus, request, response)) {
    return kExitRpcFailed;
  }
  const cri::PodSandboxStatus& status = response.status();
  std::printf("state=%s ip=%s\n", StateName(status.state()).c_str(), status.network().ip().c_str());
  return 0;
}

int List(const Invocation& in) {
  cri::ListContainersRequest request;
  if (auto pod = in.args.Single("--pod", in.error)) {
    request.mutable_filter()->set_pod_sandbox_id(*pod);
  }
  if (!NoPositionals(in) || in.error) return kExitUsage;
  cri::ListContainersResponse response;
  if (!in.client.Call("ListContainers", &Stub::ListContainers, request, response)) {
    return kExitRpcFailed;
  }
  for (const cri::Container& container : response.containers()) {
    std::printf("%s %s %s %s\n", container.id().c_str(), StateName(container.state()).c_str(),
                container.metadata().name().c_str(), container.pod_sandbox_id().c_str());
  }
  return 0;
}

int StopPod(const Invocation& in) {
  cri::StopPodSandboxRequest request;
  request.set_pod_sandbox_id(OnlyId(in));
  if (in.error) return kExitUsage;
  cri::StopPodSandboxResponse response;
  return Done(in.client.Call("StopPodSandbox", &Stub::StopPodSandbox, request, response));
}

int RemovePod(const Invocation& in) {
  cri::RemovePodSandboxRequest request;
  request.set_pod_sandbox_id(OnlyId(in));
  if (in.error) return kExitUsage;
  cri::RemovePodSandboxResponse response;
  return Done(in.client.Call("RemovePodSandbox", &Stub::RemovePodSandbox, request, response));
}

struct Command {
  std::string_view name;
  int (*run)(const Invocation&);
  std::set<std::string, std::less<>> options;
  bool takes_trailing;
};

std::set<std::string, std::less<>> WithPodOptions(std::set<std::string, std::less<>> options) {
  options.insert(kPodOptions.begin(), kPodOptions.end());
  return options;
}

const std::vector<Command>& Commands() {
  static const std::vector<Command> commands = {
      {"version", &Version, {}, false},
      {"runp", &RunPod, WithPodOptions({"--handler"}), false},
      {"create", &Create,
       WithPodOptions({"--pod", "--name", "--image", "--env", "--label", "--annotation",
                       "--log-path", "--memory-limit", "--cpu-quota", "--cpu-period"}),
       true},
      {"start", &Start, {}, false},
      {"stop", &Stop, {"--grace"}, false},
      {"rm", &Remove, {}, false},
      {"exec", &Exec, {"--exec-timeout"}, true},
      {"status", &Status, {}, false},
      {"stats", &Stats, {}, false},
      {"inspectp", &InspectPod, {}, false},
      {"ps", &List, {"--pod"}, false},
      {"stopp", &StopPod, {}, false},
      {"rmp", &RemovePod, {}, false},
  };
  return commands;
}

int UsageFailure(const UsageError& error) {
  std::fprintf(stderr, "%s: %s\n\n", kProgram, error.message.c_str());
  std::fwrite(kUsage.data(), 1, kUsage.size(), stderr);
  return kExitUsage;
}

int Main(const std::vector<std::string>& words) {
  std::string endpoint;
  int64_t timeout_s = 300;
  size_t i = 0;
  // The global options come before the command.
  for (; i < words.size() && words[i].starts_with("-"); ++i) {
    std::string_view word = words[i];
    if (word == "--help" || word == "-h") {
      std::fwrite(kUsage.data(), 1, kUsage.size(), stdout);
      return 0;
    }
    std::string name(word.substr(0, word.find('=')));
    std::optional<std::string> value;
    if (name.size() < word.size()) value = std::string(word.substr(name.size() + 1));
    if (name != "--endpoint" && name != "--timeout") {
      return UsageFailure({"unknown option " + name});
    }
    if (!value) {
      if (i + 1 >= words.size()) return UsageFailure({name + " needs a value"});
      value = words[++i];
    }
    if (name == "--endpoint") {
      endpoint = *value;
    } else {
      std::optional<int64_t> parsed = ParseInt<int64_t>(*value);
      if (!parsed || *parsed <= 0) {
        return UsageFailure({"--timeout: '" + *value + "' is not a positive number of seconds"});
      }
      timeout_s = *parsed;
    }
  }
  if (i >= words.size()) return UsageFailure({"no command given"});

  const std::string& name = words[i];
  const Command* command = nullptr;
  for (const Command& candidate : Commands()) {
    if (candidate.name == name) command = &candidate;
  }
  if (!command) return UsageFailure({"unknown command " + name});

  CommandArgs args;
  std::vector<std::string> rest(words.begin() + static_cast<std::ptrdiff_t>(i) + 1, words.end());
  for (const std::string& word : rest) {
    if (word == "--") break;
    if (word == "--help" || word == "-h") {
      std::fwrite(kUsage.data(), 1, kUsage.size(), stdout);
      return 0;
    }
  }
  if (endpoint.empty()) return UsageFailure({"--endpoint is required"});
  if (auto error = ParseCommandArgs(rest, command->options, args)) return UsageFailure(*error);
  if (args.has_trailing && !command->takes_trailing) {
    return UsageFailure({name + " takes no arguments after --"});
  }

  Client client(endpoint, std::chrono::seconds(timeout_s));
  std::optional<UsageError> error;
  int status = command->run(Invocation{args, client, error});
  if (error) return UsageFailure(*error);
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> words(argv + 1, argv + argc);
  return Main(words);
}
