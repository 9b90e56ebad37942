// qp_heap.h - the module's heap budget: accounting of application memory in
// device-equivalent bytes.
//
// The real EC600S gives a script about 750 KB of MicroPython heap. The virtual module runs
// CPython, whose small objects are bigger than MicroPython's (64-bit pointers, 16-byte
// object headers against 4), so each host allocation is converted to what it would cost on
// the device before it is charged against the budget: small blocks (object headers,
// pointer-rich structures) are divided by a measured ratio, large blocks (string, bytes
// and buffer payloads, which are the same size on both) are charged as they are, and
// blocks in one chosen size range (CPython's small ints, tagged values that take no heap
// in MicroPython) cost nothing. docs/heap.md has the model and the measurement. The accountant is plain C with no
// allocator of its own: the runtime calls qp_heap_reserve() before each allocation and
// qp_heap_release() after each free (src/runtime/qp_pyalloc.c).
//
// Thread-safety: none. The runtime only calls it with the Python GIL held.
#ifndef QP_HEAP_H
#define QP_HEAP_H

#include <stddef.h>

// The cost model. Zero-initialised means: no budget, everything charged 1:1.
typedef struct qp_heap_config {
    size_t budget;             // device bytes the application may use (0: unlimited)
    unsigned small_ratio_x100; // host bytes per device byte for small blocks, times 100
    size_t large_min;          // host blocks of at least this size are charged 1:1 (0: none)
    size_t free_min, free_max; // host blocks within [free_min, free_max] cost nothing
                               // (free_max 0: none)
} qp_heap_config_t;

typedef struct qp_heap {
    qp_heap_config_t cfg;
    size_t device_in_use;   // device-equivalent bytes of all blocks now allocated
    size_t device_baseline; // device_in_use when budgeting started (end of boot)
    size_t device_peak;     // highest use above the baseline since budgeting started
    int budgeting;          // 0 during boot: the platform's own start-up is not charged
    unsigned exempt_depth;  // >0 while platform code runs that the device has in ROM
    size_t exempt_start;    // device_in_use when the outermost exemption began
} qp_heap_t;

// Sets up an accountant with the cost model `cfg` (copied). Never fails. Budgeting starts
// with qp_heap_start_budget(); until then every reservation succeeds.
void qp_heap_init(qp_heap_t *heap, const qp_heap_config_t *cfg);

// What a host block of `host_bytes` costs on the device.
size_t qp_heap_device_cost(const qp_heap_t *heap, size_t host_bytes);

// Makes the current use the zero point of the budget (called once boot has finished).
void qp_heap_start_budget(qp_heap_t *heap);

// Brackets platform work that the device does not pay for from the script's heap (loading
// a frozen module, which on the module is in flash): allocations in between are never
// refused, and what they leave allocated at the end moves the baseline up instead of
// being charged. Nests.
void qp_heap_exempt_begin(qp_heap_t *heap);
void qp_heap_exempt_end(qp_heap_t *heap);

// Charges a host block of `host_bytes` about to be allocated.
// @retval 0            charged
// @retval QP_ERR_NOMEM the allocation would take the application over its budget
int qp_heap_reserve(qp_heap_t *heap, size_t host_bytes);

// Gives back a host block of `host_bytes` that was charged and is now free.
void qp_heap_release(qp_heap_t *heap, size_t host_bytes);

// Device-equivalent bytes the application uses now, and what is left of the budget.
size_t qp_heap_device_used(const qp_heap_t *heap);
size_t qp_heap_device_free(const qp_heap_t *heap);

#endif
