#pragma once

// The last bytes the guest wrote to its console, kept so that when the
// guest dies (panic, triple fault) the VMM's error can quote what the guest
// said last, and so the VMM can tell a panic's reset from a clean reboot.

#include <cstddef>
#include <mutex>
#include <span>
#include <string>
#include <vector>

namespace hull::vmm {

class ConsoleTail {
 public:
  explicit ConsoleTail(size_t capacity = 16 * 1024) : ring_(capacity) {}

  void Append(std::span<const uint8_t> bytes);

  // Up to `max_lines` last lines, oldest first, without control characters.
  std::string LastLines(size_t max_lines) const;

  // Whether the kept output holds a kernel panic report.
  bool SawKernelPanic() const;

  // The kernel's "Kernel panic - not syncing: ..." line, or empty.
  std::string PanicLine() const;

 private:
  std::string Contents() const;  // oldest first; callers hold mu_

  mutable std::mutex mu_;
  std::vector<char> ring_;
  size_t next_ = 0;
  bool wrapped_ = false;
};

}  // namespace hull::vmm
