// The "linux.resources" object: cgroup limits (also the body of an update).

#include <fmt/format.h>

#include "parse_internal.h"

namespace hull::oci::internal {
namespace {

Result<DeviceRule> ParseDeviceRule(const Json& value, const std::string& path) {
  HULL_ASSIGN_OR_RETURN(const ObjectReader object, ObjectReader::Make(value, path));
  DeviceRule rule;
  HULL_TRY(object.ReadRequired("allow", rule.allow));
  HULL_TRY(object.Read("type", rule.type));
  HULL_TRY(object.Read("major", rule.major));
  HULL_TRY(object.Read("minor", rule.minor));
  HULL_TRY(object.Read("access", rule.access));
  return rule;
}

Result<MemoryResources> ParseMemory(const Json& value, const std::string& path) {
  HULL_ASSIGN_OR_RETURN(const ObjectReader object, ObjectReader::Make(value, path));
  MemoryResources memory;
  HULL_TRY(object.Read("limit", memory.limit));
  HULL_TRY(object.Read("reservation", memory.reservation));
  HULL_TRY(object.Read("swap", memory.swap));
  HULL_TRY(object.Read("kernel", memory.kernel));
  HULL_TRY(object.Read("kernelTCP", memory.kernel_tcp));
  HULL_TRY(object.Read("swappiness", memory.swappiness));
  HULL_TRY(object.Read("disableOOMKiller", memory.disable_oom_killer));
  HULL_TRY(object.Read("useHierarchy", memory.use_hierarchy));
  HULL_TRY(object.Read("checkBeforeUpdate", memory.check_before_update));
  return memory;
}

Result<CpuResources> ParseCpu(const Json& value, const std::string& path) {
  HULL_ASSIGN_OR_RETURN(const ObjectReader object, ObjectReader::Make(value, path));
  CpuResources cpu;
  HULL_TRY(object.Read("shares", cpu.shares));
  HULL_TRY(object.Read("quota", cpu.quota));
  HULL_TRY(object.Read("burst", cpu.burst));
  HULL_TRY(object.Read("period", cpu.period));
  HULL_TRY(object.Read("realtimeRuntime", cpu.realtime_runtime));
  HULL_TRY(object.Read("realtimePeriod", cpu.realtime_period));
  HULL_TRY(object.Read("cpus", cpu.cpus));
  HULL_TRY(object.Read("mems", cpu.mems));
  HULL_TRY(object.Read("idle", cpu.idle));
  return cpu;
}

Result<PidsResources> ParsePids(const Json& value, const std::string& path) {
  HULL_ASSIGN_OR_RETURN(const ObjectReader object, ObjectReader::Make(value, path));
  PidsResources pids;
  // Required before runtime-spec 1.2.1, optional (absent: no limit) since.
  HULL_TRY(object.Read("limit", pids.limit));
  return pids;
}

Result<WeightDevice> ParseWeightDevice(const Json& value, const std::string& path) {
  HULL_ASSIGN_OR_RETURN(const ObjectReader object, ObjectReader::Make(value, path));
  WeightDevice device;
  HULL_TRY(object.ReadRequired("major", device.major));
  HULL_TRY(object.ReadRequired("minor", device.minor));
  HULL_TRY(object.Read("weight", device.weight));
  HULL_TRY(object.Read("leafWeight", device.leaf_weight));
  return device;
}

Result<ThrottleDevice> ParseThrottleDevice(const Json& value, const std::string& path) {
  HULL_ASSIGN_OR_RETURN(const ObjectReader object, ObjectReader::Make(value, path));
  ThrottleDevice device;
  HULL_TRY(object.ReadRequired("major", device.major));
  HULL_TRY(object.ReadRequired("minor", device.minor));
  HULL_TRY(object.ReadRequired("rate", device.rate));
  return device;
}

Result<BlockIoResources> ParseBlockIo(const Json& value, const std::string& path) {
  HULL_ASSIGN_OR_RETURN(const ObjectReader object, ObjectReader::Make(value, path));
  BlockIoResources io;
  HULL_TRY(object.Read("weight", io.weight));
  HULL_TRY(object.Read("leafWeight", io.leaf_weight));
  HULL_TRY(object.ReadArray("weightDevice", io.weight_device, ParseWeightDevice));
  HULL_TRY(
      object.ReadArray("throttleReadBpsDevice", io.throttle_read_bps_device, ParseThrottleDevice));
  HULL_TRY(object.ReadArray("throttleWriteBpsDevice", io.throttle_write_bps_device,
                            ParseThrottleDevice));
  HULL_TRY(object.ReadArray("throttleReadIOPSDevice", io.throttle_read_iops_device,
                            ParseThrottleDevice));
  HULL_TRY(object.ReadArray("throttleWriteIOPSDevice", io.throttle_write_iops_device,
                            ParseThrottleDevice));
  return io;
}

Result<HugepageLimit> ParseHugepageLimit(const Json& value, const std::string& path) {
  HULL_ASSIGN_OR_RETURN(const ObjectReader object, ObjectReader::Make(value, path));
  HugepageLimit limit;
  HULL_TRY(object.ReadRequired("pageSize", limit.page_size));
  HULL_TRY(object.ReadRequired("limit", limit.limit));
  return limit;
}

}  // namespace

Result<Resources> ParseResourcesValue(const Json& value, const std::string& path) {
  HULL_ASSIGN_OR_RETURN(const ObjectReader object, ObjectReader::Make(value, path));
  Resources resources;
  HULL_TRY(object.ReadArray("devices", resources.devices, ParseDeviceRule));
  HULL_TRY(object.ReadObject("memory", resources.memory, ParseMemory));
  HULL_TRY(object.ReadObject("cpu", resources.cpu, ParseCpu));
  HULL_TRY(object.ReadObject("pids", resources.pids, ParsePids));
  HULL_TRY(object.ReadObject("blockIO", resources.block_io, ParseBlockIo));
  HULL_TRY(object.ReadArray("hugepageLimits", resources.hugepage_limits, ParseHugepageLimit));
  HULL_TRY(object.Read("unified", resources.unified));
  return resources;
}

}  // namespace hull::oci::internal
