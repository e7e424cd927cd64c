/* virtio-fs and virtio-balloon actions of test-init (fs.c). */
#ifndef HULL_TEST_INIT_FS_H
#define HULL_TEST_INIT_FS_H

void action_fs_mount(void);
void action_fs(void);
void action_balloon(void);

#endif
