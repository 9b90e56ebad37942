// fault_alloc.h - the failing allocator of the allocation-failure sweeps (tests/fault):
// counts calls and live blocks, and makes exactly the k-th call return NULL, as Lua's
// ltests and SQLite's malloc tests do. Its signature fits every library's allocator slot
// (qp_fs_alloc_t, qp_patch_config_t, qp_image_config_t, qp_flash_config_t).
#ifndef QP_FAULT_ALLOC_H
#define QP_FAULT_ALLOC_H

#include <stddef.h>

typedef struct fault_alloc {
    unsigned calls;   // allocation calls so far
    unsigned fail_at; // the call that fails (1-based); 0: none
    unsigned failed;  // 1 once the failure was handed out
    long live;        // blocks allocated and not yet freed
} fault_alloc_t;

// Resets the counters and arms the failure at call `k` (0: never fail).
void fault_alloc_arm(fault_alloc_t *a, unsigned k);
void *fault_alloc(void *ctx, size_t size);
void fault_free(void *ctx, void *ptr);

// Sweeps stop at this k even if the workload never succeeded: a guard against a workload
// whose allocation count does not settle (the test then fails).
#define FAULT_K_MAX 2000u

#endif
