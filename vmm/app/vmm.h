#pragma once

// One virtual machine: KVM set-up, guest memory, the kernel, the devices and
// their buses, the vCPU threads, and the main thread's event loop (stdin,
// ioeventfds, the control API, signals). Create() does every fallible
// set-up step and fails with an error that names it; Run() blocks until the
// VM ends and returns the process exit status (vm_control.h).

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "console_tail.h"
#include "hull/common/event_fd.h"
#include "hull/common/unique_fd.h"
#include "hull/vmm/core/api_server.h"
#include "hull/vmm/core/bus.h"
#include "hull/vmm/core/config.h"
#include "hull/vmm/core/event_loop.h"
#include "hull/vmm/core/metrics.h"
#include "hull/vmm/core/serial_backend.h"
#include "hull/vmm/devices/legacy/boot_mark.h"
#include "hull/vmm/devices/legacy/i8042.h"
#include "hull/vmm/devices/legacy/serial.h"
#include "hull/vmm/kvm/kvm_system.h"
#include "hull/vmm/kvm/vm.h"
#include "hull/vmm/memory/guest_memory.h"
#include "hull/vmm/virtio/mmio_transport.h"
#include "hull/vmm/x86/kernel_loader.h"
#include "vcpu_runner.h"
#include "vm_control.h"

namespace hull::vmm {

class Vmm final : public VmControl {
 public:
  using Clock = std::chrono::steady_clock;

  static Result<std::unique_ptr<Vmm>> Create(const VmmConfig& config, Clock::time_point start);
  ~Vmm() override;

  int Run();

  // VmControl, for the vCPU threads.
  RunState state() const override { return state_.load(std::memory_order_acquire); }
  void ParkWhilePaused() override;
  void RequestExit(ExitStatus status, std::string why) override;

 private:
  Vmm(const VmmConfig& config, Clock::time_point start, kvm::KvmSystem kvm, kvm::Vm vm,
      GuestMemory memory, std::unique_ptr<EventLoop> loop, EventFd exit_event);

  Result<void> SetUpLegacyDevices();
  Result<void> SetUpVirtioDevices(std::string& cmdline);
  Result<void> SetUpVirtio(std::string name, std::unique_ptr<virtio::VirtioDevice> device,
                           std::string& cmdline);
  Result<void> LoadGuest(const std::string& cmdline);
  Result<void> SetUpVcpus();
  Result<void> SetUpMainLoop();

  // Main thread: the VM must end now (a vCPU asked, or a stop ran out).
  void OnExitRequested();
  // Control API and signals.
  Result<void> Pause();
  Result<void> Resume();
  Result<void> Stop(bool force);
  // The control API's balloon op: sets the target when given, reports.
  Result<nlohmann::json> Balloon(std::optional<uint64_t> target_mib);
  void KickAll();

  VmmConfig config_;
  Clock::time_point start_;
  kvm::KvmSystem kvm_;
  kvm::Vm vm_;
  GuestMemory memory_;
  std::unique_ptr<EventLoop> loop_;
  EventFd exit_event_;
  x86::BootSetup boot_;

  VmmMetrics metrics_;
  Bus pio_{"pio", metrics_.pio};
  Bus mmio_{"mmio", metrics_.mmio};
  ConsoleTail console_tail_;
  std::unique_ptr<SerialBackend> serial_backend_;
  std::unique_ptr<SerialSink> serial_tee_;
  std::unique_ptr<Serial> serial_;
  std::unique_ptr<I8042> i8042_;
  std::unique_ptr<BootMark> boot_mark_;
  std::vector<std::unique_ptr<virtio::MmioTransport>> transports_;
  virtio::MmioTransport* balloon_ = nullptr;  // one of transports_, with --balloon
  std::deque<EventFd> notify_fds_;            // stable: event-loop callbacks refer to them
  std::vector<std::unique_ptr<VcpuRunner>> vcpus_;
  std::unique_ptr<ApiServer> api_;
  UniqueFd signal_fd_;
  UniqueFd stop_timer_;

  std::atomic<RunState> state_{RunState::kRunning};
  std::mutex mu_;  // guards the fields below
  std::condition_variable cv_;
  size_t parked_ = 0;
  bool exit_requested_ = false;
  ExitStatus exit_status_ = ExitStatus::kGuestEnded;
  std::string exit_reason_;
};

}  // namespace hull::vmm
