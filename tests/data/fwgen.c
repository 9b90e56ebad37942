// fwgen.c - deterministic pseudo-firmware for the image and FOTA tests: a section that
// looks like ARM Thumb code, and "new" versions of it that change the way firmware
// releases do.
//
// Why not random bytes: random data neither compresses nor diffs like firmware, so it
// would test nothing about codecs or deltas. Real code has a small vocabulary of 16-bit
// instructions, literal pools of absolute addresses, strings, and BL branches whose
// PC-relative offsets all change when code is inserted before their targets: the thing
// that makes naive diffs of firmware large. This generator reproduces those traits:
//   - functions made of common Thumb-1 instructions (push/pop, mov/add/cmp immediates,
//     ldr/str with offsets, conditional branches), each function's body derived from
//     (seed, function index) only, so versions share their code;
//   - BL pairs (the classic 0xF000/0xF800 encoding liblzma's ARM-Thumb filter converts) to
//     other functions, with offsets computed from the final layout;
//   - a literal pool after each function holding absolute addresses of functions;
//   - a string table at the end.
// Variant v > 0 is a later release: a few functions get instructions inserted (shifting
// everything after them), a few immediates change, and v new functions are appended.
//
// Used as a library by the unit tests (fwgen_make) and as a program by the CLI tests
// (`fwgen [--seed N] [--variant V] SIZE OUT`, built as bin/fwgen). Fixtures are made at
// test time; none is stored in the repository (tests/data/README.md).
#include "fwgen.h"

#include <stdlib.h>
#include <string.h>

#define BASE_ADDR 0x00100000u

static uint64_t mix(uint64_t x) {
    // splitmix64 finaliser: a good 64-bit hash for seeding per-function generators.
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

typedef struct rng {
    uint64_t s;
} rng_t;

static uint32_t next(rng_t *r) {
    r->s = mix(r->s);
    return (uint32_t)(r->s >> 32);
}

static uint32_t below(rng_t *r, uint32_t n) {
    return n ? next(r) % n : 0;
}

// One instruction slot of a function: a 16-bit op, or a BL to function `target`.
typedef struct op {
    uint16_t code;
    int32_t target; // -1: plain 16-bit op
} op_t;

typedef struct func {
    op_t *ops;
    uint32_t n;
    uint32_t pool;   // literal pool entries
    uint32_t addr;   // assigned by layout
    uint32_t size;
} func_t;

static uint16_t thumb_op(rng_t *r) {
    uint32_t reg = below(r, 8), reg2 = below(r, 8);
    // Few opcodes with skewed operands, as compilers emit.
    switch (below(r, 10)) {
    case 0: return (uint16_t)(0x2000 | reg << 8 | below(r, 16));             // movs rX, #imm
    case 1: return (uint16_t)(0x6800 | below(r, 8) << 6 | reg2 << 3 | reg);  // ldr rX,[rY,#]
    case 2: return (uint16_t)(0x6000 | below(r, 8) << 6 | reg2 << 3 | reg);  // str rX,[rY,#]
    case 3: return (uint16_t)(0x2800 | reg << 8 | below(r, 4));              // cmp rX, #imm
    case 4: return (uint16_t)(0xD000 | below(r, 2) << 8 | below(r, 12));     // beq/bne
    case 5: return (uint16_t)(0x1C00 | below(r, 4) << 6 | reg2 << 3 | reg);  // adds rX,rY,#
    case 6: return (uint16_t)(0x4600 | reg2 << 3 | reg);                     // mov rX, rY
    case 7: return (uint16_t)(0x3000 | reg << 8 | below(r, 32));             // adds rX, #imm
    case 8: return (uint16_t)(0x9800 | reg << 8 | below(r, 8));              // ldr rX,[sp,#]
    default: return 0x4770;                                                  // bx lr
    }
}

static int gen_func(func_t *f, uint64_t seed, uint32_t index, uint32_t nfuncs) {
    rng_t r = {mix(seed ^ mix(index + 1))};
    f->n = 8 + below(&r, 120);
    f->pool = below(&r, 5);
    f->ops = calloc(f->n + 64, sizeof *f->ops); // room for the edits of a variant
    if (!f->ops) {
        return -1;
    }
    f->ops[0].code = 0xB5F0; // push {r4-r7, lr}
    f->ops[0].target = -1;
    for (uint32_t i = 1; i < f->n - 1; i++) {
        f->ops[i].target = -1;
        if (below(&r, 8) == 0) {
            // Calls favour nearby functions and a few hot helpers, as real code does.
            uint32_t t = below(&r, 4) == 0 ? below(&r, 16)
                                           : (index + nfuncs - 20 + below(&r, 40)) % nfuncs;
            f->ops[i].target = (int32_t)t;
        } else {
            f->ops[i].code = thumb_op(&r);
        }
    }
    f->ops[f->n - 1].code = 0xBDF0; // pop {r4-r7, pc}
    f->ops[f->n - 1].target = -1;
    return 0;
}

// A later release's edits to function `index` (variant v): insertions and tweaks.
static void edit_func(func_t *f, uint64_t seed, uint32_t index, uint32_t variant) {
    for (uint32_t v = 1; v <= variant; v++) {
        rng_t r = {mix(seed ^ mix(index + 1) ^ mix(0x5EED0000ull + v))};
        uint32_t roll = below(&r, 100);
        if (roll < 3 && f->n < 200) {
            uint32_t at = 1 + below(&r, f->n - 1), k = 1 + below(&r, 6);
            memmove(&f->ops[at + k], &f->ops[at], (f->n - at) * sizeof *f->ops);
            for (uint32_t i = 0; i < k; i++) {
                f->ops[at + i].code = thumb_op(&r);
                f->ops[at + i].target = -1;
            }
            f->n += k;
        } else if (roll < 5) {
            uint32_t at = 1 + below(&r, f->n - 2);
            if (f->ops[at].target < 0) {
                f->ops[at].code ^= (uint16_t)(1 + below(&r, 3));
            }
        }
    }
}

static uint32_t func_size(const func_t *f) {
    uint32_t n = 0;
    for (uint32_t i = 0; i < f->n; i++) {
        n += f->ops[i].target >= 0 ? 4 : 2;
    }
    n = (n + 3) & ~3u; // pools are word aligned
    return n + 4 * f->pool;
}

static void put16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v) {
    put16(p, (uint16_t)v);
    put16(p + 2, (uint16_t)(v >> 16));
}

static const char *const words[] = {
    "modem", "uart", "fota", "error", "timeout", "init", "config", "network", "signal",
    "sim", "flash", "sector", "failed", "ok", "retry", "version", "socket", "buffer",
};

size_t fwgen_make(uint8_t *out, size_t size, uint64_t seed, uint32_t variant) {
    // Enough functions for about 88% of the size; strings fill the rest.
    uint32_t nfuncs = (uint32_t)(size * 88 / 100 / 160) + 1 + variant;
    func_t *fn = calloc(nfuncs, sizeof *fn);
    size_t pos = 0;
    if (!fn) {
        return 0;
    }
    uint32_t addr = 0;
    uint32_t used = 0;
    for (uint32_t i = 0; i < nfuncs; i++) {
        if (gen_func(&fn[i], seed, i, nfuncs - variant) < 0) {
            goto done;
        }
        edit_func(&fn[i], seed, i, variant);
        fn[i].addr = addr;
        fn[i].size = func_size(&fn[i]);
        if (addr + fn[i].size > size * 88 / 100 && i >= 1 + variant) {
            // Keep the code part within its share; the appended functions of a variant
            // stay (they are what a release adds).
            if (i < nfuncs - variant) {
                free(fn[i].ops);
                fn[i].ops = NULL;
                continue;
            }
        }
        addr += fn[i].size;
        used = i + 1;
    }
    for (uint32_t i = 0; i < used && pos < size; i++) {
        func_t *f = &fn[i];
        if (!f->ops) {
            continue;
        }
        uint32_t pc = f->addr;
        for (uint32_t k = 0; k < f->n && pos + 4 <= size; k++) {
            const op_t *o = &f->ops[k];
            int32_t t = o->target;
            if (t >= 0 && (uint32_t)t < used && fn[t].ops) {
                // Thumb BL pair: offset from pc + 4, halfword units, 22 bits signed.
                int32_t off = (int32_t)(fn[t].addr - (pc + 4));
                put16(out + pos, (uint16_t)(0xF000 | ((uint32_t)(off >> 12) & 0x7FF)));
                put16(out + pos + 2, (uint16_t)(0xF800 | ((uint32_t)(off >> 1) & 0x7FF)));
                pos += 4;
                pc += 4;
            } else if (t >= 0) {
                put16(out + pos, 0xBF00); // nop where the target was dropped
                put16(out + pos + 2, 0xBF00);
                pos += 4;
                pc += 4;
            } else {
                put16(out + pos, o->code);
                pos += 2;
                pc += 2;
            }
        }
        while ((pc & 3) && pos + 2 <= size) {
            put16(out + pos, 0xBF00);
            pos += 2;
            pc += 2;
        }
        rng_t r = {mix(seed ^ mix(i + 0x100000ull))};
        for (uint32_t k = 0; k < f->pool && pos + 4 <= size; k++) {
            uint32_t t = below(&r, used);
            put32(out + pos, BASE_ADDR + (fn[t].ops ? fn[t].addr : 0) + 1);
            pos += 4;
        }
    }
    // String table: NUL-terminated messages made of a small vocabulary.
    rng_t r = {mix(seed ^ 0x57A1)};
    while (pos < size) {
        const char *w = words[below(&r, sizeof words / sizeof words[0])];
        size_t n = strlen(w);
        if (n + 1 > size - pos) {
            n = size - pos - 1;
        }
        memcpy(out + pos, w, n);
        pos += n;
        out[pos++] = below(&r, 4) ? ' ' : 0;
    }
done:
    for (uint32_t i = 0; i < nfuncs; i++) {
        free(fn[i].ops);
    }
    free(fn);
    return pos;
}

#ifdef FWGEN_MAIN
#include <stdio.h>

int main(int argc, char **argv) {
    uint64_t seed = 1;
    uint32_t variant = 0;
    int i = 1;
    for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
        if (strcmp(argv[i], "--seed") == 0) {
            seed = strtoull(argv[i + 1], NULL, 0);
        } else if (strcmp(argv[i], "--variant") == 0) {
            variant = (uint32_t)strtoul(argv[i + 1], NULL, 0);
        } else {
            break;
        }
    }
    if (argc - i != 2) {
        fprintf(stderr, "usage: fwgen [--seed N] [--variant V] SIZE OUT\n");
        return 2;
    }
    size_t size = (size_t)strtoull(argv[i], NULL, 0);
    uint8_t *buf = malloc(size ? size : 1);
    FILE *f = fopen(argv[i + 1], "wb");
    if (!buf || !f || fwgen_make(buf, size, seed, variant) != size ||
        fwrite(buf, 1, size, f) != size || fclose(f) != 0) {
        fprintf(stderr, "fwgen: cannot make %s\n", argv[i + 1]);
        return 1;
    }
    free(buf);
    return 0;
}
#endif
