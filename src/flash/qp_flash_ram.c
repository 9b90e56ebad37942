// qp_flash_ram.c - the RAM backend: the flash contents in a buffer the caller provides or
// the handle allocates. Portable (no OS calls).
//
// It is what unit tests and power-loss sweeps of the file system use: fast, and
// qp_flash_power_restore() "reboots" into the torn contents without copying anything.
#include "flash_internal.h"
#include "qp/qp_err.h"

#include <string.h>

static int ram_read(qp_flash_t *f, uint32_t addr, void *buf, uint32_t len) {
    memcpy(buf, f->mem + addr, len);
    return 0;
}

static int ram_write(qp_flash_t *f, uint32_t addr, const void *buf, uint32_t len) {
    memcpy(f->mem + addr, buf, len);
    return 0;
}

static int ram_wear_store(qp_flash_t *f, uint32_t sector) {
    (void)f;
    (void)sector;
    return 0; // the counters live only in f->wear
}

static int ram_sync(qp_flash_t *f) {
    (void)f;
    return 0;
}

static int ram_close(qp_flash_t *f) {
    (void)f;
    return 0;
}

static const struct qp_flash_backend ram_backend = {
    ram_read, ram_write, ram_wear_store, ram_sync, ram_close,
};

int qp_flash_open_ram(qp_flash_t *f, const qp_flash_config_t *cfg) {
    if (!f || !cfg) {
        return QP_ERR_INVAL;
    }
    int err = qp_flash_setup(f, cfg, cfg->size, cfg->sector_size, cfg->page_size);
    if (err < 0) {
        return err;
    }
    if (cfg->data_buffer) {
        f->mem = cfg->data_buffer;
        if (!(cfg->flags & QP_FLASH_F_KEEP)) {
            memset(f->mem, 0xFF, f->size);
        }
    } else {
        f->mem = qp_flash_alloc(f, f->size);
        if (!f->mem) {
            qp_flash_release(f);
            return QP_ERR_NOMEM;
        }
        f->owns_mem = 1;
        memset(f->mem, 0xFF, f->size);
    }
    f->be = &ram_backend;
    return 0;
}
