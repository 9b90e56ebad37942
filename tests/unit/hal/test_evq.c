// Unit tests for the HAL-to-dispatcher event queue (src/hal/qp_hal_evq.c): order, merging,
// overflow, timeouts, close waking a waiting consumer, and a producer thread racing one
// consumer without losing or duplicating an event.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <time.h>

#include "qp/qp_err.h"
#include "qp/qp_hal_evq.h"

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static qp_hal_event_t uart_ev(int port, uint64_t size) {
    qp_hal_event_t ev = {QP_HAL_EVENT_SOURCE_UART, 0, port, size};
    return ev;
}

static void test_order_and_overflow(void **state) {
    (void)state;
    qp_hal_event_t slots[3], ev;
    qp_hal_evq_t q;
    assert_int_equal(qp_hal_evq_init(&q, NULL, 3), QP_ERR_INVAL);
    assert_int_equal(qp_hal_evq_init(&q, slots, 0), QP_ERR_INVAL);
    assert_int_equal(qp_hal_evq_init(&q, slots, 3), 0);
    for (int round = 0; round < 3; round++) { // goes round the ring
        for (int i = 0; i < 3; i++) {
            ev = uart_ev(i, 10u + (unsigned)i);
            assert_int_equal(qp_hal_evq_push(&q, &ev, 0), 0);
        }
        ev = uart_ev(3, 1);
        assert_int_equal(qp_hal_evq_push(&q, &ev, 0), QP_ERR_NOSPC);
        for (int i = 0; i < 3; i++) {
            assert_int_equal(qp_hal_evq_pop(&q, &ev, 0), 0);
            assert_int_equal(ev.port, i);
            assert_int_equal(ev.value, 10 + i);
        }
        assert_int_equal(qp_hal_evq_pop(&q, &ev, 0), QP_ERR_AGAIN);
    }
    assert_int_equal(qp_hal_evq_dropped(&q), 3);
    qp_hal_evq_deinit(&q);
}

static void test_merge(void **state) {
    (void)state;
    qp_hal_event_t slots[2], ev;
    qp_hal_evq_t q;
    assert_int_equal(qp_hal_evq_init(&q, slots, 2), 0);
    // many receptions on two ports fit a two-slot queue and keep their totals
    for (int i = 0; i < 100; i++) {
        ev = uart_ev(i % 2, 3);
        assert_int_equal(qp_hal_evq_push(&q, &ev, 1), 0);
    }
    ev = (qp_hal_event_t){QP_HAL_EVENT_SOURCE_UART, 1, 0, 1}; // another type: no merge
    assert_int_equal(qp_hal_evq_push(&q, &ev, 1), QP_ERR_NOSPC);
    assert_int_equal(qp_hal_evq_pop(&q, &ev, 0), 0);
    assert_int_equal(ev.port, 0);
    assert_int_equal(ev.value, 150);
    assert_int_equal(qp_hal_evq_pop(&q, &ev, 0), 0);
    assert_int_equal(ev.port, 1);
    assert_int_equal(ev.value, 150);
    // once delivered, a new reception starts a new event
    ev = uart_ev(0, 5);
    assert_int_equal(qp_hal_evq_push(&q, &ev, 1), 0);
    assert_int_equal(qp_hal_evq_pop(&q, &ev, 0), 0);
    assert_int_equal(ev.value, 5);
    qp_hal_evq_deinit(&q);
}

static void test_timeout(void **state) {
    (void)state;
    qp_hal_event_t slots[1], ev;
    qp_hal_evq_t q;
    assert_int_equal(qp_hal_evq_init(&q, slots, 1), 0);
    int64_t t0 = now_ms();
    assert_int_equal(qp_hal_evq_pop(&q, &ev, 50), QP_ERR_AGAIN);
    int64_t waited = now_ms() - t0;
    assert_true(waited >= 45 && waited < 1000);
    qp_hal_evq_deinit(&q);
}

static void *close_later(void *arg) {
    struct timespec ts = {0, 30 * 1000000};
    nanosleep(&ts, NULL);
    qp_hal_evq_close(arg);
    return NULL;
}

static void test_close_wakes_consumer(void **state) {
    (void)state;
    qp_hal_event_t slots[1], ev;
    qp_hal_evq_t q;
    assert_int_equal(qp_hal_evq_init(&q, slots, 1), 0);
    ev = uart_ev(2, 1);
    assert_int_equal(qp_hal_evq_push(&q, &ev, 0), 0);
    assert_int_equal(qp_hal_evq_pop(&q, &ev, -1), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, close_later, &q), 0);
    assert_int_equal(qp_hal_evq_pop(&q, &ev, -1), QP_ERR_BADF);
    pthread_join(t, NULL);
    assert_int_equal(qp_hal_evq_push(&q, &ev, 0), QP_ERR_BADF);
    assert_int_equal(qp_hal_evq_pop(&q, &ev, 0), QP_ERR_BADF);
    qp_hal_evq_deinit(&q);
}

#define PRODUCED 20000

static void *producer(void *arg) {
    qp_hal_evq_t *q = arg;
    for (int i = 0; i < PRODUCED; i++) {
        qp_hal_event_t ev = uart_ev(i % 4, 1);
        // merging producers never see a full queue with four streams and four slots
        if (qp_hal_evq_push(q, &ev, 1) != 0) {
            return (void *)1;
        }
    }
    return NULL;
}

static void test_producer_consumer(void **state) {
    (void)state;
    qp_hal_event_t slots[4], ev;
    qp_hal_evq_t q;
    assert_int_equal(qp_hal_evq_init(&q, slots, 4), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, producer, &q), 0);
    uint64_t total = 0;
    int64_t end = now_ms() + 5000;
    while (total < PRODUCED && now_ms() < end) {
        if (qp_hal_evq_pop(&q, &ev, 100) == 0) {
            total += ev.value;
        }
    }
    void *result;
    pthread_join(t, &result);
    assert_null(result);
    assert_int_equal(total, PRODUCED);
    assert_int_equal(qp_hal_evq_dropped(&q), 0);
    qp_hal_evq_deinit(&q);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_and_overflow),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_close_wakes_consumer),
        cmocka_unit_test(test_producer_consumer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
