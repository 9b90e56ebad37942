// qp_heap.c - heap budget accounting in device-equivalent bytes (see qp_heap.h).
//
// Only the difference from the baseline is charged: the interpreter and the platform
// modules are part of the firmware on the real module and are already outside the 750 KB a
// script sees. Frees of boot-time objects can take use below the baseline; the baseline
// then follows use down, rather than crediting the application with memory it never had.
#include "qp/qp_heap.h"
#include "qp/qp_err.h"

void qp_heap_init(qp_heap_t *heap, size_t budget, unsigned host_per_device_x100) {
    heap->budget = budget;
    heap->host_per_device_x100 = host_per_device_x100 ? host_per_device_x100 : 100;
    heap->host_in_use = 0;
    heap->host_baseline = 0;
    heap->device_peak = 0;
    heap->budgeting = 0;
}

void qp_heap_start_budget(qp_heap_t *heap) {
    heap->host_baseline = heap->host_in_use;
    heap->device_peak = 0;
    heap->budgeting = 1;
}

static size_t to_device_bytes(const qp_heap_t *heap, size_t host_bytes) {
    return (size_t)((unsigned long long)host_bytes * 100u / heap->host_per_device_x100);
}

static size_t device_used_with(const qp_heap_t *heap, size_t host_in_use) {
    if (!heap->budgeting || host_in_use <= heap->host_baseline) {
        return 0;
    }
    return to_device_bytes(heap, host_in_use - heap->host_baseline);
}

int qp_heap_reserve(qp_heap_t *heap, size_t host_bytes) {
    size_t after = heap->host_in_use + host_bytes;
    if (after < heap->host_in_use) {
        return QP_ERR_NOMEM; // size_t overflow: certainly over any budget
    }
    size_t used = device_used_with(heap, after);
    if (heap->budgeting && heap->budget && used > heap->budget) {
        return QP_ERR_NOMEM;
    }
    heap->host_in_use = after;
    if (used > heap->device_peak) {
        heap->device_peak = used;
    }
    return 0;
}

void qp_heap_release(qp_heap_t *heap, size_t host_bytes) {
    heap->host_in_use = host_bytes > heap->host_in_use ? 0 : heap->host_in_use - host_bytes;
    if (heap->host_in_use < heap->host_baseline) {
        heap->host_baseline = heap->host_in_use;
    }
}

size_t qp_heap_device_used(const qp_heap_t *heap) {
    return device_used_with(heap, heap->host_in_use);
}

size_t qp_heap_device_free(const qp_heap_t *heap) {
    size_t used = qp_heap_device_used(heap);
    return used >= heap->budget ? 0 : heap->budget - used;
}
