// qp_vfs.h - the module's file namespace: file systems mounted at /usr and /bak, a
// current directory, and MicroPython's path rules, over qp_fs.
//
// QuecPython scripts see one tree: "/" holds only mount points ("usr", "bak"), relative
// paths resolve against the current directory ("usr/" from "/" is "/usr"), and "." and
// ".." are resolved lexically. A mount can be read-only (the backup partition is, to
// scripts). This layer owns no storage: the caller mounts qp_fs_t handles it keeps alive.
// Plain C, no allocation, so it builds for an MCU too.
//
// Errors are qp_err.h codes, chosen as MicroPython's VFS reports them: ENOENT for a path
// under no mount, EPERM for creating entries in "/" or renaming across mounts, EROFS for
// writes to a read-only mount, EEXIST for making a mount point.
// Thread-safety: none; the caller serialises (the runtime holds the GIL).
#ifndef QP_VFS_H
#define QP_VFS_H

#include <stddef.h>
#include <stdint.h>

#include "qp/qp_fs.h"

#define QP_VFS_MOUNT_MAX 4
#define QP_VFS_PATH_MAX 256   // bytes of a resolved absolute path, with the NUL
#define QP_VFS_MOUNT_NAME_MAX 15

#define QP_VFS_MOUNT_READONLY 0x01u

typedef struct qp_vfs_mount {
    char name[QP_VFS_MOUNT_NAME_MAX + 1]; // "usr" for "/usr"; "" when the slot is free
    qp_fs_t *fs;
    unsigned flags;
} qp_vfs_mount_t;

typedef struct qp_vfs {
    qp_vfs_mount_t mounts[QP_VFS_MOUNT_MAX];
    char cwd[QP_VFS_PATH_MAX];   // absolute, no trailing slash except for "/"
} qp_vfs_t;

// What stat reports.
typedef struct qp_vfs_stat {
    uint8_t type;   // QP_FS_TYPE_REG or QP_FS_TYPE_DIR
    uint32_t size;  // bytes, for files
} qp_vfs_stat_t;

typedef struct qp_vfs_statvfs {
    uint32_t block_size;
    uint32_t blocks;
    uint32_t blocks_free;
    uint32_t name_max;
} qp_vfs_statvfs_t;

typedef struct qp_vfs_dir {
    qp_vfs_mount_t *mount; // NULL: listing "/" (the mount points)
    unsigned next_mount;   // for "/": the next slot to report
    qp_fs_dir_t dir;
} qp_vfs_dir_t;

typedef struct qp_vfs_file {
    qp_vfs_mount_t *mount;
    qp_fs_file_t file;
} qp_vfs_file_t;

// An empty namespace with the current directory at "/". Never fails.
void qp_vfs_init(qp_vfs_t *vfs);

// Mounts `fs` (mounted already) at "/<name>", e.g. qp_vfs_mount(vfs, "usr", fs, 0).
// @retval QP_ERR_EXIST name in use; QP_ERR_NOSPC no free slot; QP_ERR_INVAL bad name
int qp_vfs_mount(qp_vfs_t *vfs, const char *name, qp_fs_t *fs, unsigned flags);

// Removes the mount "/<name>" (the qp_fs_t is not unmounted). The current directory goes
// back to "/" if it was inside.
// @retval QP_ERR_NOENT no such mount
// @retval QP_ERR_BUSY  files or directories of its file system are open (their handles
//                      reach the file system through the mount)
int qp_vfs_umount(qp_vfs_t *vfs, const char *name);

// Resolves `path` against the current directory into an absolute path without ".", ".."
// or repeated and trailing slashes ("/" stays "/").
// @retval QP_ERR_NAMETOOLONG the result does not fit in outlen (at most QP_VFS_PATH_MAX)
int qp_vfs_resolve(const qp_vfs_t *vfs, const char *path, char *out, size_t outlen);

// @retval QP_ERR_NOENT no such directory (also when `path` is a file, as MicroPython says)
int qp_vfs_chdir(qp_vfs_t *vfs, const char *path);
const char *qp_vfs_getcwd(const qp_vfs_t *vfs);

int qp_vfs_stat(qp_vfs_t *vfs, const char *path, qp_vfs_stat_t *st);
int qp_vfs_statvfs(qp_vfs_t *vfs, const char *path, qp_vfs_statvfs_t *st);
int qp_vfs_mkdir(qp_vfs_t *vfs, const char *path);
// Removes a file or an empty directory (MicroPython's littlefs remove does both).
int qp_vfs_remove(qp_vfs_t *vfs, const char *path);
// Removes a directory. @retval QP_ERR_NOTDIR it is a file
int qp_vfs_rmdir(qp_vfs_t *vfs, const char *path);
// @retval QP_ERR_PERM the two paths are on different mounts
int qp_vfs_rename(qp_vfs_t *vfs, const char *oldpath, const char *newpath);

// Directory listing; "/" lists the mount points as directories.
int qp_vfs_dir_open(qp_vfs_t *vfs, qp_vfs_dir_t *dir, const char *path);
// 1 with the next entry, 0 at the end, or a negative error.
int qp_vfs_dir_read(qp_vfs_t *vfs, qp_vfs_dir_t *dir, qp_fs_info_t *info);
int qp_vfs_dir_close(qp_vfs_t *vfs, qp_vfs_dir_t *dir);

// Bytes of cache a file opened at `path` needs (for qp_fs_file_config.buffer).
// @retval QP_ERR_NOENT/QP_ERR_ISDIR no file system there ("/" or outside every mount)
int qp_vfs_file_cache_size(qp_vfs_t *vfs, const char *path);

// Opens a file with QP_FS_O_* flags; the handle's cache comes from `cfg` as qp_fs_file_opencfg.
// @retval QP_ERR_ROFS a write mode on a read-only mount
int qp_vfs_file_open(qp_vfs_t *vfs, qp_vfs_file_t *file, const char *path, int flags,
                     const struct qp_fs_file_config *cfg);
int qp_vfs_file_close(qp_vfs_t *vfs, qp_vfs_file_t *file);
int qp_vfs_file_read(qp_vfs_t *vfs, qp_vfs_file_t *file, void *buf, size_t size);
int qp_vfs_file_write(qp_vfs_t *vfs, qp_vfs_file_t *file, const void *buf, size_t size);
int32_t qp_vfs_file_seek(qp_vfs_t *vfs, qp_vfs_file_t *file, int32_t off, int whence);
int32_t qp_vfs_file_tell(qp_vfs_t *vfs, qp_vfs_file_t *file);
int32_t qp_vfs_file_size(qp_vfs_t *vfs, qp_vfs_file_t *file);
int qp_vfs_file_sync(qp_vfs_t *vfs, qp_vfs_file_t *file);
int qp_vfs_file_truncate(qp_vfs_t *vfs, qp_vfs_file_t *file, uint32_t size);

#endif
