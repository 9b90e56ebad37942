// qpy_fs.h - `qpy fs ...` on a device directory (qpy_fs.c).
#ifndef QPY_FS_H
#define QPY_FS_H

// Runs `qpy fs` with argv[0] = "fs"; returns the exit status.
int qpy_fs_main(const char *device_dir, int argc, char **argv);

#endif
