/* Host unit tests of test-init's parsers (images/test-init/parse.c).
 * Plain C like the code under test: one table per parser, every row checked,
 * and a non-zero exit naming each failing row. */
#include <stdio.h>
#include <string.h>

#include "parse.h"

static int failures = 0;

#define CHECK(cond, ...)                                   \
  do {                                                     \
    if (!(cond)) {                                         \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
      fprintf(stderr, __VA_ARGS__);                        \
      fputc('\n', stderr);                                 \
      failures++;                                          \
    }                                                      \
  } while (0)

static void CountCpuList_CountsRangesAndSingles(void) {
  static const struct {
    const char* text;
    long want;
  } kCases[] = {
      {"0\n", 1},
      {"0-3\n", 4},
      {"0-3,5\n", 5},
      {"0,2,4-7", 6},
      {"0-1,3-4,8-11\n", 8},
      {"0-8191\n", 8192},
      /* malformed: */
      {"", -1},
      {"\n", -1},
      {"3-1", -1},
      {"0-", -1},
      {"-1", -1},
      {"0,", -1},
      {"0-3x", -1},
      {"0 1", -1},
      {"99999999999999999999999", -1},
  };
  for (size_t i = 0; i < sizeof(kCases) / sizeof(kCases[0]); i++) {
    long got = hull_count_cpu_list(kCases[i].text);
    CHECK(got == kCases[i].want, "hull_count_cpu_list(\"%s\") = %ld, want %ld", kCases[i].text, got,
          kCases[i].want);
  }
}

static void MeminfoTotal_FindsMemTotalInKib(void) {
  static const struct {
    const char* text;
    long long want;
  } kCases[] = {
      {"MemTotal:         492456 kB\nMemFree:          470000 kB\n", 492456},
      {"MemFree:  1 kB\nMemTotal: 2048 kB\n", 2048},
      {"MemTotal:\t16 kB", 16},
      {"MemFree: 1 kB\n", -1},
      {"MemTotal: kB\n", -1},
      {"MemTotal: 12 MB\n", -1},
      {"XMemTotal: 12 kB\n", -1},
      {"", -1},
  };
  for (size_t i = 0; i < sizeof(kCases) / sizeof(kCases[0]); i++) {
    long long got = hull_meminfo_total_kib(kCases[i].text);
    CHECK(got == kCases[i].want, "hull_meminfo_total_kib(case %zu) = %lld, want %lld", i, got,
          kCases[i].want);
  }
}

static void FormatFilesystems_SortsNamesAndDropsNodev(void) {
  char out[256];
  CHECK(hull_format_filesystems("nodev\tsysfs\nnodev\ttmpfs\nnodev\tproc\n\text4\n"
                                "nodev\tcgroup2\n\terofs\n",
                                out, sizeof(out)) == 0,
        "formatting a normal list failed");
  CHECK(strcmp(out, "cgroup2,erofs,ext4,proc,sysfs,tmpfs") == 0, "got '%s'", out);

  CHECK(hull_format_filesystems("", out, sizeof(out)) == 0 && out[0] == '\0',
        "an empty list gives '%s'", out);
  CHECK(hull_format_filesystems("nodev\tproc", out, sizeof(out)) == 0 && strcmp(out, "proc") == 0,
        "a last line without newline gives '%s'", out);

  char tiny[8];
  CHECK(hull_format_filesystems("nodev\tsysfs\nnodev\tproc\n", tiny, sizeof(tiny)) == -1,
        "a too small buffer is not reported");
  CHECK(hull_format_filesystems("nodev\tproc\n", out, 0) == -1, "a zero-sized buffer is accepted");
}

static void UptimeMs_ParsesSecondsAndFraction(void) {
  static const struct {
    const char* text;
    long long want;
  } kCases[] = {
      {"12.34 5.67\n", 12340}, {"0.05 0.00\n", 50}, {"3.5 1.0\n", 3500}, {"7 1\n", 7000},
      {"1.2345 0\n", 1234},    {"x 1\n", -1},       {"1.2x 0\n", -1},    {"", -1},
  };
  for (size_t i = 0; i < sizeof(kCases) / sizeof(kCases[0]); i++) {
    long long got = hull_uptime_ms(kCases[i].text);
    CHECK(got == kCases[i].want, "hull_uptime_ms(\"%s\") = %lld, want %lld", kCases[i].text, got,
          kCases[i].want);
  }
}

static void CmdlineValue_FollowsKernelRules(void) {
  static const struct {
    const char* cmdline;
    int want_found;
    const char* want_value;
  } kCases[] = {
      {"console=ttyS0 hull.test=exit,hang quiet", 1, "exit,hang"},
      {"hull.test=cgroup2", 1, "cgroup2"},
      {"console=ttyS0", 0, ""},
      {"hull.test=a hull.test=b", 1, "b"}, /* the last one wins */
      {"hull.testing=a", 0, ""},           /* only the exact key */
      {"xhull.test=a", 0, ""},
      {"hull.test", 1, ""},                /* bare key */
      {"hull.test=\"a,b\" x=1", 1, "a,b"}, /* quotes dropped */
      {"\"hull.test=a b\"", 1, "a b"},     /* quotes group */
      {"  hull.test=a\n", 1, "a"},         /* stray whitespace */
      {"quiet -- hull.test=a", 0, ""},     /* init's arguments */
      {"", 0, ""},
  };
  for (size_t i = 0; i < sizeof(kCases) / sizeof(kCases[0]); i++) {
    char value[64] = "";
    int found = hull_cmdline_value(kCases[i].cmdline, "hull.test", value, sizeof(value));
    CHECK(found == kCases[i].want_found, "found(\"%s\") = %d, want %d", kCases[i].cmdline, found,
          kCases[i].want_found);
    if (found == 1) {
      CHECK(strcmp(value, kCases[i].want_value) == 0, "value(\"%s\") = '%s', want '%s'",
            kCases[i].cmdline, value, kCases[i].want_value);
    }
  }

  char small[4];
  CHECK(hull_cmdline_value("hull.test=toolong", "hull.test", small, sizeof(small)) == -1,
        "a value longer than the buffer is not reported");
}

int main(void) {
  CountCpuList_CountsRangesAndSingles();
  MeminfoTotal_FindsMemTotalInKib();
  FormatFilesystems_SortsNamesAndDropsNodev();
  UptimeMs_ParsesSecondsAndFraction();
  CmdlineValue_FollowsKernelRules();
  if (failures) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("all test-init parser checks passed\n");
  return 0;
}
