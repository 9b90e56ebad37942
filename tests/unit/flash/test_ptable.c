// Unit tests for the partition table (SPEC-partitions §3): the default EC600S layout and its
// overrides, validation, writing and reading it back, detection of a damaged table, and the
// partition views with their bounds checks.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "flash_test.h"

#define SECTOR 4096u

static void test_default_layout(void **state) {
    (void)state;
    qp_flash_ptable_t t;
    assert_int_equal(qp_flash_layout_ec600s(&t, NULL), 0);
    assert_int_equal(qp_flash_ptable_validate(&t), 0);
    assert_int_equal(t.flash_size, 16u * 1024 * 1024);
    assert_int_equal(t.sector_size, SECTOR);
    assert_int_equal(t.count, 5);
    // §3.4: in address order from 0.
    static const struct {
        const char *name;
        uint32_t offset, size;
    } want[] = {
        {"ptable", 0, 4096},
        {"firmware", 4096, 4194304},
        {"fota_pkg", 4198400, 2097152},
        {"customer_fs", 6295552, 5242880},
        {"customer_backup_fs", 11538432, 204800},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const qp_flash_part_entry_t *e = qp_flash_ptable_find(&t, want[i].name);
        assert_non_null(e);
        assert_ptr_equal(e, &t.parts[i]);
        assert_int_equal(e->offset, want[i].offset);
        assert_int_equal(e->size, want[i].size);
    }
    assert_true(qp_flash_ptable_find(&t, "customer_backup_fs")->flags &
                QP_FLASH_PART_F_READONLY);
    assert_false(qp_flash_ptable_find(&t, "customer_fs")->flags & QP_FLASH_PART_F_READONLY);
    assert_null(qp_flash_ptable_find(&t, "nvm"));
    assert_null(qp_flash_ptable_find(&t, "customer"));
}

static void test_layout_overrides(void **state) {
    (void)state;
    qp_flash_ptable_t t;
    qp_flash_layout_opts_t o = {0};
    o.flash_size = 4u * 1024 * 1024;
    o.firmware_size = 64 * SECTOR;
    o.fota_pkg_size = 32 * SECTOR;
    o.customer_fs_size = 512 * SECTOR;
    o.customer_backup_fs_size = 16 * SECTOR;
    assert_int_equal(qp_flash_layout_ec600s(&t, &o), 0);
    assert_int_equal(t.flash_size, 4u * 1024 * 1024);
    assert_int_equal(qp_flash_ptable_find(&t, "customer_fs")->size, 512 * SECTOR);
    assert_int_equal(qp_flash_ptable_find(&t, "customer_backup_fs")->offset,
                     (1 + 64 + 32 + 512) * SECTOR);
    // Not a sector multiple.
    o.customer_fs_size = 5000000;
    assert_int_equal(qp_flash_layout_ec600s(&t, &o), QP_ERR_INVAL);
    // Does not fit: the default 5 MB customer_fs in a 4 MiB flash.
    o.customer_fs_size = 0;
    assert_int_equal(qp_flash_layout_ec600s(&t, &o), QP_ERR_NOSPC);
    // A smaller sector size works if every size is a multiple of it.
    qp_flash_layout_opts_t small = {0};
    small.sector_size = 1024;
    assert_int_equal(qp_flash_layout_ec600s(&t, &small), 0);
    assert_int_equal(qp_flash_ptable_find(&t, "firmware")->offset, 1024);
    small.sector_size = 3000;
    assert_int_equal(qp_flash_layout_ec600s(&t, &small), QP_ERR_INVAL);
}

static void test_validation_rules(void **state) {
    (void)state;
    qp_flash_ptable_t good, t;
    assert_int_equal(qp_flash_layout_ec600s(&good, NULL), 0);

    t = good; // overlap
    t.parts[2].offset -= SECTOR;
    assert_int_equal(qp_flash_ptable_validate(&t), QP_ERR_INVAL);
    t = good; // duplicate name
    strcpy(t.parts[3].name, "fota_pkg");
    assert_int_equal(qp_flash_ptable_validate(&t), QP_ERR_INVAL);
    t = good; // empty name
    t.parts[3].name[0] = '\0';
    assert_int_equal(qp_flash_ptable_validate(&t), QP_ERR_INVAL);
    t = good; // name without terminator
    memset(t.parts[3].name, 'x', sizeof t.parts[3].name);
    assert_int_equal(qp_flash_ptable_validate(&t), QP_ERR_INVAL);
    t = good; // unaligned
    t.parts[4].offset += 1;
    assert_int_equal(qp_flash_ptable_validate(&t), QP_ERR_INVAL);
    t = good; // past the end of the flash
    t.parts[4].size = t.flash_size;
    assert_int_equal(qp_flash_ptable_validate(&t), QP_ERR_INVAL);
    t = good; // no ptable entry
    strcpy(t.parts[0].name, "boot");
    assert_int_equal(qp_flash_ptable_validate(&t), QP_ERR_INVAL);
    t = good;
    t.count = QP_FLASH_PTABLE_MAX + 1;
    assert_int_equal(qp_flash_ptable_validate(&t), QP_ERR_INVAL);
    t = good; // a hole between partitions is fine
    t.parts[4].offset += SECTOR;
    assert_int_equal(qp_flash_ptable_validate(&t), 0);
}

static void open_flash(qp_flash_t *f, uint32_t size) {
    ft_open_ram(f, size, 0);
}

static void small_layout(qp_flash_ptable_t *t) {
    ft_small_layout(t);
}

static void test_write_and_read_back(void **state) {
    (void)state;
    qp_flash_t f;
    open_flash(&f, 64 * SECTOR);
    qp_flash_ptable_t t, back;
    assert_int_equal(qp_flash_ptable_read(&f, &back), QP_ERR_NOENT); // blank flash
    small_layout(&t);
    assert_int_equal(qp_flash_ptable_write(&f, &t), 0);
    memset(&back, 0xA5, sizeof back);
    assert_int_equal(qp_flash_ptable_read(&f, &back), 0);
    assert_int_equal(back.count, t.count);
    assert_int_equal(back.flash_size, t.flash_size);
    assert_int_equal(back.sector_size, t.sector_size);
    for (uint32_t i = 0; i < t.count; i++) {
        assert_string_equal(back.parts[i].name, t.parts[i].name);
        assert_int_equal(back.parts[i].offset, t.parts[i].offset);
        assert_int_equal(back.parts[i].size, t.parts[i].size);
        assert_int_equal(back.parts[i].flags, t.parts[i].flags);
    }
    // Rewriting it (erase + program) works, and costs exactly two operations.
    uint64_t before = qp_flash_op_count(&f);
    assert_int_equal(qp_flash_ptable_write(&f, &t), 0);
    assert_int_equal(qp_flash_op_count(&f) - before, 2);
    // A table for another flash size is refused.
    qp_flash_ptable_t big;
    assert_int_equal(qp_flash_layout_ec600s(&big, NULL), 0);
    assert_int_equal(qp_flash_ptable_write(&f, &big), QP_ERR_INVAL);
    qp_flash_close(&f);
}

// Rewrites the first flash sector with `img` changed at byte `at` by clearing `clear` bits.
static void damage(qp_flash_t *f, const uint8_t *img, uint32_t len, uint32_t at,
                   uint8_t clear) {
    uint8_t copy[1024];
    memcpy(copy, img, len);
    copy[at] &= (uint8_t)~clear;
    assert_int_equal(qp_flash_erase(f, 0, SECTOR), 0);
    assert_int_equal(qp_flash_program(f, 0, copy, len), 0);
}

static void test_corrupt_table_is_detected(void **state) {
    (void)state;
    qp_flash_t f;
    open_flash(&f, 64 * SECTOR);
    qp_flash_ptable_t t, back;
    small_layout(&t);
    assert_int_equal(qp_flash_ptable_write(&f, &t), 0);
    uint8_t img[1024];
    uint32_t len = 32 + 5 * 48 + 4; // §3.1: header, 5 entries, CRC
    assert_int_equal(qp_flash_read(&f, 0, img, sizeof img), 0);
    assert_int_equal(img[len], 0xFF); // nothing after the CRC

    // A bit cleared anywhere in the table or its CRC is caught.
    for (uint32_t at = 0; at < len; at += 7) {
        uint8_t bit = (uint8_t)(1u << (at % 8));
        if (!(img[at] & bit)) {
            continue; // already 0 there; clearing it changes nothing
        }
        damage(&f, img, len, at, bit);
        int err = qp_flash_ptable_read(&f, &back);
        assert_true(err == QP_ERR_CORRUPT || err == QP_ERR_NOTSUP);
    }
    // Another major version reads as unsupported (CRC not even consulted).
    damage(&f, img, len, 4, 0x01); // major 1 -> 0
    assert_int_equal(qp_flash_ptable_read(&f, &back), QP_ERR_NOTSUP);
    // A torn table write: only the first half made it.
    assert_int_equal(qp_flash_erase(&f, 0, SECTOR), 0);
    assert_int_equal(qp_flash_program(&f, 0, img, len / 2), 0);
    assert_int_equal(qp_flash_ptable_read(&f, &back), QP_ERR_CORRUPT);
    // Garbage that is not erased and has no magic.
    assert_int_equal(qp_flash_erase(&f, 0, SECTOR), 0);
    uint8_t junk[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    assert_int_equal(qp_flash_program(&f, 0, junk, sizeof junk), 0);
    assert_int_equal(qp_flash_ptable_read(&f, &back), QP_ERR_CORRUPT);
    // The same table on a flash of another size does not describe it.
    qp_flash_t g;
    open_flash(&g, 128 * SECTOR);
    assert_int_equal(qp_flash_program(&g, 0, img, len), 0);
    assert_int_equal(qp_flash_ptable_read(&g, &back), QP_ERR_CORRUPT);
    qp_flash_close(&g);
    qp_flash_close(&f);
}

static void test_partition_views(void **state) {
    (void)state;
    qp_flash_t f;
    open_flash(&f, 64 * SECTOR);
    qp_flash_ptable_t t;
    small_layout(&t);
    assert_int_equal(qp_flash_ptable_write(&f, &t), 0);

    qp_flash_part_t fs, bak;
    assert_int_equal(qp_flash_part_open(&fs, &f, &t, "customer_fs"), 0);
    assert_int_equal(qp_flash_part_open(&bak, &f, &t, "customer_backup_fs"), 0);
    assert_int_equal(qp_flash_part_open(&bak, &f, &t, "nope"), QP_ERR_NOENT);
    assert_int_equal(fs.size, 32 * SECTOR);
    assert_true(bak.flags & QP_FLASH_PART_F_READONLY);

    // Relative addressing: offset 0 of the view is the partition's first byte.
    uint8_t v = 0x42, out = 0;
    assert_int_equal(qp_flash_part_program(&fs, 0, &v, 1), 0);
    assert_int_equal(qp_flash_read(&f, fs.offset, &out, 1), 0);
    assert_int_equal(out, 0x42);
    assert_int_equal(qp_flash_part_read(&fs, 0, &out, 1), 0);
    assert_int_equal(out, 0x42);

    // Bounds: nothing may leave the partition, even where the flash continues.
    uint8_t buf[8] = {0};
    assert_int_equal(qp_flash_part_read(&fs, fs.size - 4, buf, 8), QP_ERR_RANGE);
    assert_int_equal(qp_flash_part_program(&fs, fs.size, buf, 1), QP_ERR_RANGE);
    assert_int_equal(qp_flash_part_erase(&fs, fs.size - SECTOR, 2 * SECTOR), QP_ERR_RANGE);
    assert_int_equal(qp_flash_part_read(&fs, UINT32_MAX, buf, 2), QP_ERR_RANGE);
    assert_int_equal(qp_flash_part_erase(&fs, 1, SECTOR), QP_ERR_INVAL);
    assert_int_equal(qp_flash_part_erase(&fs, fs.size - SECTOR, SECTOR), 0);
    // Erasing the whole customer_fs leaves its neighbours (and the table) alone.
    assert_int_equal(qp_flash_part_erase(&fs, 0, fs.size), 0);
    qp_flash_ptable_t back;
    assert_int_equal(qp_flash_ptable_read(&f, &back), 0);

    // Arbitrary views.
    qp_flash_part_t all;
    assert_int_equal(qp_flash_part_init(&all, &f, 0, f.size), 0);
    assert_int_equal(qp_flash_part_init(&all, &f, SECTOR, f.size), QP_ERR_RANGE);
    assert_int_equal(qp_flash_part_init(&all, &f, 100, SECTOR), QP_ERR_INVAL);
    assert_int_equal(qp_flash_part_init(&all, &f, 0, 0), QP_ERR_INVAL);
    qp_flash_close(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_layout),
        cmocka_unit_test(test_layout_overrides),
        cmocka_unit_test(test_validation_rules),
        cmocka_unit_test(test_write_and_read_back),
        cmocka_unit_test(test_corrupt_table_is_detected),
        cmocka_unit_test(test_partition_views),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
