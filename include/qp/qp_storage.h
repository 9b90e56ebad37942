// qp_storage.h - a device's storage: its flash.img, partition table, and the littlefs
// file systems at /usr (customer_fs) and /bak (customer_backup_fs) in one namespace.
//
// Used by the runtime at boot and by the host's offline commands (`qpy fs ...`), so both
// see the same partitions with the same geometry: read = prog = block = 4096 bytes, as the
// EC600S firmware mounts them. Mounting tries littlefs v1, then v2, as the newer firmware's
// boot does; a partition holding neither is formatted (when asked) with the version the
// device profile gives it (qp_storage_format_t). Host-only (the flash file backend).
// The flash image is locked while open: a second writer, or any opener while a running
// module has it, gets QP_ERR_BUSY.
#ifndef QP_STORAGE_H
#define QP_STORAGE_H

#include <stddef.h>

#include "qp/qp_device.h"
#include "qp/qp_flash.h"
#include "qp/qp_fs.h"
#include "qp/qp_vfs.h"

#define QP_STORAGE_BLOCK_SIZE 4096u

// qp_storage_open flags.
#define QP_STORAGE_FORMAT_IF_EMPTY 0x01u // format a partition that holds no file system
#define QP_STORAGE_BAK_READONLY    0x02u // mount /bak read-only (what scripts get)
#define QP_STORAGE_READONLY        0x04u // open the flash read-only (inspection)

typedef struct qp_storage_volume {
    const char *partition;   // "customer_fs"
    const char *mount_name;  // "usr"
    qp_flash_part_t part;
    qp_flash_bd_t bd;
    struct qp_fs_config cfg;
    qp_fs_t fs;
    int mounted;
    int formatted;           // set when open formatted it
    uint32_t format_version; // QP_FS_DISK_VERSION_* to format with
} qp_storage_volume_t;

typedef struct qp_storage {
    qp_flash_t flash;
    qp_flash_ptable_t table;
    qp_storage_volume_t usr, bak;
    qp_vfs_t vfs;
} qp_storage_t;

// The littlefs version each partition is formatted with when it holds no file system
// (QP_FS_DISK_VERSION_*; 0 means littlefs v1). It never restricts mounting.
typedef struct qp_storage_format {
    uint32_t usr; // customer_fs
    uint32_t bak; // customer_backup_fs
} qp_storage_format_t;

// What a device profile asks for (its lfs_version fields, docs/SPEC-device.md §1.1).
qp_storage_format_t qp_storage_format_of(const qp_device_profile_t *profile);

// Opens `device_dir`/flash.img (creating it with the default EC600S layout when missing),
// mounts customer_fs at /usr and customer_backup_fs at /bak: each as littlefs v1, or
// failing that (no v1 superblock) as v2. With QP_STORAGE_FORMAT_IF_EMPTY a partition
// holding neither is formatted as `fmt` says (NULL: v1; its volume's `formatted` is set so
// the caller can say so); without it that is an error.
// On failure everything is closed and `msg` says what went wrong and where.
// @retval QP_ERR_BUSY    a running module (or another tool) has the flash open
// @retval QP_ERR_CORRUPT the flash image or partition table is damaged, or a partition
//                        holds no file system and formatting was not asked for
int qp_storage_open(qp_storage_t *st, const char *device_dir, unsigned flags,
                    const qp_storage_format_t *fmt, char *msg, size_t msglen);

// ---- A script's own mounts: uos.VfsLfs1/VfsLfs2, uos.mount, uos.umount ----
//
// QuecPython names a file-system partition rather than a block device:
// uos.VfsLfs1(readsize, progsize, lookahead, "customer_fs"). Here a partition's file system
// is its volume's one qp_fs_t, shared by every mount of it (/usr and a script's
// uos.mount(uos.VfsLfs1(32, 32, 32, "customer_fs"), "/usr2") see the same files), so two
// mounts never hold two diverging views of one flash. `lfs` is the littlefs major version
// a call expects (1 for VfsLfs1, 2 for VfsLfs2). Errors are MicroPython's errnos.

// The volume of `partition` ("customer_fs" or "customer_backup_fs"), which must hold
// littlefs `lfs` (uos.VfsLfsN(...)).
// @retval -ENODEV no such partition, or it holds the other version (QuecPython's OSError 19)
int qp_storage_volume_find(qp_storage_t *st, const char *partition, int lfs,
                           qp_storage_volume_t **out);

// Formats `partition` as littlefs `lfs` and mounts it again (uos.VfsLfsN.mkfs(...)).
// @retval -ENODEV     no such partition
// @retval QP_ERR_BUSY it is mounted in the namespace (uos.umount it first), or files or
//                     directories of it are open
int qp_storage_mkfs(qp_storage_t *st, const char *partition, int lfs);

// Mounts volume `v` at `path` ("/name"; flags QP_VFS_MOUNT_*), checking again that it holds
// littlefs `lfs` (an mkfs of the other version may have come in between).
// @retval QP_ERR_PERM  `path` is "/" or already a mount point (MicroPython's EPERM)
// @retval QP_ERR_INVAL `path` is not "/" and a name of 1 to QP_VFS_MOUNT_NAME_MAX bytes
// @retval QP_ERR_NOSPC all QP_VFS_MOUNT_MAX mount slots are in use
// @retval -ENODEV      the volume no longer holds littlefs `lfs`
int qp_storage_mount(qp_storage_t *st, qp_storage_volume_t *v, int lfs, const char *path,
                     unsigned flags);

// Removes the mount at `path` ("/name", exactly as mounted).
// @retval QP_ERR_INVAL nothing is mounted there (MicroPython's EINVAL)
// @retval QP_ERR_BUSY  files or directories of that file system are open
int qp_storage_umount(qp_storage_t *st, const char *path);

// Unmounts and closes the flash. Safe on a zeroed or failed handle.
void qp_storage_close(qp_storage_t *st);

// The factory state of a new device: flash.img with the default layout, the firmware image
// `firmware` (`firmware_len` bytes; NULL: none) in its partition, and freshly formatted,
// empty /usr and /bak (as the module leaves the factory) in the versions `fmt` gives
// (NULL: littlefs v1).
// @retval QP_ERR_EXIST   the device already has a flash image
// @retval QP_ERR_CORRUPT the firmware image fails its checks (qp_firmware_install)
int qp_storage_create(const char *device_dir, const void *firmware, size_t firmware_len,
                      const qp_storage_format_t *fmt, char *msg, size_t msglen);

#endif
