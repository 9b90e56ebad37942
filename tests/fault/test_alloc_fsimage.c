// Allocation-failure sweep of what mklfs does through the libraries: a littlefs image built
// in memory (qp_fsimage over qp_fs: format, mount, mkdir, files written, unmount) and then
// checked as `qpy flash` and `mklfs -l` check images (qp_fsimage_check, which works on a
// copy), for littlefs v1 and v2, with malloc, calloc and realloc failing at the k-th call
// for every k (fault_malloc.h; the fs takes its buffers from malloc here, as mklfs lets
// it). The step that meets the failure must return QP_ERR_NOMEM; a build that completes
// must give the same image bytes as the run without failures (mklfs images are
// reproducible), and LeakSanitizer checks at exit that nothing leaked.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault_malloc.h"
#include "qp/qp_err.h"
#include "qp/qp_fs.h"
#include "qp/qp_fsimage.h"

#define IMG_SIZE (64u * 1024u)

static int write_file(qp_fs_t *fs, const char *path, size_t n, int seed) {
    qp_fs_file_t f;
    int err = qp_fs_file_open(fs, &f, path, QP_FS_O_WRONLY | QP_FS_O_CREAT | QP_FS_O_TRUNC);
    if (err < 0) {
        return err;
    }
    uint8_t buf[600];
    for (size_t i = 0; i < sizeof buf; i++) {
        buf[i] = (uint8_t)(i * 7u + (unsigned)seed);
    }
    for (size_t done = 0; err >= 0 && done < n; done += sizeof buf) {
        size_t k = n - done < sizeof buf ? n - done : sizeof buf;
        err = qp_fs_file_write(fs, &f, buf, k);
    }
    int e2 = qp_fs_file_close(fs, &f);
    return err < 0 ? err : e2;
}

// The mklfs workload on `data`; returns the first error.
static int build(uint8_t *data, uint32_t disk_version) {
    memset(data, 0xFF, IMG_SIZE);
    qp_fsimage_geometry_t geo = {.size = IMG_SIZE, .disk_version = disk_version};
    qp_fsimage_t img;
    int err = qp_fsimage_init(&img, data, &geo);
    qp_fs_t fs;
    if (err == 0) {
        err = qp_fs_format(&fs, &img.cfg);
    }
    if (err == 0) {
        err = qp_fs_mount(&fs, &img.cfg);
    }
    if (err < 0) {
        return err;
    }
    err = qp_fs_mkdir(&fs, "/lib");
    if (err == 0) {
        err = write_file(&fs, "/main.py", 300, 1);
    }
    if (err == 0) {
        err = write_file(&fs, "/lib/big.bin", 9000, 2);
    }
    if (err == 0) {
        err = write_file(&fs, "/lib/cfg.json", 40, 3);
    }
    int e2 = qp_fs_unmount(&fs);
    if (err == 0) {
        err = e2;
    }
    if (err == 0) {
        err = qp_fsimage_check(data, IMG_SIZE, 0, NULL);
    }
    return err;
}

static void sweep(uint32_t disk_version) {
    uint8_t *want = malloc(IMG_SIZE), *got = malloc(IMG_SIZE);
    assert_non_null(want);
    assert_non_null(got);
    assert_int_equal(build(want, disk_version), 0);
    unsigned k;
    for (k = 1; k < 10000u; k++) {
        fault_malloc_arm(k);
        int err = build(got, disk_version);
        int failed = fault_malloc_reached();
        fault_malloc_arm(0);
        if (!failed) {
            assert_int_equal(err, 0);
            assert_memory_equal(got, want, IMG_SIZE);
            break;
        }
        if (err != QP_ERR_NOMEM) {
            fail_msg("allocation %u failed: %d, expected NOMEM", k, err);
        }
    }
    assert_true(k > 1 && k < 10000u);
    printf("# littlefs %x: %u allocation points\n", disk_version, k - 1);
    free(want);
    free(got);
}

static void test_v1(void **state) {
    (void)state;
    sweep(QP_FS_DISK_VERSION_LFS1);
}

static void test_v2(void **state) {
    (void)state;
    sweep(QP_FS_DISK_VERSION_LFS2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v1),
        cmocka_unit_test(test_v2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
