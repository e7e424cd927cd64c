#include "vmm.h"

#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>

#include "guest_loader.h"
#include "hull/common/fnv.h"
#include "hull/vmm/devices/irq_line.h"
#include "hull/vmm/kvm/memory_slots.h"
#include "hull/vmm/virtio/balloon/balloon_device.h"
#include "hull/vmm/virtio/block/block_device.h"
#include "hull/vmm/virtio/block/disk.h"
#include "hull/vmm/virtio/fs/fs_device.h"
#include "hull/vmm/virtio/net/net_device.h"
#include "hull/vmm/virtio/net/tap.h"
#include "hull/vmm/virtio/rng/rng_device.h"
#include "hull/vmm/virtio/vsock/vsock_device.h"
#include "hull/vmm/x86/layout.h"
#include "hull/vmm/x86/vcpu_setup.h"

namespace hull::vmm {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

// Our guest kernel has no ACPI: it ends by rebooting, through the i8042.
constexpr char kDefaultCmdline[] = "console=ttyS0 reboot=k panic=-1";
// How long a graceful stop waits for the guest before forcing it.
constexpr std::chrono::seconds kGracefulStopTimeout{3};
// The IOAPIC has 24 pins; GSIs below 5 are the legacy devices'.
constexpr uint32_t kFirstVirtioGsi = x86::kVirtioFirstGsi;
constexpr uint32_t kLastGsi = x86::kIoapicPins - 1;

// The serial output goes to the configured backend and into the tail that
// error reports quote.
class TeeSink final : public SerialSink {
 public:
  TeeSink(SerialSink& next, ConsoleTail& tail) : next_(next), tail_(tail) {}
  size_t Write(std::span<const uint8_t> bytes) override {
    tail_.Append(bytes);
    return next_.Write(bytes);
  }

 private:
  SerialSink& next_;
  ConsoleTail& tail_;
};

Result<std::unique_ptr<IrqLine>> MakeIrqLine(kvm::Vm& vm, uint32_t gsi) {
  HULL_ASSIGN_OR_RETURN(EventFd fd, EventFd::Create());
  HULL_TRY(vm.RegisterIrqfd(fd, gsi));
  return std::unique_ptr<IrqLine>(std::make_unique<EventFdIrqLine>(std::move(fd)));
}

// A locally administered unicast MAC (02:...) derived from the tap's name
// and the NIC's index, stable across runs; FNV-1a.
std::array<uint8_t, 6> DefaultMac(std::string_view tap, size_t index) {
  uint64_t hash = Fnv1a64(tap);
  hash = (hash ^ index) * 0x100000001b3;
  return {0x02,
          static_cast<uint8_t>(hash >> 32),
          static_cast<uint8_t>(hash >> 24),
          static_cast<uint8_t>(hash >> 16),
          static_cast<uint8_t>(hash >> 8),
          static_cast<uint8_t>(hash)};
}

std::string_view StateName(RunState state) {
  switch (state) {
    case RunState::kRunning:
      return "running";
    case RunState::kPaused:
      return "paused";
    case RunState::kStopping:
      return "stopping";
  }
  return "unknown";
}

}  // namespace

Vmm::Vmm(const VmmConfig& config, Clock::time_point start, kvm::KvmSystem kvm, kvm::Vm vm,
         GuestMemory memory, std::unique_ptr<EventLoop> loop, EventFd exit_event)
    : config_(config),
      start_(start),
      kvm_(std::move(kvm)),
      vm_(std::move(vm)),
      memory_(std::move(memory)),
      loop_(std::move(loop)),
      exit_event_(std::move(exit_event)) {}

Vmm::~Vmm() {
  state_ = RunState::kStopping;
  cv_.notify_all();
  KickAll();
  for (auto& vcpu : vcpus_) vcpu->Join();
}

Result<std::unique_ptr<Vmm>> Vmm::Create(const VmmConfig& config, Clock::time_point start) {
  HULL_ASSIGN_OR_RETURN(kvm::KvmSystem kvm, kvm::KvmSystem::Open());
  HULL_ASSIGN_OR_RETURN(kvm::Vm vm, kvm::Vm::Create(kvm));
  const uint64_t mem_bytes = config.mem_mib << 20;
  HULL_ASSIGN_OR_RETURN(std::vector<RegionSpec> regions, x86::GuestRamRegions(mem_bytes));
  // Anonymous memory (with transparent huge pages) unless a vhost-user back
  // end must map guest RAM too.
  const MemoryBacking backing =
      config.filesystems.empty() ? MemoryBacking::kAnonymous : MemoryBacking::kMemfd;
  HULL_ASSIGN_OR_RETURN(GuestMemory memory, GuestMemory::Create(regions, backing));
  // KVM needs these for its real-mode emulation on Intel; they sit in the
  // MMIO hole, where no guest RAM is.
  HULL_TRY(vm.SetTssAddr(GuestAddress(x86::kKvmTssAddress)));
  HULL_TRY(vm.SetIdentityMapAddr(GuestAddress(x86::kKvmIdentityMapAddress)));
  HULL_TRY(vm.CreateIrqchip());
  HULL_TRY(vm.CreatePit2());
  HULL_TRY(kvm::RegisterGuestMemory(vm, memory));
  HULL_ASSIGN_OR_RETURN(std::unique_ptr<EventLoop> loop, EventLoop::Create());
  HULL_ASSIGN_OR_RETURN(EventFd exit_event, EventFd::Create());

  std::unique_ptr<Vmm> vmm(new Vmm(config, start, std::move(kvm), std::move(vm), std::move(memory),
                                   std::move(loop), std::move(exit_event)));
  std::string cmdline = config.cmdline.empty() ? kDefaultCmdline : config.cmdline;
  HULL_TRY(vmm->SetUpLegacyDevices());
  HULL_TRY(vmm->SetUpVirtioDevices(cmdline));
  HULL_TRY(vmm->LoadGuest(cmdline));
  HULL_TRY(vmm->SetUpVcpus());
  HULL_TRY(vmm->SetUpMainLoop());
  return vmm;
}

Result<void> Vmm::SetUpLegacyDevices() {
  HULL_ASSIGN_OR_RETURN(serial_backend_, SerialBackend::Open(config_.serial));
  serial_tee_ = std::make_unique<TeeSink>(*serial_backend_, console_tail_);
  HULL_ASSIGN_OR_RETURN(std::unique_ptr<IrqLine> serial_irq, MakeIrqLine(vm_, kSerialIrq));
  serial_ = std::make_unique<Serial>(std::move(serial_irq), serial_tee_.get(), metrics_.serial);
  HULL_TRY(pio_.Register(kSerialPortBase, kSerialPortCount, serial_.get()));

  HULL_ASSIGN_OR_RETURN(std::unique_ptr<IrqLine> kbd_irq, MakeIrqLine(vm_, kI8042KeyboardIrq));
  i8042_ = std::make_unique<I8042>(
      std::move(kbd_irq),
      [this] {
        // Our kernel has no ACPI: both a clean reboot and the reboot after a
        // panic (panic=-1) come here. The console tells them apart.
        if (console_tail_.SawKernelPanic()) {
          RequestExit(ExitStatus::kGuestPanic,
                      fmt::format("the guest kernel panicked: {}", console_tail_.PanicLine()));
        } else {
          RequestExit(ExitStatus::kGuestEnded, "the guest rebooted (i8042 reset)");
        }
      },
      metrics_.i8042);
  HULL_TRY(pio_.Register(kI8042PortBase, kI8042PortCount, i8042_.get()));

  boot_mark_ = std::make_unique<BootMark>(
      start_, metrics_.boot, [](BootStage stage, std::chrono::nanoseconds since_start) {
        spdlog::info("boot mark {} after {:.1f} ms", BootStageName(stage),
                     static_cast<double>(since_start.count()) / 1e6);
      });
  HULL_TRY(pio_.Register(kBootMarkPort, kBootMarkPortCount, boot_mark_.get()));
  return Ok();
}

Result<void> Vmm::SetUpVirtio(std::string name, std::unique_ptr<virtio::VirtioDevice> device,
                              std::string& cmdline) {
  const size_t index = transports_.size();
  const uint32_t gsi = kFirstVirtioGsi + static_cast<uint32_t>(index);
  if (gsi > kLastGsi) {
    return Error(
        EINVAL, fmt::format("too many virtio devices: at most {}", kLastGsi - kFirstVirtioGsi + 1));
  }
  const uint64_t base = x86::VirtioMmioAddress(static_cast<uint32_t>(index));
  HULL_ASSIGN_OR_RETURN(std::unique_ptr<IrqLine> irq, MakeIrqLine(vm_, gsi));
  // Each queue's notification is an ioeventfd: the guest's write to
  // QueueNotify completes in KVM and wakes our event loop (or a vhost back
  // end's worker), no vCPU exit.
  const auto queue_count = static_cast<uint32_t>(device->queue_max_sizes().size());
  std::vector<EventFd> notify_fds;
  for (uint32_t q = 0; q < queue_count; ++q) {
    HULL_ASSIGN_OR_RETURN(EventFd notify, EventFd::Create());
    HULL_TRY(vm_.RegisterIoeventfd(
        notify, GuestAddress(base + virtio::MmioTransport::NotifyAddressOffset()), 4, q, false));
    notify_fds.push_back(std::move(notify));
  }
  const bool device_takes_notify = device->wants_notify_fds();
  if (device_takes_notify) device->SetNotifyFds(std::move(notify_fds));
  auto transport =
      std::make_unique<virtio::MmioTransport>(name, std::move(device), memory_, std::move(irq));
  HULL_TRY(mmio_.Register(base, virtio::MmioTransport::kWindowSize, transport.get()));
  virtio::MmioTransport* t = transport.get();
  if (!device_takes_notify) {
    for (uint32_t q = 0; q < queue_count; ++q) {
      // A deque: the EventFds the callbacks refer to never move.
      const EventFd& notify = notify_fds_.emplace_back(std::move(notify_fds[q]));
      HULL_TRY(loop_->Add(notify.fd(), EPOLLIN, [t, q, &notify](uint32_t) {
        (void)notify.Consume();
        Result<void> done = t->HandleNotify(q);
        if (!done.ok()) spdlog::warn("{} queue {}: {}", t->name(), q, done.error().ToString());
      }));
    }
  }
  for (const virtio::EventSource& source : t->event_sources()) {
    const uint32_t token = source.token;
    HULL_TRY(loop_->Add(source.fd, source.events, [t, token](uint32_t events) {
      Result<void> done = t->HandleDeviceEvent(token, events);
      if (!done.ok()) spdlog::warn("{}: {}", t->name(), done.error().ToString());
    }));
  }
  cmdline += " " + virtio::KernelCmdlineFragment(virtio::MmioTransport::kWindowSize,
                                                 GuestAddress(base), gsi);
  metrics_.AddGroup(name, [t] {
    const virtio::TransportCounters& c = t->counters();
    nlohmann::json group{{"notifications", c.notifications.load()},
                         {"interrupts", c.interrupts.load()},
                         {"device_errors", c.device_errors.load()},
                         {"invalid_accesses", c.invalid_accesses.load()}};
    t->InspectDevice([&group](const virtio::VirtioDevice& inspected) {
      for (const virtio::VirtioDevice::Counter& counter : inspected.counters()) {
        group[counter.name] = counter.value;
      }
    });
    return group;
  });
  transports_.push_back(std::move(transport));
  return Ok();
}

Result<void> Vmm::SetUpVirtioDevices(std::string& cmdline) {
  for (size_t i = 0; i < config_.disks.size(); ++i) {
    const DiskConfig& disk_config = config_.disks[i];
    HULL_ASSIGN_OR_RETURN(virtio::block::Disk disk,
                          virtio::block::Disk::Open(disk_config.path, disk_config.read_only));
    HULL_ASSIGN_OR_RETURN(std::unique_ptr<virtio::block::BlockDevice> blk,
                          virtio::block::BlockDevice::Create(std::move(disk)));
    HULL_TRY(SetUpVirtio(fmt::format("virtio-blk{}", i), std::move(blk), cmdline)
                 .WithContext(fmt::format("--disk {}", disk_config.path)));
  }
  if (config_.rng) {
    HULL_TRY(SetUpVirtio("virtio-rng", std::make_unique<virtio::rng::RngDevice>(), cmdline));
  }
  for (size_t i = 0; i < config_.nets.size(); ++i) {
    const NetConfig& net = config_.nets[i];
    const std::string flag = net.fd.has_value() ? fmt::format("--net fd={}", *net.fd)
                                                : fmt::format("--net tap={}", net.tap);
    Result<virtio::net::Tap> tap = net.fd.has_value() ? virtio::net::Tap::Adopt(UniqueFd(*net.fd))
                                                      : virtio::net::Tap::Open(net.tap);
    if (!tap.ok()) return std::move(tap).error().WithContext(flag);
    virtio::net::NetOptions options;
    if (!net.mac.empty()) {
      HULL_ASSIGN_OR_RETURN(options.mac, ParseMac(net.mac).WithContext(flag));
    } else {
      options.mac = DefaultMac(tap->name(), i);
    }
    HULL_ASSIGN_OR_RETURN(
        std::unique_ptr<virtio::net::NetDevice> device,
        virtio::net::NetDevice::Create(std::make_unique<virtio::net::Tap>(std::move(*tap)), options)
            .WithContext(flag));
    HULL_TRY(SetUpVirtio(fmt::format("virtio-net{}", i), std::move(device), cmdline));
  }
  for (size_t i = 0; i < config_.filesystems.size(); ++i) {
    const FsConfig& fs = config_.filesystems[i];
    const std::string flag = fmt::format("--fs tag={}", fs.tag);
    HULL_ASSIGN_OR_RETURN(
        std::unique_ptr<virtio::fs::FsDevice> device,
        virtio::fs::FsDevice::Create(
            {.tag = fs.tag, .socket_path = fs.socket, .request_queues = fs.request_queues},
            [this, flag](const Error& error) {
              // The guest's file system is gone; waiting would only hang its
              // processes. End the VM and say why.
              RequestExit(ExitStatus::kVmmError, fmt::format("{}: {}", flag, error.ToString()));
            })
            .WithContext(flag));
    HULL_TRY(SetUpVirtio(fmt::format("virtio-fs{}", i), std::move(device), cmdline));
  }
  if (config_.balloon) {
    HULL_ASSIGN_OR_RETURN(std::unique_ptr<virtio::balloon::BalloonDevice> balloon,
                          virtio::balloon::BalloonDevice::Create());
    HULL_TRY(SetUpVirtio("virtio-balloon", std::move(balloon), cmdline));
    balloon_ = transports_.back().get();
  }
  if (config_.vsock_cid.has_value()) {
    HULL_ASSIGN_OR_RETURN(std::unique_ptr<virtio::vsock::VsockDevice> vsock,
                          virtio::vsock::VsockDevice::Create({.guest_cid = *config_.vsock_cid})
                              .WithContext("--vsock"));
    HULL_TRY(SetUpVirtio("virtio-vsock", std::move(vsock), cmdline));
  }
  return Ok();
}

Result<void> Vmm::LoadGuest(const std::string& cmdline) {
  spdlog::debug("kernel command line: {}", cmdline);
  HULL_ASSIGN_OR_RETURN(boot_, LoadGuestKernel(memory_, config_, cmdline));
  return Ok();
}

Result<void> Vmm::SetUpVcpus() {
  HULL_ASSIGN_OR_RETURN(x86::HostCpuid host, x86::QueryHostCpuid(kvm_));
  for (uint32_t id = 0; id < config_.cpus; ++id) {
    HULL_ASSIGN_OR_RETURN(kvm::Vcpu vcpu, kvm::Vcpu::Create(vm_, id));
    HULL_TRY(x86::ConfigureVcpu(vcpu, host, id, config_.cpus, boot_)
                 .WithContext(fmt::format("setting up vCPU {}", id)));
    vcpus_.push_back(std::make_unique<VcpuRunner>(std::move(vcpu), pio_, mmio_, metrics_, *this));
  }
  return Ok();
}

Result<void> Vmm::SetUpMainLoop() {
  HULL_TRY(loop_->Add(exit_event_.fd(), EPOLLIN, [this](uint32_t) {
    (void)exit_event_.Consume();
    OnExitRequested();
  }));

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  signal_fd_ = UniqueFd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!signal_fd_) return Error::FromErrno(errno, "signalfd");
  HULL_TRY(loop_->Add(signal_fd_.Get(), EPOLLIN, [this](uint32_t) {
    signalfd_siginfo info{};
    while (::read(signal_fd_.Get(), &info, sizeof(info)) == sizeof(info)) {
      spdlog::info("signal {}: stopping the VM", info.ssi_signo);
      (void)Stop(/*force=*/false);
    }
  }));

  stop_timer_ = UniqueFd(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
  if (!stop_timer_) return Error::FromErrno(errno, "timerfd_create");
  HULL_TRY(loop_->Add(stop_timer_.Get(), EPOLLIN, [this](uint32_t) {
    uint64_t expirations = 0;
    if (::read(stop_timer_.Get(), &expirations, sizeof(expirations)) != sizeof(expirations)) return;
    RequestExit(ExitStatus::kGuestEnded,
                fmt::format("stopped: the guest did not reboot within {} s, forced",
                            kGracefulStopTimeout.count()));
  }));

  HULL_TRY(serial_backend_->Attach(
      *loop_, [this](std::span<const uint8_t> bytes) { serial_->EnqueueInput(bytes); }));

  if (config_.api_socket) {
    ApiHandlers handlers;
    handlers.state = [this]() -> Result<std::string> { return std::string(StateName(state())); };
    handlers.pause = [this] { return Pause(); };
    handlers.resume = [this] { return Resume(); };
    handlers.stop = [this](bool force) { return Stop(force); };
    handlers.metrics = [this] { return metrics_.ToJson(); };
    if (balloon_ != nullptr) {
      handlers.balloon = [this](std::optional<uint64_t> target_mib) { return Balloon(target_mib); };
    }
    HULL_ASSIGN_OR_RETURN(api_, ApiServer::Create(*config_.api_socket, *loop_, handlers));
  }
  return Ok();
}

int Vmm::Run() {
  for (auto& vcpu : vcpus_) vcpu->Start();
  spdlog::info("VM running: {} vCPU(s), {} MiB", vcpus_.size(), config_.mem_mib);
  Result<void> ran = loop_->Run();
  if (!ran.ok()) RequestExit(ExitStatus::kVmmError, ran.error().ToString());
  state_ = RunState::kStopping;
  cv_.notify_all();
  KickAll();
  for (auto& vcpu : vcpus_) vcpu->Join();

  std::lock_guard lock(mu_);
  const auto ms = duration_cast<milliseconds>(Clock::now() - start_).count();
  switch (exit_status_) {
    case ExitStatus::kGuestEnded:
      spdlog::info("VM ended after {} ms: {}", ms, exit_reason_);
      break;
    case ExitStatus::kGuestPanic:
    case ExitStatus::kGuestFault:
      spdlog::error("VM ended after {} ms: {}; last console lines:\n{}", ms, exit_reason_,
                    console_tail_.LastLines(20));
      break;
    default:
      spdlog::error("VM ended after {} ms: {}", ms, exit_reason_);
      break;
  }
  return static_cast<int>(exit_status_);
}

void Vmm::RequestExit(ExitStatus status, std::string why) {
  {
    std::lock_guard lock(mu_);
    if (exit_requested_) return;
    exit_requested_ = true;
    exit_status_ = status;
    exit_reason_ = std::move(why);
  }
  (void)exit_event_.Signal();
}

void Vmm::OnExitRequested() {
  state_ = RunState::kStopping;
  cv_.notify_all();
  KickAll();
  loop_->Stop();
}

void Vmm::KickAll() {
  for (auto& vcpu : vcpus_) vcpu->Kick();
}

void Vmm::ParkWhilePaused() {
  std::unique_lock lock(mu_);
  ++parked_;
  cv_.notify_all();
  cv_.wait(lock, [this] { return state() != RunState::kPaused; });
  --parked_;
}

Result<void> Vmm::Pause() {
  RunState expected = RunState::kRunning;
  if (!state_.compare_exchange_strong(expected, RunState::kPaused)) {
    return expected == RunState::kPaused ? Ok()
                                         : Error(EBUSY, "the VM is stopping; it cannot pause");
  }
  KickAll();
  std::unique_lock lock(mu_);
  const bool all =
      cv_.wait_for(lock, std::chrono::seconds(5), [this] { return parked_ == vcpus_.size(); });
  if (!all) return Error(ETIMEDOUT, "the vCPUs did not pause within 5 s");
  spdlog::info("VM paused");
  return Ok();
}

Result<void> Vmm::Resume() {
  RunState expected = RunState::kPaused;
  if (!state_.compare_exchange_strong(expected, RunState::kRunning)) {
    return expected == RunState::kRunning ? Ok()
                                          : Error(EBUSY, "the VM is stopping; it cannot resume");
  }
  cv_.notify_all();
  spdlog::info("VM resumed");
  return Ok();
}

Result<nlohmann::json> Vmm::Balloon(std::optional<uint64_t> target_mib) {
  using virtio::balloon::BalloonDevice;
  constexpr uint64_t kPagesPerMib = (1 << 20) / kGuestPageSize;
  if (target_mib.has_value()) {
    if (*target_mib > config_.mem_mib) {
      return Error(EINVAL, fmt::format("balloon target {} MiB is more than the guest's {} MiB",
                                       *target_mib, config_.mem_mib));
    }
    const auto pages = static_cast<uint32_t>(*target_mib * kPagesPerMib);
    HULL_TRY(balloon_->UpdateDevice([pages](virtio::VirtioDevice& device) -> Result<bool> {
      return static_cast<BalloonDevice&>(device).SetTargetPages(pages);
    }));
    spdlog::info("balloon target {} MiB", *target_mib);
  }
  // Ask for fresh statistics; they arrive with the driver's next report.
  (void)balloon_->UpdateDevice([](virtio::VirtioDevice& device) -> Result<bool> {
    HULL_TRY(static_cast<BalloonDevice&>(device).RequestStats());
    return false;
  });
  return balloon_->InspectDevice([&](const virtio::VirtioDevice& device) {
    const auto& balloon = static_cast<const BalloonDevice&>(device);
    const virtio::balloon::BalloonStats& stats = balloon.LastStats();
    nlohmann::json guest = nlohmann::json::object();
    auto put = [&guest](const char* key, const std::optional<uint64_t>& value) {
      if (value.has_value()) guest[key] = *value;
    };
    put("free_bytes", stats.free_bytes);
    put("total_bytes", stats.total_bytes);
    put("available_bytes", stats.available_bytes);
    put("disk_caches_bytes", stats.disk_caches_bytes);
    put("major_faults", stats.major_faults);
    put("minor_faults", stats.minor_faults);
    return nlohmann::json{{"target_mib", balloon.target_pages() / kPagesPerMib},
                          {"actual_mib", balloon.actual_pages() / kPagesPerMib},
                          {"guest", guest}};
  });
}

Result<void> Vmm::Stop(bool force) {
  if (force) {
    RequestExit(ExitStatus::kGuestEnded, "stopped (forced)");
    return Ok();
  }
  // Graceful: ctrl-alt-del for a guest with a keyboard driver, then force
  // after a timeout. A paused guest cannot react, so resume it first.
  (void)Resume();
  Result<void> cad = i8042_->RequestCtrlAltDel();
  if (!cad.ok()) spdlog::warn("ctrl-alt-del: {}", cad.error().ToString());
  itimerspec when{};
  when.it_value.tv_sec = kGracefulStopTimeout.count();
  if (::timerfd_settime(stop_timer_.Get(), 0, &when, nullptr) != 0) {
    RequestExit(ExitStatus::kGuestEnded, "stopped (forced: no timer for a graceful stop)");
  }
  return Ok();
}

}  // namespace hull::vmm
