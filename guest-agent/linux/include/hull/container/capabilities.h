#pragma once

// Linux capabilities of the container process, set just before execve in the
// fresh single-threaded process that becomes the container (see
// credentials.h for the whole order). Raw prctl(2)/capset(2): no libcap.
//
// Sets are bit masks: bit N is capability N (CAP_CHOWN = 0, ... ), as in
// /proc/<pid>/status. Capabilities above the running kernel's last one are
// ignored where a set is written whole (bounding, capset) and an error where
// one is named alone (ambient).

#include <cstdint>

#include "hull/common/result.h"

namespace hull::container {

struct CapabilitySets {
  uint64_t bounding = 0;  // for DropBoundingSet(); ApplyCapabilities() leaves it alone
  uint64_t effective = 0;
  uint64_t permitted = 0;
  uint64_t inheritable = 0;
  uint64_t ambient = 0;
};

// `capability` is 0..63.
constexpr uint64_t CapabilityBit(int capability) { return uint64_t{1} << capability; }

// The highest capability number the running kernel knows
// (/proc/sys/kernel/cap_last_cap, or probed with PR_CAPBSET_READ without /proc).
Result<int> LastCapability();

// Drops from the bounding set every capability up to LastCapability() that is
// not in `keep` and still bounded (PR_CAPBSET_DROP; needs CAP_SETPCAP for
// those). Current effective/permitted sets are not changed, so the caller can
// still switch user afterwards.
Result<void> DropBoundingSet(uint64_t keep);

// Sets effective, permitted and inheritable with one capset(2)
// (_LINUX_CAPABILITY_VERSION_3), then clears the ambient set and raises each
// ambient capability. Checked before anything changes: effective must be a
// subset of permitted and ambient of permitted ∩ inheritable (EINVAL naming
// the first capability that is not). The kernel refuses (EPERM) to add to
// permitted or to raise inheritable beyond permitted ∪ bounding.
Result<void> ApplyCapabilities(const CapabilitySets& sets);

}  // namespace hull::container
