// Unit tests for a device's storage (qp_storage.h): the factory flash in the littlefs
// versions the profile asks for, the boot's fallback (v1, then v2, then a format in the
// configured version, with `formatted` set), and the calls behind uos.VfsLfs1/VfsLfs2,
// uos.mount and uos.umount with MicroPython's errnos, on a device directory in /tmp.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "qp/qp_err.h"
#include "qp/qp_storage.h"

#include "../qp_testdir.h"

static const qp_storage_format_t usr_v2 = {QP_FS_DISK_VERSION_LFS2, QP_FS_DISK_VERSION_LFS1};

static void open_device(qp_storage_t *st, unsigned flags, const qp_storage_format_t *fmt) {
    char msg[512] = "";
    int err = qp_storage_open(st, tmpdir, flags, fmt, msg, sizeof msg);
    if (err < 0) {
        fail_msg("qp_storage_open: %d %s", err, msg);
    }
}

static void test_create_in_profile_versions(void **state) {
    (void)state;
    char msg[512];
    assert_int_equal(qp_storage_create(tmpdir, NULL, 0, &usr_v2, msg, sizeof msg), 0);
    qp_storage_t st;
    open_device(&st, 0, NULL);
    assert_int_equal(st.usr.fs.disk_version, QP_FS_DISK_VERSION_LFS2);
    assert_int_equal(st.bak.fs.disk_version, QP_FS_DISK_VERSION_LFS1);
    assert_false(st.usr.formatted);
    qp_storage_close(&st);
}

// Erases the first blocks of customer_fs (as a bad download leaves it) and closes.
static void erase_usr(qp_storage_t *st) {
    assert_int_equal(qp_flash_part_erase(&st->usr.part, 0, 2 * QP_STORAGE_BLOCK_SIZE), 0);
    qp_storage_close(st);
}

static void test_boot_fallback_and_format(void **state) {
    (void)state;
    char msg[512];
    // A v2 /usr on a device whose profile says v1 mounts as it is.
    assert_int_equal(qp_storage_create(tmpdir, NULL, 0, &usr_v2, msg, sizeof msg), 0);
    qp_storage_t st;
    open_device(&st, QP_STORAGE_FORMAT_IF_EMPTY, NULL);
    assert_int_equal(st.usr.fs.disk_version, QP_FS_DISK_VERSION_LFS2);
    assert_false(st.usr.formatted);
    // Neither version: an error unless formatting is asked for, then the configured one.
    erase_usr(&st);
    assert_int_equal(qp_storage_open(&st, tmpdir, 0, NULL, msg, sizeof msg), QP_ERR_CORRUPT);
    assert_string_equal(msg, "customer_fs (/usr): cannot mount: corrupt data (failed "
                             "integrity check) (no valid littlefs v1 or v2 file system)");
    open_device(&st, QP_STORAGE_FORMAT_IF_EMPTY, &usr_v2);
    assert_true(st.usr.formatted);
    assert_false(st.bak.formatted);
    assert_int_equal(st.usr.fs.disk_version, QP_FS_DISK_VERSION_LFS2);
    erase_usr(&st);
    open_device(&st, QP_STORAGE_FORMAT_IF_EMPTY, NULL);
    assert_true(st.usr.formatted);
    assert_int_equal(st.usr.fs.disk_version, QP_FS_DISK_VERSION_LFS1);
    qp_storage_close(&st);
}

static void test_script_mounts(void **state) {
    (void)state;
    char msg[512];
    assert_int_equal(qp_storage_create(tmpdir, NULL, 0, NULL, msg, sizeof msg), 0);
    qp_storage_t st;
    open_device(&st, QP_STORAGE_BAK_READONLY, NULL);
    qp_storage_volume_t *v = NULL, *w = NULL;
    assert_int_equal(qp_storage_volume_find(&st, "customer_fs", 1, &v), 0);
    assert_ptr_equal(v, &st.usr);
    assert_int_equal(qp_storage_volume_find(&st, "customer_fs", 2, &w), -ENODEV);
    assert_int_equal(qp_storage_volume_find(&st, "ext_fs", 1, &w), -ENODEV);
    assert_null(w);
    assert_int_equal(qp_storage_mount(&st, v, 1, "/usr", 0), QP_ERR_PERM);
    assert_int_equal(qp_storage_mount(&st, v, 1, "/", 0), QP_ERR_PERM);
    assert_int_equal(qp_storage_mount(&st, v, 1, "usr2", 0), QP_ERR_INVAL);
    assert_int_equal(qp_storage_mount(&st, v, 1, "/a/b", 0), QP_ERR_INVAL);
    assert_int_equal(qp_storage_mount(&st, v, 2, "/usr2", 0), -ENODEV);
    // A second mount shares the file system.
    assert_int_equal(qp_storage_mount(&st, v, 1, "/usr2", 0), 0);
    assert_int_equal(qp_vfs_mkdir(&st.vfs, "/usr/d"), 0);
    qp_vfs_stat_t vs;
    assert_int_equal(qp_vfs_stat(&st.vfs, "/usr2/d", &vs), 0);
    assert_int_equal(qp_storage_mkfs(&st, "customer_fs", 2), QP_ERR_BUSY);
    assert_int_equal(qp_storage_umount(&st, "/usr2"), 0);
    assert_int_equal(qp_storage_umount(&st, "/usr2"), QP_ERR_INVAL);
    assert_int_equal(qp_storage_umount(&st, "usr"), QP_ERR_INVAL);
    assert_int_equal(qp_storage_mkfs(&st, "customer_fs", 2), QP_ERR_BUSY); // still at /usr
    assert_int_equal(qp_storage_mkfs(&st, "ext_fs", 2), -ENODEV);
    // /usr as v2: the v1 handle no longer mounts; a v2 one does, empty.
    assert_int_equal(qp_storage_umount(&st, "/usr"), 0);
    assert_int_equal(qp_storage_mkfs(&st, "customer_fs", 2), 0);
    assert_int_equal(qp_storage_mount(&st, v, 1, "/usr", 0), -ENODEV);
    assert_int_equal(qp_storage_volume_find(&st, "customer_fs", 2, &w), 0);
    assert_int_equal(qp_storage_mount(&st, w, 2, "/usr", 0), 0);
    assert_int_equal(qp_vfs_stat(&st.vfs, "/usr/d", &vs), QP_ERR_NOENT);
    assert_int_equal(qp_vfs_mkdir(&st.vfs, "/usr/e"), 0);
    qp_storage_close(&st);
    // The next boot finds the v2 file system.
    open_device(&st, 0, NULL);
    assert_int_equal(st.usr.fs.disk_version, QP_FS_DISK_VERSION_LFS2);
    assert_int_equal(qp_vfs_stat(&st.vfs, "/usr/e", &vs), 0);
    qp_storage_close(&st);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_in_profile_versions, make_tmpdir,
                                        remove_tmpdir),
        cmocka_unit_test_setup_teardown(test_boot_fallback_and_format, make_tmpdir,
                                        remove_tmpdir),
        cmocka_unit_test_setup_teardown(test_script_mounts, make_tmpdir, remove_tmpdir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
