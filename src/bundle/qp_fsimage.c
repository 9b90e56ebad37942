// qp_fsimage.c - littlefs images in memory (qp_fsimage.h): a RAM block device.
//
// Programs copy bytes, as NOR programming over an erased (0xff) block gives the same
// result; the file system never programs a block it has not erased.
#include "qp/qp_fsimage.h"
#include "qp/qp_err.h"

#include <stdlib.h>
#include <string.h>

static int ram_read(void *ctx, uint32_t block, uint32_t off, void *buf, uint32_t size) {
    qp_fsimage_t *img = ctx;
    uint64_t at = (uint64_t)block * img->cfg.block_size + off;
    if (at + size > img->size) {
        return QP_ERR_RANGE;
    }
    memcpy(buf, img->data + at, size);
    return 0;
}

static int ram_prog(void *ctx, uint32_t block, uint32_t off, const void *buf,
                    uint32_t size) {
    qp_fsimage_t *img = ctx;
    uint64_t at = (uint64_t)block * img->cfg.block_size + off;
    if (at + size > img->size) {
        return QP_ERR_RANGE;
    }
    memcpy(img->data + at, buf, size);
    return 0;
}

static int ram_erase(void *ctx, uint32_t block) {
    qp_fsimage_t *img = ctx;
    uint64_t at = (uint64_t)block * img->cfg.block_size;
    if (at + img->cfg.block_size > img->size) {
        return QP_ERR_RANGE;
    }
    memset(img->data + at, 0xff, img->cfg.block_size);
    return 0;
}

int qp_fsimage_init(qp_fsimage_t *img, void *data, const qp_fsimage_geometry_t *geo) {
    uint32_t block = geo->block_size ? geo->block_size : QP_FSIMAGE_BLOCK_SIZE;
    uint32_t rd = geo->read_size ? geo->read_size : block;
    uint32_t pr = geo->prog_size ? geo->prog_size : block;
    if (block < 104 || geo->size == 0 || geo->size % block || block % rd || block % pr
        || pr % rd) {
        return QP_ERR_INVAL;
    }
    if (geo->disk_version && geo->disk_version != QP_FS_DISK_VERSION_LFS1
        && geo->disk_version != QP_FS_DISK_VERSION_LFS2
        && geo->disk_version != QP_FS_DISK_VERSION_LFS2_0) {
        return QP_ERR_NOTSUP;
    }
    memset(img, 0, sizeof *img);
    img->data = data;
    img->size = geo->size;
    img->cfg.context = img;
    img->cfg.read = ram_read;
    img->cfg.prog = ram_prog;
    img->cfg.erase = ram_erase;
    img->cfg.read_size = rd;
    img->cfg.prog_size = pr;
    img->cfg.block_size = block;
    img->cfg.block_count = geo->size / block;
    img->cfg.disk_version = geo->disk_version;
    return 0;
}

int qp_fsimage_check(const void *data, size_t len, uint32_t block_size, const char **why) {
    uint32_t block = block_size ? block_size : QP_FSIMAGE_BLOCK_SIZE;
    const char *reason = NULL;
    if (len == 0 || len > UINT32_MAX || len % block) {
        reason = "size is not a whole number of blocks";
        if (why) {
            *why = reason;
        }
        return QP_ERR_INVAL;
    }
    void *copy = malloc(len);
    if (!copy) {
        return QP_ERR_NOMEM;
    }
    memcpy(copy, data, len);
    qp_fsimage_t img;
    qp_fs_t fs;
    memset(&fs, 0, sizeof fs);
    int err = qp_fsimage_init(&img, copy, &(qp_fsimage_geometry_t){.size = (uint32_t)len,
                                                                 .block_size = block});
    if (err == 0) {
        err = qp_fs_mount(&fs, &img.cfg);
        if (err == QP_ERR_INVAL) {
            // The superblock names another block size or count: for the partition it is
            // as good as no file system.
            reason = "its superblock's geometry does not match the partition";
            err = QP_ERR_CORRUPT;
        } else if (err < 0) {
            reason = "no valid littlefs file system (v1 or v2)";
        } else {
            // Mount checks every metadata pair; a walk of the tree also reaches the files.
            int used = qp_fs_size(&fs);
            if (used < 0) {
                reason = "its metadata is damaged";
                err = QP_ERR_CORRUPT;
            }
        }
        qp_fs_unmount(&fs);
    }
    free(copy);
    if (err < 0 && why) {
        *why = reason ? reason : qp_strerror(err);
    }
    return err;
}
