// fault_malloc.c - see fault_malloc.h.
#include "fault_malloc.h"

#include <stddef.h>

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *ptr, size_t size);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *ptr, size_t size);

static unsigned calls, fail_at;

void fault_malloc_arm(unsigned k) {
    calls = 0;
    fail_at = k;
}

int fault_malloc_reached(void) {
    return fail_at && calls >= fail_at;
}

static int fails(void) {
    return fail_at && ++calls == fail_at;
}

void *__wrap_malloc(size_t size) {
    return fails() ? NULL : __real_malloc(size);
}

void *__wrap_calloc(size_t n, size_t size) {
    return fails() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *ptr, size_t size) {
    return fails() ? NULL : __real_realloc(ptr, size);
}
