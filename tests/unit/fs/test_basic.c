// Unit tests for format and mount: geometries, superblock checks, config validation,
// buffers supplied by the caller or by an allocator, and fs size/fsinfo on an empty FS.
#include <stdlib.h>
#include <string.h>

#include "fs_testutil.h"

static void test_format_mount_every_geometry(void **state) {
    (void)state;
    for (size_t g = 0; g < fs_ngeoms; g++) {
        tdev_t d;
        qp_fs_t fs;
        tdev_open(&d, &fs_geoms[g], 64);
        tdev_format_mount(&d, &fs);
        // An empty littlefs v1 uses the superblock pair and the root pair; v2 one pair.
        assert_int_equal(qp_fs_size(&fs), fs_empty_blocks());
        qp_fs_fsinfo_t info;
        assert_int_equal(qp_fs_fsinfo(&fs, &info), 0);
        assert_int_equal(info.disk_version, fs_version);
        assert_int_equal(info.block_size, 4096);
        assert_int_equal(info.block_count, 64);
        assert_int_equal(info.blocks_used, fs_empty_blocks());
        assert_int_equal(info.name_max, QP_FS_NAME_MAX);
        assert_int_equal(count_entries(&fs, "/"), 0);
        qp_fs_info_t st;
        assert_int_equal(qp_fs_stat(&fs, "/", &st), 0);
        assert_int_equal(st.type, QP_FS_TYPE_DIR);
        assert_int_equal(qp_fs_unmount(&fs), 0);
        // Mount again, and once more without telling the block count.
        assert_int_equal(qp_fs_mount(&fs, &d.cfg), 0);
        qp_fs_unmount(&fs);
        d.cfg.block_count = 0;
        assert_int_equal(qp_fs_mount(&fs, &d.cfg), 0);
        assert_int_equal(fs.block_count, 64);
        qp_fs_unmount(&fs);
        tdev_close(&d);
    }
}

static void test_superblock_layout(void **state) {
    // v1: blocks 0 and 1 both hold the superblock entry of SPEC.md: type 0x2e, 20 bytes of
    // data, root pair, block size, block count, version 1.1 and "littlefs" in place of a name.
    // v2: block 0 starts with revision 1, the superblock name tag (type 0x0ff, id 0, size 8,
    // stored big-endian XOR 0xffffffff) and "littlefs" at offset 8, then the inline-struct tag
    // with the version (2.1 or 2.0), block size, block count, name max, file max, attr max.
    (void)state;
    tdev_t d;
    qp_fs_t fs;
    tdev_open(&d, &fs_geoms[0], 32);
    assert_int_equal(qp_fs_format(&fs, &d.cfg), 0);
    if (fs_is_v2()) {
        const uint8_t *p = d.mem;
        assert_int_equal(p[0] | p[1] << 8, 1);
        uint32_t tag = ((uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 |
                        p[7]) ^ 0xffffffffu;
        assert_int_equal(tag, 0x0ff00008u);
        assert_memory_equal(p + 8, "littlefs", 8);
        uint32_t tag2 = ((uint32_t)p[16] << 24 | (uint32_t)p[17] << 16 |
                         (uint32_t)p[18] << 8 | p[19]) ^ tag;
        assert_int_equal(tag2, 0x20100018u); // inline struct, id 0, 24 bytes
        assert_int_equal(p[20] | p[22] << 16, fs_version);
        assert_int_equal(p[24] | p[25] << 8, 4096);
        assert_int_equal(p[28], 32);
        assert_int_equal(p[32], 255);
        assert_int_equal(d.mem[4096] & d.mem[4097] & d.mem[4098] & d.mem[4099], 0xff);
        tdev_close(&d);
        return;
    }
    for (int b = 0; b < 2; b++) {
        const uint8_t *p = d.mem + b * 4096;
        assert_int_equal(p[4], 52); // dir size: header 16 + entry 32 + CRC 4
        assert_int_equal(p[16], 0x2e);
        assert_int_equal(p[17], 20);
        assert_int_equal(p[19], 8);
        assert_int_equal(p[20], 3); // root pair {3, 2}, as littlefs lays it out
        assert_int_equal(p[24], 2);
        assert_int_equal(p[28] | p[29] << 8, 4096);
        assert_int_equal(p[32], 32);
        assert_int_equal(p[36] | p[38] << 16, 0x00010001);
        assert_memory_equal(p + 40, "littlefs", 8);
    }
    tdev_close(&d);
}

static void test_unformatted_and_mismatched(void **state) {
    (void)state;
    tdev_t d;
    qp_fs_t fs;
    tdev_open(&d, &fs_geoms[0], 32);
    assert_int_equal(qp_fs_mount(&fs, &d.cfg), QP_ERR_CORRUPT); // erased flash
    assert_int_equal(qp_fs_format(&fs, &d.cfg), 0);
    d.cfg.block_count = 31;
    assert_int_equal(qp_fs_mount(&fs, &d.cfg), QP_ERR_INVAL);
    d.cfg.block_count = 32;
    d.cfg.disk_version = 0x00030000;
    assert_int_equal(qp_fs_mount(&fs, &d.cfg), QP_ERR_NOTSUP);
    d.cfg.disk_version = fs_version;
    struct qp_fs_config bad = d.cfg;
    bad.prog_size = 3000;
    assert_int_equal(qp_fs_mount(&fs, &bad), QP_ERR_INVAL);
    bad = d.cfg;
    bad.cache_size = 100;
    assert_int_equal(qp_fs_mount(&fs, &bad), QP_ERR_INVAL);
    bad = d.cfg;
    bad.read = NULL;
    assert_int_equal(qp_fs_mount(&fs, &bad), QP_ERR_INVAL);
    bad = d.cfg;
    bad.block_count = 2;
    assert_int_equal(qp_fs_format(&fs, &bad), QP_ERR_INVAL);
    bad = d.cfg;
    bad.name_max = QP_FS_NAME_MAX + 1;
    assert_int_equal(qp_fs_mount(&fs, &bad), QP_ERR_INVAL);
    assert_int_equal(qp_fs_mount(NULL, &d.cfg), QP_ERR_INVAL);
    // A zeroed, never-mounted handle unmounts, and other calls on it are refused.
    qp_fs_t zero = {0};
    assert_int_equal(qp_fs_unmount(&zero), 0);
    assert_int_equal(qp_fs_mkdir(&zero, "/a"), QP_ERR_INVAL);
    assert_int_equal(qp_fs_size(&zero), QP_ERR_INVAL);
    tdev_close(&d);
}

struct counting_alloc {
    int live, total, fail_after;
};

static void *c_alloc(void *ctx, size_t size) {
    struct counting_alloc *a = ctx;
    if (a->fail_after >= 0 && a->total >= a->fail_after) {
        return NULL;
    }
    a->total++;
    a->live++;
    return malloc(size);
}

static void c_free(void *ctx, void *p) {
    struct counting_alloc *a = ctx;
    a->live--;
    free(p);
}

static void test_allocator_and_static_buffers(void **state) {
    (void)state;
    tdev_t d;
    qp_fs_t fs;
    tdev_open(&d, &fs_geoms[1], 32);
    struct counting_alloc a = {0, 0, -1};
    d.cfg.alloc = (qp_fs_alloc_t){c_alloc, c_free, &a};
    tdev_format_mount(&d, &fs);
    assert_int_equal(a.live, 3); // read cache, program cache, lookahead
    write_pattern(&fs, "/f", 100, 1);
    assert_int_equal(a.live, 3); // the file's cache was given back at close
    qp_fs_unmount(&fs);
    assert_int_equal(a.live, 0);
    // Every allocation failing in turn: NOMEM, and nothing leaks.
    for (int k = 0; k < 3; k++) {
        a = (struct counting_alloc){0, 0, k};
        assert_int_equal(qp_fs_mount(&fs, &d.cfg), QP_ERR_NOMEM);
        assert_int_equal(a.live, 0);
    }
    a = (struct counting_alloc){0, 0, 3};
    assert_int_equal(qp_fs_mount(&fs, &d.cfg), 0);
    qp_fs_file_t f;
    assert_int_equal(qp_fs_file_open(&fs, &f, "/f", QP_FS_O_RDONLY), QP_ERR_NOMEM);
    qp_fs_unmount(&fs);
    assert_int_equal(a.live, 0);

    // Everything from the caller: no allocator is ever called.
    static uint8_t rbuf[16], pbuf[16], lbuf[4], fbuf[16];
    a = (struct counting_alloc){0, 0, 0};
    d.cfg.read_buffer = rbuf;
    d.cfg.prog_buffer = pbuf;
    d.cfg.lookahead_buffer = lbuf;
    assert_int_equal(qp_fs_mount(&fs, &d.cfg), 0);
    struct qp_fs_file_config fcfg = {fbuf};
    assert_int_equal(qp_fs_file_opencfg(&fs, &f, "/g", QP_FS_O_RDWR | QP_FS_O_CREAT, &fcfg),
                     0);
    assert_int_equal(qp_fs_file_write(&fs, &f, "hello", 5), 5);
    assert_int_equal(qp_fs_file_close(&fs, &f), 0);
    char got[8] = {0};
    assert_int_equal(qp_fs_file_opencfg(&fs, &f, "/g", QP_FS_O_RDONLY, &fcfg), 0);
    assert_int_equal(qp_fs_file_read(&fs, &f, got, sizeof(got)), 5);
    assert_string_equal(got, "hello");
    assert_int_equal(qp_fs_file_close(&fs, &f), 0);
    qp_fs_unmount(&fs);
    assert_int_equal(a.total, 0);
    tdev_close(&d);
}

// disk_version 0 at mount finds the version the partition holds; asking for the other one
// finds no file system.
static void test_version_detection(void **state) {
    (void)state;
    static const uint32_t versions[] = {QP_FS_DISK_VERSION_LFS1, QP_FS_DISK_VERSION_LFS2,
                                        QP_FS_DISK_VERSION_LFS2_0};
    for (size_t v = 0; v < 3; v++) {
        tdev_t d;
        qp_fs_t fs;
        tdev_open(&d, &fs_geoms[fs_is_v2() ? 3 : 1], 32);
        d.cfg.disk_version = versions[v];
        assert_int_equal(qp_fs_format(&fs, &d.cfg), 0);
        assert_int_equal(qp_fs_mount(&fs, &d.cfg), 0);
        write_pattern(&fs, "/f", 5000, 3);
        qp_fs_unmount(&fs);
        d.cfg.disk_version = 0;
        assert_int_equal(qp_fs_mount(&fs, &d.cfg), 0);
        qp_fs_fsinfo_t info;
        assert_int_equal(qp_fs_fsinfo(&fs, &info), 0);
        assert_int_equal(info.disk_version, versions[v]);
        check_pattern(&fs, "/f", 5000, 3);
        write_pattern(&fs, "/g", 100, 4); // a v2.0 image stays v2.0
        qp_fs_unmount(&fs);
        d.cfg.disk_version = v == 0 ? QP_FS_DISK_VERSION_LFS2 : QP_FS_DISK_VERSION_LFS1;
        assert_int_equal(qp_fs_mount(&fs, &d.cfg), QP_ERR_CORRUPT);
        d.cfg.disk_version = v == 0 ? QP_FS_DISK_VERSION_LFS1 : QP_FS_DISK_VERSION_LFS2;
        assert_int_equal(qp_fs_mount(&fs, &d.cfg), 0);
        assert_int_equal(qp_fs_fsinfo(&fs, &info), 0);
        assert_int_equal(info.disk_version, versions[v]);
        check_pattern(&fs, "/g", 100, 4);
        qp_fs_unmount(&fs);
        tdev_close(&d);
    }
}

// Custom attributes: v2 keeps them with the entry (through renames and compactions); stat
// and dir_read report the mtime attribute; v1 has none.
static void test_attributes(void **state) {
    (void)state;
    tdev_t d;
    qp_fs_t fs;
    tdev_open(&d, &fs_geoms[1], 64);
    tdev_format_mount(&d, &fs);
    write_pattern(&fs, "/f", 10, 1);
    uint8_t t[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    if (!fs_is_v2()) {
        assert_int_equal(qp_fs_setattr(&fs, "/f", QP_FS_ATTR_MTIME, t, 8), QP_ERR_NOTSUP);
        assert_int_equal(qp_fs_getattr(&fs, "/f", QP_FS_ATTR_MTIME, t, 8), QP_ERR_NOTSUP);
        qp_fs_unmount(&fs);
        tdev_close(&d);
        return;
    }
    uint8_t got[16];
    assert_int_equal(qp_fs_getattr(&fs, "/f", QP_FS_ATTR_MTIME, got, 8), QP_ERR_NOENT);
    assert_int_equal(qp_fs_setattr(&fs, "/f", QP_FS_ATTR_MTIME, t, 8), 0);
    assert_int_equal(qp_fs_setattr(&fs, "/f", 0x74, "hello", 5), 0);
    assert_int_equal(qp_fs_setattr(&fs, "/nope", 0x74, "x", 1), QP_ERR_NOENT);
    uint8_t big[1100] = {0};
    assert_int_equal(qp_fs_setattr(&fs, "/f", 9, big, sizeof(big)), QP_ERR_RANGE);
    qp_fs_info_t info;
    assert_int_equal(qp_fs_stat(&fs, "/f", &info), 0);
    assert_true(info.mtime_ns == 0x0807060504030201ull);
    // More attribute types than a compaction keeps in RAM at once (8).
    for (uint8_t k = 10; k < 22; k++) {
        assert_int_equal(qp_fs_setattr(&fs, "/f", k, &k, 1), 0);
    }
    // Many commits later (compactions), after a rename and a remount: still there.
    for (int i = 0; i < 300; i++) {
        write_pattern(&fs, "/other", 40, (uint32_t)i);
    }
    assert_int_equal(qp_fs_mkdir(&fs, "/d"), 0);
    assert_int_equal(qp_fs_rename(&fs, "/f", "/d/g"), 0);
    qp_fs_unmount(&fs);
    assert_int_equal(qp_fs_mount(&fs, &d.cfg), 0);
    assert_int_equal(qp_fs_getattr(&fs, "/d/g", QP_FS_ATTR_MTIME, got, sizeof(got)), 8);
    assert_memory_equal(got, t, 8);
    assert_int_equal(qp_fs_getattr(&fs, "/d/g", 0x74, got, 3), 5);
    assert_memory_equal(got, "hel", 3);
    qp_fs_dir_t dir;
    assert_int_equal(qp_fs_dir_open(&fs, &dir, "/d"), 0);
    assert_int_equal(qp_fs_dir_read(&fs, &dir, &info), 1);
    assert_true(info.mtime_ns == 0x0807060504030201ull);
    qp_fs_dir_close(&fs, &dir);
    for (uint8_t k = 10; k < 22; k++) {
        assert_int_equal(qp_fs_getattr(&fs, "/d/g", k, got, 8), 1);
        assert_int_equal(got[0], k);
    }
    assert_int_equal(qp_fs_removeattr(&fs, "/d/g", 0x74), 0);
    assert_int_equal(qp_fs_getattr(&fs, "/d/g", 0x74, got, 8), QP_ERR_NOENT);
    check_pattern(&fs, "/d/g", 10, 1);
    qp_fs_unmount(&fs);
    tdev_close(&d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_mount_every_geometry),
        cmocka_unit_test(test_superblock_layout),
        cmocka_unit_test(test_unformatted_and_mismatched),
        cmocka_unit_test(test_allocator_and_static_buffers),
        cmocka_unit_test(test_version_detection),
        cmocka_unit_test(test_attributes),
    };
    return FS_RUN_TESTS(tests);
}
