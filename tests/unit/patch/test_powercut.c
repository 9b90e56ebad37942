// Power-cut sweep of the in-place apply (SPEC-patch §6.5): on a small generated image, cut
// power at every flash operation k = 1..N of the apply, restore power (the module reboots),
// apply again, and check the firmware partition equals NEW byte for byte. Both a growing and
// a shrinking update are swept. QP_STRESS=1 adds a second cut during the resumed run (every
// pair k, k2 on a sample) and larger images.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "patch_testutil.h"
#include "qp/qp_err.h"

#define PART (64u * 1024u)

typedef struct sweep {
    const uint8_t *old;
    uint8_t *nw;
    uint32_t osz, nsz;
    uint8_t *pkg;
    uint32_t pkg_size;
} sweep_t;

static void prepare(tu_dev_t *d, const sweep_t *s) {
    tu_dev_open(d, PART, PART);
    assert_int_equal(qp_flash_part_program(&d->fw, 0, s->old, s->osz), 0);
}

static void check_new(tu_dev_t *d, const sweep_t *s) {
    uint8_t *got = malloc(s->nsz + 1);
    assert_int_equal(qp_flash_part_read(&d->fw, 0, got, s->nsz), 0);
    assert_memory_equal(got, s->nw, s->nsz);
    free(got);
}

// Runs the apply with cuts at the given op numbers (0: none) on successive boots until it
// succeeds; returns the number of boots.
static int run_with_cuts(tu_dev_t *d, const sweep_t *s, const uint64_t *cuts, int ncuts) {
    tu_mem_t pm = {s->pkg, s->pkg_size, 0};
    qp_patch_inplace_config_t c;
    tu_inplace_config(&c, d, &pm);
    for (int boot = 0; boot < 100; boot++) {
        uint64_t cut = boot < ncuts ? cuts[boot] : 0;
        qp_flash_powercut_arm(&d->flash, cut, 0x5eed + (uint64_t)boot);
        qp_patch_inplace_stats_t st;
        int err = qp_patch_inplace_apply(&c, &st);
        if (err == 0) {
            return boot + 1;
        }
        assert_int_equal(err, QP_ERR_IO);
        assert_false(qp_flash_is_powered(&d->flash));
        qp_flash_power_restore(&d->flash);
    }
    fail_msg("no progress after 100 boots");
    return 0;
}

static uint64_t count_ops(const sweep_t *s) {
    tu_dev_t d;
    prepare(&d, s);
    uint64_t before = qp_flash_op_count(&d.flash);
    assert_int_equal(run_with_cuts(&d, s, NULL, 0), 1);
    uint64_t n = qp_flash_op_count(&d.flash) - before;
    check_new(&d, s);
    tu_dev_close(&d);
    return n;
}

static void sweep(const sweep_t *s, int stress) {
    uint64_t n = count_ops(s);
    assert_true(n > 10);
    for (uint64_t k = 1; k <= n; k++) {
        tu_dev_t d;
        prepare(&d, s);
        uint64_t cuts[1] = {k};
        assert_int_equal(run_with_cuts(&d, s, cuts, 1), 2);
        check_new(&d, s);
        tu_dev_close(&d);
        if (stress) {
            for (uint64_t k2 = 1; k2 <= n; k2 += 1 + k2 / 4) {
                prepare(&d, s);
                uint64_t cc[2] = {k, k2};
                run_with_cuts(&d, s, cc, 2);
                check_new(&d, s);
                tu_dev_close(&d);
            }
        }
    }
}

static void make_sweep(sweep_t *s, const tu_pair_t *p, int grow) {
    s->old = grow ? p->old : p->new_;
    s->osz = grow ? p->old_size : p->new_size;
    s->nw = grow ? p->new_ : p->old;
    s->nsz = grow ? p->new_size : p->old_size;
    qp_diff_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.level = 6;
    // Growing, the target-mapped filter (SPEC-patch §5.1), whose map is re-read on every
    // resume; shrinking, whatever auto picks.
    cfg.filter = grow ? QP_DIFF_FILTER_THUMB_MAP : QP_DIFF_FILTER_AUTO;
    qp_diff_stats_t st;
    assert_int_equal(qp_diff_create(&cfg, s->old, s->osz, s->nw, s->nsz, NULL, 0, &s->pkg,
                                    &s->pkg_size, &st), 0);
    assert_true(!grow || st.filters[QP_PATCH_FILTER_THUMB_MAP] == 1);
}

static void test_sweep(void **state) {
    (void)state;
    int stress = getenv("QP_STRESS") && strcmp(getenv("QP_STRESS"), "0") != 0;
    uint32_t sizes[] = {24000, 50000};
    for (size_t i = 0; i < (stress ? 2u : 1u); i++) {
        tu_pair_t p;
        tu_make_pair(&p, 41 + (uint32_t)i, sizes[i], 25);
        for (int grow = 0; grow < 2; grow++) {
            sweep_t s;
            make_sweep(&s, &p, grow);
            sweep(&s, stress);
            qp_diff_free(s.pkg);
        }
        tu_free_pair(&p);
    }
}

// Data moved backwards by more than a block (a deletion near the start) and forwards (an
// insertion): the plan must back up blocks read after they are overwritten.
static void test_sweep_moves(void **state) {
    (void)state;
    uint32_t n = 30000;
    uint8_t *a = malloc(n), *b = malloc(n + 9000);
    tu_make_random(a, n, 77);
    memcpy(b, a + 9000, n - 9000);      // the first 9000 bytes deleted...
    memcpy(b + n - 9000, a, 9000);      // ...and moved to the end
    tu_make_random(b + n, 9000, 78);    // plus new data
    sweep_t s = {a, b, n, n + 9000, NULL, 0};
    qp_diff_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.level = 6;
    assert_int_equal(qp_diff_create(&cfg, s.old, s.osz, s.nw, s.nsz, NULL, 0, &s.pkg,
                                    &s.pkg_size, NULL), 0);
    sweep(&s, 0);
    qp_diff_free(s.pkg);
    free(a);
    free(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sweep),
        cmocka_unit_test(test_sweep_moves),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
