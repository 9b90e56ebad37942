// Unit tests for file operations over every geometry: open flags, read/write/seek/tell/size,
// files larger than the caches and spanning many CTZ blocks, overwrites in the middle,
// append, truncate (shrink and grow), sync visibility, and handle misuse.
#include <stdlib.h>
#include <string.h>

#include "fs_testutil.h"

static void test_open_flags(void **state) {
    (void)state;
    for (size_t g = 0; g < fs_ngeoms; g++) {
        tdev_t d;
        qp_fs_t fs;
        qp_fs_file_t f;
        tdev_open(&d, &fs_geoms[g], 32);
        tdev_format_mount(&d, &fs);
        assert_int_equal(qp_fs_file_open(&fs, &f, "/a", QP_FS_O_RDONLY), QP_ERR_NOENT);
        assert_int_equal(qp_fs_file_open(&fs, &f, "/a", 0), QP_ERR_INVAL);
        assert_int_equal(qp_fs_file_open(&fs, &f, "/a", QP_FS_O_RDWR | 0x10), QP_ERR_INVAL);
        assert_int_equal(qp_fs_file_open(&fs, &f, "/no/a", QP_FS_O_WRONLY | QP_FS_O_CREAT),
                         QP_ERR_NOENT);
        assert_int_equal(qp_fs_file_open(&fs, &f, "/a", QP_FS_O_WRONLY | QP_FS_O_CREAT), 0);
        assert_int_equal(qp_fs_file_write(&fs, &f, "abc", 3), 3);
        assert_int_equal(qp_fs_file_read(&fs, &f, (char[4]){0}, 3), QP_ERR_BADF);
        assert_int_equal(qp_fs_file_close(&fs, &f), 0);
        assert_int_equal(qp_fs_file_open(&fs, &f, "/a",
                                         QP_FS_O_WRONLY | QP_FS_O_CREAT | QP_FS_O_EXCL),
                         QP_ERR_EXIST);
        assert_int_equal(qp_fs_file_open(&fs, &f, "/a", QP_FS_O_RDONLY), 0);
        assert_int_equal(qp_fs_file_write(&fs, &f, "x", 1), QP_ERR_BADF);
        assert_int_equal(qp_fs_file_truncate(&fs, &f, 0), QP_ERR_BADF);
        assert_int_equal(qp_fs_file_close(&fs, &f), 0);
        assert_int_equal(qp_fs_file_close(&fs, &f), 0); // closing twice is harmless
        assert_int_equal(qp_fs_file_read(&fs, &f, (char[4]){0}, 3), QP_ERR_BADF);
        // TRUNC empties, APPEND writes at the end whatever the position.
        assert_int_equal(qp_fs_file_open(&fs, &f, "/a", QP_FS_O_WRONLY | QP_FS_O_APPEND), 0);
        assert_int_equal(qp_fs_file_seek(&fs, &f, 0, QP_FS_SEEK_SET), 0);
        assert_int_equal(qp_fs_file_write(&fs, &f, "de", 2), 2);
        assert_int_equal(qp_fs_file_tell(&fs, &f), 5);
        assert_int_equal(qp_fs_file_close(&fs, &f), 0);
        check_file(&fs, "/a", (const uint8_t *)"abcde", 5);
        assert_int_equal(qp_fs_file_open(&fs, &f, "/a", QP_FS_O_RDWR | QP_FS_O_TRUNC), 0);
        assert_int_equal(qp_fs_file_size(&fs, &f), 0);
        assert_int_equal(qp_fs_file_close(&fs, &f), 0);
        check_file(&fs, "/a", NULL, 0);
        // Directories are not files.
        assert_int_equal(qp_fs_mkdir(&fs, "/d"), 0);
        assert_int_equal(qp_fs_file_open(&fs, &f, "/d", QP_FS_O_RDONLY), QP_ERR_ISDIR);
        assert_int_equal(qp_fs_file_open(&fs, &f, "/", QP_FS_O_RDONLY), QP_ERR_ISDIR);
        assert_int_equal(qp_fs_file_open(&fs, &f, "/a/b", QP_FS_O_RDONLY), QP_ERR_NOTDIR);
        qp_fs_unmount(&fs);
        tdev_close(&d);
    }
}

static void test_large_files(void **state) {
    // Sizes around block boundaries (the CTZ pointers shift where data starts) and well
    // past any cache, written in odd-sized pieces and read back in other pieces.
    (void)state;
    static const size_t sizes[] = {1, 4095, 4096, 4097, 8185, 8186, 8187, 40000, 150000};
    for (size_t g = 0; g < fs_ngeoms; g++) {
        tdev_t d;
        qp_fs_t fs;
        tdev_open(&d, &fs_geoms[g], 128);
        tdev_format_mount(&d, &fs);
        for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
            size_t len = sizes[s];
            uint8_t *buf = malloc(len);
            fill_pattern(buf, len, (uint32_t)s);
            qp_fs_file_t f;
            assert_int_equal(qp_fs_file_open(&fs, &f, "/big",
                                             QP_FS_O_WRONLY | QP_FS_O_CREAT | QP_FS_O_TRUNC),
                             0);
            for (size_t off = 0; off < len;) {
                size_t n = len - off < 777 ? len - off : 777;
                assert_int_equal(qp_fs_file_write(&fs, &f, buf + off, n), (int)n);
                off += n;
            }
            assert_int_equal(qp_fs_file_close(&fs, &f), 0);
            check_file(&fs, "/big", buf, len);
            // Random-access reads.
            assert_int_equal(qp_fs_file_open(&fs, &f, "/big", QP_FS_O_RDONLY), 0);
            for (size_t k = 0; k < 20; k++) {
                size_t pos = (k * 7919) % len;
                uint8_t got[100];
                size_t want = len - pos < sizeof(got) ? len - pos : sizeof(got);
                assert_int_equal(qp_fs_file_seek(&fs, &f, (int32_t)pos, QP_FS_SEEK_SET),
                                 (int32_t)pos);
                assert_int_equal(qp_fs_file_read(&fs, &f, got, sizeof(got)), (int)want);
                assert_memory_equal(got, buf + pos, want);
            }
            assert_int_equal(qp_fs_file_close(&fs, &f), 0);
            free(buf);
        }
        // Everything but the last file's blocks went back to the allocator.
        assert_int_equal(qp_fs_size(&fs), fs_empty_blocks() + 37);
        qp_fs_unmount(&fs);
        assert_int_equal(qp_fs_mount(&fs, &d.cfg), 0);
        check_pattern(&fs, "/big", 150000, 8);
        qp_fs_unmount(&fs);
        tdev_close(&d);
    }
}

static void test_overwrite_seek_truncate(void **state) {
    (void)state;
    for (size_t g = 0; g < fs_ngeoms; g++) {
        tdev_t d;
        qp_fs_t fs;
        qp_fs_file_t f;
        tdev_open(&d, &fs_geoms[g], 64);
        tdev_format_mount(&d, &fs);
        size_t len = 20000;
        uint8_t *ref = malloc(len + 10000);
        fill_pattern(ref, len, 3);
        write_file(&fs, "/f", ref, len);
        // Overwrite a piece in the middle; the rest of the file is carried over.
        assert_int_equal(qp_fs_file_open(&fs, &f, "/f", QP_FS_O_RDWR), 0);
        assert_int_equal(qp_fs_file_seek(&fs, &f, 5000, QP_FS_SEEK_SET), 5000);
        memset(ref + 5000, 'x', 3000);
        assert_int_equal(qp_fs_file_write(&fs, &f, ref + 5000, 3000), 3000);
        assert_int_equal(qp_fs_file_tell(&fs, &f), 8000);
        assert_int_equal(qp_fs_file_size(&fs, &f), 20000);
        // Read back through the same handle (flushes the write first).
        uint8_t got[64];
        assert_int_equal(qp_fs_file_seek(&fs, &f, -10, QP_FS_SEEK_CUR), 7990);
        assert_int_equal(qp_fs_file_read(&fs, &f, got, 20), 20);
        assert_memory_equal(got, ref + 7990, 20);
        assert_int_equal(qp_fs_file_seek(&fs, &f, -4, QP_FS_SEEK_END), 19996);
        assert_int_equal(qp_fs_file_read(&fs, &f, got, 64), 4);
        assert_int_equal(qp_fs_file_read(&fs, &f, got, 64), 0);
        assert_int_equal(qp_fs_file_seek(&fs, &f, -1, QP_FS_SEEK_SET), QP_ERR_INVAL);
        assert_int_equal(qp_fs_file_seek(&fs, &f, 0, 7), QP_ERR_INVAL);
        assert_int_equal(qp_fs_file_close(&fs, &f), 0);
        check_file(&fs, "/f", ref, len);

        // Seeking past the end and writing leaves a zero-filled hole.
        assert_int_equal(qp_fs_file_open(&fs, &f, "/f", QP_FS_O_RDWR), 0);
        assert_int_equal(qp_fs_file_seek(&fs, &f, 25000, QP_FS_SEEK_SET), 25000);
        assert_int_equal(qp_fs_file_size(&fs, &f), 20000);
        assert_int_equal(qp_fs_file_write(&fs, &f, "end", 3), 3);
        assert_int_equal(qp_fs_file_close(&fs, &f), 0);
        memset(ref + 20000, 0, 5000);
        memcpy(ref + 25000, "end", 3);
        check_file(&fs, "/f", ref, 25003);

        // Truncate down to a block boundary and to an odd size, then grow with zeros.
        static const uint32_t cuts[] = {8188, 8187, 4096, 4095, 100, 0};
        for (size_t c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
            assert_int_equal(qp_fs_file_open(&fs, &f, "/f", QP_FS_O_RDWR), 0);
            assert_int_equal(qp_fs_file_seek(&fs, &f, 10, QP_FS_SEEK_SET), 10);
            assert_int_equal(qp_fs_file_truncate(&fs, &f, cuts[c]), 0);
            assert_int_equal(qp_fs_file_size(&fs, &f), (int32_t)cuts[c]);
            assert_int_equal(qp_fs_file_tell(&fs, &f), 10);
            assert_int_equal(qp_fs_file_close(&fs, &f), 0);
            check_file(&fs, "/f", ref, cuts[c]);
        }
        assert_int_equal(qp_fs_file_open(&fs, &f, "/f", QP_FS_O_RDWR), 0);
        assert_int_equal(qp_fs_file_write(&fs, &f, "ab", 2), 2);
        assert_int_equal(qp_fs_file_truncate(&fs, &f, 6000), 0);
        assert_int_equal(qp_fs_file_size(&fs, &f), 6000);
        assert_int_equal(qp_fs_file_close(&fs, &f), 0);
        memset(ref, 0, 6000);
        memcpy(ref, "ab", 2);
        check_file(&fs, "/f", ref, 6000);
        free(ref);
        qp_fs_unmount(&fs);
        tdev_close(&d);
    }
}

static void test_sync_and_two_handles(void **state) {
    // Data is durable after sync, not before: a remount without close shows the old state.
    (void)state;
    for (size_t g = 0; g < fs_ngeoms; g++) {
        tdev_t d;
        qp_fs_t fs;
        qp_fs_file_t f, r;
        tdev_open(&d, &fs_geoms[g], 32);
        tdev_format_mount(&d, &fs);
        write_file(&fs, "/s", (const uint8_t *)"old", 3);
        assert_int_equal(qp_fs_file_open(&fs, &f, "/s", QP_FS_O_RDWR | QP_FS_O_TRUNC), 0);
        assert_int_equal(qp_fs_file_write(&fs, &f, "new data", 8), 8);
        qp_fs_t fs2;
        assert_int_equal(qp_fs_mount(&fs2, &d.cfg), 0);
        check_file(&fs2, "/s", (const uint8_t *)"old", 3);
        qp_fs_unmount(&fs2);
        assert_int_equal(qp_fs_file_sync(&fs, &f), 0);
        assert_int_equal(qp_fs_mount(&fs2, &d.cfg), 0);
        check_file(&fs2, "/s", (const uint8_t *)"new data", 8);
        qp_fs_unmount(&fs2);
        // A second handle on another file in the same directory; both commit.
        assert_int_equal(qp_fs_file_open(&fs, &r, "/t", QP_FS_O_WRONLY | QP_FS_O_CREAT), 0);
        assert_int_equal(qp_fs_file_write(&fs, &r, "tt", 2), 2);
        assert_int_equal(qp_fs_file_write(&fs, &f, "!", 1), 1);
        assert_int_equal(qp_fs_file_close(&fs, &r), 0);
        assert_int_equal(qp_fs_file_close(&fs, &f), 0);
        check_file(&fs, "/s", (const uint8_t *)"new data!", 9);
        check_file(&fs, "/t", (const uint8_t *)"tt", 2);
        qp_fs_info_t info;
        assert_int_equal(qp_fs_stat(&fs, "/s", &info), 0);
        assert_int_equal(info.type, QP_FS_TYPE_REG);
        assert_int_equal(info.size, 9);
        assert_string_equal(info.name, "s");
        qp_fs_unmount(&fs);
        tdev_close(&d);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_flags),
        cmocka_unit_test(test_large_files),
        cmocka_unit_test(test_overwrite_seek_truncate),
        cmocka_unit_test(test_sync_and_two_handles),
    };
    return FS_RUN_TESTS(tests);
}
