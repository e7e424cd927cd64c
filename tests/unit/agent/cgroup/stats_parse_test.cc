#include <gtest/gtest.h>

#include <cerrno>
#include <string>

#include "hull/cgroup/stats.h"

namespace hull::cgroup {
namespace {

// As a 6.1 kernel writes them (Documentation/admin-guide/cgroup-v2.rst).
constexpr char kCpuStat[] =
    "usage_usec 1234567\n"
    "user_usec 1000000\n"
    "system_usec 234567\n"
    "nr_periods 500\n"
    "nr_throttled 12\n"
    "throttled_usec 345678\n"
    "nr_bursts 0\n"
    "burst_usec 0\n";

constexpr char kCpuStatWithoutController[] =
    "usage_usec 42\n"
    "user_usec 40\n"
    "system_usec 2\n";

constexpr char kMemoryStat[] =
    "anon 4550656\n"
    "file 2969600\n"
    "kernel 892928\n"
    "kernel_stack 65536\n"
    "pagetables 94208\n"
    "sec_pagetables 0\n"
    "percpu 0\n"
    "sock 8192\n"
    "vmalloc 0\n"
    "shmem 122880\n"
    "zswap 0\n"
    "zswapped 0\n"
    "file_mapped 2031616\n"
    "file_dirty 0\n"
    "file_writeback 0\n"
    "swapcached 0\n"
    "anon_thp 0\n"
    "file_thp 0\n"
    "shmem_thp 0\n"
    "inactive_anon 4673536\n"
    "active_anon 0\n"
    "inactive_file 1204224\n"
    "active_file 1642496\n"
    "unevictable 0\n"
    "slab_reclaimable 481112\n"
    "slab_unreclaimable 245376\n"
    "slab 726488\n"
    "workingset_refault_anon 0\n"
    "workingset_refault_file 0\n"
    "workingset_activate_anon 0\n"
    "workingset_activate_file 0\n"
    "workingset_restore_anon 0\n"
    "workingset_restore_file 0\n"
    "workingset_nodereclaim 0\n"
    "pgscan 0\n"
    "pgsteal 0\n"
    "pgscan_kswapd 0\n"
    "pgscan_direct 0\n"
    "pgsteal_kswapd 0\n"
    "pgsteal_direct 0\n"
    "pgfault 5917\n"
    "pgmajfault 3\n"
    "pgrefill 0\n"
    "pgactivate 401\n"
    "pgdeactivate 0\n"
    "pglazyfree 0\n"
    "pglazyfreed 0\n"
    "thp_fault_alloc 0\n"
    "thp_collapse_alloc 0\n";

constexpr char kMemoryEvents[] =
    "low 1\n"
    "high 2\n"
    "max 30\n"
    "oom 4\n"
    "oom_kill 3\n"
    "oom_group_kill 0\n";

constexpr char kIoStat[] =
    "8:16 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=0 dios=0\n"
    "8:0 rbytes=90430464 wbytes=299008000 rios=8950 wios=1252 dbytes=50331648 dios=3021\n";

TEST(ParseFlatKeyed, ReadsKeyValueLines) {
  Result<FlatKeyed> file = ParseFlatKeyed("a 1\nb max\n");
  ASSERT_TRUE(file.ok()) << file.error().ToString();
  EXPECT_EQ(*file, (FlatKeyed{{"a", "1"}, {"b", "max"}}));
}

TEST(ParseFlatKeyed, AcceptsEmptyContentAndAMissingFinalNewline) {
  EXPECT_TRUE(ParseFlatKeyed("")->empty());
  EXPECT_EQ(ParseFlatKeyed("a 1")->size(), 1u);
}

TEST(ParseFlatKeyed, RejectsMalformedLinesNamingTheLine) {
  for (const char* bad :
       {"a\n", "a 1\nb\n", " 1\n", "a \n", "a 1 2\n", "a 1\na 2\n", "\n", "a 1\n\nb 2\n"}) {
    Result<FlatKeyed> file = ParseFlatKeyed(bad);
    ASSERT_FALSE(file.ok()) << '"' << bad << '"';
    EXPECT_EQ(file.error().code(), EINVAL);
    EXPECT_EQ(file.error().message().rfind("line ", 0), 0u) << file.error().message();
  }
}

TEST(FlatKeyedU64, MissingKeyIsZeroAndBadNumberIsAnError) {
  const FlatKeyed file = {
      {"n", "12"}, {"bad", "x1"}, {"neg", "-1"}, {"big", "18446744073709551616"}};
  EXPECT_EQ(*FlatKeyedU64(file, "n"), 12u);
  EXPECT_EQ(*FlatKeyedU64(file, "absent"), 0u);
  EXPECT_EQ(FlatKeyedU64(file, "bad").error().code(), EINVAL);
  EXPECT_EQ(FlatKeyedU64(file, "neg").error().code(), EINVAL);
  EXPECT_EQ(FlatKeyedU64(file, "big").error().code(), ERANGE);
}

TEST(ParseNestedKeyed, ReadsKeysAndFields) {
  Result<std::vector<NestedKeyedLine>> lines = ParseNestedKeyed("8:0 rbps=max wbps=10 \n8:16\n");
  ASSERT_TRUE(lines.ok()) << lines.error().ToString();
  ASSERT_EQ(lines->size(), 2u);
  EXPECT_EQ((*lines)[0], (NestedKeyedLine{"8:0", {{"rbps", "max"}, {"wbps", "10"}}}));
  EXPECT_EQ((*lines)[1], (NestedKeyedLine{"8:16", {}}));
}

TEST(ParseNestedKeyed, RejectsFieldsWithoutNames) {
  for (const char* bad : {" a=1\n", "8:0 a\n", "8:0 =1\n", "\n"}) {
    EXPECT_FALSE(ParseNestedKeyed(bad).ok()) << '"' << bad << '"';
  }
}

TEST(ParseSingleValue, ReadsOneNumber) {
  EXPECT_EQ(*ParseSingleValue("4096\n"), 4096u);
  EXPECT_EQ(*ParseSingleValue("0"), 0u);
  for (const char* bad : {"", "\n", "max\n", "1 2\n", "12\n\n", "-1\n", "+1\n", " 1\n"}) {
    EXPECT_FALSE(ParseSingleValue(bad).ok()) << '"' << bad << '"';
  }
}

TEST(ParseLimitValue, MaxIsNoLimit) {
  EXPECT_EQ(*ParseLimitValue("max\n"), std::nullopt);
  EXPECT_EQ(*ParseLimitValue("67108864\n"), std::optional<uint64_t>(67108864));
  EXPECT_FALSE(ParseLimitValue("maximum\n").ok());
  EXPECT_FALSE(ParseLimitValue("").ok());
}

TEST(ParsePidList, ReadsOnePidALine) {
  EXPECT_EQ(*ParsePidList("1\n23\n456\n"), (std::vector<pid_t>{1, 23, 456}));
  EXPECT_TRUE(ParsePidList("")->empty());
  for (const char* bad : {"0\n", "-1\n", "x\n", "1\n\n", "2147483648\n", "1 2\n"}) {
    EXPECT_FALSE(ParsePidList(bad).ok()) << '"' << bad << '"';
  }
}

TEST(ParseCpuStat, ReadsAllSixCounters) {
  Result<CpuStats> stats = ParseCpuStat(kCpuStat);
  ASSERT_TRUE(stats.ok()) << stats.error().ToString();
  EXPECT_EQ(*stats, (CpuStats{.usage_usec = 1234567,
                              .user_usec = 1000000,
                              .system_usec = 234567,
                              .nr_periods = 500,
                              .nr_throttled = 12,
                              .throttled_usec = 345678}));
}

TEST(ParseCpuStat, WithoutTheCpuControllerThrottlingIsZero) {
  Result<CpuStats> stats = ParseCpuStat(kCpuStatWithoutController);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(*stats, (CpuStats{.usage_usec = 42, .user_usec = 40, .system_usec = 2}));
}

TEST(ParseCpuStat, RejectsANonNumberInAFieldItReads) {
  EXPECT_FALSE(ParseCpuStat("usage_usec lots\n").ok());
  EXPECT_TRUE(ParseCpuStat("usage_usec 1\nfuture_field 1.5\n").ok())
      << "fields it does not read may have any format";
}

TEST(ParseMemoryStat, PicksTheFieldsWeReport) {
  MemoryStats stats;
  Result<void> parsed = ParseMemoryStat(kMemoryStat, stats);
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  EXPECT_EQ(stats.anon, 4550656u);
  EXPECT_EQ(stats.file, 2969600u);
  EXPECT_EQ(stats.kernel_stack, 65536u);
  EXPECT_EQ(stats.slab, 726488u);
  EXPECT_EQ(stats.sock, 8192u);
  EXPECT_EQ(stats.shmem, 122880u);
  EXPECT_EQ(stats.pgfault, 5917u);
  EXPECT_EQ(stats.pgmajfault, 3u);
  EXPECT_EQ(stats.inactive_file, 1204224u);
}

TEST(ParseMemoryEvents, ReadsTheCounters) {
  Result<MemoryEvents> events = ParseMemoryEvents(kMemoryEvents);
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(*events, (MemoryEvents{.low = 1, .high = 2, .max = 30, .oom = 4, .oom_kill = 3}));
}

TEST(ParseIoStat, ReadsEachDevice) {
  Result<std::vector<IoDeviceStats>> devices = ParseIoStat(kIoStat);
  ASSERT_TRUE(devices.ok()) << devices.error().ToString();
  ASSERT_EQ(devices->size(), 2u);
  EXPECT_EQ((*devices)[0], (IoDeviceStats{.major = 8,
                                          .minor = 16,
                                          .rbytes = 1459200,
                                          .wbytes = 314773504,
                                          .rios = 192,
                                          .wios = 353}));
  EXPECT_EQ((*devices)[1], (IoDeviceStats{.major = 8,
                                          .minor = 0,
                                          .rbytes = 90430464,
                                          .wbytes = 299008000,
                                          .rios = 8950,
                                          .wios = 1252,
                                          .dbytes = 50331648,
                                          .dios = 3021}));
}

TEST(ParseIoStat, IgnoresOtherControllersFields) {
  Result<std::vector<IoDeviceStats>> devices = ParseIoStat(
      "253:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0 cost.vrate=100.00 "
      "depth=1 avg_lat=1.5 win=250\n");
  ASSERT_TRUE(devices.ok()) << devices.error().ToString();
  EXPECT_EQ((*devices)[0].wios, 4u);
}

TEST(ParseIoStat, RejectsBadDeviceNumbers) {
  for (const char* bad : {"sda rbytes=1\n", "8: rbytes=1\n", "8:x rbytes=1\n",
                          "4294967296:0 rbytes=1\n", "8:0 rbytes=-1\n"}) {
    EXPECT_FALSE(ParseIoStat(bad).ok()) << '"' << bad << '"';
  }
}

TEST(ParseCgroupEvents, ReadsPopulatedAndFrozen) {
  EXPECT_EQ(*ParseCgroupEvents("populated 1\nfrozen 0\n"),
            (CgroupEvents{.populated = true, .frozen = false}));
  EXPECT_EQ(*ParseCgroupEvents("populated 0\nfrozen 1\n"),
            (CgroupEvents{.populated = false, .frozen = true}));
  EXPECT_EQ(*ParseCgroupEvents("populated 1\n"), (CgroupEvents{.populated = true}))
      << "kernels before 5.2 have no frozen";
  EXPECT_FALSE(ParseCgroupEvents("populated 2\nfrozen 0\n").ok());
}

}  // namespace
}  // namespace hull::cgroup
