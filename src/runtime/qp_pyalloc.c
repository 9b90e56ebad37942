// qp_pyalloc.c - charges every Python object and buffer allocation to the module's heap
// budget (qp_heap), so a script that would run out of memory on the device gets
// MemoryError here too.
//
// We wrap CPython's own allocators for the MEM and OBJ domains (pymalloc stays in place
// underneath) and prefix each block with a 16-byte header holding its size, because frees
// do not say how big a block was. 16 bytes keeps the alignment CPython expects. The RAW
// domain is left alone: it serves the interpreter's own bookkeeping, not script objects,
// and is called without the GIL. Must be installed after pre-initialisation and before
// Py_InitializeFromConfig (house-style trap 5).
#include "qp_runtime_internal.h"

#include <string.h>

#define HEADER 16

typedef struct {
    PyMemAllocatorEx inner;   // the allocator we wrap
} domain_wrap;

static qp_heap_t heap;
static domain_wrap wrap_mem, wrap_obj;

static void *wrapped_malloc(void *ctx, size_t size) {
    domain_wrap *w = ctx;
    if (size > SIZE_MAX - HEADER || qp_heap_reserve(&heap, size) < 0) {
        return NULL;
    }
    unsigned char *block = w->inner.malloc(w->inner.ctx, size + HEADER);
    if (!block) {
        qp_heap_release(&heap, size);
        return NULL;
    }
    memcpy(block, &size, sizeof size);
    return block + HEADER;
}

static void *wrapped_calloc(void *ctx, size_t nelem, size_t elsize) {
    if (elsize && nelem > (SIZE_MAX - HEADER) / elsize) {
        return NULL;
    }
    void *p = wrapped_malloc(ctx, nelem * elsize);
    if (p) {
        memset(p, 0, nelem * elsize);
    }
    return p;
}

static void wrapped_free(void *ctx, void *ptr) {
    domain_wrap *w = ctx;
    if (!ptr) {
        return;
    }
    unsigned char *block = (unsigned char *)ptr - HEADER;
    size_t size;
    memcpy(&size, block, sizeof size);
    qp_heap_release(&heap, size);
    w->inner.free(w->inner.ctx, block);
}

static void *wrapped_realloc(void *ctx, void *ptr, size_t new_size) {
    domain_wrap *w = ctx;
    if (!ptr) {
        return wrapped_malloc(ctx, new_size);
    }
    unsigned char *block = (unsigned char *)ptr - HEADER;
    size_t old_size;
    memcpy(&old_size, block, sizeof old_size);
    if (new_size > SIZE_MAX - HEADER) {
        return NULL;
    }
    // A block's cost depends on its size class (qp_heap_device_cost), so re-charge it
    // whole rather than by the difference.
    qp_heap_release(&heap, old_size);
    if (qp_heap_reserve(&heap, new_size) < 0) {
        (void)qp_heap_reserve(&heap, old_size); // the old block stays
        return NULL;
    }
    unsigned char *moved = w->inner.realloc(w->inner.ctx, block, new_size + HEADER);
    if (!moved) {
        qp_heap_release(&heap, new_size);
        (void)qp_heap_reserve(&heap, old_size);
        return NULL;
    }
    memcpy(moved, &new_size, sizeof new_size);
    return moved + HEADER;
}

static void install(PyMemAllocatorDomain domain, domain_wrap *w) {
    PyMem_GetAllocator(domain, &w->inner);
    PyMemAllocatorEx outer = {w, wrapped_malloc, wrapped_calloc, wrapped_realloc,
                              wrapped_free};
    PyMem_SetAllocator(domain, &outer);
}

void qp_pyalloc_install(size_t budget) {
    qp_heap_config_t cfg = {budget, QP_HEAP_SMALL_RATIO_X100, QP_HEAP_LARGE_BLOCK,
                            QP_HEAP_INT_MIN, QP_HEAP_INT_MAX};
    qp_heap_init(&heap, &cfg);
    install(PYMEM_DOMAIN_MEM, &wrap_mem);
    install(PYMEM_DOMAIN_OBJ, &wrap_obj);
}

qp_heap_t *qp_pyalloc_heap(void) {
    return &heap;
}
