// image_test.h - helpers shared by the image unit tests: an in-memory image sink and
// source for the write/read callbacks, a counting allocator, and a builder shortcut.
#ifndef QP_IMAGE_TEST_H
#define QP_IMAGE_TEST_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fwgen.h"
#include "qp/qp_err.h"
#include "qp/qp_image.h"

typedef struct membuf {
    uint8_t *data;
    size_t len, cap;
} membuf_t;

static inline int mem_write(void *ctx, const void *buf, size_t len) {
    membuf_t *m = ctx;
    if (m->len + len > m->cap) {
        size_t cap = (m->len + len) * 2;
        uint8_t *p = realloc(m->data, cap);
        if (!p) {
            return QP_ERR_NOMEM;
        }
        m->data = p;
        m->cap = cap;
    }
    memcpy(m->data + m->len, buf, len);
    m->len += len;
    return 0;
}

static inline int mem_read(void *ctx, uint64_t off, void *buf, size_t len) {
    const membuf_t *m = ctx;
    if (off > m->len || len > m->len - off) {
        return QP_ERR_IO;
    }
    memcpy(buf, m->data + off, len);
    return 0;
}

// Counting allocator: current and peak bytes, allocation count, and an optional failure
// at the fail_at-th allocation (1-based; 0 = never).
typedef struct counter {
    size_t cur, peak, count, fail_at;
} counter_t;

static inline void *count_alloc(void *ctx, size_t size) {
    counter_t *c = ctx;
    c->count++;
    if (c->fail_at && c->count == c->fail_at) {
        return NULL;
    }
    size_t *p = malloc(size + sizeof(size_t) * 2);
    if (!p) {
        return NULL;
    }
    p[0] = size;
    c->cur += size;
    if (c->cur > c->peak) {
        c->peak = c->cur;
    }
    return p + 2;
}

static inline void count_free(void *ctx, void *ptr) {
    counter_t *c = ctx;
    if (!ptr) {
        return;
    }
    size_t *p = (size_t *)ptr - 2;
    c->cur -= p[0];
    free(p);
}

static inline qp_image_config_t counting_config(counter_t *c) {
    qp_image_config_t cfg = {0};
    cfg.alloc = count_alloc;
    cfg.free = count_free;
    cfg.alloc_ctx = c;
    return cfg;
}

static inline uint8_t *make_fw(size_t size, uint64_t seed, uint32_t variant) {
    uint8_t *p = malloc(size ? size : 1);
    if (p && fwgen_make(p, size, seed, variant) != size) {
        free(p);
        return NULL;
    }
    return p;
}

#endif
