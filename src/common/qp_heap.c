// qp_heap.c - heap budget accounting in device-equivalent bytes (see qp_heap.h).
//
// Only the difference from the baseline is charged: the interpreter and the platform
// modules are part of the firmware on the real module and are already outside the 750 KB a
// script sees. Frees of boot-time objects can take use below the baseline; the baseline
// then follows use down, rather than crediting the application with memory it never had.
#include "qp/qp_heap.h"
#include "qp/qp_err.h"

void qp_heap_init(qp_heap_t *heap, const qp_heap_config_t *cfg) {
    heap->cfg = *cfg;
    if (!heap->cfg.small_ratio_x100) {
        heap->cfg.small_ratio_x100 = 100;
    }
    heap->device_in_use = 0;
    heap->device_baseline = 0;
    heap->device_peak = 0;
    heap->budgeting = 0;
    heap->exempt_depth = 0;
    heap->exempt_start = 0;
}

size_t qp_heap_device_cost(const qp_heap_t *heap, size_t host_bytes) {
    if (host_bytes >= heap->cfg.free_min && host_bytes <= heap->cfg.free_max) {
        return 0;
    }
    if (heap->cfg.large_min && host_bytes >= heap->cfg.large_min) {
        return host_bytes;
    }
    // host * 100 / ratio without overflow, rounded up: a small block never costs nothing.
    size_t r = heap->cfg.small_ratio_x100;
    return host_bytes / r * 100 + ((host_bytes % r) * 100 + r - 1) / r;
}

void qp_heap_start_budget(qp_heap_t *heap) {
    heap->device_baseline = heap->device_in_use;
    heap->device_peak = 0;
    heap->budgeting = 1;
}

static size_t used_at(const qp_heap_t *heap, size_t in_use) {
    if (!heap->budgeting || in_use <= heap->device_baseline) {
        return 0;
    }
    return in_use - heap->device_baseline;
}

void qp_heap_exempt_begin(qp_heap_t *heap) {
    if (heap->exempt_depth++ == 0) {
        heap->exempt_start = heap->device_in_use;
    }
}

void qp_heap_exempt_end(qp_heap_t *heap) {
    if (heap->exempt_depth == 0 || --heap->exempt_depth > 0) {
        return;
    }
    // What the exempt work left allocated moves the zero point up with it.
    if (heap->device_in_use > heap->exempt_start) {
        heap->device_baseline += heap->device_in_use - heap->exempt_start;
    }
}

int qp_heap_reserve(qp_heap_t *heap, size_t host_bytes) {
    size_t after = heap->device_in_use + qp_heap_device_cost(heap, host_bytes);
    if (after < heap->device_in_use) {
        return QP_ERR_NOMEM; // size_t overflow: certainly over any budget
    }
    size_t used = used_at(heap, after);
    if (heap->budgeting && !heap->exempt_depth && heap->cfg.budget && used > heap->cfg.budget) {
        return QP_ERR_NOMEM;
    }
    heap->device_in_use = after;
    if (!heap->exempt_depth && used > heap->device_peak) {
        heap->device_peak = used;
    }
    return 0;
}

void qp_heap_release(qp_heap_t *heap, size_t host_bytes) {
    size_t cost = qp_heap_device_cost(heap, host_bytes);
    heap->device_in_use = cost > heap->device_in_use ? 0 : heap->device_in_use - cost;
    if (heap->device_in_use < heap->device_baseline) {
        heap->device_baseline = heap->device_in_use;
    }
}

size_t qp_heap_device_used(const qp_heap_t *heap) {
    return used_at(heap, heap->device_in_use);
}

size_t qp_heap_device_free(const qp_heap_t *heap) {
    size_t used = qp_heap_device_used(heap);
    return used >= heap->cfg.budget ? 0 : heap->cfg.budget - used;
}
