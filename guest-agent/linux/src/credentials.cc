#include "hull/container/credentials.h"

#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "proc_file.h"

namespace hull::container {
namespace {

static_assert(sizeof(gid_t) == sizeof(uint32_t) && sizeof(uid_t) == sizeof(uint32_t),
              "setgroups(2) is given the spec's uint32_t gids as they are");

// 32-bit ABIs keep the 16-bit-id calls under the plain names.
#ifdef SYS_setresuid32
constexpr long kSetgroups = SYS_setgroups32;
constexpr long kSetresgid = SYS_setresgid32;
constexpr long kSetresuid = SYS_setresuid32;
#else
constexpr long kSetgroups = SYS_setgroups;
constexpr long kSetresgid = SYS_setresgid;
constexpr long kSetresuid = SYS_setresuid;
#endif

Result<void> SetKeepCaps(unsigned long keep) {
  if (::prctl(PR_SET_KEEPCAPS, keep, 0UL, 0UL, 0UL) != 0) {
    return Error::FromErrno(errno, "PR_SET_KEEPCAPS " + std::to_string(keep));
  }
  return Ok();
}

std::string JoinIds(const std::vector<uint32_t>& ids) {
  std::string text = "[";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i != 0) text += ", ";
    text += std::to_string(ids[i]);
  }
  return text + "]";
}

}  // namespace

Result<void> SwitchUser(uint32_t uid, uint32_t gid, const std::vector<uint32_t>& additional_gids) {
  // Without KEEPCAPS, leaving uid 0 would empty the permitted set too.
  HULL_TRY(SetKeepCaps(1));
  // Raw syscalls: glibc's wrappers would make every thread change (setxid
  // broadcast); in the single-threaded caller this thread is the process.
  if (::syscall(kSetgroups, additional_gids.size(), additional_gids.data()) != 0) {
    return Error::FromErrno(errno, "setgroups " + JoinIds(additional_gids));
  }
  if (::syscall(kSetresgid, gid, gid, gid) != 0) {
    return Error::FromErrno(errno, "setresgid " + std::to_string(gid));
  }
  if (::syscall(kSetresuid, uid, uid, uid) != 0) {
    return Error::FromErrno(errno, "setresuid " + std::to_string(uid));
  }
  return SetKeepCaps(0);
}

Result<void> SetNoNewPrivileges() {
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1UL, 0UL, 0UL, 0UL) != 0) {
    return Error::FromErrno(errno, "PR_SET_NO_NEW_PRIVS");
  }
  return Ok();
}

Result<void> SetOomScoreAdj(int score) {
  if (score < -1000 || score > 1000) {
    return Error(EINVAL, "oom_score_adj " + std::to_string(score) + " is outside -1000..1000");
  }
  return internal::WriteProcFile("/proc/self/oom_score_adj", std::to_string(score))
      .WithContext("setting oom_score_adj " + std::to_string(score));
}

void SetUmask(uint32_t mask) { ::umask(static_cast<mode_t>(mask & 0777)); }

}  // namespace hull::container
