// qp_fsimage.h - a littlefs image held in memory: the block device mklfs builds images in
// and `qpy flash` mounts a copy of a file on before writing it to a partition.
//
// An image file is exactly what a partition holds: block_count * block_size bytes, erased
// bytes 0xff. Wrapping a buffer in a qp_fsimage_t gives a struct qp_fs_config whose
// callbacks read, program and erase that buffer, so every qp_fs_* call works on it. Nothing
// here touches files or the OS; the caller owns the buffer.
//
// Thread-safety: none; one image, one thread.
#ifndef QP_FSIMAGE_H
#define QP_FSIMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "qp/qp_fs.h"

// The EC600S's partitions (QPYcom's mklfs defaults): littlefs v1, 4096-byte blocks.
// Images may also be littlefs v2 (mklfs --lfs-version 2): reading detects the version.
#define QP_FSIMAGE_BLOCK_SIZE 4096u
#define QP_FSIMAGE_CUSTOMER_FS_SIZE 5242880u       // customer_fs, mounted at /usr
#define QP_FSIMAGE_CUSTOMER_BACKUP_FS_SIZE 204800u // customer_backup_fs, at /bak

// Geometry; zero-initialise, zero means the EC600S value (read = prog = block = 4096).
typedef struct qp_fsimage_geometry {
    uint32_t size;       // bytes of the image; a multiple of block_size (required)
    uint32_t block_size; // 0: 4096
    uint32_t read_size;  // 0: block_size
    uint32_t prog_size;  // 0: block_size
    // On-disk version (QP_FS_DISK_VERSION_*) for qp_fs_format; 0 formats littlefs v1.
    // qp_fs_mount with 0 detects v1 or v2; a version accepts only images of that version.
    uint32_t disk_version;
} qp_fsimage_geometry_t;

// Caller-allocated. `cfg` is what to pass to qp_fs_format/qp_fs_mount; the buffer and
// the handle must stay put while a qp_fs_t uses them.
typedef struct qp_fsimage {
    uint8_t *data;
    uint32_t size;
    struct qp_fs_config cfg;
} qp_fsimage_t;

// Points `img` at `data` (`geo->size` bytes, left as it is) with the given geometry.
// @retval QP_ERR_INVAL size 0 or not a multiple of the block size; read or prog size not
//                      dividing the block size; block size under 104 (littlefs v1's least)
// @retval QP_ERR_NOTSUP disk_version is none of QP_FS_DISK_VERSION_*
int qp_fsimage_init(qp_fsimage_t *img, void *data, const qp_fsimage_geometry_t *geo);

// Checks that `len` bytes at `data` are a littlefs image (v1 or v2, detected: the module's
// boot falls back to v2 when v1 finds no file system) that mounts with `block_size`
// blocks (0: 4096) and exactly len / block_size blocks, as the module would mount it in a
// partition of `len` bytes. Works on a private copy (mounting may repair), so `data` is not
// changed. `why`, when not NULL, says what is wrong on failure.
// @retval QP_ERR_INVAL   len is 0 or not a multiple of the block size
// @retval QP_ERR_CORRUPT no valid file system (or one whose geometry differs)
// @retval QP_ERR_NOMEM   no memory for the copy
int qp_fsimage_check(const void *data, size_t len, uint32_t block_size, const char **why);

#endif
