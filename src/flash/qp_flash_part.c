// qp_flash_part.c - partition views and the block-device adapter over them. Portable.
//
// A view turns partition-relative addresses into flash addresses after a bounds check, so
// a file system mounted on customer_fs cannot reach the partition table or the firmware
// whatever offsets it computes. The block-device callbacks take a void *ctx so the file
// system's config (src/fs) can point at a qp_flash_bd_t without this library knowing its
// headers.
#include "flash_internal.h"
#include "qp/qp_err.h"


int qp_flash_part_init(qp_flash_part_t *p, qp_flash_t *f, uint32_t offset, uint32_t size) {
    if (!p || !f || !f->be) {
        return QP_ERR_INVAL;
    }
    if (size == 0 || offset % f->sector_size || size % f->sector_size) {
        return QP_ERR_INVAL;
    }
    if (offset > f->size || size > f->size - offset) {
        return QP_ERR_RANGE;
    }
    p->flash = f;
    p->offset = offset;
    p->size = size;
    p->flags = 0;
    return 0;
}

int qp_flash_part_open(qp_flash_part_t *p, qp_flash_t *f, const qp_flash_ptable_t *t,
                       const char *name) {
    if (!t || !name) {
        return QP_ERR_INVAL;
    }
    const qp_flash_part_entry_t *e = qp_flash_ptable_find(t, name);
    if (!e) {
        return QP_ERR_NOENT;
    }
    int err = qp_flash_part_init(p, f, e->offset, e->size);
    if (err < 0) {
        return err;
    }
    p->flags = e->flags;
    return 0;
}

static int part_range(const qp_flash_part_t *p, uint32_t off, uint32_t len) {
    if (!p || !p->flash) {
        return QP_ERR_INVAL;
    }
    if (off > p->size || len > p->size - off) {
        return QP_ERR_RANGE;
    }
    return 0;
}

int qp_flash_part_read(const qp_flash_part_t *p, uint32_t off, void *buf, uint32_t len) {
    int err = part_range(p, off, len);
    return err < 0 ? err : qp_flash_read(p->flash, p->offset + off, buf, len);
}

int qp_flash_part_program(const qp_flash_part_t *p, uint32_t off, const void *buf,
                          uint32_t len) {
    int err = part_range(p, off, len);
    return err < 0 ? err : qp_flash_program(p->flash, p->offset + off, buf, len);
}

int qp_flash_part_erase(const qp_flash_part_t *p, uint32_t off, uint32_t len) {
    int err = part_range(p, off, len);
    return err < 0 ? err : qp_flash_erase(p->flash, p->offset + off, len);
}

// ---------------------------------------------------------------------------------------
// Block device
// ---------------------------------------------------------------------------------------

int qp_flash_bd_init(qp_flash_bd_t *bd, const qp_flash_part_t *part, uint32_t block_size) {
    if (!bd || !part || !part->flash || !part->flash->be) {
        return QP_ERR_INVAL;
    }
    uint32_t sector = part->flash->sector_size;
    if (block_size == 0 || block_size % sector || block_size > part->size) {
        return QP_ERR_INVAL;
    }
    bd->part = *part;
    bd->block_size = block_size;
    bd->block_count = part->size / block_size;
    return 0;
}

// The partition offset of (block, off) for an access of `size` bytes, after checking it
// stays inside the block.
static int bd_offset(const qp_flash_bd_t *bd, uint32_t block, uint32_t off, uint32_t size,
                     uint32_t *part_off) {
    if (!bd) {
        return QP_ERR_INVAL;
    }
    if (block >= bd->block_count || off > bd->block_size || size > bd->block_size - off) {
        return QP_ERR_RANGE;
    }
    *part_off = block * bd->block_size + off;
    return 0;
}

int qp_flash_bd_read(void *ctx, uint32_t block, uint32_t off, void *buf, uint32_t size) {
    const qp_flash_bd_t *bd = ctx;
    uint32_t at = 0;
    int err = bd_offset(bd, block, off, size, &at);
    return err < 0 ? err : qp_flash_part_read(&bd->part, at, buf, size);
}

int qp_flash_bd_prog(void *ctx, uint32_t block, uint32_t off, const void *buf,
                     uint32_t size) {
    const qp_flash_bd_t *bd = ctx;
    uint32_t at = 0;
    int err = bd_offset(bd, block, off, size, &at);
    return err < 0 ? err : qp_flash_part_program(&bd->part, at, buf, size);
}

int qp_flash_bd_erase(void *ctx, uint32_t block) {
    const qp_flash_bd_t *bd = ctx;
    uint32_t at = 0;
    int err = bd_offset(bd, block, 0, bd ? bd->block_size : 0, &at);
    return err < 0 ? err : qp_flash_part_erase(&bd->part, at, bd->block_size);
}

int qp_flash_bd_sync(void *ctx) {
    const qp_flash_bd_t *bd = ctx;
    if (!bd || !bd->part.flash) {
        return QP_ERR_INVAL;
    }
    return qp_flash_sync(bd->part.flash);
}
