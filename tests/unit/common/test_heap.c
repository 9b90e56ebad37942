// Unit tests for the heap accountant: the cost model, budget, baseline and clamping.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "qp/qp_err.h"
#include "qp/qp_heap.h"

static void test_cost_model(void **state) {
    (void)state;
    qp_heap_t h;
    qp_heap_init(&h, &(qp_heap_config_t){1000, 250, 512, 0, 0});
    assert_int_equal(qp_heap_device_cost(&h, 250), 100);  // small: divided by 2.5
    assert_int_equal(qp_heap_device_cost(&h, 1), 1);      // rounded up, never free
    assert_int_equal(qp_heap_device_cost(&h, 511), 205);
    assert_int_equal(qp_heap_device_cost(&h, 512), 512);  // large: 1:1
    assert_int_equal(qp_heap_device_cost(&h, 100000), 100000);
    qp_heap_init(&h, &(qp_heap_config_t){1000, 0, 0, 0, 0}); // 1:1 everywhere
    assert_int_equal(qp_heap_device_cost(&h, 777), 777);
    qp_heap_init(&h, &(qp_heap_config_t){1000, 380, 512, 28, 32}); // small ints are free
    assert_int_equal(qp_heap_device_cost(&h, 27), 8);
    assert_int_equal(qp_heap_device_cost(&h, 28), 0);
    assert_int_equal(qp_heap_device_cost(&h, 32), 0);
    assert_int_equal(qp_heap_device_cost(&h, 33), 9);
}

static void test_boot_allocations_are_free(void **state) {
    (void)state;
    qp_heap_t h;
    qp_heap_init(&h, &(qp_heap_config_t){1000, 100, 0, 0, 0});
    // Before budgeting starts nothing is refused, however large.
    assert_int_equal(qp_heap_reserve(&h, 1u << 30), 0);
    qp_heap_start_budget(&h);
    assert_int_equal(qp_heap_device_used(&h), 0);
    assert_int_equal(qp_heap_device_free(&h), 1000);
}

static void test_budget_is_enforced_in_device_bytes(void **state) {
    (void)state;
    qp_heap_t h;
    qp_heap_init(&h, &(qp_heap_config_t){1000, 250, 512, 0, 0});
    qp_heap_start_budget(&h);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(qp_heap_reserve(&h, 250), 0); // 10 x 100 device bytes
    }
    assert_int_equal(qp_heap_device_used(&h), 1000);
    assert_int_equal(qp_heap_device_free(&h), 0);
    assert_int_equal(qp_heap_reserve(&h, 3), QP_ERR_NOMEM);
    assert_int_equal(qp_heap_device_used(&h), 1000); // a refusal charges nothing
    qp_heap_release(&h, 250);
    assert_int_equal(qp_heap_device_free(&h), 100);
    assert_int_equal(qp_heap_reserve(&h, 600), QP_ERR_NOMEM); // large: 600 > 100
    assert_int_equal(h.device_peak, 1000);
}

static void test_freeing_boot_memory_is_not_credited(void **state) {
    (void)state;
    qp_heap_t h;
    qp_heap_init(&h, &(qp_heap_config_t){500, 0, 0, 0, 0}); // 1:1
    assert_int_equal(qp_heap_reserve(&h, 400), 0);
    qp_heap_start_budget(&h);
    qp_heap_release(&h, 400);
    assert_int_equal(qp_heap_device_used(&h), 0);
    assert_int_equal(qp_heap_reserve(&h, 500), 0);
    assert_int_equal(qp_heap_reserve(&h, 1), QP_ERR_NOMEM);
    qp_heap_release(&h, 10000); // over-release cannot wrap around
    assert_int_equal(h.device_in_use, 0);
}

static void test_overflow_is_refused(void **state) {
    (void)state;
    qp_heap_t h;
    qp_heap_init(&h, &(qp_heap_config_t){0, 100, 0, 0, 0}); // no budget
    qp_heap_start_budget(&h);
    assert_int_equal(qp_heap_reserve(&h, SIZE_MAX - 10), 0);
    assert_int_equal(qp_heap_reserve(&h, 100), QP_ERR_NOMEM);
}

static void test_exempt_work_moves_the_baseline(void **state) {
    (void)state;
    qp_heap_t h;
    qp_heap_init(&h, &(qp_heap_config_t){1000, 0, 0, 0, 0});
    qp_heap_start_budget(&h);
    assert_int_equal(qp_heap_reserve(&h, 100), 0);
    qp_heap_exempt_begin(&h);
    qp_heap_exempt_begin(&h); // nests
    assert_int_equal(qp_heap_reserve(&h, 5000), 0); // over budget, but exempt
    qp_heap_release(&h, 5000);
    assert_int_equal(qp_heap_reserve(&h, 300), 0);  // stays allocated: a loaded module
    qp_heap_exempt_end(&h);
    qp_heap_exempt_end(&h);
    assert_int_equal(qp_heap_device_used(&h), 100); // only the script's own block
    assert_int_equal(qp_heap_reserve(&h, 901), QP_ERR_NOMEM);
    qp_heap_exempt_end(&h); // unbalanced end is ignored
    assert_int_equal(qp_heap_device_used(&h), 100);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cost_model),
        cmocka_unit_test(test_boot_allocations_are_free),
        cmocka_unit_test(test_budget_is_enforced_in_device_bytes),
        cmocka_unit_test(test_freeing_boot_memory_is_not_credited),
        cmocka_unit_test(test_overflow_is_refused),
        cmocka_unit_test(test_exempt_work_moves_the_baseline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
