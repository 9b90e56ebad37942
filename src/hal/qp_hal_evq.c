// qp_hal_evq.c - the bounded event queue between HAL threads and the Python dispatcher
// (contract in qp_hal_evq.h). A ring of caller-owned slots under one mutex; waiting uses a
// condition variable on CLOCK_MONOTONIC so a wall-clock change cannot stretch a timeout.
#include "qp/qp_err.h"
#include "qp/qp_hal_evq.h"

#include <time.h>

int qp_hal_evq_init(qp_hal_evq_t *q, qp_hal_event_t *slots, size_t capacity) {
    if (!slots || capacity == 0) {
        return QP_ERR_INVAL;
    }
    pthread_mutex_init(&q->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&q->ready, &attr);
    pthread_condattr_destroy(&attr);
    q->slots = slots;
    q->capacity = capacity;
    q->head = q->count = 0;
    q->dropped = 0;
    q->closed = 0;
    return 0;
}

static int same_stream(const qp_hal_event_t *a, const qp_hal_event_t *b) {
    return a->source == b->source && a->type == b->type && a->port == b->port;
}

int qp_hal_evq_push(qp_hal_evq_t *q, const qp_hal_event_t *ev, int merge) {
    int err = 0;
    pthread_mutex_lock(&q->lock);
    if (q->closed) {
        err = QP_ERR_BADF;
        goto cleanup;
    }
    if (merge) {
        for (size_t i = 0; i < q->count; i++) {
            qp_hal_event_t *pending = &q->slots[(q->head + i) % q->capacity];
            if (same_stream(pending, ev)) {
                pending->value += ev->value;
                goto cleanup; // the dispatcher is already due to wake for it
            }
        }
    }
    if (q->count == q->capacity) {
        q->dropped++;
        err = QP_ERR_NOSPC;
        goto cleanup;
    }
    q->slots[(q->head + q->count) % q->capacity] = *ev;
    q->count++;
    pthread_cond_signal(&q->ready);
cleanup:
    pthread_mutex_unlock(&q->lock);
    return err;
}

int qp_hal_evq_pop(qp_hal_evq_t *q, qp_hal_event_t *ev, int timeout_ms) {
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    if (timeout_ms > 0) {
        deadline.tv_sec += timeout_ms / 1000;
        deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
        if (deadline.tv_nsec >= 1000000000) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000;
        }
    }
    int err = 0;
    pthread_mutex_lock(&q->lock);
    while (!q->closed && q->count == 0) {
        if (timeout_ms < 0) {
            pthread_cond_wait(&q->ready, &q->lock);
        } else if (timeout_ms == 0 ||
                   pthread_cond_timedwait(&q->ready, &q->lock, &deadline) != 0) {
            // timed out (spurious wake-ups loop back through the while)
            if (!q->closed && q->count == 0) {
                err = QP_ERR_AGAIN;
                goto cleanup;
            }
        }
    }
    if (q->closed) {
        err = QP_ERR_BADF;
        goto cleanup;
    }
    *ev = q->slots[q->head];
    q->head = (q->head + 1) % q->capacity;
    q->count--;
cleanup:
    pthread_mutex_unlock(&q->lock);
    return err;
}

void qp_hal_evq_close(qp_hal_evq_t *q) {
    pthread_mutex_lock(&q->lock);
    q->closed = 1;
    q->count = 0;
    pthread_cond_broadcast(&q->ready);
    pthread_mutex_unlock(&q->lock);
}

uint64_t qp_hal_evq_dropped(qp_hal_evq_t *q) {
    pthread_mutex_lock(&q->lock);
    uint64_t n = q->dropped;
    pthread_mutex_unlock(&q->lock);
    return n;
}

void qp_hal_evq_deinit(qp_hal_evq_t *q) {
    pthread_cond_destroy(&q->ready);
    pthread_mutex_destroy(&q->lock);
}
