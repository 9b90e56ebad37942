// The apply library built with QP_NO_MALLOC (qp_patch_nomalloc, strict C11): it allocates
// only through the caller's allocator - here a bump arena in a static buffer - and without
// one every open fails with QP_ERR_NOMEM. The package is made at test time by the differ
// compiled into this executable (it uses malloc itself: it is a host tool).
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "qp/qp_diff.h"
#include "qp/qp_err.h"
#include "qp/qp_patch.h"

static _Alignas(16) uint8_t arena[4u << 20];
static size_t arena_used;

// Bump allocator: frees only when everything is freed (enough for one apply at a time).
static unsigned arena_live;
static void *arena_alloc(void *ctx, size_t size) {
    (void)ctx;
    size = (size + 15u) & ~(size_t)15u;
    if (size > sizeof arena - arena_used) {
        return NULL;
    }
    void *p = arena + arena_used;
    arena_used += size;
    arena_live++;
    return p;
}
static void arena_free(void *ctx, void *ptr) {
    (void)ctx;
    if (ptr && --arena_live == 0) {
        arena_used = 0;
    }
}

typedef struct mem {
    const uint8_t *p;
    uint32_t n;
} mem_t;
static int mem_read(void *ctx, uint32_t off, void *buf, uint32_t len) {
    mem_t *m = ctx;
    if (off > m->n || len > m->n - off) {
        return QP_ERR_RANGE;
    }
    memcpy(buf, m->p + off, len);
    return 0;
}

static void test_arena(void **state) {
    (void)state;
    enum { N = 30000 };
    static uint8_t old[N], nw[N + 100];
    uint32_t x = 1;
    for (uint32_t i = 0; i < N; i++) {
        x = x * 1103515245u + 12345u;
        old[i] = (uint8_t)(i % 7 == 0 ? x >> 24 : i / 64);
    }
    memcpy(nw, old, 1000);
    memset(nw + 1000, 0xAB, 100);
    memcpy(nw + 1100, old + 1000, N - 1000);
    qp_diff_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.level = 6;
    uint8_t *pkg;
    uint32_t n;
    assert_int_equal(qp_diff_create(&cfg, old, N, nw, N + 100, NULL, 0, &pkg, &n, NULL), 0);
    mem_t pm = {pkg, n}, om = {old, N};
    qp_patch_config_t c;
    memset(&c, 0, sizeof c);
    c.pkg_read = mem_read;
    c.pkg_ctx = &pm;
    c.pkg_size = n;
    c.old_read = mem_read;
    c.old_ctx = &om;
    qp_patch_t p;
    // No allocator and no malloc: nothing can be allocated.
    assert_int_equal(qp_patch_open(&p, &c), QP_ERR_NOMEM);
    c.alloc = arena_alloc;
    c.free = arena_free;
    assert_int_equal(qp_patch_open(&p, &c), 0);
    assert_int_equal(qp_patch_verify(&p), 0);
    assert_int_equal(qp_patch_check_old(&p), 0);
    static uint8_t out[N + 100];
    uint32_t got = 0;
    int r;
    while ((r = qp_patch_read(&p, out + got, sizeof out - got)) > 0) {
        got += (uint32_t)r;
    }
    assert_int_equal(r, 0);
    assert_int_equal(got, N + 100);
    assert_memory_equal(out, nw, N + 100);
    qp_patch_close(&p);
    assert_int_equal(arena_live, 0);
    qp_diff_free(pkg);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
