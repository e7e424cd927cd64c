/*
 * Pure parsers for the text that test-init reads from /proc and /sys.
 *
 * They take NUL-terminated strings and touch nothing else, so that the host
 * can unit-test them (tests/images/test-init-parse-test.c) without running
 * test-init itself, which would mount file systems and reboot.
 */
#pragma once

#include <stddef.h>

/* Number of CPUs in a kernel CPU list such as "0-3,5\n" (the format of
 * /sys/devices/system/cpu/online). Returns -1 when the text is malformed. */
long hull_count_cpu_list(const char* text);

/* The "MemTotal:" figure of /proc/meminfo, in KiB, or -1 if absent/malformed. */
long long hull_meminfo_total_kib(const char* text);

/* Writes the names listed in /proc/filesystems ("nodev\tproc\n\text4\n"),
 * sorted and comma-separated, into out. Returns 0, or -1 when out is too
 * small or the text holds more names than test-init is prepared to sort. */
int hull_format_filesystems(const char* text, char* out, size_t out_size);

/* The first field of /proc/uptime ("12.34 5.67\n") in milliseconds, or -1. */
long long hull_uptime_ms(const char* text);

/* Looks up the kernel parameter `key` in a kernel command line the way the
 * kernel does: parameters are separated by spaces, double quotes group and are
 * dropped, "--" ends the kernel's part, and the last occurrence wins.
 * Copies its value into out. Returns 1 when found, 0 when absent and -1 when
 * the value does not fit in out. A bare "key" (no '=') has the value "". */
int hull_cmdline_value(const char* cmdline, const char* key, char* out, size_t out_size);
