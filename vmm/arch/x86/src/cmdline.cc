#include "hull/vmm/x86/cmdline.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "hull/vmm/x86/layout.h"

namespace hull::vmm::x86 {

Result<void> WriteCmdline(const GuestMemory& memory, std::string_view cmdline,
                          uint64_t max_length) {
  const uint64_t limit = std::min(max_length, kCmdlineCapacity - 1);
  if (cmdline.size() > limit) {
    return Error(E2BIG, fmt::format("the kernel command line is {} bytes long; this kernel takes "
                                    "at most {}",
                                    cmdline.size(), limit));
  }
  if (cmdline.find('\0') != std::string_view::npos) {
    return Error(EINVAL, "the kernel command line contains a NUL character");
  }
  std::vector<uint8_t> bytes(cmdline.size() + 1, 0);  // NUL-terminated
  std::memcpy(bytes.data(), cmdline.data(), cmdline.size());
  return memory.Write(GuestAddress(kCmdlineAddress), bytes)
      .WithContext(fmt::format("writing the kernel command line at {:#x}", kCmdlineAddress));
}

}  // namespace hull::vmm::x86
