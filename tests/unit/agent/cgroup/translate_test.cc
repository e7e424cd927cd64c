#include "hull/cgroup/translate.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <string>
#include <vector>

namespace hull::cgroup {
namespace {

using Writes = std::vector<CgroupWrite>;

Writes Translate(const oci::Resources& resources) {
  Result<Writes> writes = TranslateResources(resources);
  EXPECT_TRUE(writes.ok()) << writes.error().ToString();
  return writes.ok() ? *writes : Writes();
}

// The error TranslateResources gives (a test failure if it succeeds).
Error TranslateError(const oci::Resources& resources) {
  Result<Writes> writes = TranslateResources(resources);
  EXPECT_FALSE(writes.ok());
  return writes.ok() ? Error(EPROTO, "unexpected success") : writes.error();
}

oci::Resources Memory(oci::MemoryResources memory) {
  oci::Resources resources;
  resources.memory = memory;
  return resources;
}

oci::Resources Cpu(oci::CpuResources cpu) {
  oci::Resources resources;
  resources.cpu = std::move(cpu);
  return resources;
}

oci::Resources Io(oci::BlockIoResources io) {
  oci::Resources resources;
  resources.block_io = std::move(io);
  return resources;
}

TEST(TranslateResources, EmptyResourcesNeedNoWrites) { EXPECT_EQ(Translate({}), Writes()); }

TEST(TranslateResources, MemoryLimitBecomesMemoryMax) {
  EXPECT_EQ(Translate(Memory({.limit = 1 << 20})), (Writes{{"memory.max", "1048576"}}));
}

TEST(TranslateResources, UnlimitedMemoryAlsoLiftsSwap) {
  // v1 semantics: memory unlimited, swap unset → both unlimited.
  EXPECT_EQ(Translate(Memory({.limit = -1})),
            (Writes{{"memory.swap.max", "max", true}, {"memory.max", "max"}}));
}

TEST(TranslateResources, ZeroMeansUnsetAsInRunc) {
  EXPECT_EQ(Translate(Memory({.limit = 0, .reservation = 0, .swap = 0})), Writes());
}

TEST(TranslateResources, ReservationBecomesMemoryLow) {
  EXPECT_EQ(Translate(Memory({.reservation = 4096})), (Writes{{"memory.low", "4096"}}));
  EXPECT_EQ(Translate(Memory({.reservation = -1})), (Writes{{"memory.low", "max"}}));
}

TEST(TranslateResources, SwapIsMemoryPlusSwapMinusMemory) {
  EXPECT_EQ(Translate(Memory({.limit = 100, .swap = 300})),
            (Writes{{"memory.swap.max", "200"}, {"memory.max", "100"}}));
}

TEST(TranslateResources, SwapEqualToLimitDisablesSwap) {
  EXPECT_EQ(Translate(Memory({.limit = 100, .swap = 100})),
            (Writes{{"memory.swap.max", "0", true}, {"memory.max", "100"}}));
}

TEST(TranslateResources, UnlimitedSwapIsMax) {
  EXPECT_EQ(Translate(Memory({.limit = 100, .swap = -1})),
            (Writes{{"memory.swap.max", "max", true}, {"memory.max", "100"}}));
}

TEST(TranslateResources, RejectsSwapBelowLimit) {
  const Error error = TranslateError(Memory({.limit = 300, .swap = 100}));
  EXPECT_EQ(error.code(), EINVAL);
  EXPECT_NE(error.message().find("memory.swap"), std::string::npos) << error.message();
}

TEST(TranslateResources, RejectsSwapWithoutMemoryLimit) {
  EXPECT_EQ(TranslateError(Memory({.swap = 100})).code(), EINVAL);
  EXPECT_EQ(TranslateError(Memory({.limit = -1, .swap = 100})).code(), EINVAL);
}

TEST(TranslateResources, RejectsNegativeMemoryValuesOtherThanMinusOne) {
  EXPECT_EQ(TranslateError(Memory({.limit = -2})).code(), EINVAL);
  EXPECT_EQ(TranslateError(Memory({.reservation = -5})).code(), EINVAL);
  EXPECT_EQ(TranslateError(Memory({.limit = 100, .swap = -7})).code(), EINVAL);
}

TEST(TranslateResources, IgnoresWhatCgroupV2CannotExpress) {
  EXPECT_EQ(Translate(Memory({.kernel = 1 << 20,
                              .kernel_tcp = 1 << 20,
                              .swappiness = 60,
                              .disable_oom_killer = true,
                              .use_hierarchy = true})),
            Writes());
}

TEST(TranslateResources, PidsLimit) {
  oci::Resources resources;
  resources.pids = oci::PidsResources{.limit = 42};
  EXPECT_EQ(Translate(resources), (Writes{{"pids.max", "42"}}));
  resources.pids->limit = 0;
  EXPECT_EQ(Translate(resources), (Writes{{"pids.max", "max"}}));
  resources.pids->limit = -1;
  EXPECT_EQ(Translate(resources), (Writes{{"pids.max", "max"}}));
  resources.pids->limit = -2;
  EXPECT_EQ(TranslateError(resources).code(), EINVAL);
}

TEST(TranslateResources, CpuSharesBecomeWeight) {
  EXPECT_EQ(Translate(Cpu({.shares = 1024})), (Writes{{"cpu.weight", "39"}}));
  EXPECT_EQ(Translate(Cpu({.shares = 0})), Writes()) << "0 is unset";
}

TEST(CpuSharesToWeight, MapsTheV1RangeOntoTheV2Range) {
  EXPECT_EQ(CpuSharesToWeight(2), 1u);
  EXPECT_EQ(CpuSharesToWeight(262144), 10000u);
  EXPECT_EQ(CpuSharesToWeight(1024), 39u);  // 1 + (1022 * 9999) / 262142
  EXPECT_EQ(CpuSharesToWeight(512), 20u);
  EXPECT_EQ(CpuSharesToWeight(1), 1u) << "clamped, not wrapped";
  EXPECT_EQ(CpuSharesToWeight(1u << 30), 10000u) << "clamped";
}

TEST(BlkioWeightToIoWeight, MapsTheV1RangeOntoTheV2Range) {
  EXPECT_EQ(BlkioWeightToIoWeight(10), 1u);
  EXPECT_EQ(BlkioWeightToIoWeight(1000), 10000u);
  EXPECT_EQ(BlkioWeightToIoWeight(500), 4950u);  // 1 + 490 * 9999 / 990
  EXPECT_EQ(BlkioWeightToIoWeight(0), 1u);
}

TEST(TranslateResources, QuotaAndPeriodBecomeCpuMax) {
  EXPECT_EQ(Translate(Cpu({.quota = 50000, .period = 200000})),
            (Writes{{"cpu.max", "50000 200000"}}));
}

TEST(TranslateResources, PeriodDefaultsTo100ms) {
  EXPECT_EQ(Translate(Cpu({.quota = 25000})), (Writes{{"cpu.max", "25000 100000"}}));
}

TEST(TranslateResources, UnlimitedQuotaIsMax) {
  EXPECT_EQ(Translate(Cpu({.quota = -1})), (Writes{{"cpu.max", "max 100000"}}));
  EXPECT_EQ(Translate(Cpu({.period = 50000})), (Writes{{"cpu.max", "max 50000"}}));
  EXPECT_EQ(TranslateError(Cpu({.quota = -3})).code(), EINVAL);
}

TEST(TranslateResources, BurstIsClearedBeforeCpuMaxAndSetAfter) {
  EXPECT_EQ(
      Translate(Cpu({.quota = 50000, .burst = 10000})),
      (Writes{{"cpu.max.burst", "0"}, {"cpu.max", "50000 100000"}, {"cpu.max.burst", "10000"}}));
  EXPECT_EQ(Translate(Cpu({.burst = 10000})), (Writes{{"cpu.max.burst", "10000"}}));
}

TEST(TranslateResources, CpuIdle) {
  EXPECT_EQ(Translate(Cpu({.idle = 1})), (Writes{{"cpu.idle", "1"}}));
  EXPECT_EQ(Translate(Cpu({.idle = 0})), (Writes{{"cpu.idle", "0"}}));
  EXPECT_EQ(TranslateError(Cpu({.idle = 2})).code(), EINVAL);
}

TEST(TranslateResources, RejectsRealTimeCpu) {
  EXPECT_EQ(TranslateError(Cpu({.realtime_runtime = 950000})).code(), EOPNOTSUPP);
  EXPECT_EQ(TranslateError(Cpu({.realtime_period = 1000000})).code(), EOPNOTSUPP);
  EXPECT_EQ(Translate(Cpu({.realtime_runtime = 0})), Writes()) << "0 is unset";
}

TEST(TranslateResources, CpusetsComeAfterCpu) {
  EXPECT_EQ(Translate(Cpu({.shares = 2, .cpus = "0-3", .mems = "0"})),
            (Writes{{"cpu.weight", "1"}, {"cpuset.cpus", "0-3"}, {"cpuset.mems", "0"}}));
}

TEST(TranslateResources, BlkioWeightBecomesDefaultIoWeight) {
  EXPECT_EQ(Translate(Io({.weight = 500})), (Writes{{"io.weight", "default 4950"}}));
  EXPECT_EQ(Translate(Io({.weight = 0})), Writes()) << "0 is unset";
  EXPECT_EQ(TranslateError(Io({.weight = 5})).code(), EINVAL);
  EXPECT_EQ(TranslateError(Io({.weight = 1001})).code(), EINVAL);
}

TEST(TranslateResources, WeightDevicesBecomePerDeviceIoWeights) {
  oci::BlockIoResources io;
  io.weight_device = {{.major = 8, .minor = 0, .weight = 1000},
                      {.major = 8, .minor = 16, .leaf_weight = 300}};
  EXPECT_EQ(Translate(Io(io)), (Writes{{"io.weight", "8:0 10000"}}));
  io.weight_device = {{.major = -1, .minor = 0, .weight = 100}};
  EXPECT_EQ(TranslateError(Io(io)).code(), EINVAL);
}

TEST(TranslateResources, ThrottlesBecomeIoMaxLines) {
  oci::BlockIoResources io;
  io.throttle_read_bps_device = {{.major = 8, .minor = 0, .rate = 1048576}};
  io.throttle_write_bps_device = {{.major = 8, .minor = 0, .rate = 0}};
  io.throttle_read_iops_device = {{.major = 253, .minor = 1, .rate = 100}};
  io.throttle_write_iops_device = {{.major = 253, .minor = 1, .rate = 50}};
  EXPECT_EQ(Translate(Io(io)), (Writes{{"io.max", "8:0 rbps=1048576"},
                                       {"io.max", "8:0 wbps=max"},
                                       {"io.max", "253:1 riops=100"},
                                       {"io.max", "253:1 wiops=50"}}));
  io.throttle_read_bps_device = {{.major = 8, .minor = -1, .rate = 1}};
  EXPECT_EQ(TranslateError(Io(io)).code(), EINVAL);
}

TEST(TranslateResources, HugepageLimits) {
  oci::Resources resources;
  resources.hugepage_limits = {{.page_size = "2MB", .limit = 4194304},
                               {.page_size = "1GB", .limit = 0}};
  EXPECT_EQ(Translate(resources),
            (Writes{{"hugetlb.2MB.max", "4194304"}, {"hugetlb.1GB.max", "0"}}));
}

TEST(TranslateResources, RejectsPageSizesThatAreNoFileNamePart) {
  for (const char* size : {"", "MB", "2mb", "2M", "../2MB", "2MB/x", "2TB", "x2MB"}) {
    oci::Resources resources;
    resources.hugepage_limits = {{.page_size = size, .limit = 1}};
    EXPECT_EQ(TranslateError(resources).code(), EINVAL) << size;
  }
}

TEST(TranslateResources, UnifiedIsWrittenVerbatimAndLast) {
  oci::Resources resources;
  resources.pids = oci::PidsResources{.limit = 10};
  resources.unified = {{"memory.high", "1G"}, {"pids.max", "20"}, {"cgroup.max.depth", "3"}};
  EXPECT_EQ(Translate(resources), (Writes{{"pids.max", "10"},
                                          {"cgroup.max.depth", "3"},
                                          {"memory.high", "1G"},
                                          {"pids.max", "20"}}));
}

TEST(TranslateResources, RejectsUnifiedKeysThatEscapeTheDirectory) {
  for (const char* key : {"", "../memory.max", "memory/../x", "a/b.c", "memory..max", ".memory",
                          "nodot", "memory.max\n", "memory max"}) {
    oci::Resources resources;
    resources.unified = {{key, "1"}};
    EXPECT_EQ(TranslateError(resources).code(), EINVAL) << '"' << key << '"';
  }
  oci::Resources resources;
  resources.unified = {{std::string("memory.max\0x", 12), "1"}};
  EXPECT_EQ(TranslateError(resources).code(), EINVAL);
}

TEST(TranslateResources, RejectsUnifiedWritesToFilesHullManages) {
  for (const char* key : {"cgroup.procs", "cgroup.threads", "cgroup.subtree_control",
                          "cgroup.freeze", "cgroup.kill", "cgroup.type"}) {
    oci::Resources resources;
    resources.unified = {{key, "1"}};
    const Error error = TranslateError(resources);
    EXPECT_EQ(error.code(), EPERM) << key;
    EXPECT_NE(error.message().find(key), std::string::npos) << error.message();
  }
}

TEST(TranslateResources, FollowsRuncsControllerOrder) {
  oci::Resources resources;
  resources.cpu = oci::CpuResources{.shares = 1024, .cpus = "0"};
  resources.memory = oci::MemoryResources{.limit = 4096};
  resources.pids = oci::PidsResources{.limit = 5};
  resources.block_io = oci::BlockIoResources{.weight = 10};
  resources.hugepage_limits = {{.page_size = "2MB", .limit = 0}};
  std::vector<std::string> files;
  for (const CgroupWrite& write : Translate(resources)) files.push_back(write.file);
  EXPECT_EQ(files, (std::vector<std::string>{"pids.max", "memory.max", "io.weight", "cpu.weight",
                                             "cpuset.cpus", "hugetlb.2MB.max"}));
}

TEST(RequiredControllers, AreFilePrefixesOnceEachWithoutCgroupCore) {
  const Writes writes = {{"memory.swap.max", "0"},  {"memory.max", "1"},  {"cpu.max", "max"},
                         {"cgroup.max.depth", "2"}, {"cpuset.cpus", "0"}, {"hugetlb.2MB.max", "0"},
                         {"io.max", "8:0 rbps=1"}};
  EXPECT_EQ(RequiredControllers(writes),
            (std::vector<std::string>{"memory", "cpu", "cpuset", "hugetlb", "io"}));
  EXPECT_TRUE(RequiredControllers({}).empty());
}

}  // namespace
}  // namespace hull::cgroup
