// Allocation-failure sweep of the patch library's streaming apply (src/patch): open,
// verify, check_old, backup_needed and the full read of the new space, with the allocator
// failing at its k-th call for every k. Each failure must be QP_ERR_NOMEM with nothing
// left allocated once the handle is closed, and the run where nothing fails must produce
// exactly the new image. tests/unit/patch/test_ram.c sweeps the in-place apply (and with
// it the flash state after each failure); this covers the streaming reader the host
// tools and the image-package FOTA layer use, for raw and sectioned packages.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault_alloc.h"
#include "patch_testutil.h"
#include "qp/qp_diff.h"
#include "qp/qp_err.h"
#include "qp/qp_patch.h"

// One sweep over a package; returns the allocation points found.
static unsigned sweep(const uint8_t *pkg, uint32_t n, const tu_pair_t *p) {
    uint8_t *out = malloc(p->new_size + 1);
    assert_non_null(out);
    unsigned k;
    for (k = 1; k < FAULT_K_MAX; k++) {
        fault_alloc_t a;
        fault_alloc_arm(&a, k);
        tu_mem_t pm = {pkg, n, 0};
        tu_mem_t om = {p->old, p->old_size, 0};
        qp_patch_config_t c;
        memset(&c, 0, sizeof c);
        c.pkg_read = tu_mem_read;
        c.pkg_ctx = &pm;
        c.pkg_size = n;
        c.old_read = tu_mem_read;
        c.old_ctx = &om;
        c.alloc = fault_alloc;
        c.free = fault_free;
        c.alloc_ctx = &a;
        qp_patch_t h;
        qp_patch_init(&h);
        int err = qp_patch_open(&h, &c);
        uint32_t got = 0;
        if (err == 0) {
            err = qp_patch_verify(&h);
        }
        if (err == 0) {
            err = qp_patch_check_old(&h);
        }
        if (err == 0) {
            uint32_t need;
            err = qp_patch_backup_needed(&h, 4096, &need);
        }
        while (err == 0) {
            int r = qp_patch_read(&h, out + got, 1777);
            if (r <= 0) {
                err = r;
                break;
            }
            got += (uint32_t)r;
            assert_true(got <= p->new_size);
        }
        qp_patch_close(&h);
        assert_int_equal(a.live, 0);
        if (!a.failed) {
            assert_int_equal(err, 0);
            assert_int_equal(got, p->new_size);
            assert_memory_equal(out, p->new_, p->new_size);
            break;
        }
        if (err != QP_ERR_NOMEM) {
            fail_msg("allocation %u failing: got %d (%s), want NOMEM", k, err,
                     qp_strerror(err));
        }
    }
    free(out);
    assert_true(k < FAULT_K_MAX);
    assert_true(k > 1);
    return k - 1;
}

// Makes a firmware-like pair from `seed`, diffs it (with `sections`, or raw when n is 0)
// and sweeps the package.
static void sweep_pair(const char *what, uint32_t seed, uint32_t size, int sections) {
    tu_pair_t p;
    tu_make_pair(&p, seed, size, 12);
    qp_diff_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.level = 6;
    cfg.dict_max = 64 * 1024;
    uint32_t half_old = p.old_size / 2, half_new = p.new_size / 2;
    qp_diff_section_t s[3] = {
        {"code", 0, half_old, 0, half_new},
        {"data", half_old, p.old_size - half_old, half_new, p.new_size - half_new - 100},
        {"tail", 0, 0, p.new_size - 100, 100}, // a new section: all extra data
    };
    uint8_t *pkg;
    uint32_t n;
    assert_int_equal(qp_diff_create(&cfg, p.old, p.old_size, p.new_, p.new_size,
                                    sections ? s : NULL, sections ? 3 : 0, &pkg, &n, NULL),
                     0);
    printf("# patch %s: %u allocation points swept\n", what, sweep(pkg, n, &p));
    qp_diff_free(pkg);
    tu_free_pair(&p);
}

static void test_raw(void **state) {
    (void)state;
    sweep_pair("raw", 71, 20000, 0);
}

static void test_sections(void **state) {
    (void)state;
    sweep_pair("3 sections", 72, 24000, 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raw),
        cmocka_unit_test(test_sections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
