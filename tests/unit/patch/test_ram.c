// The RAM bound (SPEC-patch §3.1, §6.4): the apply never holds more than the header's
// apply_ram, measured with a counting allocator and enforced (an allocator capped at exactly
// apply_ram suffices); an allocator failing at the k-th call, for every k, gives
// QP_ERR_NOMEM without leaking, and the next boot with memory finishes the update.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "patch_testutil.h"
#include "qp/qp_err.h"

#define FW (64u * 1024u)

static void test_peak_within_header(void **state) {
    (void)state;
    tu_pair_t p;
    tu_make_pair(&p, 61, 40000, 15);
    qp_diff_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.level = 6;
    cfg.dict_max = 64 * 1024;
    uint8_t *pkg;
    uint32_t n;
    qp_diff_stats_t st;
    assert_int_equal(qp_diff_create(&cfg, p.old, p.old_size, p.new_, p.new_size, NULL, 0, &pkg,
                                    &n, &st), 0);
    tu_dev_t d;
    tu_dev_open(&d, FW, FW);
    assert_int_equal(qp_flash_part_program(&d.fw, 0, p.old, p.old_size), 0);
    tu_alloc_t a = {0};
    a.limit = st.apply_ram;
    tu_mem_t pm = {pkg, n, 0};
    qp_patch_inplace_config_t c;
    tu_inplace_config(&c, &d, &pm);
    c.patch.alloc = tu_alloc;
    c.patch.free = tu_free;
    c.patch.alloc_ctx = &a;
    qp_patch_inplace_stats_t s;
    assert_int_equal(qp_patch_inplace_apply(&c, &s), 0);
    assert_true(a.peak <= st.apply_ram);
    assert_true(s.ram_peak <= st.apply_ram);
    assert_int_equal(a.live, 0);
    // A small dictionary keeps the whole apply small.
    assert_true(st.apply_ram < 400 * 1024);
    tu_dev_close(&d);
    qp_diff_free(pkg);
    tu_free_pair(&p);
}

static void test_failing_allocator(void **state) {
    (void)state;
    tu_pair_t p;
    tu_make_pair(&p, 62, 15000, 8);
    qp_diff_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.level = 6;
    uint8_t *pkg;
    uint32_t n;
    assert_int_equal(qp_diff_create(&cfg, p.old, p.old_size, p.new_, p.new_size, NULL, 0, &pkg,
                                    &n, NULL), 0);
    int succeeded = 0;
    for (unsigned k = 1; !succeeded && k < 500; k++) {
        tu_dev_t d;
        tu_dev_open(&d, FW, FW);
        assert_int_equal(qp_flash_part_program(&d.fw, 0, p.old, p.old_size), 0);
        tu_alloc_t a = {0};
        a.fail_at = k;
        tu_mem_t pm = {pkg, n, 0};
        qp_patch_inplace_config_t c;
        tu_inplace_config(&c, &d, &pm);
        c.patch.alloc = tu_alloc;
        c.patch.free = tu_free;
        c.patch.alloc_ctx = &a;
        int err = qp_patch_inplace_apply(&c, NULL);
        assert_int_equal(a.live, 0);
        if (err == 0) {
            succeeded = 1;
        } else {
            assert_int_equal(err, QP_ERR_NOMEM);
            a.fail_at = 0;
            assert_int_equal(qp_patch_inplace_apply(&c, NULL), 0);
            assert_int_equal(a.live, 0);
        }
        uint8_t *got = malloc(p.new_size);
        assert_int_equal(qp_flash_part_read(&d.fw, 0, got, p.new_size), 0);
        assert_memory_equal(got, p.new_, p.new_size);
        free(got);
        tu_dev_close(&d);
    }
    assert_true(succeeded);
    qp_diff_free(pkg);
    tu_free_pair(&p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_peak_within_header),
        cmocka_unit_test(test_failing_allocator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
