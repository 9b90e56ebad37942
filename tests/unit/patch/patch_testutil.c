// patch_testutil.c - see patch_testutil.h. The generator is deterministic (its own PRNG,
// no rand()) so every run and every machine builds the same fixtures; nothing binary is
// stored in the repository.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "patch_testutil.h"
#include "qp/qp_err.h"
#include "qp/qp_fota_store.h"

static uint32_t rng_next(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(*s >> 33);
}

void tu_make_random(uint8_t *buf, uint32_t size, uint32_t seed) {
    uint64_t s = seed * 2654435761ull + 1;
    for (uint32_t i = 0; i < size; i++) {
        // Some repeats, as real data has.
        if (i > 64 && rng_next(&s) % 8 == 0) {
            uint32_t back = 1 + rng_next(&s) % 64, n = 4 + rng_next(&s) % 16;
            for (uint32_t j = 0; j < n && i < size; j++, i++) {
                buf[i] = buf[i - back];
            }
            i--;
            continue;
        }
        buf[i] = (uint8_t)rng_next(&s);
    }
}

enum { OP16, CALL, LIT };
typedef struct item {
    uint8_t kind;
    uint32_t v;
} item_t;
typedef struct func {
    item_t *it;
    uint32_t n;
} func_t;

typedef struct prog {
    func_t *f;
    uint32_t nf;
    uint32_t nstr;
    char (*str)[24];
} prog_t;

// A 16-bit Thumb instruction that is never half of a BL (top five bits not 111x1/11110).
static uint32_t op16(uint64_t *s) {
    static const uint16_t ops[] = {0x4608, 0x2001, 0xb510, 0xbd10, 0x6803, 0x3301,
                                   0x4298, 0xd1fa, 0x9a01, 0x1c40, 0x4770, 0x6018};
    uint32_t r = rng_next(s);
    return (uint32_t)(ops[r % 12] ^ ((r >> 8) & 0x7u));
}

static void gen_func(func_t *f, uint64_t *s, uint32_t nf, uint32_t nstr) {
    f->n = 8 + rng_next(s) % 40;
    f->it = calloc(f->n + 64, sizeof *f->it);
    for (uint32_t i = 0; i < f->n; i++) {
        uint32_t r = rng_next(s) % 10;
        f->it[i].kind = r < 7 ? OP16 : r < 9 ? CALL : LIT;
        f->it[i].v = f->it[i].kind == OP16 ? op16(s)
                     : f->it[i].kind == CALL ? rng_next(s) % nf
                                             : rng_next(s) % nstr;
    }
}

static uint32_t func_bytes(const func_t *f) {
    uint32_t n = 0;
    for (uint32_t i = 0; i < f->n; i++) {
        n += f->it[i].kind == OP16 ? 2 : 4;
    }
    return (n + 3) & ~3u;
}

static uint8_t *layout(const prog_t *p, uint32_t *size) {
    uint32_t *addr = calloc(p->nf + 1, sizeof *addr);
    uint32_t pos = 0;
    for (uint32_t i = 0; i < p->nf; i++) {
        addr[i] = pos;
        pos += func_bytes(&p->f[i]);
    }
    uint32_t str0 = pos;
    uint32_t *saddr = calloc(p->nstr, sizeof *saddr);
    for (uint32_t i = 0; i < p->nstr; i++) {
        saddr[i] = pos;
        pos += (uint32_t)strlen(p->str[i]) + 1;
    }
    pos = (pos + 3) & ~3u;
    uint32_t ptab = pos;
    pos += 4 * p->nf;
    uint8_t *b = calloc(pos, 1);
    for (uint32_t i = 0; i < p->nf; i++) {
        uint32_t at = addr[i];
        for (uint32_t j = 0; j < p->f[i].n; j++) {
            const item_t *it = &p->f[i].it[j];
            if (it->kind == OP16) {
                b[at] = (uint8_t)it->v;
                b[at + 1] = (uint8_t)(it->v >> 8);
                at += 2;
            } else if (it->kind == CALL) {
                // Thumb-2 BL, J1 = J2 = 1 form.
                uint32_t off = ((addr[it->v] - (at + 4)) >> 1) & 0x3FFFFFu;
                uint32_t h1 = 0xF000u | (off >> 11), h2 = 0xF800u | (off & 0x7FFu);
                b[at] = (uint8_t)h1;
                b[at + 1] = (uint8_t)(h1 >> 8);
                b[at + 2] = (uint8_t)h2;
                b[at + 3] = (uint8_t)(h2 >> 8);
                at += 4;
            } else {
                uint32_t a = 0x80000u + saddr[it->v];
                memcpy(b + at, &a, 4);
                at += 4;
            }
        }
    }
    for (uint32_t i = 0; i < p->nstr; i++) {
        memcpy(b + saddr[i], p->str[i], strlen(p->str[i]));
    }
    for (uint32_t i = 0; i < p->nf; i++) {
        uint32_t a = 0x80000u + addr[i] + 1;
        memcpy(b + ptab + 4 * i, &a, 4);
    }
    (void)str0;
    free(addr);
    free(saddr);
    *size = pos;
    return b;
}

void tu_make_pair(tu_pair_t *pair, uint32_t seed, uint32_t size, uint32_t edits) {
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 7;
    prog_t p;
    memset(&p, 0, sizeof p);
    p.nstr = 16 + size / 512;
    p.str = calloc(p.nstr, sizeof *p.str);
    for (uint32_t i = 0; i < p.nstr; i++) {
        uint32_t n = 4 + rng_next(&s) % 19;
        for (uint32_t j = 0; j < n; j++) {
            p.str[i][j] = (char)('a' + rng_next(&s) % 26);
        }
    }
    uint32_t cap = 16 + size / 40;
    p.f = calloc(cap + 2, sizeof *p.f);
    uint32_t total = 0;
    while (total < size * 3 / 4 && p.nf < cap) {
        gen_func(&p.f[p.nf], &s, cap, p.nstr);
        total += func_bytes(&p.f[p.nf]) + 4;
        p.nf++;
    }
    // Calls to functions not generated point at function 0.
    for (uint32_t i = 0; i < p.nf; i++) {
        for (uint32_t j = 0; j < p.f[i].n; j++) {
            if (p.f[i].it[j].kind == CALL && p.f[i].it[j].v >= p.nf) {
                p.f[i].it[j].v %= p.nf;
            }
        }
    }
    pair->old = layout(&p, &pair->old_size);
    // The new version: edit some functions (insert, delete, change), add one at the end.
    for (uint32_t e = 0; e < edits; e++) {
        func_t *f = &p.f[rng_next(&s) % p.nf];
        uint32_t what = rng_next(&s) % 3;
        uint32_t at = rng_next(&s) % f->n;
        if (what == 0 && f->n < 8 + 40 + 60) {
            uint32_t k = 1 + rng_next(&s) % 4;
            memmove(f->it + at + k, f->it + at, (f->n - at) * sizeof *f->it);
            for (uint32_t j = 0; j < k; j++) {
                f->it[at + j].kind = OP16;
                f->it[at + j].v = op16(&s);
            }
            f->n += k;
        } else if (what == 1 && f->n > 4) {
            memmove(f->it + at, f->it + at + 1, (f->n - at - 1) * sizeof *f->it);
            f->n--;
        } else {
            f->it[at].kind = OP16;
            f->it[at].v = op16(&s);
        }
    }
    gen_func(&p.f[p.nf], &s, p.nf, p.nstr);
    p.nf++;
    if (edits) {
        p.str[rng_next(&s) % p.nstr][0] = 'Z';
    }
    pair->new_ = layout(&p, &pair->new_size);
    for (uint32_t i = 0; i < p.nf; i++) {
        free(p.f[i].it);
    }
    free(p.f);
    free(p.str);
}

void tu_free_pair(tu_pair_t *p) {
    free(p->old);
    free(p->new_);
    memset(p, 0, sizeof *p);
}

int tu_mem_read(void *ctx, uint32_t off, void *buf, uint32_t len) {
    tu_mem_t *m = ctx;
    if (off > m->size || len > m->size - off) {
        return QP_ERR_RANGE;
    }
    memcpy(buf, m->p + off, len);
    m->reads++;
    return 0;
}

int tu_open_mem(qp_patch_t *h, tu_mem_t *m) {
    qp_patch_config_t c;
    memset(&c, 0, sizeof c);
    c.pkg_read = tu_mem_read;
    c.pkg_ctx = m;
    c.pkg_size = m->size;
    qp_patch_init(h);
    return qp_patch_open(h, &c);
}

int tu_apply_stream(const uint8_t *pkg, uint32_t pkg_size, const uint8_t *old,
                    uint32_t old_size, uint8_t **out, uint32_t *out_size,
                    const qp_patch_config_t *extra) {
    tu_mem_t pm = {pkg, pkg_size, 0}, om = {old, old_size, 0};
    qp_patch_config_t c;
    memset(&c, 0, sizeof c);
    if (extra) {
        c = *extra;
    }
    c.pkg_read = tu_mem_read;
    c.pkg_ctx = &pm;
    c.pkg_size = pkg_size;
    c.old_read = tu_mem_read;
    c.old_ctx = &om;
    qp_patch_t p;
    int err = qp_patch_open(&p, &c);
    if (err < 0) {
        return err;
    }
    err = qp_patch_verify(&p);
    uint32_t cap = p.info.new_space_size;
    uint8_t *b = malloc(cap + 1);
    uint32_t got = 0;
    while (err == 0) {
        // Odd read sizes exercise the filter window's hold-back.
        uint32_t want = 1 + (got * 7 + 333) % 5000;
        int n = qp_patch_read(&p, b + got, cap - got < want ? cap - got : want);
        if (n < 0) {
            err = n;
        } else if (n == 0) {
            break;
        }
        if (n > 0) {
            got += (uint32_t)n;
        }
    }
    qp_patch_close(&p);
    if (err < 0) {
        free(b);
        return err;
    }
    *out = b;
    *out_size = got;
    return 0;
}

void *tu_alloc(void *ctx, size_t size) {
    tu_alloc_t *a = ctx;
    a->calls++;
    if (a->fail_at && a->calls == a->fail_at) {
        return NULL;
    }
    if (a->limit && a->used + size + 16 > a->limit) {
        return NULL;
    }
    uint8_t *p = malloc(size + 16);
    if (!p) {
        return NULL;
    }
    memcpy(p, &size, sizeof size);
    a->used += size + 16;
    a->live++;
    if (a->used > a->peak) {
        a->peak = a->used;
    }
    return p + 16;
}

void tu_free(void *ctx, void *ptr) {
    tu_alloc_t *a = ctx;
    if (!ptr) {
        return;
    }
    uint8_t *p = (uint8_t *)ptr - 16;
    size_t size;
    memcpy(&size, p, sizeof size);
    a->used -= size + 16;
    a->live--;
    free(p);
}

void tu_dev_open(tu_dev_t *d, uint32_t fw_size, uint32_t bk_size) {
    qp_flash_config_t c;
    memset(&c, 0, sizeof c);
    c.size = fw_size + bk_size;
    qp_flash_init(&d->flash);
    assert_int_equal(qp_flash_open_ram(&d->flash, &c), 0);
    assert_int_equal(qp_flash_part_init(&d->fw, &d->flash, 0, fw_size), 0);
    assert_int_equal(qp_flash_part_init(&d->bk, &d->flash, fw_size, bk_size), 0);
}

void tu_dev_close(tu_dev_t *d) {
    qp_flash_close(&d->flash);
}

qp_patch_flash_t tu_dev_flash(qp_flash_part_t *part) {
    return qp_fota_part_flash(part);
}

void tu_inplace_config(qp_patch_inplace_config_t *c, tu_dev_t *d, tu_mem_t *pkg) {
    memset(c, 0, sizeof *c);
    c->patch.pkg_read = tu_mem_read;
    c->patch.pkg_ctx = pkg;
    c->patch.pkg_size = pkg->size;
    c->target = tu_dev_flash(&d->fw);
    c->backup = tu_dev_flash(&d->bk);
}
