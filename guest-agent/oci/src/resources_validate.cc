// ValidateResources: cgroup values in the ranges the kernel (and runc)
// accept. As in runc, 0 in cpu.shares, cpu.quota, cpu.period and the blkio
// weights means "not set": engines write it (Docker always sends
// blockIO.weight), so refusing it would refuse their specs.

#include <fmt/format.h>

#include <cerrno>
#include <cstdint>

#include "hull/oci/spec_parse.h"
#include "json_reader.h"
#include "text_checks.h"
#include "validate_internal.h"

namespace hull::oci {
namespace internal {
namespace {

constexpr uint64_t kMinCpuShares = 2;
constexpr uint64_t kMaxCpuShares = 262144;
constexpr int64_t kMinCpuQuotaUs = 1000;  // the kernel's min_cfs_quota_period
constexpr uint64_t kMinCpuPeriodUs = 1000;
constexpr uint64_t kMaxCpuPeriodUs = 1000000;
constexpr uint16_t kMinBlkioWeight = 10;
constexpr uint16_t kMaxBlkioWeight = 1000;
constexpr uint64_t kMaxSwappiness = 100;
constexpr int64_t kMaxDeviceMajor = (int64_t{1} << 12) - 1;  // the kernel's dev_t: 12 + 20 bits
constexpr int64_t kMaxDeviceMinor = (int64_t{1} << 20) - 1;

Error OutOfRange(std::string_view path, std::string_view why) {
  return Error(EINVAL, fmt::format("{}: {}", path, why));
}

// -1 (unlimited) or a non-negative value.
Result<void> CheckLimit(const std::optional<int64_t>& value, std::string_view path) {
  if (value && *value < -1) {
    return OutOfRange(path, fmt::format("{} is neither -1 (unlimited) nor a byte count", *value));
  }
  return Ok();
}

Result<void> CheckBlkioWeight(const std::optional<uint16_t>& weight, std::string_view path) {
  if (weight && *weight != 0 && (*weight < kMinBlkioWeight || *weight > kMaxBlkioWeight)) {
    return OutOfRange(
        path, fmt::format("{} is outside {}..{}", *weight, kMinBlkioWeight, kMaxBlkioWeight));
  }
  return Ok();
}

Result<void> CheckDeviceNumbers(int64_t major, int64_t minor, std::string_view path) {
  if (major < 0 || major > kMaxDeviceMajor) {
    return OutOfRange(MemberPath(path, "major"),
                      fmt::format("{} is outside 0..{}", major, kMaxDeviceMajor));
  }
  if (minor < 0 || minor > kMaxDeviceMinor) {
    return OutOfRange(MemberPath(path, "minor"),
                      fmt::format("{} is outside 0..{}", minor, kMaxDeviceMinor));
  }
  return Ok();
}

Result<void> ValidateDeviceRules(const std::vector<DeviceRule>& rules, std::string_view path) {
  for (size_t i = 0; i < rules.size(); ++i) {
    const DeviceRule& rule = rules[i];
    const std::string where = ElementPath(path, i);
    if (!rule.type.empty() && rule.type != "a" && rule.type != "c" && rule.type != "b") {
      return Error(EINVAL, fmt::format("{}.type: expected \"a\", \"c\" or \"b\", got {}", where,
                                       Quote(rule.type)));
    }
    if (rule.access.find_first_not_of("rwm") != std::string::npos) {
      return Error(EINVAL, fmt::format("{}.access: expected letters of \"rwm\", got {}", where,
                                       Quote(rule.access)));
    }
    // -1 is runc's wildcard, as is leaving the number out.
    for (const auto& [name, value] :
         {std::pair{"major", rule.major}, std::pair{"minor", rule.minor}}) {
      if (value && *value < -1) {
        return OutOfRange(MemberPath(where, name),
                          fmt::format("{} is not a device number", *value));
      }
    }
  }
  return Ok();
}

Result<void> ValidateMemory(const MemoryResources& memory, std::string_view path) {
  HULL_TRY(CheckLimit(memory.limit, MemberPath(path, "limit")));
  HULL_TRY(CheckLimit(memory.reservation, MemberPath(path, "reservation")));
  HULL_TRY(CheckLimit(memory.swap, MemberPath(path, "swap")));
  HULL_TRY(CheckLimit(memory.kernel, MemberPath(path, "kernel")));
  HULL_TRY(CheckLimit(memory.kernel_tcp, MemberPath(path, "kernelTCP")));
  // swap is memory+swap (cgroup v1); 0 is "not set", -1 unlimited.
  if (memory.swap && *memory.swap > 0) {
    if (!memory.limit || *memory.limit <= 0) {
      return Error(EINVAL, fmt::format("{}: a swap limit needs a memory limit ({})",
                                       MemberPath(path, "swap"), MemberPath(path, "limit")));
    }
    if (*memory.swap < *memory.limit) {
      return Error(EINVAL, fmt::format("{}: {} is below {} {} (swap counts memory plus swap)",
                                       MemberPath(path, "swap"), *memory.swap,
                                       MemberPath(path, "limit"), *memory.limit));
    }
  }
  if (memory.swappiness && *memory.swappiness > kMaxSwappiness) {
    return OutOfRange(MemberPath(path, "swappiness"),
                      fmt::format("{} is outside 0..{}", *memory.swappiness, kMaxSwappiness));
  }
  return Ok();
}

Result<void> ValidateCpu(const CpuResources& cpu, std::string_view path) {
  if (cpu.shares && *cpu.shares != 0 &&
      (*cpu.shares < kMinCpuShares || *cpu.shares > kMaxCpuShares)) {
    return OutOfRange(MemberPath(path, "shares"), fmt::format("{} is outside {}..{}", *cpu.shares,
                                                              kMinCpuShares, kMaxCpuShares));
  }
  if (cpu.quota && *cpu.quota != 0 && *cpu.quota != -1 && *cpu.quota < kMinCpuQuotaUs) {
    return OutOfRange(MemberPath(path, "quota"),
                      fmt::format("{} is neither -1 (unlimited) nor at least {} microseconds",
                                  *cpu.quota, kMinCpuQuotaUs));
  }
  if (cpu.period && *cpu.period != 0 &&
      (*cpu.period < kMinCpuPeriodUs || *cpu.period > kMaxCpuPeriodUs)) {
    return OutOfRange(MemberPath(path, "period"),
                      fmt::format("{} microseconds is outside {}..{}", *cpu.period, kMinCpuPeriodUs,
                                  kMaxCpuPeriodUs));
  }
  if (cpu.realtime_runtime && *cpu.realtime_runtime < -1) {
    return OutOfRange(
        MemberPath(path, "realtimeRuntime"),
        fmt::format("{} is neither -1 nor a count of microseconds", *cpu.realtime_runtime));
  }
  if (cpu.idle && *cpu.idle != 0 && *cpu.idle != 1) {
    return OutOfRange(MemberPath(path, "idle"), fmt::format("{} is neither 0 nor 1", *cpu.idle));
  }
  for (const auto& [name, list] : {std::pair{"cpus", &cpu.cpus}, std::pair{"mems", &cpu.mems}}) {
    HULL_TRY(CheckNoNul(*list, MemberPath(path, name)));
    if (!list->empty() && !IsCpusetList(*list)) {
      return Error(EINVAL, fmt::format("{}: expected a list such as \"0-3,5\", got {}",
                                       MemberPath(path, name), Quote(*list)));
    }
  }
  return Ok();
}

Result<void> ValidateThrottle(const std::vector<ThrottleDevice>& devices, std::string_view path) {
  for (size_t i = 0; i < devices.size(); ++i) {
    HULL_TRY(CheckDeviceNumbers(devices[i].major, devices[i].minor, ElementPath(path, i)));
  }
  return Ok();
}

Result<void> ValidateBlockIo(const BlockIoResources& io, std::string_view path) {
  HULL_TRY(CheckBlkioWeight(io.weight, MemberPath(path, "weight")));
  HULL_TRY(CheckBlkioWeight(io.leaf_weight, MemberPath(path, "leafWeight")));
  const std::string weight_path = MemberPath(path, "weightDevice");
  for (size_t i = 0; i < io.weight_device.size(); ++i) {
    const WeightDevice& device = io.weight_device[i];
    const std::string where = ElementPath(weight_path, i);
    HULL_TRY(CheckDeviceNumbers(device.major, device.minor, where));
    HULL_TRY(CheckBlkioWeight(device.weight, MemberPath(where, "weight")));
    HULL_TRY(CheckBlkioWeight(device.leaf_weight, MemberPath(where, "leafWeight")));
  }
  HULL_TRY(
      ValidateThrottle(io.throttle_read_bps_device, MemberPath(path, "throttleReadBpsDevice")));
  HULL_TRY(
      ValidateThrottle(io.throttle_write_bps_device, MemberPath(path, "throttleWriteBpsDevice")));
  HULL_TRY(
      ValidateThrottle(io.throttle_read_iops_device, MemberPath(path, "throttleReadIOPSDevice")));
  HULL_TRY(
      ValidateThrottle(io.throttle_write_iops_device, MemberPath(path, "throttleWriteIOPSDevice")));
  return Ok();
}

// "2MB", "1GB", "64KB": the hugetlb controller's file-name form.
bool IsHugepageSize(std::string_view size) {
  if (size.size() < 3) return false;
  const std::string_view unit = size.substr(size.size() - 2);
  if (unit != "KB" && unit != "MB" && unit != "GB") return false;
  const std::string_view digits = size.substr(0, size.size() - 2);
  return digits.size() <= 10 && digits.find_first_not_of("0123456789") == std::string_view::npos;
}

// Files the agent itself writes to run the container's cgroup.
constexpr std::string_view kAgentOwnedCgroupFiles[] = {
    "cgroup.procs", "cgroup.threads", "cgroup.subtree_control",
    "cgroup.type",  "cgroup.freeze",  "cgroup.kill",
};

Result<void> ValidateUnified(const std::map<std::string, std::string>& unified,
                             std::string_view path) {
  for (const auto& [key, value] : unified) {
    const std::string where = KeyPath(path, key);
    HULL_TRY(CheckNoNul(key, where));
    HULL_TRY(CheckNoNul(value, where));
    // The key names a file in the container's cgroup directory; it must stay
    // there.
    const size_t dot = key.find('.');
    if (key.find('/') != std::string::npos || dot == std::string::npos || dot == 0 ||
        key.back() == '.') {
      return Error(EINVAL,
                   fmt::format("{}: expected a cgroup file name such as \"memory.high\"", where));
    }
    for (const std::string_view owned : kAgentOwnedCgroupFiles) {
      if (key == owned) {
        return Error(EINVAL, fmt::format("{}: {} is managed by hull-agent", where, key));
      }
    }
  }
  return Ok();
}

}  // namespace

bool IsCpusetList(std::string_view text) {
  // Each comma-separated item is N or N-M with N <= M.
  if (text.empty()) return false;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view item = text.substr(start, end - start);
    const size_t dash = item.find('-');
    const std::string_view first = item.substr(0, dash);
    const std::string_view last = dash == std::string_view::npos ? first : item.substr(dash + 1);
    uint64_t numbers[2] = {0, 0};
    int index = 0;
    for (const std::string_view part : {first, last}) {
      // At most 9 digits: no overflow, and far beyond any CPU or node count.
      if (part.empty() || part.size() > 9 ||
          part.find_first_not_of("0123456789") != std::string_view::npos) {
        return false;
      }
      for (const char c : part) {
        numbers[index] = numbers[index] * 10 + static_cast<uint64_t>(c - '0');
      }
      ++index;
    }
    if (numbers[0] > numbers[1]) return false;
    start = end + 1;
  }
  return true;
}

Result<void> ValidateResourcesAt(const Resources& resources, std::string_view path) {
  HULL_TRY(ValidateDeviceRules(resources.devices, MemberPath(path, "devices")));
  if (resources.memory) HULL_TRY(ValidateMemory(*resources.memory, MemberPath(path, "memory")));
  if (resources.cpu) HULL_TRY(ValidateCpu(*resources.cpu, MemberPath(path, "cpu")));
  if (resources.pids && resources.pids->limit < -1) {
    return OutOfRange(
        MemberPath(path, "pids.limit"),
        fmt::format("{} is neither -1/0 (unlimited) nor a process count", resources.pids->limit));
  }
  if (resources.block_io) {
    HULL_TRY(ValidateBlockIo(*resources.block_io, MemberPath(path, "blockIO")));
  }
  const std::string hugepage_path = MemberPath(path, "hugepageLimits");
  for (size_t i = 0; i < resources.hugepage_limits.size(); ++i) {
    const std::string& size = resources.hugepage_limits[i].page_size;
    if (!IsHugepageSize(size)) {
      return Error(EINVAL, fmt::format("{}.pageSize: expected a size such as \"2MB\", got {}",
                                       ElementPath(hugepage_path, i), Quote(size)));
    }
  }
  HULL_TRY(ValidateUnified(resources.unified, MemberPath(path, "unified")));
  return Ok();
}

}  // namespace internal

Result<void> ValidateResources(const Resources& resources) {
  return internal::ValidateResourcesAt(resources, "resources");
}

}  // namespace hull::oci
