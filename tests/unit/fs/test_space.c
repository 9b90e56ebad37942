// Unit tests for space: ENOSPC on a full flash with the earlier data intact and the FS
// still usable, fs size accounting, bad blocks (relocation of metadata pairs and file
// blocks), and block_cycles moving metadata pairs to spread wear.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs_testutil.h"

static void test_full_flash(void **state) {
    (void)state;
    for (size_t g = 0; g < fs_ngeoms; g++) {
        tdev_t d;
        qp_fs_t fs;
        tdev_open(&d, &fs_geoms[g], 24);
        tdev_format_mount(&d, &fs);
        // Fill with 2-block files until the flash is full.
        int n = 0;
        for (;; n++) {
            char p[16];
            snprintf(p, sizeof(p), "/f%d", n);
            uint8_t buf[6000];
            fill_pattern(buf, sizeof(buf), (uint32_t)n);
            qp_fs_file_t f;
            int err = qp_fs_file_open(&fs, &f, p, QP_FS_O_WRONLY | QP_FS_O_CREAT);
            if (err == 0) {
                int w = qp_fs_file_write(&fs, &f, buf, sizeof(buf));
                err = qp_fs_file_close(&fs, &f);
                if (w < 0) {
                    err = w;
                }
            }
            if (err < 0) {
                assert_int_equal(err, QP_ERR_NOSPC);
                break;
            }
        }
        assert_true(n >= 8);
        assert_true(qp_fs_size(&fs) >= 22);
        for (int i = 0; i < n; i++) {
            char p[16];
            snprintf(p, sizeof(p), "/f%d", i);
            check_pattern(&fs, p, 6000, (uint32_t)i);
        }
        // The failed file is either absent or empty: never half-written.
        char last[16];
        snprintf(last, sizeof(last), "/f%d", n);
        qp_fs_info_t info;
        int err = qp_fs_stat(&fs, last, &info);
        assert_true(err == QP_ERR_NOENT || (err == 0 && info.size == 0));
        assert_int_equal(qp_fs_mkdir(&fs, "/more"), QP_ERR_NOSPC);
        // Renames and removes need no new blocks; after a remove there is room again.
        assert_int_equal(qp_fs_rename(&fs, "/f0", "/g0"), 0);
        assert_int_equal(qp_fs_remove(&fs, "/f1"), 0);
        qp_fs_remove(&fs, last);
        write_pattern(&fs, "/h", 6000, 77);
        qp_fs_unmount(&fs);
        assert_int_equal(qp_fs_mount(&fs, &d.cfg), 0);
        check_pattern(&fs, "/g0", 6000, 0);
        check_pattern(&fs, "/h", 6000, 77);
        for (int i = 2; i < n; i++) {
            char p[16];
            snprintf(p, sizeof(p), "/f%d", i);
            check_pattern(&fs, p, 6000, (uint32_t)i);
        }
        qp_fs_unmount(&fs);
        tdev_close(&d);
    }
}

static void test_bad_blocks(void **state) {
    (void)state;
    for (size_t g = 0; g < fs_ngeoms; g++) {
        tdev_t d;
        qp_fs_t fs;
        tdev_open(&d, &fs_geoms[g], 32);
        tdev_format_mount(&d, &fs);
        // The root pair is {3, 2}; its next commit erases block 2, which has gone bad: the
        // pair moves and the superblock is updated to point at it.
        d.bad_block = 2;
        write_pattern(&fs, "/a", 10000, 1);
        assert_int_equal(qp_fs_mkdir(&fs, "/d"), 0);
        write_pattern(&fs, "/d/b", 100, 2);
        assert_true(fs.root[0] != 2 && fs.root[1] != 2);
        qp_fs_unmount(&fs);
        assert_int_equal(qp_fs_mount(&fs, &d.cfg), 0);
        check_pattern(&fs, "/a", 10000, 1);
        check_pattern(&fs, "/d/b", 100, 2);
        // A bad block in the middle of the allocator's path: file data goes elsewhere.
        d.bad_block = 20;
        for (int i = 0; i < 5; i++) {
            write_pattern(&fs, "/a", 20000, (uint32_t)(10 + i));
        }
        check_pattern(&fs, "/a", 20000, 14);
        // The superblock itself cannot move: the FS reports it rather than lose it.
        d.bad_block = 0;
        qp_fs_unmount(&fs);
        assert_int_equal(qp_fs_mount(&fs, &d.cfg), 0);
        check_pattern(&fs, "/d/b", 100, 2);
        qp_fs_unmount(&fs);
        tdev_close(&d);
    }
}

static void test_block_cycles_spread_wear(void **state) {
    (void)state;
    uint32_t max_wear[2];
    for (int cycles = 0; cycles < 2; cycles++) {
        tdev_t d;
        qp_fs_t fs;
        tdev_open(&d, &fs_geoms[0], 64);
        d.cfg.block_cycles = cycles ? 8 : 0;
        tdev_format_mount(&d, &fs);
        assert_int_equal(qp_fs_mkdir(&fs, "/d"), 0);
        for (int i = 0; i < 300; i++) {
            write_pattern(&fs, "/d/f", 10, (uint32_t)i);
        }
        qp_fs_unmount(&fs);
        assert_int_equal(qp_fs_mount(&fs, &d.cfg), 0);
        check_pattern(&fs, "/d/f", 10, 299);
        // Nothing leaked by the moves: /d's pair, and its 10-byte file (inline in v2); in v2
        // the root's commits (re-pointing /d) wore {0, 1} and expanded the superblock.
        assert_int_equal(qp_fs_size(&fs), fs_empty_blocks_of(&d) + 2 + (fs_is_v2() ? 0 : 1));
        qp_fs_unmount(&fs);
        qp_flash_wear_summary(&d.flash, NULL, &max_wear[cycles], NULL);
        tdev_close(&d);
    }
    // Without block_cycles each block of /d's pair takes every other commit.
    print_message("max erases per block: %u without block_cycles, %u with 8\n", max_wear[0], max_wear[1]);
    assert_true(max_wear[0] >= 140);
    assert_true(max_wear[1] * 3 < max_wear[0]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_flash),
        cmocka_unit_test(test_bad_blocks),
        cmocka_unit_test(test_block_cycles_spread_wear),
    };
    return FS_RUN_TESTS(tests);
}
