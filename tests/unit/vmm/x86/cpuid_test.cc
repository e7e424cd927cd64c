#include "hull/vmm/x86/cpuid.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <vector>

namespace hull::vmm::x86 {
namespace {

kvm::CpuidEntry Entry(uint32_t function, uint32_t index, uint32_t eax, uint32_t ebx, uint32_t ecx,
                      uint32_t edx, bool indexed = false) {
  kvm::CpuidEntry e = {};
  e.function = function;
  e.index = index;
  e.flags = indexed ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0;
  e.eax = eax;
  e.ebx = ebx;
  e.ecx = ecx;
  e.edx = edx;
  return e;
}

// A list shaped like KVM_GET_SUPPORTED_CPUID's on an Intel host.
std::vector<kvm::CpuidEntry> Supported() {
  return {
      Entry(0x0, 0, 0x1F, 0x756E6547, 0x6C65746E, 0x49656E69),
      Entry(0x1, 0, 0x000806EC, 0xAB10'0878, 0x7EFA'3203, 0x1F8B'FBFF),
      Entry(0x4, 0, 0x1C00'4121, 0x01C0'003F, 0x3F, 0, true),    // L1d
      Entry(0x4, 1, 0x1C00'4122, 0x01C0'003F, 0x3F, 0, true),    // L1i
      Entry(0x4, 2, 0x1C00'4143, 0x00C0'003F, 0x3FF, 0, true),   // L2
      Entry(0x4, 3, 0x1C03'C163, 0x02C0'003F, 0x1FFF, 6, true),  // L3
      Entry(0x4, 4, 0, 0, 0, 0, true),
      Entry(0x6, 0, 0x77, 1, 9, 2),
      Entry(0x7, 0, 0, 0x029C'67AF, 0x4000'0000, 0xBC00'0400, true),
      Entry(0xB, 0, 0, 0, 0, 7, true),
      Entry(0x1F, 0, 0, 0, 0, 7, true),
      Entry(0x4000'0000, 0, 0x4000'0001, 0x4B4D564B, 0x564B4D56, 0x4D),
      Entry(0x4000'0001, 0, 0x0100'7AFB, 0, 0, 0),
      Entry(0x8000'0008, 0, 0x3027, 0, 0x0003'7007, 0),
      Entry(0x8000'001E, 0, 0x55, 0x0000'0107, 0x0000'0301, 0),
  };
}

std::optional<kvm::CpuidEntry> Find(const std::vector<kvm::CpuidEntry>& entries, uint32_t function,
                                    uint32_t index = 0) {
  for (const kvm::CpuidEntry& e : entries) {
    if (e.function == function && e.index == index) return e;
  }
  return std::nullopt;
}

size_t Count(const std::vector<kvm::CpuidEntry>& entries, uint32_t function) {
  return static_cast<size_t>(std::count_if(entries.begin(), entries.end(),
                                           [&](const auto& e) { return e.function == function; }));
}

TEST(CpuidFilter, Leaf1CarriesApicIdCpuCountClflushAndTheHypervisorBit) {
  const auto out = FilterCpuid(Supported(), 3, 4);
  const auto leaf = Find(out, 1).value();
  EXPECT_EQ(leaf.ebx >> 24, 3u);
  EXPECT_EQ((leaf.ebx >> 16) & 0xFF, 4u);
  EXPECT_EQ((leaf.ebx >> 8) & 0xFF, 8u);
  EXPECT_EQ(leaf.ebx & 0xFF, 0x78u) << "the brand index stays";
  EXPECT_TRUE(leaf.ecx & cpuid::kLeaf1EcxHypervisor);
  EXPECT_EQ(leaf.eax, 0x000806ECu);
}

TEST(CpuidFilter, Leaf1HasHttOnlyWithMoreThanOneCpu) {
  EXPECT_TRUE(Find(FilterCpuid(Supported(), 0, 2), 1)->edx & cpuid::kLeaf1EdxHtt);
  auto supported = Supported();
  supported[1].edx |= cpuid::kLeaf1EdxHtt;
  EXPECT_FALSE(Find(FilterCpuid(supported, 0, 1), 1)->edx & cpuid::kLeaf1EdxHtt);
}

TEST(CpuidFilter, TscDeadlineIsSetWhenKvmHasItAndNeverInvented) {
  EXPECT_FALSE(Find(FilterCpuid(Supported(), 0, 1), 1)->ecx & cpuid::kLeaf1EcxTscDeadline);
  EXPECT_TRUE(Find(FilterCpuid(Supported(), 0, 1, /*tsc_deadline_timer=*/true), 1)->ecx &
              cpuid::kLeaf1EcxTscDeadline);
  auto supported = Supported();
  supported[1].ecx |= cpuid::kLeaf1EcxTscDeadline;
  EXPECT_TRUE(Find(FilterCpuid(supported, 0, 1), 1)->ecx & cpuid::kLeaf1EcxTscDeadline)
      << "kept as supported";
}

TEST(CpuidFilter, Leaf4CountsCoresPerPackageAndSharesOnlyL3) {
  const auto out = FilterCpuid(Supported(), 0, 6);
  for (uint32_t i = 0; i < 4; ++i) {
    const auto leaf = Find(out, 4, i).value();
    EXPECT_EQ(leaf.eax >> 26, 5u) << "subleaf " << i;
    EXPECT_EQ((leaf.eax >> 14) & 0xFFF, i == 3 ? 5u : 0u) << "subleaf " << i;
    EXPECT_EQ(leaf.eax & 0x3FFF, Supported()[2 + i].eax & 0x3FFF) << "cache type/level stay";
  }
  EXPECT_EQ(Find(out, 4, 4)->eax, 0u) << "the terminating subleaf stays empty";
}

TEST(CpuidFilter, Leaf6IsZeroedExceptArat) {
  const auto leaf = Find(FilterCpuid(Supported(), 0, 1), 6).value();
  EXPECT_EQ(leaf.eax, cpuid::kLeaf6EaxArat);
  EXPECT_EQ(leaf.ebx, 0u);
  EXPECT_EQ(leaf.ecx, 0u);
  EXPECT_EQ(leaf.edx, 0u);
}

TEST(CpuidFilter, LeafBDescribesOneThreadPerCoreAndNumCpusCores) {
  const auto out = FilterCpuid(Supported(), 5, 6);
  ASSERT_EQ(Count(out, 0xB), 3u);
  const auto smt = Find(out, 0xB, 0).value();
  EXPECT_EQ(smt.eax, 0u);
  EXPECT_EQ(smt.ebx, 1u);
  EXPECT_EQ(smt.ecx, (cpuid::kLevelSmt << 8) | 0);
  EXPECT_EQ(smt.edx, 5u);
  EXPECT_EQ(smt.flags, KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
  const auto core = Find(out, 0xB, 1).value();
  EXPECT_EQ(core.eax, 3u) << "6 cores need 3 bits of APIC id";
  EXPECT_EQ(core.ebx, 6u);
  EXPECT_EQ(core.ecx, (cpuid::kLevelCore << 8) | 1);
  EXPECT_EQ(core.edx, 5u);
  const auto end = Find(out, 0xB, 2).value();
  EXPECT_EQ((end.ecx >> 8) & 0xFF, cpuid::kLevelInvalid);
  EXPECT_EQ(end.ecx & 0xFF, 2u);
  EXPECT_EQ(end.edx, 5u);
}

TEST(CpuidFilter, Leaf1FIsRebuiltLikeLeafBWhenListed) {
  const auto out = FilterCpuid(Supported(), 1, 2);
  ASSERT_EQ(Count(out, 0x1F), 3u);
  EXPECT_EQ(Find(out, 0x1F, 1)->ebx, 2u);
  EXPECT_EQ(Find(out, 0x1F, 1)->eax, 1u);
  EXPECT_EQ(Find(out, 0x1F, 0)->edx, 1u);
}

TEST(CpuidFilter, TopologyLeavesAreNotInventedWhenKvmListsNone) {
  auto supported = Supported();
  std::erase_if(supported, [](const auto& e) { return e.function == 0xB || e.function == 0x1F; });
  const auto out = FilterCpuid(supported, 0, 2);
  EXPECT_EQ(Count(out, 0xB), 0u);
  EXPECT_EQ(Count(out, 0x1F), 0u);
}

TEST(CpuidFilter, OneCpuNeedsNoCoreBits) {
  const auto out = FilterCpuid(Supported(), 0, 1);
  EXPECT_EQ(Find(out, 0xB, 1)->eax, 0u);
  EXPECT_EQ(Find(out, 0xB, 1)->ebx, 1u);
}

TEST(CpuidFilter, KvmLeavesAndOthersPassThrough) {
  const auto supported = Supported();
  const auto out = FilterCpuid(supported, 2, 4);
  for (uint32_t function : {0x0u, 0x7u, 0x4000'0000u, 0x4000'0001u}) {
    const auto before = Find(supported, function).value();
    const auto after = Find(out, function).value();
    EXPECT_EQ(after.eax, before.eax) << std::hex << function;
    EXPECT_EQ(after.ebx, before.ebx) << std::hex << function;
    EXPECT_EQ(after.ecx, before.ecx) << std::hex << function;
    EXPECT_EQ(after.edx, before.edx) << std::hex << function;
  }
}

TEST(CpuidFilter, AmdLeaf80000008CountsTheCores) {
  const auto leaf = Find(FilterCpuid(Supported(), 0, 6), 0x8000'0008).value();
  EXPECT_EQ(leaf.ecx & 0xFF, 5u);
  EXPECT_EQ((leaf.ecx >> 12) & 0xF, 3u);
  EXPECT_EQ(leaf.ecx & 0x3'0000, 0x3'0000u) << "other fields stay";
  EXPECT_EQ(leaf.eax, 0x3027u);
}

TEST(CpuidFilter, AmdLeaf8000001EGivesEachCpuItsOwnCore) {
  const auto leaf = Find(FilterCpuid(Supported(), 3, 4), 0x8000'001E).value();
  EXPECT_EQ(leaf.eax, 3u);
  EXPECT_EQ(leaf.ebx & 0xFF, 3u);
  EXPECT_EQ((leaf.ebx >> 8) & 0xFF, 0u) << "one thread per core";
  EXPECT_EQ(leaf.ecx & 0x7FF, 0u);
}

TEST(CpuidFilter, KeepsEveryOtherEntryOnce) {
  const auto supported = Supported();
  const auto out = FilterCpuid(supported, 0, 2);
  EXPECT_EQ(out.size(), supported.size() - 2 + 6);
}

}  // namespace
}  // namespace hull::vmm::x86
