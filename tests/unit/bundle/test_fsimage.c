// Unit tests for littlefs images in memory (qp_fsimage.h): geometry checks, an image
// built in a buffer mounts again from its bytes, and qp_fsimage_check accepts exactly
// the images the module would mount in a partition of that size (on a copy: the input
// is never changed), littlefs v1 and v2 alike (the version is detected on reading).
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "qp/qp_bundle.h"
#include "qp/qp_err.h"
#include "qp/qp_fs.h"
#include "qp/qp_fsimage.h"

static void test_init_geometry(void **state) {
    (void)state;
    uint8_t buf[8];
    qp_fsimage_t img;
    assert_int_equal(qp_fsimage_init(&img, buf, &(qp_fsimage_geometry_t){.size = 40960}), 0);
    assert_int_equal(img.cfg.block_size, 4096);
    assert_int_equal(img.cfg.read_size, 4096);
    assert_int_equal(img.cfg.prog_size, 4096);
    assert_int_equal(img.cfg.block_count, 10);
    assert_int_equal(qp_fsimage_init(&img, buf, &(qp_fsimage_geometry_t){.size = 5000}),
                     QP_ERR_INVAL);
    assert_int_equal(qp_fsimage_init(&img, buf, &(qp_fsimage_geometry_t){0}), QP_ERR_INVAL);
    assert_int_equal(qp_fsimage_init(&img, buf, &(qp_fsimage_geometry_t){
                                         .size = 4096, .block_size = 64}),
                     QP_ERR_INVAL);
    assert_int_equal(qp_fsimage_init(&img, buf, &(qp_fsimage_geometry_t){
                                         .size = 8192, .block_size = 4096,
                                         .prog_size = 3000}),
                     QP_ERR_INVAL);
    assert_int_equal(qp_fsimage_init(&img, buf, &(qp_fsimage_geometry_t){
                                         .size = 8192, .disk_version = 0x00030000}),
                     QP_ERR_NOTSUP);
}

// An image of `blocks` 4096-byte blocks holding /a.txt = "hello", formatted as `version`
// (0: littlefs v1).
static uint8_t *make_image_version(uint32_t blocks, uint32_t version) {
    uint32_t size = blocks * 4096;
    uint8_t *data = malloc(size);
    assert_non_null(data);
    memset(data, 0xff, size);
    qp_fsimage_t img;
    assert_int_equal(qp_fsimage_init(&img, data, &(qp_fsimage_geometry_t){
                                         .size = size, .disk_version = version}), 0);
    qp_fs_t fs;
    memset(&fs, 0, sizeof fs);
    assert_int_equal(qp_fs_format(&fs, &img.cfg), 0);
    assert_int_equal(qp_fs_mount(&fs, &img.cfg), 0);
    qp_fs_file_t f;
    memset(&f, 0, sizeof f);
    assert_int_equal(qp_fs_file_open(&fs, &f, "/a.txt", QP_FS_O_WRONLY | QP_FS_O_CREAT), 0);
    assert_int_equal(qp_fs_file_write(&fs, &f, "hello", 5), 5);
    assert_int_equal(qp_fs_file_close(&fs, &f), 0);
    qp_fs_unmount(&fs);
    return data;
}

static uint8_t *make_image(uint32_t blocks) {
    return make_image_version(blocks, 0);
}

static void test_build_and_remount(void **state) {
    (void)state;
    uint8_t *data = make_image(16);
    qp_fsimage_t img;
    assert_int_equal(qp_fsimage_init(&img, data, &(qp_fsimage_geometry_t){.size = 65536}), 0);
    qp_fs_t fs;
    memset(&fs, 0, sizeof fs);
    assert_int_equal(qp_fs_mount(&fs, &img.cfg), 0);
    qp_fs_info_t info;
    assert_int_equal(qp_fs_stat(&fs, "/a.txt", &info), 0);
    assert_int_equal(info.size, 5);
    qp_fs_unmount(&fs);
    free(data);
}

static void test_check(void **state) {
    (void)state;
    uint8_t *data = make_image(16);
    uint8_t *copy = malloc(65536);
    memcpy(copy, data, 65536);
    const char *why = NULL;
    assert_int_equal(qp_fsimage_check(data, 65536, 0, &why), 0);
    assert_memory_equal(copy, data, 65536); // untouched
    assert_int_equal(qp_bundle_check_part("customer_fs", data, 65536, NULL), 0);
    assert_int_equal(qp_bundle_check_part("customer_backup_fs", data, 65536, NULL), 0);
    // The same bytes in a bigger partition: the superblock's block count is wrong there.
    uint8_t *bigger = malloc(65536 * 2);
    memset(bigger, 0xff, 65536 * 2);
    memcpy(bigger, data, 65536);
    why = NULL;
    assert_int_equal(qp_fsimage_check(bigger, 65536 * 2, 0, &why), QP_ERR_CORRUPT);
    assert_non_null(why);
    // Another block size.
    assert_int_equal(qp_fsimage_check(data, 65536, 8192, &why), QP_ERR_CORRUPT);
    // Not a whole number of blocks.
    assert_int_equal(qp_fsimage_check(data, 65000, 0, &why), QP_ERR_INVAL);
    assert_int_equal(qp_fsimage_check(data, 0, 0, &why), QP_ERR_INVAL);
    // Erased flash and garbage.
    memset(bigger, 0xff, 65536);
    assert_int_equal(qp_fsimage_check(bigger, 65536, 0, &why), QP_ERR_CORRUPT);
    for (size_t i = 0; i < 65536; i++) {
        bigger[i] = (uint8_t)(i * 2654435761u >> 13);
    }
    assert_int_equal(qp_fsimage_check(bigger, 65536, 0, &why), QP_ERR_CORRUPT);
    // Both superblock copies damaged.
    data[20] ^= 0x10;
    data[4096 + 20] ^= 0x10;
    assert_int_equal(qp_fsimage_check(data, 65536, 0, &why), QP_ERR_CORRUPT);
    free(bigger);
    free(copy);
    free(data);
}

// The on-disk version of the image in `data` as a detecting mount sees it, or an error.
static int64_t detected_version(uint8_t *data, uint32_t size, uint32_t want) {
    qp_fsimage_t img;
    assert_int_equal(qp_fsimage_init(&img, data, &(qp_fsimage_geometry_t){
                                         .size = size, .disk_version = want}), 0);
    qp_fs_t fs;
    memset(&fs, 0, sizeof fs);
    int err = qp_fs_mount(&fs, &img.cfg);
    if (err < 0) {
        return err;
    }
    qp_fs_fsinfo_t info;
    assert_int_equal(qp_fs_fsinfo(&fs, &info), 0);
    qp_fs_unmount(&fs);
    return info.disk_version;
}

// mklfs --lfs-version 2 and the boot's v2 fallback: a v2 image is accepted wherever a v1
// one is, a detecting mount says which version it is, and a version given on mount
// accepts only its own.
static void test_v2(void **state) {
    (void)state;
    uint8_t *v2 = make_image_version(16, QP_FS_DISK_VERSION_LFS2);
    uint8_t *v1 = make_image(16);
    const char *why = NULL;
    assert_int_equal(qp_fsimage_check(v2, 65536, 0, &why), 0);
    assert_int_equal(qp_bundle_check_part("customer_fs", v2, 65536, NULL), 0);
    assert_int_equal(detected_version(v2, 65536, 0), QP_FS_DISK_VERSION_LFS2);
    assert_int_equal(detected_version(v1, 65536, 0), QP_FS_DISK_VERSION_LFS1);
    assert_int_equal(detected_version(v2, 65536, QP_FS_DISK_VERSION_LFS1), QP_ERR_CORRUPT);
    assert_int_equal(detected_version(v1, 65536, QP_FS_DISK_VERSION_LFS2), QP_ERR_CORRUPT);
    // The v2 superblock's block count must match the partition too.
    uint8_t *bigger = malloc(65536 * 2);
    memset(bigger, 0xff, 65536 * 2);
    memcpy(bigger, v2, 65536);
    assert_int_equal(qp_fsimage_check(bigger, 65536 * 2, 0, &why), QP_ERR_CORRUPT);
    assert_string_equal(why, "its superblock's geometry does not match the partition");
    free(bigger);
    free(v1);
    free(v2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_geometry),
        cmocka_unit_test(test_build_and_remount),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_v2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
