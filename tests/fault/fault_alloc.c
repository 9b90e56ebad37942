// fault_alloc.c - see fault_alloc.h.
#include "fault_alloc.h"

#include <stdlib.h>

void fault_alloc_arm(fault_alloc_t *a, unsigned k) {
    a->calls = 0;
    a->fail_at = k;
    a->failed = 0;
    a->live = 0;
}

void *fault_alloc(void *ctx, size_t size) {
    fault_alloc_t *a = ctx;
    a->calls++;
    if (a->fail_at && a->calls == a->fail_at) {
        a->failed = 1;
        return NULL;
    }
    void *p = malloc(size ? size : 1);
    if (p) {
        a->live++;
    }
    return p;
}

void fault_free(void *ctx, void *ptr) {
    fault_alloc_t *a = ctx;
    if (ptr) {
        a->live--;
        free(ptr);
    }
}
