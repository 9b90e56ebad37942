// qp_heap.h - the module's heap budget: accounting of application memory in
// device-equivalent bytes.
//
// The real EC600S gives a script about 750 KB of MicroPython heap. The virtual module runs
// CPython, whose objects are bigger than MicroPython's (64-bit pointers, larger headers), so
// every host allocation is converted to device-equivalent bytes with a measured scale
// (docs/heap.md) before it is charged against the budget. The accountant is plain C with no
// allocator of its own: the runtime calls qp_heap_reserve() before each allocation and
// qp_heap_release() after each free (src/runtime/qp_pyalloc.c).
//
// Thread-safety: none. The runtime only calls it with the Python GIL held.
#ifndef QP_HEAP_H
#define QP_HEAP_H

#include <stddef.h>

typedef struct qp_heap {
    size_t budget;          // device bytes the application may use (0: unlimited)
    unsigned host_per_device_x100; // host bytes per device byte, times 100 (e.g. 250)
    size_t host_in_use;     // host bytes currently allocated through the accountant
    size_t host_baseline;   // host_in_use when budgeting started (end of boot)
    size_t device_peak;     // highest device-equivalent use seen since budgeting started
    int budgeting;          // 0 during boot: the platform's own start-up is not charged
} qp_heap_t;

// Sets up an accountant with `budget` device bytes and the host/device size ratio
// (times 100; 0 means 100, i.e. 1:1). Never fails. Budgeting starts with
// qp_heap_start_budget(); until then every reservation succeeds.
void qp_heap_init(qp_heap_t *heap, size_t budget, unsigned host_per_device_x100);

// Makes the current use the zero point of the budget (called once boot has finished).
void qp_heap_start_budget(qp_heap_t *heap);

// Charges `host_bytes` about to be allocated.
// @retval 0            charged
// @retval QP_ERR_NOMEM the allocation would take the application over its budget
int qp_heap_reserve(qp_heap_t *heap, size_t host_bytes);

// Gives back `host_bytes` that were charged and are now free.
void qp_heap_release(qp_heap_t *heap, size_t host_bytes);

// Device-equivalent bytes the application uses now, and what is left of the budget.
size_t qp_heap_device_used(const qp_heap_t *heap);
size_t qp_heap_device_free(const qp_heap_t *heap);

#endif
