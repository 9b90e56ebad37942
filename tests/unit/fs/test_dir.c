// Unit tests for directories and names over every geometry: mkdir, iteration and rewind,
// stat, remove (files, empty and non-empty directories), rename of files and directories
// within and across directories, replacing an existing file or empty directory, names of
// exactly name_max bytes, deep trees, many files in one directory (multi-pair
// directories), and path syntax ('.', '..', repeated slashes).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs_testutil.h"

static void test_mkdir_stat_iterate(void **state) {
    (void)state;
    for (size_t g = 0; g < fs_ngeoms; g++) {
        tdev_t d;
        qp_fs_t fs;
        tdev_open(&d, &fs_geoms[g], 64);
        tdev_format_mount(&d, &fs);
        assert_int_equal(qp_fs_mkdir(&fs, "/usr"), 0);
        assert_int_equal(qp_fs_mkdir(&fs, "/usr"), QP_ERR_EXIST);
        assert_int_equal(qp_fs_mkdir(&fs, "/"), QP_ERR_EXIST);
        assert_int_equal(qp_fs_mkdir(&fs, "/no/sub"), QP_ERR_NOENT);
        write_pattern(&fs, "/usr/a.py", 10, 1);
        assert_int_equal(qp_fs_mkdir(&fs, "/usr/a.py/x"), QP_ERR_NOTDIR);
        assert_int_equal(qp_fs_mkdir(&fs, "/usr/lib"), 0);
        write_pattern(&fs, "/usr/lib/b", 5000, 2);
        qp_fs_info_t info;
        assert_int_equal(qp_fs_stat(&fs, "/usr/lib", &info), 0);
        assert_int_equal(info.type, QP_FS_TYPE_DIR);
        assert_string_equal(info.name, "lib");
        assert_int_equal(qp_fs_stat(&fs, "//usr/./lib/../lib/b", &info), 0);
        assert_int_equal(info.type, QP_FS_TYPE_REG);
        assert_int_equal(info.size, 5000);
        assert_int_equal(qp_fs_stat(&fs, "/usr/nope", &info), QP_ERR_NOENT);
        assert_int_equal(qp_fs_stat(&fs, "/usr/a.py/x", &info), QP_ERR_NOTDIR);
        assert_int_equal(qp_fs_stat(&fs, "/../usr", &info), 0);

        qp_fs_dir_t dir;
        assert_int_equal(qp_fs_dir_open(&fs, &dir, "/usr/a.py"), QP_ERR_NOTDIR);
        assert_int_equal(qp_fs_dir_open(&fs, &dir, "/nope"), QP_ERR_NOENT);
        assert_int_equal(qp_fs_dir_open(&fs, &dir, "/usr"), 0);
        int seen = 0;
        for (int pass = 0; pass < 2; pass++) {
            int n = 0;
            while (qp_fs_dir_read(&fs, &dir, &info) == 1) {
                if (!strcmp(info.name, "a.py")) {
                    assert_int_equal(info.type, QP_FS_TYPE_REG);
                    assert_int_equal(info.size, 10);
                    seen |= 1;
                } else {
                    assert_string_equal(info.name, "lib");
                    assert_int_equal(info.type, QP_FS_TYPE_DIR);
                    seen |= 2;
                }
                n++;
            }
            assert_int_equal(n, 2);
            assert_int_equal(qp_fs_dir_read(&fs, &dir, &info), 0);
            assert_int_equal(qp_fs_dir_rewind(&fs, &dir), 0);
        }
        assert_int_equal(seen, 3);
        assert_int_equal(qp_fs_dir_close(&fs, &dir), 0);
        assert_int_equal(qp_fs_dir_read(&fs, &dir, &info), QP_ERR_BADF);
        qp_fs_dir_t never = {0};
        assert_int_equal(qp_fs_dir_close(&fs, &never), 0);
        qp_fs_unmount(&fs);
        tdev_close(&d);
    }
}

static void test_remove(void **state) {
    (void)state;
    for (size_t g = 0; g < fs_ngeoms; g++) {
        tdev_t d;
        qp_fs_t fs;
        tdev_open(&d, &fs_geoms[g], 64);
        tdev_format_mount(&d, &fs);
        int base = qp_fs_size(&fs);
        assert_int_equal(qp_fs_mkdir(&fs, "/d"), 0);
        write_pattern(&fs, "/d/f", 9000, 1);
        assert_int_equal(qp_fs_remove(&fs, "/d"), QP_ERR_NOTEMPTY);
        assert_int_equal(qp_fs_remove(&fs, "/"), QP_ERR_INVAL);
        assert_int_equal(qp_fs_remove(&fs, "/d/g"), QP_ERR_NOENT);
        assert_int_equal(qp_fs_remove(&fs, "/d/f"), 0);
        assert_int_equal(qp_fs_stat(&fs, "/d/f", &(qp_fs_info_t){0}), QP_ERR_NOENT);
        assert_int_equal(qp_fs_remove(&fs, "/d"), 0);
        assert_int_equal(count_entries(&fs, "/"), 0);
        assert_int_equal(qp_fs_size(&fs), base); // no block leaked
        // A file removed while open: writes to it go nowhere, nothing else breaks.
        qp_fs_file_t f;
        write_pattern(&fs, "/x", 100, 2);
        write_pattern(&fs, "/y", 100, 3);
        assert_int_equal(qp_fs_file_open(&fs, &f, "/y", QP_FS_O_RDWR), 0);
        assert_int_equal(qp_fs_remove(&fs, "/x"), 0); // shifts /y's entry
        assert_int_equal(qp_fs_file_write(&fs, &f, "Z", 1), 1);
        assert_int_equal(qp_fs_file_close(&fs, &f), 0);
        uint8_t ref[100];
        fill_pattern(ref, 100, 3);
        ref[0] = 'Z';
        check_file(&fs, "/y", ref, 100);
        qp_fs_unmount(&fs);
        assert_int_equal(qp_fs_mount(&fs, &d.cfg), 0);
        check_file(&fs, "/y", ref, 100);
        qp_fs_unmount(&fs);
        tdev_close(&d);
    }
}

static void test_rename(void **state) {
    (void)state;
    for (size_t g = 0; g < fs_ngeoms; g++) {
        tdev_t d;
        qp_fs_t fs;
        qp_fs_info_t info;
        tdev_open(&d, &fs_geoms[g], 64);
        tdev_format_mount(&d, &fs);
        int base = qp_fs_size(&fs);
        assert_int_equal(qp_fs_mkdir(&fs, "/a"), 0);
        assert_int_equal(qp_fs_mkdir(&fs, "/b"), 0);
        write_pattern(&fs, "/a/f", 6000, 1);
        write_pattern(&fs, "/a/g", 10, 2);
        // Within a directory, across directories, onto itself.
        assert_int_equal(qp_fs_rename(&fs, "/a/f", "/a/f2"), 0);
        assert_int_equal(qp_fs_rename(&fs, "/a/f2", "/b/f3"), 0);
        assert_int_equal(qp_fs_rename(&fs, "/b/f3", "/b/f3"), 0);
        check_pattern(&fs, "/b/f3", 6000, 1);
        assert_int_equal(qp_fs_stat(&fs, "/a/f", &info), QP_ERR_NOENT);
        assert_int_equal(qp_fs_stat(&fs, "/a/f2", &info), QP_ERR_NOENT);
        // Replacing a file; type mismatches; missing source or parent.
        assert_int_equal(qp_fs_rename(&fs, "/a/g", "/b/f3"), 0);
        check_pattern(&fs, "/b/f3", 10, 2);
        assert_int_equal(count_entries(&fs, "/a"), 0);
        assert_int_equal(qp_fs_rename(&fs, "/b/f3", "/a"), QP_ERR_ISDIR);
        assert_int_equal(qp_fs_rename(&fs, "/a", "/b/f3"), QP_ERR_NOTDIR);
        assert_int_equal(qp_fs_rename(&fs, "/nope", "/x"), QP_ERR_NOENT);
        assert_int_equal(qp_fs_rename(&fs, "/b/f3", "/nope/x"), QP_ERR_NOENT);
        assert_int_equal(qp_fs_rename(&fs, "/", "/x"), QP_ERR_INVAL);
        // Directories: with content, across parents, into itself (refused), over an empty
        // directory (replaced) and over a non-empty one (refused).
        assert_int_equal(qp_fs_mkdir(&fs, "/a/sub"), 0);
        write_pattern(&fs, "/a/sub/h", 300, 3);
        assert_int_equal(qp_fs_rename(&fs, "/a", "/a/sub/a"), QP_ERR_INVAL);
        assert_int_equal(qp_fs_rename(&fs, "/a", "/b/a"), 0);
        check_pattern(&fs, "/b/a/sub/h", 300, 3);
        assert_int_equal(qp_fs_mkdir(&fs, "/e"), 0);
        assert_int_equal(qp_fs_rename(&fs, "/b/a", "/e"), 0);
        check_pattern(&fs, "/e/sub/h", 300, 3);
        assert_int_equal(qp_fs_mkdir(&fs, "/b/a"), 0);
        assert_int_equal(qp_fs_rename(&fs, "/b/a", "/e"), QP_ERR_NOTEMPTY);
        assert_int_equal(qp_fs_rename(&fs, "/e", "/e"), 0);
        // A file open across a rename keeps writing to the renamed entry.
        qp_fs_file_t f;
        assert_int_equal(qp_fs_file_open(&fs, &f, "/e/sub/h", QP_FS_O_WRONLY | QP_FS_O_TRUNC), 0);
        assert_int_equal(qp_fs_rename(&fs, "/e/sub/h", "/b/h"), 0);
        assert_int_equal(qp_fs_file_write(&fs, &f, "moved", 5), 5);
        assert_int_equal(qp_fs_file_close(&fs, &f), 0);
        check_file(&fs, "/b/h", (const uint8_t *)"moved", 5);
        assert_int_equal(qp_fs_stat(&fs, "/e/sub/h", &info), QP_ERR_NOENT);
        qp_fs_unmount(&fs);
        assert_int_equal(qp_fs_mount(&fs, &d.cfg), 0);
        check_file(&fs, "/b/h", (const uint8_t *)"moved", 5);
        check_pattern(&fs, "/b/f3", 10, 2);
        // Clean up everything: back to the empty block count.
        const char *rm[] = {"/b/h", "/b/f3", "/b/a", "/b", "/e/sub", "/e"};
        for (size_t i = 0; i < sizeof(rm) / sizeof(rm[0]); i++) {
            assert_int_equal(qp_fs_remove(&fs, rm[i]), 0);
        }
        assert_int_equal(qp_fs_size(&fs), base);
        qp_fs_unmount(&fs);
        tdev_close(&d);
    }
}

static void test_names_deep_and_many(void **state) {
    (void)state;
    for (size_t g = 0; g < fs_ngeoms; g++) {
        tdev_t d;
        qp_fs_t fs;
        tdev_open(&d, &fs_geoms[g], 256);
        tdev_format_mount(&d, &fs);
        int base = qp_fs_size(&fs);
        // name_max: accepted at the limit, refused past it.
        char path[600];
        path[0] = '/';
        memset(path + 1, 'n', QP_FS_NAME_MAX);
        path[QP_FS_NAME_MAX + 1] = 0;
        write_pattern(&fs, path, 33, 1);
        check_pattern(&fs, path, 33, 1);
        qp_fs_info_t info;
        assert_int_equal(qp_fs_stat(&fs, path, &info), 0);
        assert_int_equal(strlen(info.name), QP_FS_NAME_MAX);
        path[QP_FS_NAME_MAX + 1] = 'n';
        path[QP_FS_NAME_MAX + 2] = 0;
        assert_int_equal(qp_fs_mkdir(&fs, path), QP_ERR_NAMETOOLONG);
        // A smaller configured name_max.
        qp_fs_unmount(&fs);
        d.cfg.name_max = 8;
        assert_int_equal(qp_fs_mount(&fs, &d.cfg), 0);
        assert_int_equal(qp_fs_mkdir(&fs, "/123456789"), QP_ERR_NAMETOOLONG);
        assert_int_equal(qp_fs_mkdir(&fs, "/12345678"), 0);
        assert_int_equal(qp_fs_remove(&fs, "/12345678"), 0);
        qp_fs_unmount(&fs);
        d.cfg.name_max = 0;
        assert_int_equal(qp_fs_mount(&fs, &d.cfg), 0);
        path[QP_FS_NAME_MAX + 1] = 0;
        assert_int_equal(qp_fs_remove(&fs, path), 0);

        // A tree 20 levels deep.
        char deep[400] = "";
        for (int i = 0; i < 20; i++) {
            size_t n = strlen(deep);
            snprintf(deep + n, sizeof(deep) - n, "/d%d", i);
            assert_int_equal(qp_fs_mkdir(&fs, deep), 0);
        }
        strcat(deep, "/leaf");
        write_pattern(&fs, deep, 77, 2);
        check_pattern(&fs, deep, 77, 2);

        // 120 files with long names in one directory: several metadata pairs.
        assert_int_equal(qp_fs_mkdir(&fs, "/many"), 0);
        for (int i = 0; i < 120; i++) {
            char p[80];
            snprintf(p, sizeof(p), "/many/a_rather_long_file_name_number_%03d.txt", i);
            write_pattern(&fs, p, (size_t)i, (uint32_t)i);
        }
        assert_int_equal(count_entries(&fs, "/many"), 120);
        for (int i = 0; i < 120; i += 2) {
            char p[80];
            snprintf(p, sizeof(p), "/many/a_rather_long_file_name_number_%03d.txt", i);
            assert_int_equal(qp_fs_remove(&fs, p), 0);
        }
        qp_fs_unmount(&fs);
        assert_int_equal(qp_fs_mount(&fs, &d.cfg), 0);
        assert_int_equal(count_entries(&fs, "/many"), 60);
        for (int i = 1; i < 120; i += 2) {
            char p[80];
            snprintf(p, sizeof(p), "/many/a_rather_long_file_name_number_%03d.txt", i);
            check_pattern(&fs, p, (size_t)i, (uint32_t)i);
            assert_int_equal(qp_fs_remove(&fs, p), 0);
        }
        assert_int_equal(qp_fs_remove(&fs, "/many"), 0);
        assert_int_equal(qp_fs_remove(&fs, deep), 0);
        for (int i = 19; i >= 0; i--) {
            *strrchr(deep, '/') = 0;
            assert_int_equal(qp_fs_remove(&fs, deep), 0);
        }
        assert_int_equal(qp_fs_size(&fs), base);
        qp_fs_unmount(&fs);
        tdev_close(&d);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mkdir_stat_iterate),
        cmocka_unit_test(test_remove),
        cmocka_unit_test(test_rename),
        cmocka_unit_test(test_names_deep_and_many),
    };
    return FS_RUN_TESTS(tests);
}
