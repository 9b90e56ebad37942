// Unit tests for the module's namespace: path resolution, mounts, the current directory,
// the root's listing, read-only mounts, no unmounting under open handles and MicroPython's
// error codes, over two littlefs volumes on a RAM flash.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "qp/qp_err.h"
#include "qp/qp_flash.h"
#include "qp/qp_vfs.h"

typedef struct {
    qp_flash_t flash;
    qp_flash_part_t part[2];
    qp_flash_bd_t bd[2];
    struct qp_fs_config cfg[2];
    qp_fs_t fs[2];
    qp_vfs_t vfs;
} world_t;

static int setup(void **state) {
    static world_t w;
    memset(&w, 0, sizeof w);
    qp_flash_init(&w.flash);
    if (qp_flash_open_ram(&w.flash, &(qp_flash_config_t){.size = 64 * 4096}) < 0) {
        return -1;
    }
    for (int i = 0; i < 2; i++) {
        qp_flash_part_init(&w.part[i], &w.flash, (uint32_t)i * 32 * 4096, 32 * 4096);
        qp_flash_bd_init(&w.bd[i], &w.part[i], 4096);
        struct qp_fs_config *c = &w.cfg[i];
        c->context = &w.bd[i];
        c->read = qp_flash_bd_read;
        c->prog = qp_flash_bd_prog;
        c->erase = qp_flash_bd_erase;
        c->sync = qp_flash_bd_sync;
        c->read_size = c->prog_size = c->block_size = c->cache_size = 4096;
        c->block_count = 32;
        if (qp_fs_format(&w.fs[i], c) < 0 || qp_fs_mount(&w.fs[i], c) < 0) {
            return -1;
        }
    }
    qp_vfs_init(&w.vfs);
    qp_vfs_mount(&w.vfs, "usr", &w.fs[0], 0);
    qp_vfs_mount(&w.vfs, "bak", &w.fs[1], QP_VFS_MOUNT_READONLY);
    *state = &w;
    return 0;
}

static int teardown(void **state) {
    world_t *w = *state;
    qp_fs_unmount(&w->fs[0]);
    qp_fs_unmount(&w->fs[1]);
    qp_flash_close(&w->flash);
    return 0;
}

static void expect_resolve(qp_vfs_t *vfs, const char *path, const char *want) {
    char out[QP_VFS_PATH_MAX];
    assert_int_equal(qp_vfs_resolve(vfs, path, out, sizeof out), 0);
    assert_string_equal(out, want);
}

static void test_resolve(void **state) {
    world_t *w = *state;
    expect_resolve(&w->vfs, "/", "/");
    expect_resolve(&w->vfs, "", "/");
    expect_resolve(&w->vfs, "usr/", "/usr");
    expect_resolve(&w->vfs, "//usr///a//", "/usr/a");
    expect_resolve(&w->vfs, "/usr/./a/../b", "/usr/b");
    expect_resolve(&w->vfs, "/..", "/");
    expect_resolve(&w->vfs, "/usr/../../..", "/");
    assert_int_equal(qp_vfs_chdir(&w->vfs, "/usr"), 0);
    expect_resolve(&w->vfs, "a.py", "/usr/a.py");
    expect_resolve(&w->vfs, "..", "/");
    expect_resolve(&w->vfs, "../bak/x", "/bak/x");
    char small[8];
    assert_int_equal(qp_vfs_resolve(&w->vfs, "/usr/abcdefgh", small, sizeof small),
                     QP_ERR_NAMETOOLONG);
    char longpath[600];
    memset(longpath, 'a', sizeof longpath - 1);
    longpath[sizeof longpath - 1] = '\0';
    char out[QP_VFS_PATH_MAX];
    assert_int_equal(qp_vfs_resolve(&w->vfs, longpath, out, sizeof out), QP_ERR_NAMETOOLONG);
}

static void test_cwd(void **state) {
    world_t *w = *state;
    assert_string_equal(qp_vfs_getcwd(&w->vfs), "/");
    assert_int_equal(qp_vfs_chdir(&w->vfs, "/usr"), 0);
    assert_int_equal(qp_vfs_mkdir(&w->vfs, "QuecPython"), 0);
    assert_int_equal(qp_vfs_chdir(&w->vfs, "QuecPython"), 0);
    assert_string_equal(qp_vfs_getcwd(&w->vfs), "/usr/QuecPython");
    assert_int_equal(qp_vfs_chdir(&w->vfs, "missing"), QP_ERR_NOENT);
    qp_vfs_file_t f = {0};
    assert_int_equal(qp_vfs_file_open(&w->vfs, &f, "test.py", QP_FS_O_WRONLY | QP_FS_O_CREAT,
                                      NULL), 0);
    assert_int_equal(qp_vfs_file_close(&w->vfs, &f), 0);
    // chdir to a file: ENOENT, as the firmware says
    assert_int_equal(qp_vfs_chdir(&w->vfs, "test.py"), QP_ERR_NOENT);
    assert_string_equal(qp_vfs_getcwd(&w->vfs), "/usr/QuecPython");
    assert_int_equal(qp_vfs_chdir(&w->vfs, "/"), 0);
    assert_int_equal(qp_vfs_chdir(&w->vfs, "/nowhere"), QP_ERR_NOENT);
}

static void test_root(void **state) {
    world_t *w = *state;
    qp_vfs_dir_t d;
    qp_fs_info_t info;
    assert_int_equal(qp_vfs_dir_open(&w->vfs, &d, "/"), 0);
    assert_int_equal(qp_vfs_dir_read(&w->vfs, &d, &info), 1);
    assert_string_equal(info.name, "usr");
    assert_int_equal(info.type, QP_FS_TYPE_DIR);
    assert_int_equal(qp_vfs_dir_read(&w->vfs, &d, &info), 1);
    assert_string_equal(info.name, "bak");
    assert_int_equal(qp_vfs_dir_read(&w->vfs, &d, &info), 0);
    qp_vfs_dir_close(&w->vfs, &d);
    qp_vfs_stat_t st;
    assert_int_equal(qp_vfs_stat(&w->vfs, "/", &st), 0);
    assert_int_equal(st.type, QP_FS_TYPE_DIR);
    assert_int_equal(qp_vfs_stat(&w->vfs, "/usr", &st), 0);
    assert_int_equal(st.type, QP_FS_TYPE_DIR);
    assert_int_equal(qp_vfs_stat(&w->vfs, "/other", &st), QP_ERR_NOENT);
    assert_int_equal(qp_vfs_mkdir(&w->vfs, "/new"), QP_ERR_PERM);
    assert_int_equal(qp_vfs_mkdir(&w->vfs, "/usr"), QP_ERR_EXIST);
    assert_int_equal(qp_vfs_mkdir(&w->vfs, "/"), QP_ERR_EXIST);
    assert_int_equal(qp_vfs_remove(&w->vfs, "/usr"), QP_ERR_PERM);
    qp_vfs_file_t f = {0};
    assert_int_equal(qp_vfs_file_open(&w->vfs, &f, "/x.txt", QP_FS_O_WRONLY | QP_FS_O_CREAT,
                                      NULL), QP_ERR_PERM);
    assert_int_equal(qp_vfs_file_open(&w->vfs, &f, "/x.txt", QP_FS_O_RDONLY, NULL),
                     QP_ERR_NOENT);
    assert_int_equal(qp_vfs_file_open(&w->vfs, &f, "/usr", QP_FS_O_RDONLY, NULL),
                     QP_ERR_ISDIR);
    qp_vfs_statvfs_t sv;
    assert_int_equal(qp_vfs_statvfs(&w->vfs, "/usr", &sv), 0);
    assert_int_equal(sv.block_size, 4096);
    assert_int_equal(sv.blocks, 32);
    assert_true(sv.blocks_free > 0 && sv.blocks_free < 32);
}

static void test_files_and_readonly(void **state) {
    world_t *w = *state;
    qp_vfs_file_t f = {0};
    assert_int_equal(qp_vfs_file_open(&w->vfs, &f, "/usr/a.txt",
                                      QP_FS_O_RDWR | QP_FS_O_CREAT, NULL), 0);
    assert_int_equal(qp_vfs_file_write(&w->vfs, &f, "quectel", 7), 7);
    assert_int_equal(qp_vfs_file_seek(&w->vfs, &f, 0, QP_FS_SEEK_SET), 0);
    char buf[16] = {0};
    assert_int_equal(qp_vfs_file_read(&w->vfs, &f, buf, sizeof buf), 7);
    assert_string_equal(buf, "quectel");
    assert_int_equal(qp_vfs_file_size(&w->vfs, &f), 7);
    assert_int_equal(qp_vfs_file_close(&w->vfs, &f), 0);
    assert_int_equal(qp_vfs_file_read(&w->vfs, &f, buf, 1), QP_ERR_BADF);
    qp_vfs_stat_t st;
    assert_int_equal(qp_vfs_stat(&w->vfs, "usr/a.txt", &st), 0);
    assert_int_equal(st.size, 7);
    // /bak is read-only: reads work, every change is EROFS
    assert_int_equal(qp_vfs_file_open(&w->vfs, &f, "/bak/a.txt",
                                      QP_FS_O_WRONLY | QP_FS_O_CREAT, NULL), QP_ERR_ROFS);
    assert_int_equal(qp_vfs_mkdir(&w->vfs, "/bak/d"), QP_ERR_ROFS);
    assert_int_equal(qp_vfs_remove(&w->vfs, "/bak/a.txt"), QP_ERR_ROFS);
    assert_int_equal(qp_vfs_file_open(&w->vfs, &f, "/bak/a.txt", QP_FS_O_RDONLY, NULL),
                     QP_ERR_NOENT);
    // rename within a mount works; across mounts is EPERM (EROFS first for /bak)
    assert_int_equal(qp_vfs_rename(&w->vfs, "/usr/a.txt", "/usr/b.txt"), 0);
    assert_int_equal(qp_vfs_stat(&w->vfs, "/usr/a.txt", &st), QP_ERR_NOENT);
    assert_int_equal(qp_vfs_rename(&w->vfs, "/usr/b.txt", "/bak/b.txt"), QP_ERR_ROFS);
    assert_int_equal(qp_vfs_umount(&w->vfs, "bak"), 0);
    assert_int_equal(qp_vfs_mount(&w->vfs, "bak", &w->fs[1], 0), 0);
    assert_int_equal(qp_vfs_rename(&w->vfs, "/usr/b.txt", "/bak/b.txt"), QP_ERR_PERM);
    // rmdir on a file; remove on an empty directory
    assert_int_equal(qp_vfs_rmdir(&w->vfs, "/usr/b.txt"), QP_ERR_NOTDIR);
    assert_int_equal(qp_vfs_mkdir(&w->vfs, "/usr/d"), 0);
    assert_int_equal(qp_vfs_remove(&w->vfs, "/usr/d"), 0);
    assert_int_equal(qp_vfs_remove(&w->vfs, "/usr/b.txt"), 0);
}

static void test_mount_table(void **state) {
    world_t *w = *state;
    assert_int_equal(qp_vfs_mount(&w->vfs, "usr", &w->fs[0], 0), QP_ERR_EXIST);
    assert_int_equal(qp_vfs_mount(&w->vfs, "a/b", &w->fs[0], 0), QP_ERR_INVAL);
    assert_int_equal(qp_vfs_mount(&w->vfs, "", &w->fs[0], 0), QP_ERR_INVAL);
    assert_int_equal(qp_vfs_mount(&w->vfs, "m1", &w->fs[0], 0), 0);
    assert_int_equal(qp_vfs_mount(&w->vfs, "m2", &w->fs[0], 0), 0);
    assert_int_equal(qp_vfs_mount(&w->vfs, "m3", &w->fs[0], 0), QP_ERR_NOSPC);
    assert_int_equal(qp_vfs_chdir(&w->vfs, "/m1"), 0);
    assert_int_equal(qp_vfs_umount(&w->vfs, "m1"), 0);
    assert_string_equal(qp_vfs_getcwd(&w->vfs), "/");
    assert_int_equal(qp_vfs_umount(&w->vfs, "m1"), QP_ERR_NOENT);
    assert_int_equal(qp_vfs_umount(&w->vfs, "m2"), 0);
    // Open handles reach their file system through the mount: it stays while they are open.
    qp_vfs_file_t f;
    memset(&f, 0, sizeof f);
    assert_int_equal(qp_vfs_file_open(&w->vfs, &f, "/usr/busy.txt",
                                      QP_FS_O_WRONLY | QP_FS_O_CREAT, NULL), 0);
    assert_int_equal(qp_vfs_umount(&w->vfs, "usr"), QP_ERR_BUSY);
    assert_int_equal(qp_vfs_file_close(&w->vfs, &f), 0);
    qp_vfs_dir_t d;
    assert_int_equal(qp_vfs_dir_open(&w->vfs, &d, "/usr"), 0);
    assert_int_equal(qp_vfs_umount(&w->vfs, "usr"), QP_ERR_BUSY);
    assert_int_equal(qp_vfs_dir_close(&w->vfs, &d), 0);
    assert_int_equal(qp_vfs_umount(&w->vfs, "usr"), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_resolve, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cwd, setup, teardown),
        cmocka_unit_test_setup_teardown(test_root, setup, teardown),
        cmocka_unit_test_setup_teardown(test_files_and_readonly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mount_table, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
