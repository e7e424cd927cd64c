/* Device checks of test-init (devices.c). */
#ifndef HULL_TEST_INIT_DEVICES_H
#define HULL_TEST_INIT_DEVICES_H

#include <stddef.h>
#include <stdint.h>

__attribute__((format(printf, 1, 2))) void say(const char* fmt, ...);
/* Reads a whole (small) file into buf, NUL-terminated. Returns 0 or an
 * errno. (Both in test-init.c.) */
int read_text(const char* path, char* buf, size_t size);

/* The checksum and the byte pattern that host tests recompute
 * (tests/kvm/test-peer.cc): FNV-1a 64, and xorshift32 with one byte per step
 * (the low byte of the state). */
#define HULL_FNV_OFFSET 0xcbf29ce484222325ULL
#define HULL_PATTERN_SEED 0x12345678u
uint64_t hull_fnv1a64(const uint8_t* p, size_t n, uint64_t h);
/* Fills out[0..n) with the pattern from state x; returns the new state. */
uint32_t hull_pattern_fill(uint32_t x, uint8_t* out, size_t n);

void mark_booted(void);
void action_blk_read(void);
void action_blk_write(void);
void action_blk_ro(void);
void action_rng(void);

#endif
