/* Pure parsers for test-init; see parse.h. */
#include "parse.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Reads a non-negative decimal number at *p and advances *p past it.
 * Returns -1 when there is no digit or the number overflows. */
static long long read_decimal(const char** p) {
  const char* s = *p;
  long long value = 0;
  if (!isdigit((unsigned char)*s)) return -1;
  while (isdigit((unsigned char)*s)) {
    int digit = *s - '0';
    if (value > (LLONG_MAX - digit) / 10) return -1;
    value = value * 10 + digit;
    s++;
  }
  *p = s;
  return value;
}

long hull_count_cpu_list(const char* text) {
  const char* p = text;
  long count = 0;
  for (;;) {
    long long first = read_decimal(&p);
    if (first < 0) return -1;
    long long last = first;
    if (*p == '-') {
      p++;
      last = read_decimal(&p);
      if (last < first) return -1;
    }
    /* CPU numbers are bounded by NR_CPUS (at most 8192), so this cannot
     * overflow a long on any real list; the check keeps a garbage one from
     * doing so anyway. */
    if (last - first >= LONG_MAX - count) return -1;
    count += (long)(last - first + 1);
    if (*p != ',') break;
    p++;
  }
  while (isspace((unsigned char)*p)) p++;
  return *p == '\0' ? count : -1;
}

long long hull_meminfo_total_kib(const char* text) {
  static const char kKey[] = "MemTotal:";
  for (const char* line = text; line && *line;) {
    if (strncmp(line, kKey, sizeof(kKey) - 1) == 0) {
      const char* p = line + sizeof(kKey) - 1;
      while (*p == ' ' || *p == '\t') p++;
      long long kib = read_decimal(&p);
      /* The unit is always "kB" in /proc/meminfo; refuse anything else
       * rather than report a figure in the wrong unit. */
      while (*p == ' ') p++;
      if (kib < 0 || strncmp(p, "kB", 2) != 0) return -1;
      return kib;
    }
    line = strchr(line, '\n');
    if (line) line++;
  }
  return -1;
}

static int compare_strings(const void* a, const void* b) {
  return strcmp(*(const char* const*)a, *(const char* const*)b);
}

int hull_format_filesystems(const char* text, char* out, size_t out_size) {
  /* 6.1 with every file system built in lists well under 100. */
  enum { kMaxNames = 256, kMaxNameLen = 64 };
  char names[kMaxNames][kMaxNameLen]; /* 16 KiB: fine on the stack */
  const char* sorted[kMaxNames];
  size_t n = 0;

  for (const char* line = text; *line;) {
    const char* end = strchr(line, '\n');
    if (!end) end = line + strlen(line);
    /* The name is the last field: "nodev\tsysfs" or "\text4". */
    const char* name_end = end;
    while (name_end > line && isspace((unsigned char)name_end[-1])) name_end--;
    const char* name = name_end;
    while (name > line && !isspace((unsigned char)name[-1])) name--;
    size_t len = (size_t)(name_end - name);
    if (len > 0) {
      if (n == kMaxNames || len >= kMaxNameLen) return -1;
      memcpy(names[n], name, len);
      names[n][len] = '\0';
      sorted[n] = names[n];
      n++;
    }
    line = *end ? end + 1 : end;
  }
  qsort(sorted, n, sizeof(sorted[0]), compare_strings);

  if (out_size == 0) return -1;
  size_t used = 0;
  out[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    size_t len = strlen(sorted[i]);
    size_t need = len + (i > 0 ? 1 : 0);
    if (used + need >= out_size) return -1;
    if (i > 0) out[used++] = ',';
    memcpy(out + used, sorted[i], len);
    used += len;
    out[used] = '\0';
  }
  return 0;
}

long long hull_uptime_ms(const char* text) {
  const char* p = text;
  long long seconds = read_decimal(&p);
  if (seconds < 0 || seconds > LLONG_MAX / 1000 - 1000) return -1;
  long long ms = seconds * 1000;
  if (*p == '.') {
    p++;
    /* The kernel prints centiseconds; take up to three digits whatever the
     * precision, scaling shorter fractions up. */
    long long scale = 100;
    while (isdigit((unsigned char)*p)) {
      if (scale > 0) ms += (*p - '0') * scale;
      scale /= 10;
      p++;
    }
  }
  if (*p != '\0' && !isspace((unsigned char)*p)) return -1;
  return ms;
}

int hull_cmdline_value(const char* cmdline, const char* key, char* out, size_t out_size) {
  size_t key_len = strlen(key);
  int result = 0;
  const char* p = cmdline;

  for (;;) {
    while (isspace((unsigned char)*p)) p++;
    if (*p == '\0') break;

    /* Copy one parameter into param[], dropping quotes the way the kernel's
     * next_arg() does, so that key="a b" yields a b. */
    char param[4096];
    size_t len = 0;
    int in_quote = 0;
    for (; *p && (in_quote || !isspace((unsigned char)*p)); p++) {
      if (*p == '"') {
        in_quote = !in_quote;
        continue;
      }
      if (len + 1 < sizeof(param)) param[len++] = *p;
    }
    param[len] = '\0';

    /* Everything after a lone "--" is for init's argv, not a parameter. */
    if (strcmp(param, "--") == 0) break;

    if (strncmp(param, key, key_len) != 0) continue;
    const char* value;
    if (param[key_len] == '=') {
      value = param + key_len + 1;
    } else if (param[key_len] == '\0') {
      value = "";
    } else {
      continue; /* a longer key that merely starts with ours */
    }
    size_t value_len = strlen(value);
    if (value_len >= out_size) {
      result = -1;
      continue;
    }
    memcpy(out, value, value_len + 1);
    result = 1;
  }
  return result;
}
