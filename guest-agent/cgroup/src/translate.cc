#include "hull/cgroup/translate.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <string_view>

namespace hull::cgroup {
namespace {

constexpr uint64_t kDefaultCpuPeriodUs = 100000;

Error Invalid(std::string_view field, std::string_view why) {
  return Error(EINVAL, fmt::format("linux.resources.{}: {}", field, why));
}

// A byte count or limit where -1 means unlimited and 0 means "not set":
// nullopt for unset, "max" or the number otherwise.
Result<std::optional<std::string>> LimitValue(std::string_view field,
                                              const std::optional<int64_t>& value) {
  if (!value.has_value() || *value == 0) return std::optional<std::string>();
  if (*value == -1) return std::optional<std::string>("max");
  if (*value < 0) return Invalid(field, fmt::format("{} is neither a limit nor -1", *value));
  return std::optional<std::string>(std::to_string(*value));
}

Result<void> AddPids(const oci::Resources& resources, std::vector<CgroupWrite>& out) {
  if (!resources.pids.has_value()) return Ok();
  const int64_t limit = resources.pids->limit;
  if (limit < -1) return Invalid("pids.limit", fmt::format("{} is neither a limit nor -1", limit));
  out.push_back({"pids.max", limit <= 0 ? "max" : std::to_string(limit)});
  return Ok();
}

// cgroup v1's memory.memsw.limit_in_bytes counts memory+swap; v2's
// memory.swap.max counts swap alone (runc's ConvertMemorySwapToCgroupV2Value).
Result<std::optional<CgroupWrite>> SwapWrite(const oci::MemoryResources& memory) {
  const int64_t limit = memory.limit.value_or(0);
  const int64_t swap = memory.swap.value_or(0);
  // Unlimited memory with swap unset: v1 would have both unlimited.
  if (limit == -1 && swap == 0) return std::optional<CgroupWrite>({"memory.swap.max", "max", true});
  if (swap == 0) return std::optional<CgroupWrite>();
  if (swap == -1) return std::optional<CgroupWrite>({"memory.swap.max", "max", true});
  if (swap < 0) return Invalid("memory.swap", fmt::format("{} is neither a limit nor -1", swap));
  if (limit == 0 || limit == -1) {
    return Invalid("memory.swap", "a swap limit needs a memory limit (memory.limit)");
  }
  if (limit < 0) return Invalid("memory.limit", fmt::format("{} is neither a limit nor -1", limit));
  if (swap < limit) {
    return Invalid("memory.swap",
                   fmt::format("{} (memory+swap) is below memory.limit {}", swap, limit));
  }
  const int64_t swap_only = swap - limit;
  // "0" (no swap) is also what a kernel without swap accounting does anyway.
  return std::optional<CgroupWrite>({"memory.swap.max", std::to_string(swap_only), swap_only == 0});
}

Result<void> AddMemory(const oci::Resources& resources, std::vector<CgroupWrite>& out) {
  if (!resources.memory.has_value()) return Ok();
  const oci::MemoryResources& memory = *resources.memory;
  HULL_ASSIGN_OR_RETURN(std::optional<CgroupWrite> swap, SwapWrite(memory));
  HULL_ASSIGN_OR_RETURN(std::optional<std::string> max, LimitValue("memory.limit", memory.limit));
  HULL_ASSIGN_OR_RETURN(std::optional<std::string> low,
                        LimitValue("memory.reservation", memory.reservation));
  if (swap.has_value()) out.push_back(std::move(*swap));
  if (max.has_value()) out.push_back({"memory.max", std::move(*max)});
  if (low.has_value()) out.push_back({"memory.low", std::move(*low)});
  return Ok();
}

Result<std::string> DeviceKey(std::string_view field, int64_t major, int64_t minor) {
  if (major < 0 || minor < 0 || major > UINT32_MAX || minor > UINT32_MAX) {
    return Invalid(field, fmt::format("device {}:{} is out of range", major, minor));
  }
  return fmt::format("{}:{}", major, minor);
}

Result<uint64_t> IoWeight(std::string_view field, uint16_t weight) {
  if (weight < 10 || weight > 1000) {
    return Invalid(field, fmt::format("{} is outside the blkio weight range [10, 1000]", weight));
  }
  return BlkioWeightToIoWeight(weight);
}

Result<void> AddThrottle(std::string_view field, std::string_view key,
                         const std::vector<oci::ThrottleDevice>& devices,
                         std::vector<CgroupWrite>& out) {
  for (const oci::ThrottleDevice& device : devices) {
    HULL_ASSIGN_OR_RETURN(std::string dev, DeviceKey(field, device.major, device.minor));
    // v1 reads a rate of 0 as "no limit"; v2 writes that as "max".
    const std::string rate = device.rate == 0 ? "max" : std::to_string(device.rate);
    out.push_back({"io.max", fmt::format("{} {}={}", dev, key, rate)});
  }
  return Ok();
}

Result<void> AddIo(const oci::Resources& resources, std::vector<CgroupWrite>& out) {
  if (!resources.block_io.has_value()) return Ok();
  const oci::BlockIoResources& io = *resources.block_io;
  if (io.weight.has_value() && *io.weight != 0) {
    HULL_ASSIGN_OR_RETURN(uint64_t weight, IoWeight("blockIO.weight", *io.weight));
    out.push_back({"io.weight", fmt::format("default {}", weight)});
  }
  for (const oci::WeightDevice& device : io.weight_device) {
    if (!device.weight.has_value()) continue;  // leafWeight alone: v1 only
    HULL_ASSIGN_OR_RETURN(std::string dev,
                          DeviceKey("blockIO.weightDevice", device.major, device.minor));
    HULL_ASSIGN_OR_RETURN(uint64_t weight, IoWeight("blockIO.weightDevice", *device.weight));
    out.push_back({"io.weight", fmt::format("{} {}", dev, weight)});
  }
  HULL_TRY(AddThrottle("blockIO.throttleReadBpsDevice", "rbps", io.throttle_read_bps_device, out));
  HULL_TRY(
      AddThrottle("blockIO.throttleWriteBpsDevice", "wbps", io.throttle_write_bps_device, out));
  HULL_TRY(
      AddThrottle("blockIO.throttleReadIOPSDevice", "riops", io.throttle_read_iops_device, out));
  HULL_TRY(
      AddThrottle("blockIO.throttleWriteIOPSDevice", "wiops", io.throttle_write_iops_device, out));
  return Ok();
}

bool HasNul(std::string_view text) { return text.find('\0') != std::string_view::npos; }

Result<void> AddCpu(const oci::Resources& resources, std::vector<CgroupWrite>& out) {
  if (!resources.cpu.has_value()) return Ok();
  const oci::CpuResources& cpu = *resources.cpu;
  if (cpu.realtime_runtime.value_or(0) != 0 || cpu.realtime_period.value_or(0) != 0) {
    return Error(EOPNOTSUPP,
                 "linux.resources.cpu.realtimeRuntime/realtimePeriod: cgroup v2 has no "
                 "real-time CPU bandwidth control");
  }
  if (cpu.shares.has_value() && *cpu.shares != 0) {
    out.push_back({"cpu.weight", std::to_string(CpuSharesToWeight(*cpu.shares))});
  }
  if (cpu.idle.has_value()) {
    if (*cpu.idle != 0 && *cpu.idle != 1) {
      return Invalid("cpu.idle", fmt::format("{} is neither 0 nor 1", *cpu.idle));
    }
    out.push_back({"cpu.idle", std::to_string(*cpu.idle)});
  }
  const int64_t quota = cpu.quota.value_or(0);
  const uint64_t period = cpu.period.value_or(0);
  if (quota < -1) return Invalid("cpu.quota", fmt::format("{} is neither a quota nor -1", quota));
  const bool write_max = quota != 0 || period != 0;
  if (write_max) {
    // The kernel rejects a quota below the current burst and a burst above
    // the current quota: clear the burst first when it is being set anew.
    if (cpu.burst.has_value()) out.push_back({"cpu.max.burst", "0"});
    out.push_back({"cpu.max", fmt::format("{} {}", quota > 0 ? std::to_string(quota) : "max",
                                          period != 0 ? period : kDefaultCpuPeriodUs)});
  }
  if (cpu.burst.has_value()) out.push_back({"cpu.max.burst", std::to_string(*cpu.burst)});
  return Ok();
}

Result<void> AddCpuset(const oci::Resources& resources, std::vector<CgroupWrite>& out) {
  if (!resources.cpu.has_value()) return Ok();
  const oci::CpuResources& cpu = *resources.cpu;
  if (HasNul(cpu.cpus)) return Invalid("cpu.cpus", "contains a NUL byte");
  if (HasNul(cpu.mems)) return Invalid("cpu.mems", "contains a NUL byte");
  if (!cpu.cpus.empty()) out.push_back({"cpuset.cpus", cpu.cpus});
  if (!cpu.mems.empty()) out.push_back({"cpuset.mems", cpu.mems});
  return Ok();
}

// "2MB", "1GB", "64KB": it becomes part of a file name.
bool ValidPageSize(std::string_view size) {
  if (size.size() < 3 || !size.ends_with('B')) return false;
  const char unit = size[size.size() - 2];
  if (unit != 'K' && unit != 'M' && unit != 'G') return false;
  const std::string_view digits = size.substr(0, size.size() - 2);
  return std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
}

Result<void> AddHugetlb(const oci::Resources& resources, std::vector<CgroupWrite>& out) {
  for (const oci::HugepageLimit& limit : resources.hugepage_limits) {
    if (!ValidPageSize(limit.page_size)) {
      return Invalid("hugepageLimits",
                     fmt::format("page size \"{}\" is not like \"2MB\"", limit.page_size));
    }
    out.push_back({fmt::format("hugetlb.{}.max", limit.page_size), std::to_string(limit.limit)});
  }
  return Ok();
}

// The core files through which hull itself manages the cgroup.
constexpr std::array<std::string_view, 6> kReservedFiles = {
    "cgroup.procs",  "cgroup.threads", "cgroup.subtree_control",
    "cgroup.freeze", "cgroup.kill",    "cgroup.type"};

Result<void> CheckUnifiedKey(std::string_view key) {
  const auto bad = [&](std::string_view why) {
    return Invalid("unified", fmt::format("key \"{}\" {}", key, why));
  };
  if (key.empty()) return bad("is empty");
  const bool plain = std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  });
  if (!plain) return bad("is not a plain file name");  // '/', NUL, spaces, ...
  if (key.find("..") != std::string_view::npos) return bad("contains \"..\"");
  if (key.front() == '.' || key.find('.') == std::string_view::npos) {
    return bad("is not a \"<controller>.<name>\" file");
  }
  if (std::find(kReservedFiles.begin(), kReservedFiles.end(), key) != kReservedFiles.end()) {
    return Error(EPERM, fmt::format("linux.resources.unified: key \"{}\" is managed by hull", key));
  }
  return Ok();
}

Result<void> AddUnified(const oci::Resources& resources, std::vector<CgroupWrite>& out) {
  for (const auto& [key, value] : resources.unified) {
    HULL_TRY(CheckUnifiedKey(key));
    if (HasNul(value)) return Invalid("unified", fmt::format("value of \"{}\" has a NUL", key));
    out.push_back({key, value});
  }
  return Ok();
}

}  // namespace

uint64_t CpuSharesToWeight(uint64_t shares) {
  shares = std::clamp<uint64_t>(shares, 2, 262144);
  return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t BlkioWeightToIoWeight(uint64_t weight) {
  weight = std::clamp<uint64_t>(weight, 10, 1000);
  return 1 + ((weight - 10) * 9999) / 990;
}

Result<std::vector<CgroupWrite>> TranslateResources(const oci::Resources& resources) {
  std::vector<CgroupWrite> writes;
  // runc's order (fs2.Manager.Set); unified last so that it overrides.
  HULL_TRY(AddPids(resources, writes));
  HULL_TRY(AddMemory(resources, writes));
  HULL_TRY(AddIo(resources, writes));
  HULL_TRY(AddCpu(resources, writes));
  HULL_TRY(AddCpuset(resources, writes));
  HULL_TRY(AddHugetlb(resources, writes));
  HULL_TRY(AddUnified(resources, writes));
  return writes;
}

std::vector<std::string> RequiredControllers(const std::vector<CgroupWrite>& writes) {
  std::vector<std::string> controllers;
  for (const CgroupWrite& write : writes) {
    std::string name = write.file.substr(0, write.file.find('.'));
    if (name.empty() || name == "cgroup") continue;
    if (std::find(controllers.begin(), controllers.end(), name) == controllers.end()) {
      controllers.push_back(std::move(name));
    }
  }
  return controllers;
}

}  // namespace hull::cgroup
