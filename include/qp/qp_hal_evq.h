// qp_hal_evq.h - a bounded queue of events from HAL threads to the Python dispatcher.
//
// HAL threads (a UART's receive thread, later the modem's URC reader) never call into
// Python (house style B5): they push a small fixed-size record here, and the binding's
// dispatcher thread pops it with the GIL released, then takes the GIL and calls the
// script's callback, as the firmware's callback-deal task does. Push never blocks a HAL
// thread; a full queue drops the event and counts it. Events may be merged: a push with
// `merge` set adds its value to a pending event of the same source, type and port, so a
// burst of small receptions becomes one callback whose size is their sum, and a producer
// that merges can never overflow the queue.
//
// Thread-safety: every function may be called from any thread once init has returned;
// init and deinit must not race with anything.
#ifndef QP_HAL_EVQ_H
#define QP_HAL_EVQ_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

typedef struct qp_hal_event {
    int source;     // who produced it (QP_HAL_EVENT_SOURCE_*)
    int type;       // source-specific kind (for a UART: the callback's ind_type)
    int port;       // source-specific instance (for a UART: its number)
    uint64_t value; // source-specific amount (for a UART: bytes received)
} qp_hal_event_t;

#define QP_HAL_EVENT_SOURCE_UART 1

typedef struct qp_hal_evq {
    pthread_mutex_t lock;
    pthread_cond_t ready;
    qp_hal_event_t *slots;
    size_t capacity, head, count;
    uint64_t dropped;
    int closed;
} qp_hal_evq_t;

// Sets up a queue over `capacity` caller-owned slots (which must outlive the queue).
// @retval QP_ERR_INVAL capacity 0 or slots NULL
int qp_hal_evq_init(qp_hal_evq_t *q, qp_hal_event_t *slots, size_t capacity);

// Queues a copy of *ev, or with `merge` adds ev->value to a pending event with the same
// source, type and port. Never blocks.
// @retval QP_ERR_NOSPC full (the event is dropped and counted)
// @retval QP_ERR_BADF  closed
int qp_hal_evq_push(qp_hal_evq_t *q, const qp_hal_event_t *ev, int merge);

// Takes the oldest event, waiting up to timeout_ms (negative: forever).
// @retval QP_ERR_AGAIN nothing arrived in time
// @retval QP_ERR_BADF  the queue was closed (pending events are discarded)
int qp_hal_evq_pop(qp_hal_evq_t *q, qp_hal_event_t *ev, int timeout_ms);

// Closes the queue: waiting and later pops return QP_ERR_BADF, pushes are refused.
void qp_hal_evq_close(qp_hal_evq_t *q);

// Events dropped because the queue was full.
uint64_t qp_hal_evq_dropped(qp_hal_evq_t *q);

// Releases the queue's locks. No thread may use it afterwards.
void qp_hal_evq_deinit(qp_hal_evq_t *q);

#endif
