// Unit tests for the flash.img file backend: creation, persistence across reopen (contents
// and erase counters), the image header checks (SPEC-partitions §4), locking, read-only
// opens, provisioning, and torn operations persisting in the file.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flash_test.h"

#define SECTOR 4096u
#define SIZE (16u * SECTOR)

typedef ft_tmp_t fixture_t;

static int setup(void **state) {
    fixture_t *fx = calloc(1, sizeof *fx);
    if (!fx) {
        return -1;
    }
    ft_tmp_make(fx);
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    ft_tmp_remove(*state);
    free(*state);
    return 0;
}

static void create_image(const fixture_t *fx, qp_flash_t *f) {
    qp_flash_config_t cfg = {0};
    cfg.size = SIZE;
    assert_int_equal(qp_flash_file_create(f, fx->path, &cfg), 0);
}

// Overwrites `len` bytes of the image file at `off` (to damage it).
static void poke(const char *path, off_t off, const void *buf, size_t len) {
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, buf, len, off), (ssize_t)len);
    close(fd);
}

static void test_create_gives_erased_flash_and_layout(void **state) {
    fixture_t *fx = *state;
    qp_flash_t f;
    create_image(fx, &f);
    assert_int_equal(f.size, SIZE);
    assert_int_equal(f.sector_size, SECTOR);
    assert_int_equal(f.page_size, 256);
    uint8_t buf[SECTOR];
    for (uint32_t a = 0; a < SIZE; a += SECTOR) {
        assert_int_equal(qp_flash_read(&f, a, buf, SECTOR), 0);
        for (uint32_t i = 0; i < SECTOR; i++) {
            assert_int_equal(buf[i], 0xFF);
        }
    }
    assert_int_equal(qp_flash_close(&f), 0);
    // §4.1: 4 KiB header, the flash, then one 32-bit counter per sector.
    struct stat st;
    assert_int_equal(stat(fx->path, &st), 0);
    assert_int_equal(st.st_size, 4096 + SIZE + 4 * (SIZE / SECTOR));
    // Creating over an existing image is refused.
    qp_flash_config_t cfg = {0};
    cfg.size = SIZE;
    assert_int_equal(qp_flash_file_create(&f, fx->path, &cfg), QP_ERR_EXIST);
}

static void test_contents_and_wear_survive_reopen(void **state) {
    fixture_t *fx = *state;
    qp_flash_t f;
    create_image(fx, &f);
    const char msg[] = "hello, flash";
    assert_int_equal(qp_flash_program(&f, 5 * SECTOR + 100, msg, sizeof msg), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(qp_flash_erase(&f, 9 * SECTOR, 2 * SECTOR), 0);
    }
    assert_int_equal(qp_flash_sync(&f), 0);
    assert_int_equal(qp_flash_close(&f), 0);

    assert_int_equal(qp_flash_file_open(&f, fx->path, NULL), 0);
    char back[sizeof msg];
    assert_int_equal(qp_flash_read(&f, 5 * SECTOR + 100, back, sizeof back), 0);
    assert_memory_equal(back, msg, sizeof msg);
    assert_int_equal(ft_wear(&f, 9), 3);
    assert_int_equal(ft_wear(&f, 10), 3);
    assert_int_equal(ft_wear(&f, 11), 0);
    // The NOR rules hold on the file backend as on RAM.
    char other[sizeof msg];
    memset(other, 0xFF, sizeof other);
    other[0] = 'j';
    assert_int_equal(qp_flash_program(&f, 5 * SECTOR + 100, other, sizeof other),
                     QP_ERR_INVAL);
    assert_int_equal(qp_flash_close(&f), 0);
}

static void test_writes_are_not_cached(void **state) {
    fixture_t *fx = *state;
    qp_flash_t f;
    create_image(fx, &f);
    uint8_t v = 0x12;
    assert_int_equal(qp_flash_program(&f, 77, &v, 1), 0);
    assert_int_equal(qp_flash_erase(&f, 3 * SECTOR, SECTOR), 0);
    // Without close or sync, another descriptor already sees the byte and the counter:
    // nothing waits in a user-space buffer (§4.3).
    int fd = open(fx->path, O_RDONLY);
    assert_true(fd >= 0);
    uint8_t b = 0;
    assert_int_equal(pread(fd, &b, 1, 4096 + 77), 1);
    assert_int_equal(b, 0x12);
    uint8_t le[4];
    assert_int_equal(pread(fd, le, 4, 4096 + SIZE + 4 * 3), 4);
    assert_int_equal(le[0], 1);
    close(fd);
    qp_flash_close(&f);
}

static void test_bad_headers_are_detected(void **state) {
    fixture_t *fx = *state;
    qp_flash_t f;
    create_image(fx, &f);
    qp_flash_close(&f);

    uint8_t orig[64];
    int fd = open(fx->path, O_RDONLY);
    assert_int_equal(pread(fd, orig, sizeof orig, 0), 64);
    close(fd);

    // Bad magic.
    poke(fx->path, 0, "XPFLASH", 7);
    assert_int_equal(qp_flash_file_open(&f, fx->path, NULL), QP_ERR_CORRUPT);
    poke(fx->path, 0, orig, 64);
    // A flipped bit in the geometry fails the CRC.
    uint8_t b = orig[17] ^ 0x01;
    poke(fx->path, 17, &b, 1);
    assert_int_equal(qp_flash_file_open(&f, fx->path, NULL), QP_ERR_CORRUPT);
    poke(fx->path, 0, orig, 64);
    // Another major version is refused as unsupported, before the CRC is looked at.
    uint8_t major[2] = {QP_FLASH_LAYOUT_VERSION_MAJOR + 1, 0};
    poke(fx->path, 8, major, 2);
    assert_int_equal(qp_flash_file_open(&f, fx->path, NULL), QP_ERR_NOTSUP);
    poke(fx->path, 0, orig, 64);
    assert_int_equal(qp_flash_file_open(&f, fx->path, NULL), 0);
    qp_flash_close(&f);
    // A truncated image (the wear table cut off).
    assert_int_equal(truncate(fx->path, 4096 + SIZE + 10), 0);
    assert_int_equal(qp_flash_file_open(&f, fx->path, NULL), QP_ERR_CORRUPT);
    // An empty file, and a missing one.
    assert_int_equal(truncate(fx->path, 0), 0);
    assert_int_equal(qp_flash_file_open(&f, fx->path, NULL), QP_ERR_CORRUPT);
    unlink(fx->path);
    assert_int_equal(qp_flash_file_open(&f, fx->path, NULL), QP_ERR_NOENT);
    assert_int_equal(qp_flash_close(&f), 0); // a failed open leaves a closed handle
}

static void test_geometry_must_match(void **state) {
    fixture_t *fx = *state;
    qp_flash_t f;
    create_image(fx, &f);
    qp_flash_close(&f);
    qp_flash_config_t cfg = {0};
    cfg.size = 2 * SIZE;
    assert_int_equal(qp_flash_file_open(&f, fx->path, &cfg), QP_ERR_INVAL);
    cfg.size = SIZE;
    cfg.page_size = 512;
    assert_int_equal(qp_flash_file_open(&f, fx->path, &cfg), QP_ERR_INVAL);
    cfg.page_size = 256;
    cfg.sector_size = SECTOR;
    assert_int_equal(qp_flash_file_open(&f, fx->path, &cfg), 0);
    qp_flash_close(&f);
}

static void test_lock_and_read_only(void **state) {
    fixture_t *fx = *state;
    qp_flash_t f, g;
    create_image(fx, &f);
    // One writer at a time; readers wait for it too.
    assert_int_equal(qp_flash_file_open(&g, fx->path, NULL), QP_ERR_BUSY);
    qp_flash_config_t ro = {0};
    ro.flags = QP_FLASH_F_RDONLY;
    assert_int_equal(qp_flash_file_open(&g, fx->path, &ro), QP_ERR_BUSY);
    uint8_t v = 0x00;
    assert_int_equal(qp_flash_program(&f, 0, &v, 1), 0);
    qp_flash_close(&f);

    qp_flash_t h;
    assert_int_equal(qp_flash_file_open(&g, fx->path, &ro), 0);
    assert_int_equal(qp_flash_file_open(&h, fx->path, &ro), 0); // readers share
    assert_int_equal(qp_flash_program(&g, 1, &v, 1), QP_ERR_ROFS);
    assert_int_equal(qp_flash_erase(&g, 0, SECTOR), QP_ERR_ROFS);
    uint8_t b = 0xAA;
    assert_int_equal(qp_flash_read(&h, 0, &b, 1), 0);
    assert_int_equal(b, 0x00);
    qp_flash_close(&g);
    qp_flash_close(&h);
}

static void test_sync_flag_and_bad_create(void **state) {
    fixture_t *fx = *state;
    qp_flash_t f;
    qp_flash_config_t cfg = {0};
    cfg.size = SIZE + 1;
    assert_int_equal(qp_flash_file_create(&f, fx->path, &cfg), QP_ERR_INVAL);
    assert_int_equal(access(fx->path, F_OK), -1); // nothing was written
    cfg.size = SIZE;
    cfg.flags = QP_FLASH_F_SYNC;
    assert_int_equal(qp_flash_file_create(&f, fx->path, &cfg), 0);
    uint8_t v = 0x3C;
    assert_int_equal(qp_flash_program(&f, 9, &v, 1), 0);
    assert_int_equal(qp_flash_erase(&f, SECTOR, SECTOR), 0);
    qp_flash_close(&f);
    char nodir[128];
    snprintf(nodir, sizeof nodir, "%s/missing/flash.img", fx->dir);
    assert_int_equal(qp_flash_file_create(&f, nodir, &cfg), QP_ERR_NOENT);
}

static void test_provision(void **state) {
    fixture_t *fx = *state;
    qp_flash_ptable_t layout, t;
    ft_small_layout(&layout);
    qp_flash_t f;
    // First boot: no image. It is created with the layout's geometry and table.
    assert_int_equal(qp_flash_file_provision(&f, fx->path, &layout, NULL, &t), 0);
    assert_int_equal(f.size, 64 * SECTOR);
    assert_int_equal(t.count, 5);
    qp_flash_part_t fs;
    assert_int_equal(qp_flash_part_open(&fs, &f, &t, "customer_fs"), 0);
    assert_int_equal(qp_flash_part_program(&fs, 0, "fs", 2), 0);
    qp_flash_close(&f);

    // Later boots keep the stored table even if the profile now asks for another one.
    qp_flash_ptable_t other = layout;
    other.parts[4].size = 8 * SECTOR;
    assert_int_equal(qp_flash_file_provision(&f, fx->path, &other, NULL, &t), 0);
    assert_int_equal(qp_flash_ptable_find(&t, "customer_backup_fs")->size, 4 * SECTOR);
    char back[2];
    assert_int_equal(qp_flash_part_open(&fs, &f, &t, "customer_fs"), 0);
    assert_int_equal(qp_flash_part_read(&fs, 0, back, 2), 0);
    assert_memory_equal(back, "fs", 2);

    // A blank table sector (creation interrupted before the table) is filled in.
    assert_int_equal(qp_flash_erase(&f, 0, SECTOR), 0);
    qp_flash_close(&f);
    assert_int_equal(qp_flash_file_provision(&f, fx->path, &layout, NULL, &t), 0);
    assert_int_equal(t.count, 5);
    // A damaged one (a name byte cleared) is reported, not overwritten.
    uint8_t z = 0;
    assert_int_equal(qp_flash_program(&f, 32, &z, 1), 0);
    qp_flash_close(&f);
    assert_int_equal(qp_flash_file_provision(&f, fx->path, &layout, NULL, &t), QP_ERR_CORRUPT);
    assert_int_equal(qp_flash_close(&f), 0); // closed on failure
    qp_flash_ptable_t bad = layout;
    bad.count = 0;
    assert_int_equal(qp_flash_file_provision(&f, fx->path, &bad, NULL, &t), QP_ERR_INVAL);
}

// A power cut on the file backend leaves the torn bytes in flash.img (SPEC §5.3).
static void test_file_backend_keeps_the_torn_state(void **state) {
        const char *path = ((fixture_t *)*state)->path;
    qp_flash_t f;
    qp_flash_config_t cfg = {0};
    cfg.size = 4 * SECTOR;
    assert_int_equal(qp_flash_file_create(&f, path, &cfg), 0);
    static uint8_t data[SECTOR], img1[4 * SECTOR], img2[4 * SECTOR];
    memset(data, 0x00, sizeof data);
    qp_flash_powercut_arm(&f, 2, 99);
    assert_int_equal(qp_flash_program(&f, 0, data, SECTOR), 0);
    assert_int_equal(qp_flash_program(&f, SECTOR, data, SECTOR), QP_ERR_IO);
    assert_int_equal(qp_flash_read(&f, 0, img1, 1), QP_ERR_IO);
    qp_flash_close(&f);

    // Reopening is "power restored": the torn contents are what the file holds.
    assert_int_equal(qp_flash_file_open(&f, path, NULL), 0);
    assert_int_equal(qp_flash_read(&f, 0, img1, sizeof img1), 0);
    qp_flash_close(&f);
    // The same cut on a RAM flash gives the same bytes: the tear is the model's, not the
    // backend's.
    assert_int_equal(qp_flash_open_ram(&f, &cfg), 0);
    qp_flash_powercut_arm(&f, 2, 99);
    qp_flash_program(&f, 0, data, SECTOR);
    qp_flash_program(&f, SECTOR, data, SECTOR);
    qp_flash_power_restore(&f);
    assert_int_equal(qp_flash_read(&f, 0, img2, sizeof img2), 0);
    qp_flash_close(&f);
    assert_memory_equal(img1, img2, sizeof img1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_gives_erased_flash_and_layout, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_contents_and_wear_survive_reopen, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_writes_are_not_cached, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_headers_are_detected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_geometry_must_match, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_and_read_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_flag_and_bad_create, setup, teardown),
        cmocka_unit_test_setup_teardown(test_provision, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_backend_keeps_the_torn_state, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
