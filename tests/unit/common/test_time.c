// Unit tests for tick wrap-around and the calendar: checked against values the C library
// computes for UTC (timegm/gmtime_r) over a wide range, plus MicroPython's documented
// ticks_diff examples.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <time.h>

#include "qp/qp_time.h"

static void test_ticks_wrap_around(void **state) {
    (void)state;
    assert_int_equal(qp_ticks_diff(5, 3), 2);
    assert_int_equal(qp_ticks_diff(3, 5), -2);
    // Across the wrap: 2 ticks after MAX is 1.
    assert_int_equal(qp_ticks_diff(1, QP_TICKS_MAX), 2);
    assert_int_equal(qp_ticks_diff(QP_TICKS_MAX, 1), -2);
    assert_int_equal(qp_ticks_add(QP_TICKS_MAX, 2), 1);
    assert_int_equal(qp_ticks_add(1, -2), QP_TICKS_MAX);
    assert_int_equal(qp_ticks_wrap(QP_TICKS_PERIOD + 7), 7);
    // Half a period away is the most negative distance.
    assert_int_equal(qp_ticks_diff(QP_TICKS_PERIOD / 2, 0), -(int32_t)(QP_TICKS_PERIOD / 2));
}

static void check_against_libc(int64_t s) {
    time_t t = (time_t)s;
    struct tm ref;
    assert_non_null(gmtime_r(&t, &ref));
    qp_time_tm_t tm;
    qp_time_to_tm(s, &tm);
    assert_int_equal(tm.year, ref.tm_year + 1900);
    assert_int_equal(tm.month, ref.tm_mon + 1);
    assert_int_equal(tm.mday, ref.tm_mday);
    assert_int_equal(tm.hour, ref.tm_hour);
    assert_int_equal(tm.minute, ref.tm_min);
    assert_int_equal(tm.second, ref.tm_sec);
    assert_int_equal(tm.weekday, (ref.tm_wday + 6) % 7);
    assert_int_equal(tm.yearday, ref.tm_yday + 1);
    assert_int_equal(qp_time_from_tm(&tm), s);
}

static void test_calendar_matches_libc(void **state) {
    (void)state;
    for (int64_t s = -2208988800LL; s < 4102444800LL; s += 86400LL * 13 + 3607) {
        check_against_libc(s);
    }
    check_against_libc(0);
    check_against_libc(951782400); // 2000-02-29
    check_against_libc(-1);
}

static void test_from_tm_normalises(void **state) {
    (void)state;
    qp_time_tm_t tm = {.year = 2020, .month = 13, .mday = 1};
    assert_int_equal(qp_time_from_tm(&tm), 1609459200); // 2021-01-01
    qp_time_tm_t tm2 = {.year = 2021, .month = 1, .mday = 0, .second = 60};
    assert_int_equal(qp_time_from_tm(&tm2), 1609459200 - 86400 + 60);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ticks_wrap_around),
        cmocka_unit_test(test_calendar_matches_libc),
        cmocka_unit_test(test_from_tm_normalises),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
