// Power cut at every flash operation of the protocol checksum.update (and the boot-time
// restore) uses to replace a file: write the whole new content to a temporary file, close
// it, rename it over the old one. After each cut the flash is powered up again, mounted,
// and the file must hold exactly the old or the new content - never a torn one - and the
// next run of the protocol must succeed and leave the new content.
//
// The frozen Python (src/runtime/frozen/checksum.py) makes exactly these calls through
// _qp_uio/_qp_uos: open(tmp, "w") (WRONLY|CREAT|TRUNC), write, close, rename. The script
// tests (tests/cli/checksum/) check the Python side, including kills during update.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "qp/qp_err.h"
#include "qp/qp_flash.h"
#include "qp/qp_fs.h"

#define BLOCK 4096u
#define BLOCKS 32u

typedef struct {
    qp_flash_t flash;
    qp_flash_part_t part;
    qp_flash_bd_t bd;
    struct qp_fs_config cfg;
    qp_fs_t fs;
} rig_t;

static void rig_open(rig_t *r) {
    memset(r, 0, sizeof *r);
    assert_int_equal(qp_flash_open_ram(&r->flash, &(qp_flash_config_t){
                                           .size = BLOCK * BLOCKS, .sector_size = BLOCK}),
                     0);
    assert_int_equal(qp_flash_part_init(&r->part, &r->flash, 0, BLOCK * BLOCKS), 0);
    assert_int_equal(qp_flash_bd_init(&r->bd, &r->part, BLOCK), 0);
    r->cfg.context = &r->bd;
    r->cfg.read = qp_flash_bd_read;
    r->cfg.prog = qp_flash_bd_prog;
    r->cfg.erase = qp_flash_bd_erase;
    r->cfg.sync = qp_flash_bd_sync;
    r->cfg.read_size = r->cfg.prog_size = r->cfg.block_size = r->cfg.cache_size = BLOCK;
    r->cfg.block_count = BLOCKS;
    assert_int_equal(qp_fs_format(&r->fs, &r->cfg), 0);
    assert_int_equal(qp_fs_mount(&r->fs, &r->cfg), 0);
}

static int put(qp_fs_t *fs, const char *path, const char *text) {
    qp_fs_file_t f;
    memset(&f, 0, sizeof f);
    int err = qp_fs_file_open(fs, &f, path, QP_FS_O_WRONLY | QP_FS_O_CREAT | QP_FS_O_TRUNC);
    if (err < 0) {
        return err;
    }
    int n = qp_fs_file_write(fs, &f, text, strlen(text));
    int c = qp_fs_file_close(fs, &f);
    return n < 0 ? n : c;
}

static int get(qp_fs_t *fs, const char *path, char *out, size_t outlen) {
    qp_fs_file_t f;
    memset(&f, 0, sizeof f);
    int err = qp_fs_file_open(fs, &f, path, QP_FS_O_RDONLY);
    if (err < 0) {
        return err;
    }
    int n = qp_fs_file_read(fs, &f, out, outlen - 1);
    qp_fs_file_close(fs, &f);
    if (n >= 0) {
        out[n] = '\0';
    }
    return n;
}

// checksum.py's _write_atomic.
static int replace(qp_fs_t *fs, const char *path, const char *tmp, const char *text) {
    int err = put(fs, tmp, text);
    return err < 0 ? err : qp_fs_rename(fs, tmp, path);
}

// One sweep: `old` (NULL: the file does not exist yet) replaced by `new_text`.
static void sweep(const char *path, const char *tmp, const char *old, const char *new_text) {
    rig_t r;
    // Learn how many flash operations the protocol takes.
    rig_open(&r);
    if (old) {
        assert_int_equal(put(&r.fs, path, old), 0);
    }
    uint64_t before = qp_flash_op_count(&r.flash);
    assert_int_equal(replace(&r.fs, path, tmp, new_text), 0);
    uint64_t ops = qp_flash_op_count(&r.flash) - before;
    qp_fs_unmount(&r.fs);
    qp_flash_close(&r.flash);
    assert_true(ops > 2);

    for (uint64_t n = 1; n <= ops; n++) {
        rig_open(&r);
        if (old) {
            assert_int_equal(put(&r.fs, path, old), 0);
        }
        qp_flash_powercut_arm(&r.flash, n, 0x5eed + n);
        assert_true(replace(&r.fs, path, tmp, new_text) < 0);
        qp_fs_unmount(&r.fs);
        qp_flash_power_restore(&r.flash); // the reboot
        assert_int_equal(qp_fs_mount(&r.fs, &r.cfg), 0);
        char got[512];
        int len = get(&r.fs, path, got, sizeof got);
        if (len == QP_ERR_NOENT) {
            assert_null(old); // only a file that never existed may be missing
        } else {
            assert_true(len >= 0);
            if (!(old && strcmp(got, old) == 0) && strcmp(got, new_text) != 0) {
                fail_msg("cut at op %llu of %llu: torn content '%s'", (unsigned long long)n,
                         (unsigned long long)ops, got);
            }
        }
        // The next update (or boot) runs the protocol again over whatever was left,
        // a stale temporary file included.
        assert_int_equal(replace(&r.fs, path, tmp, new_text), 0);
        assert_true(get(&r.fs, path, got, sizeof got) >= 0);
        assert_string_equal(got, new_text);
        qp_fs_unmount(&r.fs);
        qp_flash_close(&r.flash);
    }
}

static void test_checksum_update(void **state) {
    (void)state;
    sweep("/checksum.json", "/.checksum.json.tmp",
          "[{\"name\": \"/usr/a.py\", \"sha256\": \"00\"}]",
          "[{\"name\": \"/usr/a.py\", \"sha256\": \"1c1c4ac5a0421f0eb043064dd07909ff116df"
          "495957319bebd4787936a23d090\"}]");
}

static void test_checksum_first_copy(void **state) {
    (void)state;
    // check(): /usr/checksum.json missing, copied from /bak.
    sweep("/checksum.json", "/.checksum.json.tmp", NULL, "[{\"name\": \"/usr/a.py\"}]");
}

static void test_restore_modified(void **state) {
    (void)state;
    sweep("/a.py", "/a.py.restore.tmp", "broken", "print(\"a\")\n");
}

static void test_restore_missing(void **state) {
    (void)state;
    sweep("/a.py", "/a.py.restore.tmp", NULL, "print(\"a\")\n");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checksum_update),
        cmocka_unit_test(test_checksum_first_copy),
        cmocka_unit_test(test_restore_modified),
        cmocka_unit_test(test_restore_missing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
