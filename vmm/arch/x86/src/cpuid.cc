#include "hull/vmm/x86/cpuid.h"

#include <algorithm>
#include <bit>

namespace hull::vmm::x86 {
namespace {

constexpr uint32_t kLeafFeatures = 0x1;
constexpr uint32_t kLeafCacheParameters = 0x4;
constexpr uint32_t kLeafThermalPower = 0x6;
constexpr uint32_t kLeafTopology = 0xB;
constexpr uint32_t kLeafTopologyV2 = 0x1F;
constexpr uint32_t kLeafAmdSizes = 0x8000'0008;
constexpr uint32_t kLeafAmdTopology = 0x8000'001E;

constexpr uint32_t kClflushLineSize = 8;  // in 8-byte units: 64 bytes

// Bits an id needs to tell `count` things apart: ceil(log2(count)).
uint32_t IdBits(uint32_t count) {
  return count <= 1 ? 0 : static_cast<uint32_t>(std::bit_width(count - 1));
}

void FixFeatures(kvm::CpuidEntry& entry, uint32_t vcpu_id, uint32_t num_cpus,
                 bool tsc_deadline_timer) {
  const uint32_t logical = std::min<uint32_t>(num_cpus, 0xFF);
  entry.ebx =
      (entry.ebx & 0xFF) | ((vcpu_id & 0xFF) << 24) | (logical << 16) | (kClflushLineSize << 8);
  entry.ecx |= cpuid::kLeaf1EcxHypervisor;
  if (tsc_deadline_timer) entry.ecx |= cpuid::kLeaf1EcxTscDeadline;
  if (num_cpus > 1) {
    entry.edx |= cpuid::kLeaf1EdxHtt;
  } else {
    entry.edx &= ~cpuid::kLeaf1EdxHtt;
  }
}

void FixCacheParameters(kvm::CpuidEntry& entry, uint32_t num_cpus) {
  if ((entry.eax & 0x1F) == 0) return;  // no cache at this subleaf
  const uint32_t level = (entry.eax >> 5) & 0x7;
  const uint32_t sharing = level >= 3 ? std::min<uint32_t>(num_cpus - 1, 0xFFF) : 0;
  const uint32_t cores = std::min<uint32_t>(num_cpus - 1, 0x3F);
  entry.eax = (entry.eax & 0x3FFF) | (sharing << 14) | (cores << 26);
}

kvm::CpuidEntry TopologyEntry(uint32_t leaf, uint32_t subleaf, uint32_t vcpu_id,
                              uint32_t num_cpus) {
  kvm::CpuidEntry entry = {};
  entry.function = leaf;
  entry.index = subleaf;
  entry.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
  entry.edx = vcpu_id;
  switch (subleaf) {
    case 0:  // SMT: one thread per core, so no bits of the id
      entry.eax = 0;
      entry.ebx = 1;
      entry.ecx = (cpuid::kLevelSmt << 8) | subleaf;
      break;
    case 1:  // core: num_cpus cores in the package
      entry.eax = IdBits(num_cpus);
      entry.ebx = std::min<uint32_t>(num_cpus, 0xFFFF);
      entry.ecx = (cpuid::kLevelCore << 8) | subleaf;
      break;
    default:  // the end of the levels
      entry.eax = 0;
      entry.ebx = 0;
      entry.ecx = (cpuid::kLevelInvalid << 8) | subleaf;
      break;
  }
  return entry;
}

}  // namespace

std::vector<kvm::CpuidEntry> FilterCpuid(std::vector<kvm::CpuidEntry> supported, uint32_t vcpu_id,
                                         uint32_t num_cpus, bool tsc_deadline_timer) {
  num_cpus = std::max<uint32_t>(num_cpus, 1);
  bool has_topology = false;
  bool has_topology_v2 = false;
  std::vector<kvm::CpuidEntry> out;
  out.reserve(supported.size() + 6);
  for (kvm::CpuidEntry entry : supported) {
    switch (entry.function) {
      case kLeafFeatures:
        FixFeatures(entry, vcpu_id, num_cpus, tsc_deadline_timer);
        break;
      case kLeafCacheParameters:
        FixCacheParameters(entry, num_cpus);
        break;
      case kLeafThermalPower:
        entry.eax &= cpuid::kLeaf6EaxArat;
        entry.ebx = entry.ecx = entry.edx = 0;
        break;
      case kLeafTopology:
        has_topology = true;
        continue;  // rebuilt below
      case kLeafTopologyV2:
        has_topology_v2 = true;
        continue;
      case kLeafAmdSizes:
        entry.ecx =
            (entry.ecx & ~uint32_t{0xF0FF}) | ((num_cpus - 1) & 0xFF) | (IdBits(num_cpus) << 12);
        break;
      case kLeafAmdTopology:
        entry.eax = vcpu_id;
        entry.ebx = (entry.ebx & ~uint32_t{0xFFFF}) | (vcpu_id & 0xFF);
        entry.ecx &= ~uint32_t{0x7FF};  // node 0, one node per package
        break;
      default:
        break;
    }
    out.push_back(entry);
  }
  for (uint32_t leaf : {kLeafTopology, kLeafTopologyV2}) {
    if (!(leaf == kLeafTopology ? has_topology : has_topology_v2)) continue;
    for (uint32_t subleaf = 0; subleaf < 3; ++subleaf) {
      out.push_back(TopologyEntry(leaf, subleaf, vcpu_id, num_cpus));
    }
  }
  return out;
}

}  // namespace hull::vmm::x86
