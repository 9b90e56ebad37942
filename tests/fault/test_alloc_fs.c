// Allocation-failure sweep of the file system (src/fs) through its public API: a workload
// of format, mount, writes (one and two files open at once), mkdir, rename, remove, append
// and remount runs with the allocator failing at its k-th call, for every k until the
// workload no longer allocates that often. Each step that meets the failure must return
// QP_ERR_NOMEM and have no effect; every other step must succeed. Afterwards nothing may
// be left allocated, and the flash must mount again (with a working allocator) and hold
// exactly what a model of the workload says.
//
// Runs over the fs geometries of every on-disk version qp_fs.h offers, so the v2 backend
// is swept as soon as QP_FS_DISK_VERSION_LFS2 exists. tests/unit/fs/test_basic.c covers
// the three mount buffers alone; this adds the file handles' caches and whatever else a
// backend allocates during operations.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault_alloc.h"
#include "qp/qp_err.h"
#include "qp/qp_flash.h"
#include "qp/qp_fs.h"

typedef struct geom {
    uint32_t disk_version, read_size, prog_size, block_size, block_count, cache_size;
} geom_t;

static const geom_t geoms[] = {
    {QP_FS_DISK_VERSION_LFS1, 4096, 4096, 4096, 32, 4096}, // the EC600S's units
    {QP_FS_DISK_VERSION_LFS1, 16, 16, 512, 64, 64},
#if defined(QP_FS_DISK_VERSION_LFS2)
    {QP_FS_DISK_VERSION_LFS2, 4096, 4096, 4096, 32, 4096},
    {QP_FS_DISK_VERSION_LFS2, 16, 16, 512, 64, 64},
#endif
};

#define NFILES 5
#define FILE_MAX 8192
static const char *const names[NFILES] = {"/a", "/c", "/d/b", "/e", "/d/f"};

// What the file system should hold: the model the workload updates step by step.
typedef struct model {
    int exists[NFILES];
    size_t len[NFILES];
    uint8_t data[NFILES][FILE_MAX];
    int dir_d;
} model_t;

typedef struct fsdev {
    qp_flash_t flash;
    qp_flash_part_t part;
    qp_flash_bd_t bd;
    struct qp_fs_config cfg;
    qp_fs_t fs;
    int mounted;
    fault_alloc_t alloc;
} fsdev_t;

static int bd_read(void *ctx, uint32_t block, uint32_t off, void *buf, uint32_t size) {
    return qp_flash_bd_read(&((fsdev_t *)ctx)->bd, block, off, buf, size);
}
static int bd_prog(void *ctx, uint32_t block, uint32_t off, const void *buf, uint32_t size) {
    return qp_flash_bd_prog(&((fsdev_t *)ctx)->bd, block, off, buf, size);
}
static int bd_erase(void *ctx, uint32_t block) {
    return qp_flash_bd_erase(&((fsdev_t *)ctx)->bd, block);
}

static int idx(const char *path) {
    for (int i = 0; i < NFILES; i++) {
        if (strcmp(names[i], path) == 0) {
            return i;
        }
    }
    fail_msg("no model entry for %s", path);
    return -1;
}

static void pattern(uint8_t *buf, size_t len, unsigned seed) {
    for (size_t i = 0; i < len; i++) {
        buf[i] = (uint8_t)(seed * 41u + i * 7u + (i >> 8));
    }
}

// A step's result: 0, or QP_ERR_NOMEM exactly when the failure was handed out in it.
static int step_ok(fsdev_t *d, int err, unsigned failed_before) {
    if (err == QP_ERR_NOMEM && d->alloc.failed && !failed_before) {
        return 0;
    }
    if (err < 0) {
        fail_msg("step failed with %d (%s), k=%u", err, qp_strerror(err), d->alloc.fail_at);
    }
    return 1;
}

// Writes a whole file (flags as given); updates the model when it succeeds.
static void write_step(fsdev_t *d, model_t *m, const char *path, int flags, unsigned seed,
                       size_t len) {
    unsigned before = d->alloc.failed;
    static uint8_t buf[FILE_MAX];
    pattern(buf, len, seed);
    qp_fs_file_t f;
    memset(&f, 0, sizeof f);
    if (!step_ok(d, qp_fs_file_open(&d->fs, &f, path, flags), before)) {
        return;
    }
    assert_int_equal(qp_fs_file_write(&d->fs, &f, buf, len), (int)len);
    assert_int_equal(qp_fs_file_close(&d->fs, &f), 0);
    int i = idx(path);
    if (!(flags & QP_FS_O_APPEND) || !m->exists[i]) {
        m->len[i] = 0;
    }
    memcpy(m->data[i] + m->len[i], buf, len);
    m->len[i] += len;
    m->exists[i] = 1;
}

static void mount_step(fsdev_t *d) {
    unsigned before = d->alloc.failed;
    int err = qp_fs_mount(&d->fs, &d->cfg);
    d->mounted = step_ok(d, err, before);
    if (!d->mounted) {
        // The failure is one-shot: the next mount has memory, as after a reboot.
        assert_int_equal(qp_fs_mount(&d->fs, &d->cfg), 0);
        d->mounted = 1;
    }
}

// The workload; every step is atomic in the model.
static void workload(fsdev_t *d, model_t *m) {
    mount_step(d);
    unsigned before = d->alloc.failed;
    if (step_ok(d, qp_fs_mkdir(&d->fs, "/d"), before)) {
        m->dir_d = 1;
    }
    const int create = QP_FS_O_WRONLY | QP_FS_O_CREAT | QP_FS_O_TRUNC;
    write_step(d, m, "/a", create, 1, 300);
    if (m->dir_d) {
        write_step(d, m, "/d/b", create, 2, d->cfg.block_size + 700);
    }
    // Two files open at once: rewrite /a while creating /c.
    qp_fs_file_t fa, fc;
    memset(&fa, 0, sizeof fa);
    memset(&fc, 0, sizeof fc);
    before = d->alloc.failed;
    if (m->exists[0] && step_ok(d, qp_fs_file_open(&d->fs, &fa, "/a", QP_FS_O_RDWR), before)) {
        before = d->alloc.failed;
        int c_open = step_ok(d, qp_fs_file_open(&d->fs, &fc, "/c", create), before);
        uint8_t buf[700];
        if (c_open) {
            pattern(buf, 200, 3);
            assert_int_equal(qp_fs_file_write(&d->fs, &fc, buf, 200), 200);
            assert_int_equal(qp_fs_file_close(&d->fs, &fc), 0);
            memcpy(m->data[1], buf, 200);
            m->len[1] = 200;
            m->exists[1] = 1;
        }
        pattern(buf, 700, 4);
        assert_int_equal(qp_fs_file_write(&d->fs, &fa, buf, 700), 700);
        assert_int_equal(qp_fs_file_close(&d->fs, &fa), 0);
        memcpy(m->data[0], buf, 700);
        m->len[0] = 700;
    }
    if (m->exists[2]) {
        before = d->alloc.failed;
        if (step_ok(d, qp_fs_rename(&d->fs, "/d/b", "/e"), before)) {
            memcpy(m->data[3], m->data[2], m->len[2]);
            m->len[3] = m->len[2];
            m->exists[3] = 1;
            m->exists[2] = 0;
        }
    }
    before = d->alloc.failed;
    if (m->exists[0] && step_ok(d, qp_fs_remove(&d->fs, "/a"), before)) {
        m->exists[0] = 0;
    }
    if (m->dir_d) {
        write_step(d, m, "/d/f", create, 5, 100);
    }
    // Power-cycle (without a cut): the mount may meet the failure too.
    qp_fs_unmount(&d->fs);
    d->mounted = 0;
    mount_step(d);
    if (m->exists[3]) {
        write_step(d, m, "/e", QP_FS_O_WRONLY | QP_FS_O_APPEND, 6, 50);
    }
    write_step(d, m, "/c", create, 7, 3000);
}

static void check_model(fsdev_t *d, const model_t *m) {
    static uint8_t buf[FILE_MAX];
    int expect_root = m->dir_d;
    int expect_d = 0;
    for (int i = 0; i < NFILES; i++) {
        qp_fs_info_t info;
        int err = qp_fs_stat(&d->fs, names[i], &info);
        if (!m->exists[i]) {
            assert_int_equal(err, QP_ERR_NOENT);
            continue;
        }
        if (strncmp(names[i], "/d/", 3) == 0) {
            expect_d++;
        } else {
            expect_root++;
        }
        assert_int_equal(err, 0);
        assert_int_equal(info.size, m->len[i]);
        qp_fs_file_t f;
        memset(&f, 0, sizeof f);
        assert_int_equal(qp_fs_file_open(&d->fs, &f, names[i], QP_FS_O_RDONLY), 0);
        assert_int_equal(qp_fs_file_read(&d->fs, &f, buf, sizeof buf), (int)m->len[i]);
        assert_memory_equal(buf, m->data[i], m->len[i]);
        assert_int_equal(qp_fs_file_close(&d->fs, &f), 0);
    }
    // Nothing else: no half-created entries.
    const char *dirs[2] = {"/", "/d"};
    int expect[2] = {expect_root, expect_d};
    for (int k = 0; k < (m->dir_d ? 2 : 1); k++) {
        qp_fs_dir_t dir;
        memset(&dir, 0, sizeof dir);
        assert_int_equal(qp_fs_dir_open(&d->fs, &dir, dirs[k]), 0);
        qp_fs_info_t info;
        int n = 0;
        while (qp_fs_dir_read(&d->fs, &dir, &info) == 1) {
            n++;
        }
        qp_fs_dir_close(&d->fs, &dir);
        assert_int_equal(n, expect[k]);
    }
}

static void sweep(const geom_t *g) {
    unsigned k;
    for (k = 1; k < FAULT_K_MAX; k++) {
        fsdev_t *d = calloc(1, sizeof *d);
        model_t *m = calloc(1, sizeof *m);
        assert_non_null(d);
        assert_non_null(m);
        qp_flash_init(&d->flash);
        qp_flash_config_t fc = {0};
        fc.size = g->block_size * g->block_count;
        fc.sector_size = g->block_size;
        fc.page_size = g->block_size < 256 ? g->block_size : 256;
        assert_int_equal(qp_flash_open_ram(&d->flash, &fc), 0);
        assert_int_equal(qp_flash_part_init(&d->part, &d->flash, 0, fc.size), 0);
        assert_int_equal(qp_flash_bd_init(&d->bd, &d->part, g->block_size), 0);
        d->cfg.context = d;
        d->cfg.read = bd_read;
        d->cfg.prog = bd_prog;
        d->cfg.erase = bd_erase;
        d->cfg.read_size = g->read_size;
        d->cfg.prog_size = g->prog_size;
        d->cfg.block_size = g->block_size;
        d->cfg.block_count = g->block_count;
        d->cfg.cache_size = g->cache_size;
        d->cfg.disk_version = g->disk_version;
        d->cfg.alloc = (qp_fs_alloc_t){fault_alloc, fault_free, &d->alloc};
        fault_alloc_arm(&d->alloc, k);

        int err = qp_fs_format(&d->fs, &d->cfg);
        if (err == QP_ERR_NOMEM && d->alloc.failed) {
            assert_int_equal(d->alloc.live, 0);
            err = qp_fs_format(&d->fs, &d->cfg); // one-shot failure: now it formats
        }
        assert_int_equal(err, 0);
        workload(d, m);
        qp_fs_unmount(&d->fs);
        assert_int_equal(d->alloc.live, 0);
        int done = !d->alloc.failed; // the workload allocated fewer than k times

        // Consistency, with an allocator that works.
        d->cfg.alloc = (qp_fs_alloc_t){0};
        assert_int_equal(qp_fs_mount(&d->fs, &d->cfg), 0);
        check_model(d, m);
        qp_fs_unmount(&d->fs);
        qp_flash_close(&d->flash);
        free(d);
        free(m);
        if (done) {
            break;
        }
    }
    assert_true(k < FAULT_K_MAX);
    assert_true(k > 4); // format, mount and the file opens did allocate
    printf("# fs v%x %u/%u/%u: %u allocation points swept\n", g->disk_version >> 16,
           g->read_size, g->prog_size, g->block_size, k - 1);
}

static void test_sweep(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof geoms / sizeof geoms[0]; i++) {
        sweep(&geoms[i]);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
