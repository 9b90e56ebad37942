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
