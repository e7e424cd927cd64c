#include "pid1.h"

#include <fcntl.h>
#include <linux/random.h>
#include <sys/io.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include "hull/common/logging.h"

namespace hull::agent {
namespace {

constexpr uint16_t kBootMarkPort = 0x440;

Result<void> MountOne(const char* source, const char* target, const char* type, unsigned long flags,
                      const char* data) {
  ::mkdir(target, 0755);
  if (::mount(source, target, type, flags, data) != 0 && errno != EBUSY) {
    return Error::FromErrno(errno, std::string("mounting ") + type + " at " + target);
  }
  return {};
}

}  // namespace

void MarkBoot(uint8_t value) {
  // Only hull-vmm listens there; elsewhere the write goes nowhere.
  if (::ioperm(kBootMarkPort, 1, 1) == 0) outb(value, kBootMarkPort);
}

Result<void> LeaveInitramfsRoot() {
  constexpr const char* kNewRoot = "/.hull-root";
  ::mkdir(kNewRoot, 0755);
  if (::mount("/", kNewRoot, nullptr, MS_BIND | MS_REC, nullptr) != 0) {
    return Error::FromErrno(errno, "binding the initramfs root");
  }
  if (::chdir(kNewRoot) != 0) return Error::FromErrno(errno, std::string("chdir ") + kNewRoot);
  if (::mount(".", "/", nullptr, MS_MOVE, nullptr) != 0) {
    return Error::FromErrno(errno, "moving the root bind onto /");
  }
  if (::chroot(".") != 0) return Error::FromErrno(errno, "chroot into the root bind");
  if (::chdir("/") != 0) return Error::FromErrno(errno, "chdir /");
  return {};
}

Result<void> MountBaseFileSystems() {
  constexpr unsigned long kNoSuidDevExec = MS_NOSUID | MS_NODEV | MS_NOEXEC;
  HULL_TRY(MountOne("proc", "/proc", "proc", kNoSuidDevExec, nullptr));
  HULL_TRY(MountOne("sysfs", "/sys", "sysfs", kNoSuidDevExec, nullptr));
  HULL_TRY(MountOne("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755"));
  // The initramfs has no /dev/console, so the kernel gave us no stdio;
  // devtmpfs has the node now. The console is where the agent logs.
  int console = ::open("/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (console >= 0) {
    for (int fd = 0; fd <= 2; ++fd) ::dup2(console, fd);
    if (console > 2) ::close(console);
  }
  HULL_TRY(MountOne("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
                    "mode=0620,ptmxmode=0666,gid=5"));
  HULL_TRY(MountOne("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"));
  HULL_TRY(MountOne("mqueue", "/dev/mqueue", "mqueue", kNoSuidDevExec, nullptr));
  HULL_TRY(MountOne("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755"));
  HULL_TRY(MountOne("cgroup2", "/sys/fs/cgroup", "cgroup2", kNoSuidDevExec, "nsdelegate"));
  // The root cgroup may hold processes and still delegate controllers.
  std::ifstream available("/sys/fs/cgroup/cgroup.controllers");
  std::string controller;
  std::string enable;
  while (available >> controller) enable += "+" + controller + " ";
  if (!enable.empty()) {
    int fd = ::open("/sys/fs/cgroup/cgroup.subtree_control", O_WRONLY | O_CLOEXEC);
    if (fd < 0) return Error::FromErrno(errno, "opening /sys/fs/cgroup/cgroup.subtree_control");
    ssize_t n = ::write(fd, enable.data(), enable.size());
    int saved = errno;
    ::close(fd);
    if (n < 0) return Error::FromErrno(saved, "enabling cgroup controllers " + enable);
  }
  return {};
}

void SeedEntropy() {
  int hwrng = ::open("/dev/hwrng", O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (hwrng < 0) return;
  constexpr size_t kSeedBytes = 64;
  // rand_pool_info ends in a flexible array: lay it out by hand.
  alignas(rand_pool_info) std::array<uint8_t, sizeof(rand_pool_info) + kSeedBytes> buffer{};
  ssize_t n = ::read(hwrng, buffer.data() + sizeof(rand_pool_info), kSeedBytes);
  ::close(hwrng);
  if (n <= 0) return;
  rand_pool_info header{};
  header.entropy_count = static_cast<int>(n * 8);
  header.buf_size = static_cast<int>(n);
  std::memcpy(buffer.data(), &header, sizeof(header));
  int random = ::open("/dev/urandom", O_WRONLY | O_CLOEXEC);
  if (random < 0) return;
  if (::ioctl(random, RNDADDENTROPY, buffer.data()) != 0) {
    LogEvent(spdlog::level::debug, "entropy_seed_failed", Kv("errno", errno));
  }
  ::close(random);
}

std::map<std::string, std::string> KernelParameters() {
  std::map<std::string, std::string> parameters;
  std::ifstream cmdline("/proc/cmdline");
  std::string word;
  while (cmdline >> word) {
    if (word.rfind("hull.", 0) != 0) continue;
    size_t eq = word.find('=');
    if (eq == std::string::npos) {
      parameters[word.substr(5)] = "";
    } else {
      parameters[word.substr(5, eq - 5)] = word.substr(eq + 1);
    }
  }
  return parameters;
}

uint64_t MillisecondsSinceBoot() {
  timespec now{};
  ::clock_gettime(CLOCK_BOOTTIME, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1000 + static_cast<uint64_t>(now.tv_nsec) / 1000000;
}

void PowerOff() {
  ::sync();
  ::reboot(RB_AUTOBOOT);
  // reboot() does not return on success.
  LogEvent(spdlog::level::err, "reboot_failed", Kv("errno", errno));
  for (;;) ::pause();
}

}  // namespace hull::agent
