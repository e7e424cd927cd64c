/* Device checks of test-init (devices.c). */
#ifndef HULL_TEST_INIT_DEVICES_H
#define HULL_TEST_INIT_DEVICES_H

__attribute__((format(printf, 1, 2))) void say(const char* fmt, ...);

void mark_booted(void);
void action_blk_read(void);
void action_blk_write(void);
void action_blk_ro(void);
void action_rng(void);

#endif
