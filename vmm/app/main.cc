// hull-vmm: boots one Linux guest on KVM. See docs/vmm.md.

#include <signal.h>
#include <spdlog/spdlog.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <optional>

#include "hull/common/logging.h"
#include "hull/vmm/core/config.h"
#include "vmm.h"

namespace {

// The guest's console wants every key: a terminal on stdin goes to raw mode
// for the VM's lifetime, except that Ctrl-C still stops the VM (SIGINT).
class RawTerminal {
 public:
  RawTerminal() {
    if (!::isatty(STDIN_FILENO) || ::tcgetattr(STDIN_FILENO, &saved_) != 0) return;
    termios raw = saved_;
    ::cfmakeraw(&raw);
    raw.c_lflag |= ISIG;
    raw.c_oflag |= OPOST | ONLCR;
    active_ = ::tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
  }
  ~RawTerminal() {
    if (active_) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

 private:
  termios saved_{};
  bool active_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  const auto start = std::chrono::steady_clock::now();
  using hull::vmm::ExitStatus;

  hull::Result<hull::vmm::VmmConfig> config = hull::vmm::ParseFlags(argc, argv);
  if (!config.ok()) {
    std::fprintf(stderr, "hull-vmm: %s\nRun 'hull-vmm --help' for usage.\n",
                 config.error().message().c_str());
    return static_cast<int>(ExitStatus::kUsage);
  }
  if (config->show_help) {
    std::fputs(hull::vmm::UsageText("hull-vmm").c_str(), stdout);
    return 0;
  }
  if (hull::Result<void> valid = hull::vmm::Validate(*config); !valid.ok()) {
    std::fprintf(stderr, "hull-vmm: %s\n", valid.error().message().c_str());
    return static_cast<int>(ExitStatus::kUsage);
  }
  if (hull::Result<void> logging = hull::InitLogging(config->log_level, "hull-vmm");
      !logging.ok()) {
    std::fprintf(stderr, "hull-vmm: %s\n", logging.error().message().c_str());
    return static_cast<int>(ExitStatus::kUsage);
  }

  // SIGTERM and SIGINT are read through a signalfd by the event loop, so
  // every thread (created later, inheriting this mask) blocks them; the
  // vCPU threads unblock only their kick signal.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, hull::vmm::VcpuRunner::KickSignal());
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  if (hull::Result<void> kick = hull::vmm::VcpuRunner::InstallKickHandler(); !kick.ok()) {
    std::fprintf(stderr, "hull-vmm: error: %s\n", kick.error().ToString().c_str());
    return static_cast<int>(ExitStatus::kVmmError);
  }
  // A client that goes away must not kill the VMM.
  signal(SIGPIPE, SIG_IGN);

  hull::Result<std::unique_ptr<hull::vmm::Vmm>> vmm = hull::vmm::Vmm::Create(*config, start);
  if (!vmm.ok()) {
    spdlog::error("cannot start the VM: {}", vmm.error().ToString());
    std::fprintf(stderr, "hull-vmm: error: %s\n", vmm.error().ToString().c_str());
    return static_cast<int>(ExitStatus::kVmmError);
  }
  std::optional<RawTerminal> raw_terminal;
  if (config->serial.kind == hull::vmm::SerialKind::kStdout) raw_terminal.emplace();
  return (*vmm)->Run();
}
