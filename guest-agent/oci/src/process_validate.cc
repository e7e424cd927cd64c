// ValidateProcess: what hull-agent needs of a process to start or exec.

#include <fmt/format.h>

#include <cerrno>
#include <map>

#include "hull/oci/names.h"
#include "hull/oci/spec_parse.h"
#include "json_reader.h"
#include "text_checks.h"
#include "validate_internal.h"

namespace hull::oci {
namespace internal {
namespace {

constexpr int32_t kMinOomScoreAdj = -1000;
constexpr int32_t kMaxOomScoreAdj = 1000;

Result<void> ValidateArgs(const std::vector<std::string>& args, std::string_view path) {
  if (args.empty()) {
    return Error(EINVAL, fmt::format("{}: required: the program to run and its arguments", path));
  }
  for (size_t i = 0; i < args.size(); ++i) HULL_TRY(CheckNoNul(args[i], ElementPath(path, i)));
  if (args[0].empty()) {
    return Error(EINVAL, fmt::format("{}: the program to run is empty", ElementPath(path, 0)));
  }
  return Ok();
}

Result<void> ValidateEnv(const std::vector<std::string>& env, std::string_view path) {
  for (size_t i = 0; i < env.size(); ++i) {
    const std::string where = ElementPath(path, i);
    HULL_TRY(CheckNoNul(env[i], where));
    const size_t equals = env[i].find('=');
    if (equals == std::string::npos || equals == 0) {
      return Error(EINVAL,
                   fmt::format("{}: expected \"NAME=value\", got {}", where, Quote(env[i])));
    }
  }
  return Ok();
}

Result<void> ValidateCapabilitySet(const std::vector<std::string>& names, std::string_view path) {
  for (size_t i = 0; i < names.size(); ++i) {
    if (!CapabilityFromName(names[i])) {
      return Error(EINVAL,
                   fmt::format("{}: unknown capability {}", ElementPath(path, i), Quote(names[i])));
    }
  }
  return Ok();
}

Result<void> ValidateCapabilities(const Capabilities& caps, std::string_view path) {
  HULL_TRY(ValidateCapabilitySet(caps.bounding, MemberPath(path, "bounding")));
  HULL_TRY(ValidateCapabilitySet(caps.effective, MemberPath(path, "effective")));
  HULL_TRY(ValidateCapabilitySet(caps.inheritable, MemberPath(path, "inheritable")));
  HULL_TRY(ValidateCapabilitySet(caps.permitted, MemberPath(path, "permitted")));
  HULL_TRY(ValidateCapabilitySet(caps.ambient, MemberPath(path, "ambient")));
  return Ok();
}

Result<void> ValidateRlimits(const std::vector<Rlimit>& rlimits, std::string_view path) {
  std::map<std::string_view, size_t> seen;  // type → first index
  for (size_t i = 0; i < rlimits.size(); ++i) {
    const Rlimit& rlimit = rlimits[i];
    const std::string where = ElementPath(path, i);
    if (!RlimitFromName(rlimit.type)) {
      return Error(EINVAL,
                   fmt::format("{}.type: unknown rlimit type {}", where, Quote(rlimit.type)));
    }
    const auto [it, inserted] = seen.emplace(rlimit.type, i);
    if (!inserted) {
      return Error(EINVAL, fmt::format("{}.type: {} appears twice (also {})", where, rlimit.type,
                                       ElementPath(path, it->second)));
    }
    if (rlimit.soft > rlimit.hard) {
      return Error(EINVAL, fmt::format("{}: soft limit {} is above the hard limit {}", where,
                                       rlimit.soft, rlimit.hard));
    }
  }
  return Ok();
}

}  // namespace

Result<void> ValidateProcessAt(const Process& process, std::string_view path) {
  HULL_TRY(ValidateArgs(process.args, MemberPath(path, "args")));
  // cwd is resolved inside the container's root, so ".." cannot leave it.
  HULL_TRY(CheckAbsolutePath(process.cwd, MemberPath(path, "cwd"), /*dot_dot_ok=*/true));
  HULL_TRY(ValidateEnv(process.env, MemberPath(path, "env")));
  if (process.console_size && !process.terminal) {
    return Error(EINVAL, fmt::format("{}: set, but {} is false", MemberPath(path, "consoleSize"),
                                     MemberPath(path, "terminal")));
  }
  if (process.user.umask && *process.user.umask > 0777) {
    return Error(EINVAL, fmt::format("{}: {:#o} has bits outside 0777",
                                     MemberPath(path, "user.umask"), *process.user.umask));
  }
  if (process.capabilities) {
    HULL_TRY(ValidateCapabilities(*process.capabilities, MemberPath(path, "capabilities")));
  }
  HULL_TRY(ValidateRlimits(process.rlimits, MemberPath(path, "rlimits")));
  if (process.oom_score_adj &&
      (*process.oom_score_adj < kMinOomScoreAdj || *process.oom_score_adj > kMaxOomScoreAdj)) {
    return Error(EINVAL, fmt::format("{}: {} is outside {}..{}", MemberPath(path, "oomScoreAdj"),
                                     *process.oom_score_adj, kMinOomScoreAdj, kMaxOomScoreAdj));
  }
  return Ok();
}

}  // namespace internal

Result<void> ValidateProcess(const Process& process) {
  return internal::ValidateProcessAt(process, "process");
}

}  // namespace hull::oci
