#include "hull/container/rlimits.h"

#include <sys/resource.h>

#include <array>
#include <cerrno>
#include <string>
#include <string_view>

namespace hull::container {
namespace {

// Names for error messages only, indexed by resource number (Linux's
// numbering, the same on every architecture hull runs on).
constexpr std::array<std::string_view, RLIM_NLIMITS> kRlimitNames = {
    "RLIMIT_CPU",      "RLIMIT_FSIZE", "RLIMIT_DATA",   "RLIMIT_STACK",
    "RLIMIT_CORE",     "RLIMIT_RSS",   "RLIMIT_NPROC",  "RLIMIT_NOFILE",
    "RLIMIT_MEMLOCK",  "RLIMIT_AS",    "RLIMIT_LOCKS",  "RLIMIT_SIGPENDING",
    "RLIMIT_MSGQUEUE", "RLIMIT_NICE",  "RLIMIT_RTPRIO", "RLIMIT_RTTIME",
};
constexpr int kRlimitCount = static_cast<int>(RLIM_NLIMITS);
static_assert(RLIMIT_NPROC == 6 && RLIMIT_NOFILE == 7 && RLIMIT_AS == 9 && RLIMIT_RTTIME == 15,
              "kRlimitNames follows Linux's numbers");

std::string Describe(int resource) {
  if (resource >= 0 && resource < kRlimitCount) {
    return std::string(kRlimitNames[static_cast<size_t>(resource)]);
  }
  return "resource " + std::to_string(resource);
}

std::string Limit(uint64_t value) {
  return value == RLIM_INFINITY ? std::string("unlimited") : std::to_string(value);
}

}  // namespace

Result<void> ApplyRlimit(int resource, uint64_t soft, uint64_t hard) {
  if (resource < 0 || resource >= RLIM_NLIMITS) {
    return Error(EINVAL, "unknown " + Describe(resource));
  }
  const std::string what =
      "setting " + Describe(resource) + " to soft " + Limit(soft) + ", hard " + Limit(hard);
  if (soft > hard) return Error(EINVAL, what + ": soft limit above hard limit");
  static_assert(sizeof(rlim_t) == sizeof(uint64_t), "rlim_t holds the spec's uint64_t");
  const rlimit limit{.rlim_cur = soft, .rlim_max = hard};
  if (::prlimit(0, static_cast<__rlimit_resource>(resource), &limit, nullptr) != 0) {
    return Error::FromErrno(errno, what);
  }
  return Ok();
}

}  // namespace hull::container
