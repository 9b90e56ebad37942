// fuzz_fs.c - libFuzzer target for the file system (src/fs, qp_fs.h) through its public
// API only, so every on-disk backend the config can select is covered: littlefs v1, v2.1
// and v2.0, and version detection at mount (the geometries of fuzz_common.c).
//
// Input (fuzz_common.h): byte 0 picks a geometry and a mode, the next FZ_FS_OPS bytes are
// an operation script (3 bytes per operation: opcode, two arguments), the rest is the
// flash contents, erased (0xFF) past the end of the input. The target mounts the image on
// qp_flash's RAM NOR model, runs the script (mkdir, write, read, remove, rename, stat,
// directory walks, seek/truncate, two handles on one file, remount), unmounts, mounts
// again and reads everything it can find.
//
// Modes: on an arbitrary image only memory safety, termination and well-formed error codes
// are checked. When byte 0 has bit 7 set and the image does not mount, the target formats
// it and runs the script on the fresh file system; then it also checks what must hold on
// a healthy file system: no operation reports corruption, and it mounts again afterwards.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "qp/qp_err.h"
#include "qp/qp_flash.h"
#include "qp/qp_fs.h"

static const char *const paths[] = {"/a", "/b", "/d", "/d/a", "/d/e", "/d/e/f", "/a/x",
                                    "/d/../b", "/", "/c"};
#define NPATHS (sizeof paths / sizeof paths[0])

typedef struct run {
    qp_fs_t fs;
    fz_fs_dev_t dev;
    struct qp_fs_config cfg; // dev.cfg plus the allocator
    fz_alloc_t alloc;
    int mounted;
    int fresh; // formatted by us: corruption is a bug, not an input property
} run_t;

static void check(const run_t *r, int rc) {
    fz_check_code(rc);
    if (r->fresh && rc == QP_ERR_CORRUPT) {
        abort();
    }
}

static void fill(uint8_t *buf, size_t n, uint32_t seed) {
    for (size_t i = 0; i < n; i++) {
        buf[i] = (uint8_t)(seed + i * 31u + (i >> 7));
    }
}

static void read_all(run_t *r, const char *path) {
    qp_fs_file_t f;
    memset(&f, 0, sizeof f);
    int rc = qp_fs_file_open(&r->fs, &f, path, QP_FS_O_RDONLY);
    check(r, rc);
    if (rc < 0) {
        return;
    }
    static uint8_t buf[1031];
    // A file on a 32-block device cannot hold more than the device; a read loop longer
    // than that is a loop that never ends.
    for (uint32_t total = 0;;) {
        int n = qp_fs_file_read(&r->fs, &f, buf, sizeof buf);
        check(r, n);
        if (n <= 0) {
            break;
        }
        total += (uint32_t)n;
        if (total > r->cfg.block_size * r->cfg.block_count) {
            abort();
        }
    }
    check(r, qp_fs_file_close(&r->fs, &f));
}

// Lists `path` and, `depth` levels down, its subdirectories; reads every file.
static void walk(run_t *r, const char *path, int depth) {
    qp_fs_dir_t d;
    memset(&d, 0, sizeof d);
    int rc = qp_fs_dir_open(&r->fs, &d, path);
    check(r, rc);
    if (rc < 0) {
        return;
    }
    qp_fs_info_t info;
    // Entries of one directory are bounded by the device's bytes; more means a cycle.
    for (uint32_t n = 0;; n++) {
        rc = qp_fs_dir_read(&r->fs, &d, &info);
        check(r, rc);
        if (rc <= 0) {
            break;
        }
        if (n > r->cfg.block_size * r->cfg.block_count / 8) {
            abort();
        }
        char sub[QP_FS_NAME_MAX + 64];
        int k = snprintf(sub, sizeof sub, "%s%s%s", path, strcmp(path, "/") ? "/" : "",
                         info.name);
        if (k < 0 || (size_t)k >= sizeof sub) {
            continue; // deeper than the walk goes
        }
        if (info.type == QP_FS_TYPE_DIR && depth > 0) {
            walk(r, sub, depth - 1);
        } else if (info.type == QP_FS_TYPE_REG) {
            qp_fs_info_t st;
            check(r, qp_fs_stat(&r->fs, sub, &st));
            read_all(r, sub);
        }
    }
    check(r, qp_fs_dir_close(&r->fs, &d));
}

static int mount(run_t *r) {
    int rc = qp_fs_mount(&r->fs, &r->cfg);
    fz_check_code(rc);
    r->mounted = rc == 0;
    return rc;
}

// One operation of the script; a, b are its argument bytes.
static void op(run_t *r, uint8_t code, uint8_t a, uint8_t b) {
    static uint8_t buf[2048];
    const char *p = paths[a % NPATHS];
    const char *q = paths[b % NPATHS];
    qp_fs_file_t f, g;
    qp_fs_info_t info;
    qp_fs_fsinfo_t fi;
    memset(&f, 0, sizeof f);
    memset(&g, 0, sizeof g);
    int rc;
    switch (code % 11) {
    case 0:
        check(r, qp_fs_mkdir(&r->fs, p));
        break;
    case 1: { // create or rewrite, with flags from b
        static const int flags[] = {QP_FS_O_WRONLY | QP_FS_O_CREAT | QP_FS_O_TRUNC,
                                    QP_FS_O_WRONLY | QP_FS_O_CREAT | QP_FS_O_APPEND,
                                    QP_FS_O_RDWR | QP_FS_O_CREAT | QP_FS_O_EXCL,
                                    QP_FS_O_WRONLY};
        rc = qp_fs_file_open(&r->fs, &f, p, flags[b % 4]);
        check(r, rc);
        if (rc == 0) {
            size_t n = (size_t)b * 37u % sizeof buf;
            fill(buf, n, a);
            check(r, qp_fs_file_write(&r->fs, &f, buf, n));
            check(r, qp_fs_file_close(&r->fs, &f));
        }
        break;
    }
    case 2:
        read_all(r, p);
        break;
    case 3:
        check(r, qp_fs_remove(&r->fs, p));
        break;
    case 4:
        check(r, qp_fs_rename(&r->fs, p, q));
        break;
    case 5:
        check(r, qp_fs_stat(&r->fs, p, &info));
        break;
    case 6:
        walk(r, p, 2);
        break;
    case 7: // seek past the end, write, truncate
        rc = qp_fs_file_open(&r->fs, &f, p, QP_FS_O_RDWR | QP_FS_O_CREAT);
        check(r, rc);
        if (rc == 0) {
            check(r, qp_fs_file_seek(&r->fs, &f, (int32_t)a * 13, QP_FS_SEEK_SET));
            fill(buf, 100, b);
            check(r, qp_fs_file_write(&r->fs, &f, buf, 100));
            check(r, qp_fs_file_truncate(&r->fs, &f, (uint32_t)b * 11u));
            check(r, qp_fs_file_size(&r->fs, &f));
            check(r, qp_fs_file_seek(&r->fs, &f, -(int32_t)(b % 50), QP_FS_SEEK_END));
            check(r, qp_fs_file_read(&r->fs, &f, buf, 64));
            check(r, qp_fs_file_tell(&r->fs, &f));
            check(r, qp_fs_file_close(&r->fs, &f));
        }
        break;
    case 8:
        check(r, qp_fs_size(&r->fs));
        check(r, qp_fs_fsinfo(&r->fs, &fi));
        break;
    case 9: // power-cycle without a cut: unmount and mount again
        qp_fs_unmount(&r->fs);
        r->mounted = 0;
        rc = mount(r);
        if (r->fresh && rc < 0) {
            abort();
        }
        break;
    default: // two handles on one file: write through one, sync, read through the other
        rc = qp_fs_file_open(&r->fs, &f, p, QP_FS_O_RDWR | QP_FS_O_CREAT);
        check(r, rc);
        if (rc < 0) {
            break;
        }
        rc = qp_fs_file_open(&r->fs, &g, p, QP_FS_O_RDONLY);
        check(r, rc);
        fill(buf, 300, a);
        check(r, qp_fs_file_write(&r->fs, &f, buf, (size_t)a + 1));
        check(r, qp_fs_file_sync(&r->fs, &f));
        if (rc == 0) {
            check(r, qp_fs_file_read(&r->fs, &g, buf, sizeof buf));
            check(r, qp_fs_file_close(&r->fs, &g));
        }
        check(r, qp_fs_file_close(&r->fs, &f));
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 + FZ_FS_OPS) {
        return 0;
    }
    const fz_fs_geom_t *g = &fz_fs_geoms[(data[0] & 0x7f) % fz_fs_ngeoms];
    const uint8_t *script = data + 1;
    const uint8_t *img = data + 1 + FZ_FS_OPS;
    size_t img_len = size - 1 - FZ_FS_OPS;
    uint32_t flash_size = g->block_size * g->block_count;
    if (img_len > flash_size) {
        img_len = flash_size;
    }
    uint8_t *mem = malloc(flash_size);
    if (!mem) {
        abort();
    }
    memset(mem, 0xff, flash_size);
    memcpy(mem, img, img_len);

    static run_t r;
    memset(&r, 0, sizeof r);
    if (fz_fs_dev_open(&r.dev, g, mem) < 0) {
        abort();
    }
    r.cfg = r.dev.cfg;
    r.cfg.alloc = (qp_fs_alloc_t){fz_alloc, fz_free, &r.alloc};

    if (mount(&r) < 0 && (data[0] & 0x80)) {
        int rc = qp_fs_format(&r.fs, &r.cfg);
        fz_check_code(rc);
        if (rc < 0 || mount(&r) < 0) {
            abort(); // a healthy RAM flash must format and mount
        }
        r.fresh = 1;
    }
    if (r.mounted) {
        walk(&r, "/", 3);
        for (size_t i = 0; i + 3 <= FZ_FS_OPS && r.mounted; i += 3) {
            op(&r, script[i], script[i + 1], script[i + 2]);
        }
    }
    qp_fs_unmount(&r.fs);
    // Whatever the script did, the image must mount again if it did before (on a fresh
    // file system; an arbitrary one may have been broken beyond what mount checks), and
    // everything in it must be readable without a crash.
    int rc = mount(&r);
    if (r.fresh && rc < 0) {
        abort();
    }
    if (r.mounted) {
        walk(&r, "/", 8);
        qp_fs_unmount(&r.fs);
    }
    if (r.alloc.live != 0) {
        abort();
    }
    fz_fs_dev_close(&r.dev);
    free(mem);
    return 0;
}
