// Allocation-failure sweep of the FOTA layer (src/fota). On the module: qp_fota_prepare
// (what fota.verify() runs) and the boot-time qp_fota_apply, with their allocator failing
// at the k-th call for every k. On the host: qp_fota_diff (what adiff runs) with malloc,
// calloc and realloc failing at the k-th call (fault_malloc.h), and qp_diff_create under it,
// which must also give back the new space it filters in place. Each failure must be
// QP_ERR_NOMEM with nothing left allocated (LeakSanitizer checks the host side at exit); on
// the module the firmware must then hold OLD untouched (prepare), or be finished by the
// next apply (NEW).
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault_alloc.h"
#include "fault_malloc.h"
#include "fota_testutil.h"
#include "fwgen.h"
#include "qp/qp_diff.h"
#include "qp/qp_err.h"
#include "qp/qp_flash.h"
#include "qp/qp_fota.h"
#include "qp/qp_fota_store.h"

#define FW_SIZE (256u * 1024u)
#define BK_SIZE (256u * 1024u)

// --- fixtures ---------------------------------------------------------------------------

typedef struct pair {
    img_t old, new_;
    uint8_t *pkg;
    uint32_t pkg_size;
} pair_t;

static void make_pair(pair_t *p) {
    p->old = make_image("V1.0", 8 * 1024, 0, 8, 0);
    p->new_ = make_image("V2.0", 9 * 1024, 3, 12, 1);
    char msg[200];
    int err = qp_fota_diff(NULL, p->old.p, p->old.len, p->new_.p, p->new_.len, &p->pkg,
                           &p->pkg_size, NULL, msg, sizeof msg);
    if (err) {
        fail_msg("qp_fota_diff: %d %s", err, msg);
    }
}

typedef struct dev {
    qp_flash_t flash;
    qp_flash_part_t fw, bk;
    qp_patch_mem_t pkg;
} fdev_t;

// A device whose firmware partition holds OLD, the package in memory, and the apply
// configuration for it with allocator `a`.
static qp_fota_apply_config_t dev_open(fdev_t *d, const pair_t *p, fault_alloc_t *a) {
    qp_flash_config_t fc;
    memset(&fc, 0, sizeof fc);
    fc.size = FW_SIZE + BK_SIZE;
    qp_flash_init(&d->flash);
    assert_int_equal(qp_flash_open_ram(&d->flash, &fc), 0);
    assert_int_equal(qp_flash_part_init(&d->fw, &d->flash, 0, FW_SIZE), 0);
    assert_int_equal(qp_flash_part_init(&d->bk, &d->flash, FW_SIZE, BK_SIZE), 0);
    assert_int_equal(qp_flash_part_program(&d->fw, 0, p->old.p, (uint32_t)p->old.len), 0);
    d->pkg.p = p->pkg;
    d->pkg.size = p->pkg_size;
    qp_fota_apply_config_t c;
    memset(&c, 0, sizeof c);
    c.pkg_read = qp_patch_mem_read;
    c.pkg_ctx = &d->pkg;
    c.pkg_size = d->pkg.size;
    c.target = qp_fota_part_flash(&d->fw);
    c.backup = qp_fota_part_flash(&d->bk);
    c.alloc = fault_alloc;
    c.free = fault_free;
    c.alloc_ctx = a;
    return c;
}

static void free_pair(pair_t *p) {
    qp_diff_free(p->pkg);
    free(p->old.p);
    free(p->new_.p);
}

static void assert_holds(fdev_t *d, const img_t *im) {
    uint8_t *buf = malloc(im->len);
    assert_non_null(buf);
    assert_int_equal(qp_flash_part_read(&d->fw, 0, buf, (uint32_t)im->len), 0);
    assert_memory_equal(buf, im->p, im->len);
    free(buf);
}

// --- the sweeps -------------------------------------------------------------------------

// prepare: a failure leaves the firmware untouched and nothing allocated; the first k
// that does not fail gives a prepared journal that the apply finishes.
static void test_prepare(void **state) {
    (void)state;
    pair_t p;
    make_pair(&p);
    unsigned k;
    for (k = 1; k < FAULT_K_MAX; k++) {
        fdev_t d;
        fault_alloc_t a;
        fault_alloc_arm(&a, k);
        qp_fota_apply_config_t c = dev_open(&d, &p, &a);
        int err = qp_fota_prepare(&c, NULL, NULL, 0);
        assert_int_equal(a.live, 0);
        assert_holds(&d, &p.old);
        if (!a.failed) {
            assert_int_equal(err, 0);
            fault_alloc_arm(&a, 0);
            assert_int_equal(qp_fota_apply(&c, NULL, NULL, 0), 0);
            assert_holds(&d, &p.new_);
            qp_flash_close(&d.flash);
            break;
        }
        assert_int_equal(err, QP_ERR_NOMEM);
        qp_flash_close(&d.flash);
    }
    assert_true(k > 1 && k < FAULT_K_MAX);
    printf("# prepare: %u allocation points\n", k - 1);
    free_pair(&p);
}

// The boot-time apply after a prepare: a failure is NOMEM with nothing allocated, and the
// next boot (no failure) finishes the upgrade.
static void test_apply(void **state) {
    (void)state;
    pair_t p;
    make_pair(&p);
    unsigned k;
    for (k = 1; k < FAULT_K_MAX; k++) {
        fdev_t d;
        fault_alloc_t a;
        fault_alloc_arm(&a, 0);
        qp_fota_apply_config_t c = dev_open(&d, &p, &a);
        assert_int_equal(qp_fota_prepare(&c, NULL, NULL, 0), 0);
        fault_alloc_arm(&a, k);
        int err = qp_fota_apply(&c, NULL, NULL, 0);
        assert_int_equal(a.live, 0);
        int failed = (int)a.failed;
        if (failed) {
            assert_int_equal(err, QP_ERR_NOMEM);
            fault_alloc_arm(&a, 0);
            assert_int_equal(qp_fota_apply(&c, NULL, NULL, 0), 0);
        } else {
            assert_int_equal(err, 0);
        }
        assert_holds(&d, &p.new_);
        qp_flash_close(&d.flash);
        if (!failed) {
            break;
        }
    }
    assert_true(k > 1 && k < FAULT_K_MAX);
    printf("# apply: %u allocation points\n", k - 1);
    free_pair(&p);
}

static int stress(void) {
    const char *s = getenv("QP_STRESS");
    return s && *s && strcmp(s, "0") != 0;
}

// qp_fota_diff on the host: NOMEM and no output at every failing k (every third k in
// `make test`, every k with QP_STRESS=1); the same package as without failures once k is
// past the last allocation.
static void test_diff(void **state) {
    (void)state;
    pair_t p;
    make_pair(&p);
    unsigned k, stride = stress() ? 1u : 3u;
    for (k = 1; k < 100000u; k += stride) {
        uint8_t *pkg = NULL;
        uint32_t size = 0;
        char msg[200] = "";
        fault_malloc_arm(k);
        int err = qp_fota_diff(NULL, p.old.p, p.old.len, p.new_.p, p.new_.len, &pkg, &size,
                               NULL, msg, sizeof msg);
        int failed = fault_malloc_reached();
        fault_malloc_arm(0);
        if (!failed) {
            assert_int_equal(err, 0);
            assert_int_equal(size, p.pkg_size);
            assert_memory_equal(pkg, p.pkg, size);
            qp_diff_free(pkg);
            break;
        }
        if (err != QP_ERR_NOMEM) {
            fail_msg("allocation %u failed: %d (%s), expected NOMEM", k, err, msg);
        }
        assert_null(pkg);
    }
    assert_true(k > 1 && k < 100000u);
    printf("# qp_fota_diff: about %u allocation points (k step %u)\n", k - 1, stride);
    free_pair(&p);
}

// qp_diff_create at every failing k: NOMEM, no package, and the new space (Thumb-2 code, so
// the differ filters it in place) exactly as it was.
static void test_diff_create(void **state) {
    (void)state;
    const uint32_t size = 16 * 1024;
    uint8_t *old = malloc(size), *nw = malloc(size), *copy = malloc(size);
    assert_non_null(old);
    assert_non_null(nw);
    assert_non_null(copy);
    // Pseudo-firmware (Thumb-2 calls), NEW its edited variant.
    assert_int_equal(fwgen_make(old, size, 1, 0), size);
    assert_int_equal(fwgen_make(nw, size, 1, 1), size);
    memcpy(copy, nw, size);
    qp_diff_stats_t st;
    unsigned k;
    for (k = 1; k < 100000u; k++) {
        uint8_t *pkg = NULL;
        uint32_t n = 0;
        fault_malloc_arm(k);
        int err = qp_diff_create(NULL, old, size, nw, size, NULL, 0, &pkg, &n, &st);
        int failed = fault_malloc_reached();
        fault_malloc_arm(0);
        assert_memory_equal(nw, copy, size);
        if (!failed) {
            assert_int_equal(err, 0);
            assert_int_equal(st.filters[QP_PATCH_FILTER_THUMB] +
                                 st.filters[QP_PATCH_FILTER_THUMB_MAP], 1);
            qp_diff_free(pkg);
            break;
        }
        assert_int_equal(err, QP_ERR_NOMEM);
        assert_null(pkg);
    }
    assert_true(k > 1 && k < 100000u);
    printf("# qp_diff_create: %u allocation points\n", k - 1);
    free(old);
    free(nw);
    free(copy);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prepare),
        cmocka_unit_test(test_apply),
        cmocka_unit_test(test_diff),
        cmocka_unit_test(test_diff_create),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
