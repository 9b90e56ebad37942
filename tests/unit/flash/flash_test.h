// flash_test.h - helpers shared by the flash unit tests (tests/unit/flash/test_*.c).
//
// Header-only (static inline) so that each test stays one self-contained executable. Include
// it after <cmocka.h>: the helpers fail the calling test with cmocka asserts.
#ifndef FLASH_TEST_H
#define FLASH_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qp/qp_err.h"
#include "qp/qp_flash.h"

#define FT_SECTOR 4096u

// Opens an erased RAM flash of `size` bytes with default sector and page sizes.
static inline void ft_open_ram(qp_flash_t *f, uint32_t size, uint32_t flags) {
    qp_flash_config_t cfg = {0};
    cfg.size = size;
    cfg.flags = flags;
    assert_int_equal(qp_flash_open_ram(f, &cfg), 0);
}

// The erase counter of `sector`, which must exist.
static inline uint32_t ft_wear(const qp_flash_t *f, uint32_t sector) {
    uint32_t w = UINT32_MAX;
    assert_int_equal(qp_flash_wear(f, sector, &w), 0);
    return w;
}

// The EC600S layout shrunk to a 64-sector flash: ptable 1, firmware 8, fota_pkg 8,
// customer_fs 32, customer_backup_fs 4 sectors, 11 sectors unallocated.
static inline void ft_small_layout(qp_flash_ptable_t *t) {
    qp_flash_layout_opts_t o = {0};
    o.flash_size = 64 * FT_SECTOR;
    o.firmware_size = 8 * FT_SECTOR;
    o.fota_pkg_size = 8 * FT_SECTOR;
    o.customer_fs_size = 32 * FT_SECTOR;
    o.customer_backup_fs_size = 4 * FT_SECTOR;
    assert_int_equal(qp_flash_layout_ec600s(t, &o), 0);
}

// A fresh temporary directory and the path of a flash.img inside it.
typedef struct ft_tmp {
    char dir[64];
    char path[96];
} ft_tmp_t;

static inline void ft_tmp_make(ft_tmp_t *t) {
    strcpy(t->dir, "/tmp/qp-flash-test-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->path, sizeof t->path, "%s/%s", t->dir, QP_FLASH_IMAGE_NAME);
}

static inline void ft_tmp_remove(const ft_tmp_t *t) {
    unlink(t->path);
    rmdir(t->dir);
}

#endif
