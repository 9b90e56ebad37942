// qp_storage.h - a device's storage: its flash.img, partition table, and the littlefs
// file systems at /usr (customer_fs) and /bak (customer_backup_fs) in one namespace.
//
// Used by the runtime at boot and by the host's offline commands (`qpy fs ...`), so both
// see the same partitions with the same geometry: littlefs v1 with read = prog = block =
// 4096 bytes, as the EC600S firmware mounts them. Host-only (the flash file backend).
// The flash image is locked while open: a second writer, or any opener while a running
// module has it, gets QP_ERR_BUSY.
#ifndef QP_STORAGE_H
#define QP_STORAGE_H

#include <stddef.h>

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
} qp_storage_volume_t;

typedef struct qp_storage {
    qp_flash_t flash;
    qp_flash_ptable_t table;
    qp_storage_volume_t usr, bak;
    qp_vfs_t vfs;
} qp_storage_t;

// Opens `device_dir`/flash.img (creating it with the default EC600S layout when missing),
// mounts customer_fs at /usr and customer_backup_fs at /bak. With
// QP_STORAGE_FORMAT_IF_EMPTY a partition holding no valid file system is formatted (its
// volume's `formatted` is set so the caller can say so); without it that is an error.
// On failure everything is closed and `msg` says what went wrong and where.
// @retval QP_ERR_BUSY    a running module (or another tool) has the flash open
// @retval QP_ERR_CORRUPT the flash image or partition table is damaged, or a partition
//                        holds no file system and formatting was not asked for
int qp_storage_open(qp_storage_t *st, const char *device_dir, unsigned flags, char *msg,
                    size_t msglen);

// Unmounts and closes the flash. Safe on a zeroed or failed handle.
void qp_storage_close(qp_storage_t *st);

// The factory state of a new device: flash.img with the default layout, the firmware image
// `firmware` (`firmware_len` bytes; NULL: none) in its partition, and freshly formatted,
// empty /usr and /bak (as the module leaves the factory).
// @retval QP_ERR_EXIST   the device already has a flash image
// @retval QP_ERR_CORRUPT the firmware image fails its checks (qp_firmware_install)
int qp_storage_create(const char *device_dir, const void *firmware, size_t firmware_len,
                      char *msg, size_t msglen);

#endif
