// Unit tests for the heap accountant: budget, scale, baseline and clamping.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "qp/qp_err.h"
#include "qp/qp_heap.h"

static void test_boot_allocations_are_free(void **state) {
    (void)state;
    qp_heap_t h;
    qp_heap_init(&h, 1000, 100);
    // Before budgeting starts nothing is refused, however large.
    assert_int_equal(qp_heap_reserve(&h, 1u << 30), 0);
    qp_heap_start_budget(&h);
    assert_int_equal(qp_heap_device_used(&h), 0);
    assert_int_equal(qp_heap_device_free(&h), 1000);
}

static void test_budget_is_enforced_in_device_bytes(void **state) {
    (void)state;
    qp_heap_t h;
    qp_heap_init(&h, 1000, 250); // 2.5 host bytes per device byte
    qp_heap_start_budget(&h);
    assert_int_equal(qp_heap_reserve(&h, 2500), 0); // exactly 1000 device bytes
    assert_int_equal(qp_heap_device_used(&h), 1000);
    assert_int_equal(qp_heap_device_free(&h), 0);
    assert_int_equal(qp_heap_reserve(&h, 3), QP_ERR_NOMEM);
    assert_int_equal(qp_heap_device_used(&h), 1000); // a refusal charges nothing
    qp_heap_release(&h, 250);
    assert_int_equal(qp_heap_device_free(&h), 100);
    assert_int_equal(h.device_peak, 1000);
}

static void test_freeing_boot_memory_clamps_at_zero(void **state) {
    (void)state;
    qp_heap_t h;
    qp_heap_init(&h, 500, 0); // 0 scale means 1:1
    assert_int_equal(qp_heap_reserve(&h, 400), 0);
    qp_heap_start_budget(&h);
    qp_heap_release(&h, 400);
    assert_int_equal(qp_heap_device_used(&h), 0);
    // Memory freed from boot is not credited to the application.
    assert_int_equal(qp_heap_reserve(&h, 500), 0);
    assert_int_equal(qp_heap_reserve(&h, 1), QP_ERR_NOMEM);
    qp_heap_release(&h, 10000); // over-release cannot wrap around
    assert_int_equal(h.host_in_use, 0);
}

static void test_overflow_is_refused(void **state) {
    (void)state;
    qp_heap_t h;
    qp_heap_init(&h, 0, 100); // no budget
    qp_heap_start_budget(&h);
    assert_int_equal(qp_heap_reserve(&h, SIZE_MAX - 10), 0);
    assert_int_equal(qp_heap_reserve(&h, 100), QP_ERR_NOMEM);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_boot_allocations_are_free),
        cmocka_unit_test(test_budget_is_enforced_in_device_bytes),
        cmocka_unit_test(test_freeing_boot_memory_clamps_at_zero),
        cmocka_unit_test(test_overflow_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
