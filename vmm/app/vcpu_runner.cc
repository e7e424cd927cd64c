#include "vcpu_runner.h"

#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <type_traits>

namespace hull::vmm {
namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};

}  // namespace

int VcpuRunner::KickSignal() { return SIGRTMIN; }

Result<void> VcpuRunner::InstallKickHandler() {
  return kvm::InstallKickSignalHandler(KickSignal());
}

void VcpuRunner::Start() {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, kStackBytes);
  const int err = pthread_create(
      &thread_, &attr,
      [](void* self) -> void* {
        static_cast<VcpuRunner*>(self)->Loop();
        return nullptr;
      },
      this);
  pthread_attr_destroy(&attr);
  if (err != 0) {
    spdlog::error("vCPU {}: pthread_create: {}", vcpu_.id(), std::strerror(err));
    vm_.RequestExit(ExitStatus::kVmmError, fmt::format("cannot start vCPU {} thread", vcpu_.id()));
    return;
  }
  started_ = true;
}

void VcpuRunner::Kick() {
  // Kicks and Join() both run on the main thread, so a joinable thread's
  // handle is valid here (a thread that already left its loop ignores it).
  if (started_) {
    (void)kvm::KickVcpuThread(vcpu_.kick_handle(), thread_, KickSignal());
  } else {
    vcpu_.kick_handle().Request();
  }
}

void VcpuRunner::Join() {
  if (started_) {
    pthread_join(thread_, nullptr);
    started_ = false;
  }
}

void VcpuRunner::Loop() {
  // The kick signal must reach this thread; the process-wide mask blocks
  // the signals the main thread reads through its signalfd.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, KickSignal());
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  pthread_setname_np(pthread_self(), fmt::format("vcpu{}", vcpu_.id()).c_str());

  while (true) {
    const RunState state = vm_.state();
    if (state == RunState::kStopping) return;
    if (state == RunState::kPaused) {
      vm_.ParkWhilePaused();
      continue;
    }
    Result<kvm::VcpuExit> exit = vcpu_.Run();
    // An AP waiting for its INIT/SIPI returns EAGAIN each time it wakes
    // without being started; KVM expects the caller to run it again.
    if (!exit.ok() && exit.error().code() == EAGAIN) continue;
    if (!exit.ok()) {
      vm_.RequestExit(ExitStatus::kVmmError,
                      fmt::format("vCPU {}: {}", vcpu_.id(), exit.error().ToString()));
      return;
    }
    if (!HandleExit(*exit)) return;
  }
}

bool VcpuRunner::HandleExit(const kvm::VcpuExit& exit) {
  return std::visit(
      Overloaded{
          [&](const kvm::IoOut& io) {
            Count(metrics_.exits.io_out);
            for (uint32_t i = 0; i < io.count; ++i) {
              // Unhandled ports are counted by the bus.
              pio_.Write(io.port, io.bytes.subspan(size_t{i} * io.size, io.size));
            }
            return true;
          },
          [&](const kvm::IoIn& io) {
            Count(metrics_.exits.io_in);
            // KVM's data area is one page; RunPage checked size * count fits.
            std::array<uint8_t, 4096> data;
            const size_t total = size_t{io.size} * io.count;
            for (uint32_t i = 0; i < io.count; ++i) {
              pio_.Read(io.port, std::span(data).subspan(size_t{i} * io.size, io.size));
            }
            Result<void> set = vcpu_.SetIoInData(std::span(data).first(total));
            if (!set.ok()) {
              vm_.RequestExit(ExitStatus::kVmmError, set.error().ToString());
              return false;
            }
            return true;
          },
          [&](const kvm::MmioWrite& mmio) {
            Count(metrics_.exits.mmio_write);
            mmio_.Write(mmio.addr.raw(), mmio.bytes);
            return true;
          },
          [&](const kvm::MmioRead& mmio) {
            Count(metrics_.exits.mmio_read);
            std::array<uint8_t, 8> data;
            auto out = std::span(data).first(mmio.len);
            mmio_.Read(mmio.addr.raw(), out);
            Result<void> set = vcpu_.SetMmioReadData(out);
            if (!set.ok()) {
              vm_.RequestExit(ExitStatus::kVmmError, set.error().ToString());
              return false;
            }
            return true;
          },
          [&](const kvm::Hlt&) {
            // With the in-kernel LAPIC, HLT is handled by KVM; an exit means
            // the guest halted for good (interrupts off).
            Count(metrics_.exits.hlt);
            vm_.RequestExit(ExitStatus::kGuestEnded, fmt::format("vCPU {} halted", vcpu_.id()));
            return false;
          },
          [&](const kvm::Shutdown&) {
            Count(metrics_.exits.shutdown);
            vm_.RequestExit(ExitStatus::kGuestFault,
                            fmt::format("vCPU {}: triple fault (KVM_EXIT_SHUTDOWN)", vcpu_.id()));
            return false;
          },
          [&](const kvm::SystemEvent& event) {
            Count(metrics_.exits.other);
            // KVM_SYSTEM_EVENT_{SHUTDOWN=1,RESET=2,CRASH=3}
            vm_.RequestExit(event.type == 3 ? ExitStatus::kGuestPanic : ExitStatus::kGuestEnded,
                            fmt::format("vCPU {}: system event {}", vcpu_.id(), event.type));
            return false;
          },
          [&](const kvm::Intr&) {
            // A kick: clear it, then the loop looks at the run state again.
            vcpu_.SetImmediateExit(false);
            return true;
          },
          [&](const auto& other) {
            Count(metrics_.exits.other);
            vm_.RequestExit(ExitStatus::kGuestFault,
                            fmt::format("vCPU {}: {}", vcpu_.id(), kvm::DescribeExit(other)));
            return false;
          },
      },
      exit);
}

}  // namespace hull::vmm
