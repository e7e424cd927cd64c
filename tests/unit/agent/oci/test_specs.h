#pragma once

// config.json documents the oci tests share.

#include <string_view>

namespace hull::oci::testing {

// `runc spec` output with what engines add: seccomp, resources, devices,
// sysctls, hooks, annotations and mounts with options.
inline constexpr std::string_view kFullConfig = R"json({
  "ociVersion": "1.0.2-dev",
  "process": {
    "terminal": true,
    "consoleSize": {"height": 25, "width": 80},
    "user": {"uid": 1000, "gid": 1000, "umask": 18, "additionalGids": [5, 10]},
    "args": ["sh", "-c", "echo hello"],
    "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
    "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "inheritable": [],
      "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "ambient": ["CAP_NET_BIND_SERVICE"]
    },
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024},
                {"type": "RLIMIT_CORE", "hard": 18446744073709551615, "soft": 0}],
    "noNewPrivileges": true,
    "oomScoreAdj": -500,
    "apparmorProfile": "docker-default",
    "selinuxLabel": "system_u:system_r:container_t:s0",
    "commandLine": "ignored on Linux"
  },
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "runc",
  "domainname": "example.org",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
     "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
     "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs",
     "options": ["nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
     "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
    {"destination": "/data", "type": "bind", "source": "/mnt/data",
     "options": ["rbind", "ro", "rprivate"]}
  ],
  "hooks": {
    "prestart": [{"path": "/usr/bin/fix-mounts", "args": ["fix-mounts", "arg1"],
                  "env": ["key1=value1"], "timeout": 5}],
    "poststop": [{"path": "/usr/sbin/cleanup.sh"}]
  },
  "annotations": {"com.example.key1": "value1", "org.opencontainers.image.os": "linux"},
  "linux": {
    "uidMappings": [],
    "namespaces": [{"type": "pid"}, {"type": "network", "path": "/var/run/netns/pod"},
                   {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}],
    "sysctl": {"net.ipv4.ip_forward": "1", "kernel.shmmax": "4294967295"},
    "resources": {
      "devices": [{"allow": false, "access": "rwm"},
                  {"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rw"}],
      "memory": {"limit": 536870912, "reservation": 268435456, "swap": 1073741824,
                 "swappiness": 0, "disableOOMKiller": false},
      "cpu": {"shares": 1024, "quota": 100000, "period": 100000, "cpus": "0-3,5", "mems": "0"},
      "pids": {"limit": 32768},
      "blockIO": {"weight": 500, "leafWeight": 300,
                  "weightDevice": [{"major": 8, "minor": 0, "weight": 500}],
                  "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 600}],
                  "throttleWriteIOPSDevice": [{"major": 8, "minor": 16, "rate": 300}]},
      "hugepageLimits": [{"pageSize": "2MB", "limit": 209715200}],
      "unified": {"memory.high": "max", "io.max": "8:0 rbps=1048576"},
      "network": {"classID": 1048577}
    },
    "cgroupsPath": "/hull/pod1/ctr1",
    "devices": [
      {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438,
       "uid": 0, "gid": 0},
      {"path": "/dev/sda", "type": "b", "major": 8, "minor": 0},
      {"path": "/dev/myfifo", "type": "p"}
    ],
    "seccomp": {
      "defaultAction": "SCMP_ACT_ERRNO",
      "defaultErrnoRet": 1,
      "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
      "flags": ["SECCOMP_FILTER_FLAG_LOG"],
      "syscalls": [
        {"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 131080, "op": "SCMP_CMP_EQ"}]},
        {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]},
        {"names": ["ptrace"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}
      ]
    },
    "rootfsPropagation": "rslave",
    "maskedPaths": ["/proc/kcore", "/proc/latency_stats", "/sys/firmware"],
    "readonlyPaths": ["/proc/asound", "/proc/bus", "/proc/sys"],
    "mountLabel": "system_u:object_r:container_file_t:s0",
    "intelRdt": {"closID": "ignored"}
  },
  "vendor.extension": {"deeply": {"nested": [1, 2, {"x": null}]}}
})json";

// The smallest config that ValidateSpec accepts.
inline constexpr std::string_view kMinimalConfig = R"json({
  "ociVersion": "1.1.0",
  "process": {"args": ["/bin/true"], "cwd": "/"},
  "root": {"path": "rootfs"},
  "linux": {"namespaces": [{"type": "mount"}]}
})json";

}  // namespace hull::oci::testing
