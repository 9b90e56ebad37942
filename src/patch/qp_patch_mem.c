// qp_patch_mem.c - memory-backed package reader and flash area (qp_patch.h): what the host
// differs (qp_diff, qp_fota_diff) measure their packages on and what tests apply in. Plain
// C11, no allocation, so it is part of the QP_NO_MALLOC build too.
#include <string.h>

#include "qp/qp_err.h"
#include "qp/qp_patch.h"

int qp_patch_mem_read(void *ctx, uint32_t off, void *buf, uint32_t len) {
    const qp_patch_mem_t *m = ctx;
    if (off > m->size || len > m->size - off) {
        return QP_ERR_RANGE;
    }
    memcpy(buf, m->p + off, len);
    return 0;
}

static int in_range(const qp_patch_ram_flash_t *f, uint32_t off, uint32_t len) {
    return off <= f->size && len <= f->size - off;
}

static int ram_read(void *ctx, uint32_t off, void *buf, uint32_t len) {
    qp_patch_ram_flash_t *f = ctx;
    if (!in_range(f, off, len)) {
        return QP_ERR_RANGE;
    }
    memcpy(buf, f->mem + off, len);
    return 0;
}

// NOR flash: a program can only clear bits.
static int ram_prog(void *ctx, uint32_t off, const void *buf, uint32_t len) {
    qp_patch_ram_flash_t *f = ctx;
    if (!in_range(f, off, len)) {
        return QP_ERR_RANGE;
    }
    const uint8_t *b = buf;
    for (uint32_t i = 0; i < len; i++) {
        f->mem[off + i] &= b[i];
    }
    return 0;
}

static int ram_erase(void *ctx, uint32_t off, uint32_t len) {
    qp_patch_ram_flash_t *f = ctx;
    if (!in_range(f, off, len)) {
        return QP_ERR_RANGE;
    }
    memset(f->mem + off, 0xFF, len);
    return 0;
}

qp_patch_flash_t qp_patch_ram_flash(qp_patch_ram_flash_t *rf, uint32_t sector_size) {
    qp_patch_flash_t f = {ram_read, ram_prog, ram_erase, rf, rf->size, sector_size};
    return f;
}
