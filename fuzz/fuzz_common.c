// fuzz_common.c - see fuzz_common.h. Linked into every fuzz target, the replay driver and
// the corpus generator; plain C11 so the normal (gcc) build compiles it too.
#include "fuzz_common.h"

#include <stdlib.h>
#include <string.h>

#include <mbedtls/sha256.h>
#include <mbedtls/version.h>

#include "qp/qp_err.h"

void fz_check_code(int rc) {
    if (rc < 0 && strcmp(qp_strerror(rc), "unknown error") == 0) {
        abort();
    }
}

// Each block carries its size in front, so free() can give the budget back.
#define HDR 16u

void *fz_alloc(void *ctx, size_t size) {
    fz_alloc_t *a = ctx;
    if (size > SIZE_MAX - HDR || (a->cap && (size > a->cap || a->used > a->cap - size))) {
        return NULL;
    }
    uint8_t *p = malloc(size + HDR);
    if (!p) {
        return NULL;
    }
    memcpy(p, &size, sizeof size);
    a->used += size;
    if (a->used > a->peak) {
        a->peak = a->used;
    }
    a->live++;
    return p + HDR;
}

void fz_free(void *ctx, void *ptr) {
    fz_alloc_t *a = ctx;
    if (!ptr) {
        return;
    }
    uint8_t *p = (uint8_t *)ptr - HDR;
    size_t size;
    memcpy(&size, p, sizeof size);
    a->used -= size;
    a->live--;
    free(p);
}

size_t fz_alloc_size(const void *ptr) {
    size_t size;
    memcpy(&size, (const uint8_t *)ptr - HDR, sizeof size);
    return size;
}

int fz_image_read(void *ctx, uint64_t off, void *buf, size_t len) {
    const fz_mem_t *m = ctx;
    if (off > m->size || len > m->size - off) {
        return QP_ERR_CORRUPT;
    }
    memcpy(buf, m->p + off, len);
    return 0;
}

int fz_patch_read(void *ctx, uint32_t off, void *buf, uint32_t len) {
    return fz_image_read(ctx, off, buf, len);
}

void fz_sha256(const uint8_t *p, size_t n, uint8_t out[32]) {
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
    mbedtls_sha256(p, n, out, 0);
#else
    mbedtls_sha256_ret(p, n, out, 0);
#endif
}

// xorshift32: the generator below must give the same bytes on every machine.
static uint32_t next(uint32_t *x) {
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

void fz_make_old(uint8_t *out) {
    uint32_t x = 0x9e3779b9u;
    uint32_t n = 0;
    // 12 KiB of "code": 16-bit opcodes from a small alphabet and BL pairs whose targets
    // move with their position, as the patch differ's Thumb filter expects.
    while (n + 4 <= 12u * 1024u) {
        uint32_t r = next(&x);
        if (r % 7 == 0) {
            uint32_t target = (r >> 8) % 12288u;
            int32_t rel = (int32_t)(target - n - 4) / 2;
            uint32_t u = (uint32_t)rel & 0x3fffffu;
            uint16_t hi = (uint16_t)(0xf000u | (u >> 11));
            uint16_t lo = (uint16_t)(0xf800u | (u & 0x7ffu));
            out[n++] = (uint8_t)hi;
            out[n++] = (uint8_t)(hi >> 8);
            out[n++] = (uint8_t)lo;
            out[n++] = (uint8_t)(lo >> 8);
        } else {
            static const uint16_t ops[] = {0x4770, 0xb580, 0xbd80, 0x2000, 0x6818, 0x4618,
                                           0x3001, 0xe7fe};
            uint16_t op = (uint16_t)(ops[r % 8] | ((r >> 16) & 0x7));
            out[n++] = (uint8_t)op;
            out[n++] = (uint8_t)(op >> 8);
        }
    }
    // 3 KiB of strings, then a table of pointers.
    static const char *words[] = {"uart", "fota", "modem", "error: ", "version ", "EC600S",
                                  "flash", "%d bytes\n"};
    while (n < 15u * 1024u) {
        const char *w = words[next(&x) % 8];
        size_t l = strlen(w);
        if (n + l + 1 > 15u * 1024u) {
            break;
        }
        memcpy(out + n, w, l + 1);
        n += (uint32_t)l + 1;
    }
    while (n < 15u * 1024u) {
        out[n++] = 0;
    }
    while (n + 4 <= FZ_OLD_SIZE) {
        uint32_t ptr = 0x08000000u + (next(&x) % 12288u & ~1u);
        memcpy(out + n, &ptr, 4);
        n += 4;
    }
}

uint32_t fz_make_new(const uint8_t *old, uint8_t *out, uint32_t variant) {
    uint32_t x = 0x1234567u + variant * 0x9e3779b9u;
    uint32_t n = 0, i = 0;
    // Copy the old image with a few insertions, deletions and changed bytes.
    while (i < FZ_OLD_SIZE) {
        uint32_t r = next(&x);
        uint32_t run = 256 + r % 2048;
        if (run > FZ_OLD_SIZE - i) {
            run = FZ_OLD_SIZE - i;
        }
        memcpy(out + n, old + i, run);
        n += run;
        i += run;
        switch (r >> 28) {
        case 0:
        case 1: // insert a few bytes
            for (uint32_t k = 0; k < 1 + (r >> 4) % 64; k++) {
                out[n++] = (uint8_t)next(&x);
            }
            break;
        case 2: // delete a few bytes
            i += (r >> 4) % 32;
            break;
        case 3: // change one byte in place
            if (n) {
                out[n - 1] ^= (uint8_t)(1 + (r >> 8) % 255);
            }
            break;
        default:
            break;
        }
    }
    if (variant % 3 == 2) { // and a new tail
        for (uint32_t k = 0; k < 1024; k++) {
            out[n++] = (uint8_t)(k * 7 + variant);
        }
    }
    return n;
}

const fz_fs_geom_t fz_fs_geoms[] = {
    // read, prog, block, blocks, cache, lookahead
    {QP_FS_DISK_VERSION_LFS1, 16, 16, 512, 32, 64, 4},
    {QP_FS_DISK_VERSION_LFS1, 4096, 4096, 4096, 8, 4096, 16}, // the EC600S's units
    {QP_FS_DISK_VERSION_LFS1, 8, 8, 256, 32, 32, 4},
    {0, 16, 16, 512, 32, 64, 4}, // 0: mount detects the version (format writes v1)
    {QP_FS_DISK_VERSION_LFS2, 16, 16, 512, 32, 64, 4},
    {QP_FS_DISK_VERSION_LFS2, 4096, 4096, 4096, 8, 4096, 16},
    {QP_FS_DISK_VERSION_LFS2_0, 16, 16, 512, 32, 64, 4}, // v2.0: no forward CRCs
};
const size_t fz_fs_ngeoms = sizeof fz_fs_geoms / sizeof fz_fs_geoms[0];

static int dev_read(void *ctx, uint32_t block, uint32_t off, void *buf, uint32_t size) {
    return qp_flash_bd_read(&((fz_fs_dev_t *)ctx)->bd, block, off, buf, size);
}
static int dev_prog(void *ctx, uint32_t block, uint32_t off, const void *buf, uint32_t size) {
    return qp_flash_bd_prog(&((fz_fs_dev_t *)ctx)->bd, block, off, buf, size);
}
static int dev_erase(void *ctx, uint32_t block) {
    return qp_flash_bd_erase(&((fz_fs_dev_t *)ctx)->bd, block);
}
static int dev_sync(void *ctx) {
    return qp_flash_bd_sync(&((fz_fs_dev_t *)ctx)->bd);
}

int fz_fs_dev_open(fz_fs_dev_t *d, const fz_fs_geom_t *g, uint8_t *mem) {
    memset(d, 0, sizeof *d);
    qp_flash_init(&d->flash);
    qp_flash_config_t fc = {0};
    fc.size = g->block_size * g->block_count;
    fc.sector_size = g->block_size; // one erase per block, however small
    fc.page_size = g->block_size < 256 ? g->block_size : 256;
    fc.data_buffer = mem;
    fc.flags = QP_FLASH_F_KEEP;
    int err = qp_flash_open_ram(&d->flash, &fc);
    if (err == 0) {
        err = qp_flash_part_init(&d->part, &d->flash, 0, fc.size);
    }
    if (err == 0) {
        err = qp_flash_bd_init(&d->bd, &d->part, g->block_size);
    }
    if (err < 0) {
        qp_flash_close(&d->flash);
        return err;
    }
    d->cfg.context = d;
    d->cfg.read = dev_read;
    d->cfg.prog = dev_prog;
    d->cfg.erase = dev_erase;
    d->cfg.sync = dev_sync;
    d->cfg.read_size = g->read_size;
    d->cfg.prog_size = g->prog_size;
    d->cfg.block_size = g->block_size;
    d->cfg.block_count = g->block_count;
    d->cfg.cache_size = g->cache_size;
    d->cfg.lookahead_size = g->lookahead_size;
    d->cfg.disk_version = g->disk_version;
    return 0;
}

void fz_fs_dev_close(fz_fs_dev_t *d) {
    qp_flash_close(&d->flash);
}
