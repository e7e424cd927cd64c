#include "hull/container/capabilities.h"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cinttypes>
#include <cstdio>
#include <string>
#include <string_view>

#include "proc_file.h"

namespace hull::container {
namespace {

// Names for error messages only (the spec's names are parsed in hull_oci).
constexpr std::array<std::string_view, 41> kCapabilityNames = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

// "capability 10 (CAP_NET_BIND_SERVICE)"; the number alone for newer ones.
std::string Describe(int capability) {
  std::string text = "capability " + std::to_string(capability);
  if (capability >= 0 && static_cast<size_t>(capability) < kCapabilityNames.size()) {
    text.append(" (").append(kCapabilityNames[static_cast<size_t>(capability)]).append(")");
  }
  return text;
}

std::string Hex(uint64_t mask) {
  std::array<char, 24> text{};
  std::snprintf(text.data(), text.size(), "0x%" PRIx64, mask);
  return text.data();
}

// The lowest capability in `mask`; mask != 0.
int FirstIn(uint64_t mask) { return __builtin_ctzll(mask); }

// The kernel has no capability numbered 64 or above: its sets are 64 bits.
constexpr int kMaxCapability = 63;

int ProbeLastCapability() {
  int cap = 0;
  while (cap <= kMaxCapability &&
         ::prctl(PR_CAPBSET_READ, static_cast<unsigned long>(cap), 0UL, 0UL, 0UL) >= 0) {
    ++cap;
  }
  return cap - 1;
}

}  // namespace

Result<int> LastCapability() {
  Result<std::string> text = internal::ReadProcFile("/proc/sys/kernel/cap_last_cap");
  if (!text.ok()) {
    // Without /proc (early in a container's set-up) ask the kernel cap by cap.
    const int probed = ProbeLastCapability();
    if (probed < 0) return Error(EINVAL, "no capability is readable with PR_CAPBSET_READ");
    return probed;
  }
  int last = -1;
  const char* begin = text->data();
  const char* end = begin + text->size();
  const auto [ptr, ec] = std::from_chars(begin, end, last);
  if (ec != std::errc() || (ptr != end && *ptr != '\n') || last < 0 || last > kMaxCapability) {
    return Error(EINVAL, "/proc/sys/kernel/cap_last_cap: not a capability number: " + *text);
  }
  return last;
}

Result<void> DropBoundingSet(uint64_t keep) {
  HULL_ASSIGN_OR_RETURN(const int last, LastCapability());
  for (int cap = 0; cap <= last; ++cap) {
    if ((keep & CapabilityBit(cap)) != 0) continue;
    const auto arg = static_cast<unsigned long>(cap);
    const int bounded = ::prctl(PR_CAPBSET_READ, arg, 0UL, 0UL, 0UL);
    if (bounded < 0) return Error::FromErrno(errno, "PR_CAPBSET_READ " + Describe(cap));
    // Dropping a dropped capability would still need CAP_SETPCAP.
    if (bounded == 0) continue;
    if (::prctl(PR_CAPBSET_DROP, arg, 0UL, 0UL, 0UL) != 0) {
      return Error::FromErrno(errno, "PR_CAPBSET_DROP " + Describe(cap));
    }
  }
  return Ok();
}

Result<void> ApplyCapabilities(const CapabilitySets& sets) {
  if (const uint64_t extra = sets.effective & ~sets.permitted; extra != 0) {
    return Error(EINVAL, "effective " + Describe(FirstIn(extra)) + " is not permitted");
  }
  const uint64_t ambient_allowed = sets.permitted & sets.inheritable;
  if (const uint64_t extra = sets.ambient & ~ambient_allowed; extra != 0) {
    return Error(EINVAL,
                 "ambient " + Describe(FirstIn(extra)) + " is not both permitted and inheritable");
  }

  __user_cap_header_struct header{};
  header.version = _LINUX_CAPABILITY_VERSION_3;
  header.pid = 0;  // the calling thread
  std::array<__user_cap_data_struct, _LINUX_CAPABILITY_U32S_3> data{};
  for (size_t word = 0; word < data.size(); ++word) {
    const unsigned shift = 32 * static_cast<unsigned>(word);
    data[word].effective = static_cast<uint32_t>(sets.effective >> shift);
    data[word].permitted = static_cast<uint32_t>(sets.permitted >> shift);
    data[word].inheritable = static_cast<uint32_t>(sets.inheritable >> shift);
  }
  if (::syscall(SYS_capset, &header, data.data()) != 0) {
    return Error::FromErrno(errno, "capset (effective " + Hex(sets.effective) + ", permitted " +
                                       Hex(sets.permitted) + ", inheritable " +
                                       Hex(sets.inheritable) + ")");
  }

  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0UL, 0UL, 0UL) != 0) {
    return Error::FromErrno(errno, "PR_CAP_AMBIENT_CLEAR_ALL");
  }
  for (int cap = 0; cap <= kMaxCapability; ++cap) {
    if ((sets.ambient & CapabilityBit(cap)) == 0) continue;
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, static_cast<unsigned long>(cap), 0UL, 0UL) !=
        0) {
      return Error::FromErrno(errno, "PR_CAP_AMBIENT_RAISE " + Describe(cap));
    }
  }
  return Ok();
}

}  // namespace hull::container
