#pragma once

// hull-agent as the guest's PID 1: the file systems every container needs,
// cgroup v2 with its controllers enabled for children, entropy, the boot
// marks hull-vmm times, and power-off.

#include <cstdint>
#include <map>
#include <string>

#include "hull/common/result.h"

namespace hull::agent {

// hull-vmm's boot-mark port: 1 = init runs, 2 = agent ready.
void MarkBoot(uint8_t value);

// The initramfs is the kernel's "rootfs", which pivot_root cannot leave
// (EINVAL): the containers' pivot_root needs the agent's root to be a mount
// with a parent. Binds rootfs onto a directory of itself and moves that bind
// onto "/" (what switch_root does, without copying a byte), then chroots.
Result<void> LeaveInitramfsRoot();

// Mounts /proc, /sys, /dev (devtmpfs), /dev/pts, /dev/shm, /run, cgroup2 at
// /sys/fs/cgroup (controllers enabled in the root's subtree_control), and
// /dev/mqueue.
Result<void> MountBaseFileSystems();

// Credits the kernel's pool from virtio-rng (/dev/hwrng) when present.
void SeedEntropy();

// "hull.key=value" words of /proc/cmdline.
std::map<std::string, std::string> KernelParameters();

// Milliseconds since the kernel started (CLOCK_BOOTTIME).
uint64_t MillisecondsSinceBoot();

// Syncs and resets the VM (reboot=k: the VMM ends on the i8042 reset).
[[noreturn]] void PowerOff();

}  // namespace hull::agent
