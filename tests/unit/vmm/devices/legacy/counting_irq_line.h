#pragma once

// An IrqLine for tests: counts triggers, or fails on demand.

#include <atomic>
#include <cerrno>

#include "hull/vmm/devices/irq_line.h"

namespace hull::vmm::testing {

class CountingIrqLine final : public IrqLine {
 public:
  Result<void> Trigger() override {
    count_.fetch_add(1);
    if (fail_) return Error(EIO, "test irq line fails");
    return Ok();
  }
  int count() const { return count_.load(); }
  // The count since the last call.
  int TakeCount() { return count_.exchange(0); }
  void set_fail(bool fail) { fail_ = fail; }

 private:
  std::atomic<int> count_{0};
  std::atomic<bool> fail_{false};
};

}  // namespace hull::vmm::testing
