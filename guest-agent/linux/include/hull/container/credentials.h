#pragma once

// User, groups and other per-process attributes of the container process.
//
// The container process is set up in this order, as runc does, so that the
// capabilities it is given survive the switch away from root:
//   DropBoundingSet(sets.bounding);   // capabilities.h
//   SwitchUser(uid, gid, additional_gids);
//   ApplyCapabilities(sets);
//   SetNoNewPrivileges();             // when the spec asks
//   seccomp program Load();           // seccomp.h, last before execve
//
// SwitchUser changes only the calling thread's credentials: it uses raw
// syscalls, not glibc's wrappers, which would signal every other thread to
// change too (the setxid broadcast). capset(2) and the capability prctls are
// per-thread as well. All of this is meant for a single-threaded process,
// where the thread is the process.

#include <cstdint>
#include <vector>

#include "hull/common/result.h"

namespace hull::container {

// PR_SET_KEEPCAPS 1; setgroups(additional_gids) (an empty list clears the
// groups root had); setresgid(gid x3); setresuid(uid x3); PR_SET_KEEPCAPS 0.
// Afterwards a non-root uid keeps its permitted capabilities but its effective
// and ambient sets are empty: ApplyCapabilities() sets them. Needs CAP_SETGID
// and CAP_SETUID. Stops at the first failure, which it names.
Result<void> SwitchUser(uint32_t uid, uint32_t gid, const std::vector<uint32_t>& additional_gids);

// PR_SET_NO_NEW_PRIVS: execve never grants privileges (setuid bits, file
// capabilities) from now on; it cannot be undone.
Result<void> SetNoNewPrivileges();

// Writes /proc/self/oom_score_adj; `score` is -1000..1000 (EINVAL otherwise).
// Lowering it below its current minimum needs CAP_SYS_RESOURCE.
Result<void> SetOomScoreAdj(int score);

// umask(2) with the permission bits of `mask` (mask & 0777).
void SetUmask(uint32_t mask);

}  // namespace hull::container
