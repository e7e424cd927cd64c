#include "hull/sandbox/host_check.h"

#include <fcntl.h>
#include <linux/kvm.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "hull/common/unique_fd.h"

namespace hull::sandbox {
namespace {

HostCheck DeviceCheck(const std::string& path, const std::string& fix) {
  HostCheck check;
  check.name = path;
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd) {
    check.detail = std::string("cannot open: ") + std::strerror(errno);
    check.fix = fix;
    return check;
  }
  check.ok = true;
  check.detail = "usable";
  return check;
}

HostCheck FileCheck(const std::string& name, const std::string& path, int mode,
                    const std::string& fix) {
  HostCheck check;
  check.name = name;
  if (path.empty()) {
    check.detail = "not found";
    check.fix = fix;
  } else if (::access(path.c_str(), mode) != 0) {
    check.detail = path + ": " + std::strerror(errno);
    check.fix = fix;
  } else {
    check.ok = true;
    check.detail = path;
  }
  return check;
}

}  // namespace

std::vector<HostCheck> CheckHost(const HostConfig& config) {
  std::vector<HostCheck> checks;
  HostCheck kvm = DeviceCheck(
      "/dev/kvm",
      "enable virtualisation in the firmware and load kvm_intel or kvm_amd (modprobe); in a VM, "
      "enable nested virtualisation; without KVM, run inside tests/kvm-sandbox/run");
  if (kvm.ok) {
    UniqueFd fd(::open("/dev/kvm", O_RDWR | O_CLOEXEC));
    const int version = ::ioctl(fd.Get(), KVM_GET_API_VERSION, 0);
    if (version != KVM_API_VERSION) {
      kvm.ok = false;
      kvm.detail = "KVM API version " + std::to_string(version) + ", hull needs " +
                   std::to_string(KVM_API_VERSION);
      kvm.fix = "use a Linux kernel with the stable KVM API";
    }
  }
  checks.push_back(std::move(kvm));
  checks.push_back(DeviceCheck("/dev/vhost-vsock",
                               "load the vhost_vsock module (modprobe vhost_vsock): the agent "
                               "channel is vsock"));
  HostCheck tun = DeviceCheck("/dev/net/tun", "load the tun module (modprobe tun) for tap devices");
  tun.required = false;  // only sandboxes with a network need it
  checks.push_back(std::move(tun));
  checks.push_back(
      FileCheck("hull-vmm", config.vmm, X_OK,
                "build it (cmake --build build) or set \"vmm\" in /etc/hull/config.json"));
  checks.push_back(FileCheck("virtiofsd", config.virtiofsd, X_OK,
                             "apt-get install qemu-system-common (it ships "
                             "/usr/lib/qemu/virtiofsd), or set \"virtiofsd\" in the config"));
  checks.push_back(FileCheck("guest kernel", config.kernel, R_OK,
                             "run kernel-config/build, or set \"kernel\" in the config or "
                             "$HULL_KERNEL"));
  checks.push_back(FileCheck("agent initramfs", config.initramfs, R_OK,
                             "build it (cmake --build build --target agent-initramfs) or set "
                             "\"initramfs\" in the config"));
  HostCheck cgroup;
  cgroup.name = "cgroup v2";
  cgroup.required = false;
  struct statfs fs {};
  if (::statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC) {
    cgroup.ok = true;
    cgroup.detail = "/sys/fs/cgroup is cgroup2";
  } else {
    cgroup.detail = "/sys/fs/cgroup is not a cgroup2 mount (cgroup v1 or hybrid)";
    cgroup.fix =
        "boot with systemd.unified_cgroup_hierarchy=1 (containers' cgroups live in "
        "the guest and work either way; host-side limits for a sandbox's processes will need it)";
  }
  checks.push_back(std::move(cgroup));
  HostCheck root;
  root.name = "privileges";
  root.ok = ::geteuid() == 0;
  root.detail = root.ok ? "root" : "not root";
  if (!root.ok) root.fix = "run as root (mounts for virtio-fs shares and tap devices need it)";
  checks.push_back(std::move(root));
  return checks;
}

Result<void> RequireHost(const HostConfig& config) {
  for (const HostCheck& check : CheckHost(config)) {
    if (check.ok || !check.required) continue;
    return Error(ENOENT, check.name + ": " + check.detail + ". Fix: " + check.fix);
  }
  return Ok();
}

}  // namespace hull::sandbox
