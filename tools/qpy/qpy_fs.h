// qpy_fs.h - `qpy fs ...`: the file commands, shared by the two ways to reach a module's
// files (qpy_fs.c): the flash of a device that is not running (qp_storage/qp_vfs), and a
// running module over a serial port (qpy_port.c, through the raw REPL). The commands
// (argument checks, recursion, target names, progress, messages) are written once
// against this small interface; a backend only knows how to do one thing to one path.
#ifndef QPY_FS_H
#define QPY_FS_H

#include <stdint.h>
#include <stdio.h>

typedef struct qpy_fs_entry {
    char name[256];
    int is_dir;
    uint64_t size;
} qpy_fs_entry_t;

// Called as a file's bytes move; done and total in bytes.
typedef void (*qpy_fs_progress_t)(void *ctx, uint64_t done, uint64_t total);

// Every function returns 0 or a negative errno (QP_ERR_*). A backend that has already
// said what went wrong (a broken link) returns QPY_FS_REPORTED.
typedef struct qpy_fs_ops {
    int (*stat)(void *ctx, const char *path, qpy_fs_entry_t *out);
    // Calls fn for each entry of a directory (in the file system's order).
    int (*list)(void *ctx, const char *path,
                int (*fn)(void *arg, const qpy_fs_entry_t *e), void *arg);
    // Device file -> host stream; verifies the bytes (checksum) where they crossed a wire.
    int (*get)(void *ctx, const char *path, FILE *out, qpy_fs_progress_t progress,
               void *pctx);
    // Host stream of `size` bytes -> device file. On failure no file is left behind.
    int (*put)(void *ctx, FILE *in, uint64_t size, const char *path,
               qpy_fs_progress_t progress, void *pctx);
    int (*remove)(void *ctx, const char *path); // a file or an empty directory
    int (*mkdir)(void *ctx, const char *path);
    // The index-th volume: mount point ("/usr"), partition name, sizes in bytes.
    // Returns QP_ERR_NOENT after the last one.
    int (*df)(void *ctx, int index, char mount[16], char partition[32], uint64_t *size,
              uint64_t *free);
} qpy_fs_ops_t;

#define QPY_FS_REPORTED (-100000) // an error the backend already printed

// Runs `fs` with argv[0] = "fs" on a backend; returns the exit status.
int qpy_fs_run(const qpy_fs_ops_t *ops, void *ctx, int argc, char **argv);

// The usage text, and whether argv is a valid fs command line (checked before any
// backend is opened).
extern const char qpy_fs_usage[];
int qpy_fs_check_args(int argc, char **argv);

// Runs `qpy fs` on a device directory (the local backend); returns the exit status.
int qpy_fs_main(const char *device_dir, int argc, char **argv);

#endif
