// Unit tests for littlefs v2 superblock expansion (SPEC-fs §9.7): with block_cycles, when
// pair {0, 1} (the superblock, and the root until then) is due to move for wear and the file
// system is under half full, its entries move to a new pair that becomes the root, and
// {0, 1} keeps only the superblock entry and a hard tail to it. Checked on the image with the
// test's own decoder (lfs2_superblock_pairs), across remounts and open handles; no expansion
// over half full; littlefs v1 (which has no expansion) keeps its layout.
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "fs_testutil.h"

static bool same_pair(const uint32_t a[2], const uint32_t b[2]) {
    return (a[0] == b[0] && a[1] == b[1]) || (a[0] == b[1] && a[1] == b[0]);
}

static bool root_is_sb(const qp_fs_t *fs) {
    static const uint32_t sb[2] = {0, 1};
    return same_pair(fs->root, sb);
}

// Rewrites small (inline in v2) files of the root until {0, 1} stops being the root, at most
// `max` times; returns how many it took (max: never).
static int churn_root_until_expanded(qp_fs_t *fs, int max) {
    int i = 0;
    for (; i < max && (!fs_is_v2() || root_is_sb(fs)); i++) {
        char p[16];
        snprintf(p, sizeof(p), "/r%d", i % 4);
        write_pattern(fs, p, 16, (uint32_t)i);
    }
    return i;
}

// An erased flash of `blocks` blocks, formatted and mounted with block_cycles `cycles`.
static void open_cycles(tdev_t *d, qp_fs_t *fs, const fs_geom_t *g, uint32_t blocks,
                        int32_t cycles) {
    tdev_open(d, g, blocks);
    d->cfg.block_cycles = cycles;
    tdev_format_mount(d, fs);
}

static void check_churned(qp_fs_t *fs, int n) {
    for (int i = n - 4 < 0 ? 0 : n - 4; i < n; i++) {
        char p[16];
        snprintf(p, sizeof(p), "/r%d", i % 4);
        check_pattern(fs, p, 16, (uint32_t)i);
    }
}

static void test_expands_when_worn(void **state) {
    (void)state;
    // The EC600S geometry compacts on every commit; 256-byte units append many first.
    const size_t geoms[] = {0, 3};
    const int max_writes[] = {20, 400};
    for (size_t g = 0; g < 2; g++) {
        tdev_t d;
        qp_fs_t fs;
        open_cycles(&d, &fs, &fs_geoms[geoms[g]], 64, 3);
        write_pattern(&fs, "/big", 9000, 1); // a CTZ file: 3 blocks
        int n = churn_root_until_expanded(&fs, max_writes[g]);
        if (!fs_is_v2()) {
            // v1: the same churn leaves the superblock pair pointing at a root pair and
            // takes no extra blocks.
            assert_int_equal(qp_fs_size(&fs), fs_empty_blocks() + 3 + 4);
            qp_fs_unmount(&fs);
            tdev_close(&d);
            continue;
        }
        assert_true(n < max_writes[g]);
        // On the image: {0, 1} holds only the superblock entry, hard-tailed to the root,
        // which is where we keep writing.
        uint32_t root[2];
        assert_int_equal(lfs2_superblock_pairs(&d, root), 1);
        assert_true(same_pair(root, fs.root));
        // Two more blocks than before: {0, 1}, the root pair, the CTZ file.
        assert_int_equal(qp_fs_size(&fs), 4 + 3);
        assert_int_equal(count_entries(&fs, "/"), 1 + (n < 4 ? n : 4));
        qp_fs_unmount(&fs);
        // A fresh mount finds the root by following the tail.
        assert_int_equal(qp_fs_mount(&fs, &d.cfg), 0);
        assert_true(same_pair(fs.root, root));
        check_pattern(&fs, "/big", 9000, 1);
        check_churned(&fs, n);
        assert_int_equal(qp_fs_size(&fs), 4 + 3);
        qp_fs_unmount(&fs);
        tdev_close(&d);
    }
}

static void test_mount_after_expansions(void **state) {
    // Keep going after the first expansion: the root moves for wear (re-pointing the tail of
    // {0, 1}), until {0, 1} wears again and a second superblock-only pair joins the chain.
    // Open handles (a file, a listing of the root) follow every move.
    (void)state;
    if (!fs_is_v2()) {
        skip();
    }
    tdev_t d;
    qp_fs_t fs;
    open_cycles(&d, &fs, &fs_geoms[0], 128, 3);
    assert_int_equal(qp_fs_mkdir(&fs, "/d"), 0);
    write_pattern(&fs, "/d/f", 5000, 2);
    write_pattern(&fs, "/open", 8, 3);
    qp_fs_file_t f;
    assert_int_equal(qp_fs_file_open(&fs, &f, "/open", QP_FS_O_RDWR | QP_FS_O_APPEND), 0);
    qp_fs_dir_t dir;
    assert_int_equal(qp_fs_dir_open(&fs, &dir, "/"), 0);
    int n = 0, pairs = 0;
    for (; n < 400 && pairs < 2; n++) {
        char p[16];
        snprintf(p, sizeof(p), "/r%d", n % 4);
        write_pattern(&fs, p, 16, (uint32_t)n);
        pairs = lfs2_superblock_pairs(&d, NULL);
    }
    assert_int_equal(pairs, 2);
    // The file handle still appends to its entry, the listing still sees every entry.
    assert_int_equal(qp_fs_file_write(&fs, &f, "+more", 5), 5);
    assert_int_equal(qp_fs_file_close(&fs, &f), 0);
    qp_fs_info_t info;
    int seen = 0, err;
    while ((err = qp_fs_dir_read(&fs, &dir, &info)) == 1) {
        seen++;
    }
    assert_int_equal(err, 0);
    assert_int_equal(seen, 6); // d, open, r0..r3
    qp_fs_dir_close(&fs, &dir);
    // 3 pairs on the chain + /d's pair + /d/f's 2 blocks.
    assert_int_equal(qp_fs_size(&fs), 6 + 2 + 2);
    uint32_t root[2];
    assert_int_equal(lfs2_superblock_pairs(&d, root), 2);
    qp_fs_unmount(&fs);
    assert_int_equal(qp_fs_mount(&fs, &d.cfg), 0);
    assert_true(same_pair(fs.root, root));
    check_pattern(&fs, "/d/f", 5000, 2);
    check_churned(&fs, n);
    uint8_t buf[16];
    assert_int_equal(qp_fs_file_open(&fs, &f, "/open", QP_FS_O_RDONLY), 0);
    assert_int_equal(qp_fs_file_read(&fs, &f, buf, sizeof(buf)), 13);
    assert_memory_equal(buf + 8, "+more", 5);
    assert_int_equal(qp_fs_file_close(&fs, &f), 0);
    // New entries, removals and a new directory still work in the moved root.
    assert_int_equal(qp_fs_mkdir(&fs, "/e"), 0);
    assert_int_equal(qp_fs_rename(&fs, "/d/f", "/e/f"), 0);
    assert_int_equal(qp_fs_remove(&fs, "/d"), 0);
    qp_fs_unmount(&fs);
    assert_int_equal(qp_fs_mount(&fs, &d.cfg), 0);
    check_pattern(&fs, "/e/f", 5000, 2);
    assert_int_equal(count_entries(&fs, "/"), 6);
    qp_fs_unmount(&fs);
    tdev_close(&d);
}

static void test_no_expansion_over_half_full(void **state) {
    // The blocks an expansion takes never come back, so a file system at half full or more
    // compacts {0, 1} in place; once space is freed the next due compaction expands.
    (void)state;
    if (!fs_is_v2()) {
        skip();
    }
    tdev_t d;
    qp_fs_t fs;
    open_cycles(&d, &fs, &fs_geoms[0], 32, 3);
    write_pattern(&fs, "/big", 15 * 4096, 1); // 16 blocks with {0, 1}: half
    assert_true(qp_fs_size(&fs) >= 16);
    int n = churn_root_until_expanded(&fs, 40);
    assert_int_equal(n, 40);
    assert_int_equal(lfs2_superblock_pairs(&d, NULL), 0);
    assert_true(root_is_sb(&fs));
    assert_int_equal(qp_fs_remove(&fs, "/big"), 0);
    n = churn_root_until_expanded(&fs, 40);
    assert_true(n < 40);
    assert_int_equal(lfs2_superblock_pairs(&d, NULL), 1);
    qp_fs_unmount(&fs);
    assert_int_equal(qp_fs_mount(&fs, &d.cfg), 0);
    check_churned(&fs, n);
    qp_fs_unmount(&fs);
    tdev_close(&d);
}

static void test_no_expansion_without_block_cycles(void **state) {
    // No block_cycles, no wear moves: {0, 1} stays the root however often it is written.
    (void)state;
    tdev_t d;
    qp_fs_t fs;
    open_cycles(&d, &fs, &fs_geoms[0], 32, 0);
    int n = churn_root_until_expanded(&fs, 60);
    if (fs_is_v2()) {
        assert_int_equal(n, 60);
        assert_int_equal(lfs2_superblock_pairs(&d, NULL), 0);
    }
    assert_int_equal(qp_fs_size(&fs), fs_empty_blocks() + (fs_is_v2() ? 0 : 4));
    qp_fs_unmount(&fs);
    tdev_close(&d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expands_when_worn),
        cmocka_unit_test(test_mount_after_expansions),
        cmocka_unit_test(test_no_expansion_over_half_full),
        cmocka_unit_test(test_no_expansion_without_block_cycles),
    };
    return FS_RUN_TESTS(tests);
}
