// Round trips through the differ and the streaming apply on generated data: firmware-like
// pairs of several sizes with every filter, calls to stubs that moved (target maps), random
// data, identical, empty and grown or shrunk inputs, multi-section (image) packages, and the
// in-place apply on a RAM flash.
// Each case checks the output is byte-identical to NEW and the header records what the
// apply used.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "patch_internal.h"
#include "patch_testutil.h"
#include "qp/qp_err.h"

static void roundtrip(const uint8_t *old, uint32_t old_size, const uint8_t *nw,
                      uint32_t new_size, uint32_t filter, qp_diff_stats_t *st_out) {
    qp_diff_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.filter = filter;
    cfg.level = 6;
    uint8_t *pkg;
    uint32_t pkg_size;
    qp_diff_stats_t st;
    // The differ filters the new space in place (the cases below also pass one buffer as
    // both spaces): it gets its own copy, which it must give back unchanged.
    uint8_t *work = malloc(new_size ? new_size : 1);
    memcpy(work, nw, new_size);
    assert_int_equal(qp_diff_create(&cfg, old, old_size, work, new_size, NULL, 0, &pkg,
                                    &pkg_size, &st), 0);
    assert_memory_equal(work, nw, new_size);
    free(work);
    assert_int_equal(st.package_size, pkg_size);
    uint8_t *out;
    uint32_t out_size;
    tu_alloc_t a = {0};
    qp_patch_config_t c;
    memset(&c, 0, sizeof c);
    c.alloc = tu_alloc;
    c.free = tu_free;
    c.alloc_ctx = &a;
    assert_int_equal(tu_apply_stream(pkg, pkg_size, old, old_size, &out, &out_size, &c), 0);
    assert_int_equal(out_size, new_size);
    assert_memory_equal(out, nw, new_size);
    assert_true(a.peak <= st.apply_ram);
    assert_int_equal(a.live, 0);
    free(out);
    if (st_out) {
        *st_out = st;
    }
    qp_diff_free(pkg);
}

typedef struct pair_case {
    uint32_t size, edits, seed;
} pair_case_t;

static const pair_case_t pair_cases[] = {
    {2000, 1, 1}, {9000, 3, 2}, {30000, 10, 3}, {70000, 40, 4}, {5000, 0, 5},
};

static void test_pairs_every_filter(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof pair_cases / sizeof pair_cases[0]; i++) {
        tu_pair_t p;
        tu_make_pair(&p, pair_cases[i].seed, pair_cases[i].size, pair_cases[i].edits);
        for (uint32_t f = QP_DIFF_FILTER_NONE; f <= QP_DIFF_FILTER_ARM_MAP; f++) {
            roundtrip(p.old, p.old_size, p.new_, p.new_size, f, NULL);
        }
        tu_free_pair(&p);
    }
}

// Auto: a census of the new data's branches picks the base filter (SPEC-patch §7). On
// Thumb-2 code (tu_make_pair) it is Thumb-2, and the package is no larger than with any
// filter asked for.
static void test_auto_filter_thumb(void **state) {
    (void)state;
    tu_pair_t p;
    tu_make_pair(&p, 11, 60000, 20);
    qp_diff_stats_t st[QP_DIFF_FILTER_ARM_MAP + 1];
    for (uint32_t f = QP_DIFF_FILTER_AUTO; f <= QP_DIFF_FILTER_ARM_MAP; f++) {
        roundtrip(p.old, p.old_size, p.new_, p.new_size, f, &st[f]);
    }
    assert_int_equal(st[0].filters[QP_PATCH_FILTER_THUMB] +
                         st[0].filters[QP_PATCH_FILTER_THUMB_MAP], 1);
    for (uint32_t f = QP_DIFF_FILTER_NONE; f <= QP_DIFF_FILTER_ARM_MAP; f++) {
        assert_true(st[0].package_size <= st[f].package_size);
    }
    tu_free_pair(&p);
}

static uint32_t lcg(uint32_t *s) {
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

// A32 code of `words` words: a BL every fourth word to one of the 64-byte-aligned function
// starts, the others data-processing instructions (byte 3 is 0xE0, never a BL). With
// `shift`, that many bytes of NOPs are inserted half way, moving the code behind them and
// the calls to it.
static uint32_t put_a32(uint8_t *b, uint32_t words, uint32_t shift) {
    uint32_t rnd = 9, half = words / 2 * 4, at = 0;
    for (uint32_t w = 0; w < words; w++) {
        if (w * 4 == half) {
            for (uint32_t k = 0; k < shift; k += 4) {
                qp_put32(b + at + k, 0xE1A00000u); // mov r0, r0
            }
            at += shift;
        }
        uint32_t r = lcg(&rnd), word = 0xE0800000u | (r & 0x3FFFFu);
        if (w % 4 == 0) {
            uint32_t t = r % (words / 16) * 64;
            t += t >= half ? shift : 0;
            word = 0xEB000000u | (((t - (at + 8u)) >> 2) & 0xFFFFFFu);
        }
        qp_put32(b + at, word);
        at += 4;
    }
    return at;
}

// On A32 code the census picks A32, and the package is smaller than unfiltered; on random
// data (no branch lands near more often than chance) it picks none.
static void test_auto_filter_a32_and_none(void **state) {
    (void)state;
    const uint32_t words = 16384;
    uint8_t *old = malloc(words * 4 + 256), *nw = malloc(words * 4 + 256);
    uint32_t osz = put_a32(old, words, 0), nsz = put_a32(nw, words, 96);
    qp_diff_stats_t autof, none;
    roundtrip(old, osz, nw, nsz, QP_DIFF_FILTER_AUTO, &autof);
    roundtrip(old, osz, nw, nsz, QP_DIFF_FILTER_NONE, &none);
    assert_int_equal(autof.filters[QP_PATCH_FILTER_ARM] +
                         autof.filters[QP_PATCH_FILTER_ARM_MAP], 1);
    assert_true(autof.package_size < none.package_size);
    tu_make_random(old, osz, 3);
    tu_make_random(nw, nsz, 4);
    roundtrip(old, osz, nw, nsz, QP_DIFF_FILTER_AUTO, &autof);
    assert_int_equal(autof.filters[QP_PATCH_FILTER_NONE], 1);
    free(old);
    free(nw);
}

// Target maps (SPEC-patch §5.1): code calling 64 stubs with Thumb BL, and a new version
// where 4 stubs were inserted among them (as a PLT grows) and the code moved behind them.
// The calls' absolute targets move by 0 to 64 bytes depending on the stub, which the plain
// filter leaves in the diff stream and the map removes: the mapped package must be much
// smaller, be the one auto picks, and rebuild NEW.

static uint32_t put_stubs(uint8_t *b, uint32_t n, uint32_t seed, uint32_t *addr) {
    uint32_t at = 0;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t s = seed + k * 7919u; // a stub's bytes depend on its symbol only
        if (addr) {
            addr[k] = at;
        }
        for (uint32_t j = 0; j < 16; j++) {
            b[at++] = (uint8_t)(0x40u + lcg(&s) % 64u); // never half of a BL
        }
    }
    return at;
}

static void put_bl(uint8_t *b, uint32_t at, uint32_t target) {
    uint32_t off = ((target - (at + 4u)) >> 1) & 0x3FFFFFu;
    uint32_t h1 = 0xF000u | (off >> 11), h2 = 0xF800u | (off & 0x7FFu);
    b[at] = (uint8_t)h1;
    b[at + 1] = (uint8_t)(h1 >> 8);
    b[at + 2] = (uint8_t)h2;
    b[at + 3] = (uint8_t)(h2 >> 8);
}

static void make_stub_pair(uint8_t *old, uint32_t *old_size, uint8_t *nw, uint32_t *new_size,
                           uint32_t code) {
    uint32_t oaddr[64], map_new[64], rnd = 5;
    uint32_t ostubs = put_stubs(old, 64, 100, oaddr);
    // New: stubs 0..63 with 4 new symbols (64..67) inserted before stubs 10, 25, 40, 55.
    uint32_t at = 0, next_new = 64;
    for (uint32_t k = 0; k < 64; k++) {
        if (k == 10 || k == 25 || k == 40 || k == 55) {
            at += put_stubs(nw + at, 1, 100 + next_new++ * 7919u, NULL);
        }
        put_stubs(nw + at, 1, 100 + k * 7919u, NULL);
        map_new[k] = at;
        at += 16;
    }
    uint32_t nstubs = at;
    for (uint32_t i = 0; i < code; i += 2) {
        uint16_t h = (uint16_t)(0x2000u | (lcg(&rnd) & 0x7FFu)); // movs: never half of a BL
        old[ostubs + i] = nw[nstubs + i] = (uint8_t)h;
        old[ostubs + i + 1] = nw[nstubs + i + 1] = (uint8_t)(h >> 8);
    }
    for (uint32_t i = 0; i + 4 <= code; i += 16) {
        uint32_t k = lcg(&rnd) % 64u;
        put_bl(old, ostubs + i, oaddr[k]);
        put_bl(nw, nstubs + i, map_new[k]);
    }
    *old_size = ostubs + code;
    *new_size = nstubs + code;
}

static void test_target_map(void **state) {
    (void)state;
    const uint32_t code = 48 * 1024;
    uint8_t *old = malloc(code + 2048), *nw = malloc(code + 2048);
    uint32_t osz, nsz;
    make_stub_pair(old, &osz, nw, &nsz, code);
    qp_diff_stats_t plain, mapped, autof;
    roundtrip(old, osz, nw, nsz, QP_DIFF_FILTER_THUMB, &plain);
    roundtrip(old, osz, nw, nsz, QP_DIFF_FILTER_THUMB_MAP, &mapped);
    roundtrip(old, osz, nw, nsz, QP_DIFF_FILTER_AUTO, &autof);
    assert_int_equal(mapped.filters[QP_PATCH_FILTER_THUMB_MAP], 1);
    assert_int_equal(autof.filters[QP_PATCH_FILTER_THUMB_MAP], 1);
    assert_true(mapped.package_size * 2 < plain.package_size);
    // The same for A32 code: the generated BLs are Thumb, so only a round trip.
    roundtrip(old, osz, nw, nsz, QP_DIFF_FILTER_ARM_MAP, NULL);
    free(old);
    free(nw);
}

// Sections larger than a Thumb-2 branch's ±4 MiB reach: a noise field then lands inside
// the section most of the time, which the census's chance model must allow for. 12 MiB of
// calls to targets up to 3 MiB away is Thumb-2; 12 MiB of random bytes is nothing.
static void test_census_large_sections(void **state) {
    (void)state;
    const uint32_t n = 12u << 20;
    uint8_t *b = malloc(n);
    uint32_t rnd = 77;
    for (uint32_t at = 0; at + 8 <= n; at += 8) {
        int64_t t = (int64_t)at + lcg(&rnd) % (6u << 20) - (3 << 20);
        put_bl(b, at, t < 0 || t >= n ? at : (uint32_t)t & ~1u);
        qp_put16(b + at + 4, 0x2000u); // movs r0, #0
        qp_put16(b + at + 6, 0x4600u); // mov r0, r0
    }
    assert_int_equal(qp_diff_census(b, n), QP_PATCH_FILTER_THUMB);
    tu_make_random(b, n, 5);
    assert_int_equal(qp_diff_census(b, n), QP_PATCH_FILTER_NONE);
    free(b);
}

static void test_random_and_edges(void **state) {
    (void)state;
    uint8_t *a = malloc(20000), *b = malloc(20000);
    tu_make_random(a, 20000, 1);
    tu_make_random(b, 20000, 2);
    roundtrip(a, 20000, b, 20000, 0, NULL);       // unrelated
    roundtrip(a, 20000, a, 20000, 0, NULL);       // identical
    roundtrip(a, 20000, a + 100, 15000, 0, NULL); // shrunk
    roundtrip(a + 5000, 3000, a, 20000, 0, NULL); // grown
    roundtrip(a, 20000, b, 0, 0, NULL);           // empty new
    roundtrip(a, 0, b, 777, 0, NULL);             // empty old
    // Overlapping spaces are refused: the new space is filtered in place.
    uint8_t *pkg;
    uint32_t pkg_size;
    assert_int_equal(qp_diff_create(NULL, a, 20000, a + 100, 15000, NULL, 0, &pkg, &pkg_size,
                                    NULL),
                     QP_ERR_INVAL);
    roundtrip(a, 1, b, 3, QP_DIFF_FILTER_THUMB, NULL);
    roundtrip(a, 1, b, 3, QP_DIFF_FILTER_THUMB_MAP, NULL);
    roundtrip(a, 0, b, 5, QP_DIFF_FILTER_ARM_MAP, NULL);
    free(a);
    free(b);
}

// Short chance matches far from the alignment are not taken (qp_diff.c, "excursions"):
// NEW is OLD with 48-byte snippets copied from 40 KiB away pasted over it every 4 KiB.
// Every add run the package makes must either be long or stay near the previous one, so
// the module's old-section decoder never restarts for a snippet; and it still rebuilds NEW.
typedef struct run_walk {
    int64_t prev_end;
    uint32_t far_short;
} run_walk_t;

static int note_run(void *ctx, uint32_t new_pos, uint32_t old_pos, uint32_t len) {
    run_walk_t *w = ctx;
    (void)new_pos;
    if (len == 0) {
        return 0;
    }
    int64_t jump = (int64_t)old_pos - w->prev_end;
    if (w->prev_end >= 0 && (jump > 8192 || jump < -8192) && len < 256) {
        w->far_short++;
    }
    w->prev_end = (int64_t)old_pos + len;
    return 0;
}

static void test_no_short_excursions(void **state) {
    (void)state;
    const uint32_t size = 96 * 1024;
    uint8_t *old = malloc(size), *nw = malloc(size);
    tu_make_random(old, size, 7);
    memcpy(nw, old, size);
    for (uint32_t at = 4096; at + 48 < size; at += 4096) {
        uint32_t from = (at + 40 * 1024) % (size - 48);
        memcpy(nw + at, old + from, 48);
    }
    roundtrip(old, size, nw, size, QP_DIFF_FILTER_NONE, NULL);
    qp_diff_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.filter = QP_DIFF_FILTER_NONE;
    cfg.level = 6;
    uint8_t *pkg;
    uint32_t pkg_size;
    assert_int_equal(qp_diff_create(&cfg, old, size, nw, size, NULL, 0, &pkg, &pkg_size, NULL),
                     0);
    tu_mem_t m = {pkg, pkg_size, 0};
    qp_patch_t p;
    assert_int_equal(tu_open_mem(&p, &m), 0);
    run_walk_t w = {-1, 0};
    assert_int_equal(qp_patch_walk(&p, note_run, &w), 0);
    assert_int_equal(w.far_short, 0);
    qp_patch_close(&p);
    qp_diff_free(pkg);
    free(old);
    free(nw);
}

// An image package: three sections, each diffed against its own old range; one is new.
static void test_sections(void **state) {
    (void)state;
    tu_pair_t p, q;
    tu_make_pair(&p, 21, 20000, 5);
    tu_make_pair(&q, 22, 8000, 2);
    uint32_t osz = p.old_size + q.old_size, nsz = p.new_size + q.new_size + 500;
    uint8_t *old = malloc(osz), *nw = malloc(nsz);
    memcpy(old, p.old, p.old_size);
    memcpy(old + p.old_size, q.old, q.old_size);
    memcpy(nw, q.new_, q.new_size); // order swapped in the new image
    memcpy(nw + q.new_size, p.new_, p.new_size);
    tu_make_random(nw + q.new_size + p.new_size, 500, 9);
    qp_diff_section_t secs[3] = {
        {"dsp", p.old_size, q.old_size, 0, q.new_size},
        {"cp", 0, p.old_size, q.new_size, p.new_size},
        {"app", 0, 0, q.new_size + p.new_size, 500},
    };
    qp_diff_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.flags = QP_PATCH_F_IMAGE;
    cfg.old_image_size = 1234;
    cfg.new_image_size = 4321;
    cfg.level = 6;
    uint8_t *pkg, *out;
    uint32_t pkg_size, out_size;
    assert_int_equal(qp_diff_create(&cfg, old, osz, nw, nsz, secs, 3, &pkg, &pkg_size, NULL),
                     0);
    assert_int_equal(tu_apply_stream(pkg, pkg_size, old, osz, &out, &out_size, NULL), 0);
    assert_int_equal(out_size, nsz);
    assert_memory_equal(out, nw, nsz);
    // The header describes the sections.
    tu_mem_t pm = {pkg, pkg_size, 0};
    qp_patch_t h;
    assert_int_equal(tu_open_mem(&h, &pm), 0);
    assert_int_equal(h.info.section_count, 3);
    assert_string_equal(h.info.sections[1].name, "cp");
    assert_int_equal(h.info.sections[2].new_size, 500);
    assert_int_equal(h.info.old_size, 1234);
    assert_int_equal(h.info.flags, QP_PATCH_F_IMAGE);
    qp_patch_close(&h);
    free(out);
    qp_diff_free(pkg);
    free(old);
    free(nw);
    tu_free_pair(&p);
    tu_free_pair(&q);
}

// In place on a flash holding OLD, NEW larger and smaller than OLD.
static void test_inplace(void **state) {
    (void)state;
    for (int grow = 0; grow < 2; grow++) {
        tu_pair_t p;
        tu_make_pair(&p, 31 + (uint32_t)grow, 40000, 30);
        uint8_t *old = grow ? p.old : p.new_, *nw = grow ? p.new_ : p.old;
        uint32_t osz = grow ? p.old_size : p.new_size, nsz = grow ? p.new_size : p.old_size;
        qp_diff_config_t cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.level = 6;
        uint8_t *pkg;
        uint32_t pkg_size;
        qp_diff_stats_t st;
        assert_int_equal(qp_diff_create(&cfg, old, osz, nw, nsz, NULL, 0, &pkg, &pkg_size, &st),
                         0);
        tu_dev_t d;
        tu_dev_open(&d, 64 * 1024, 64 * 1024);
        assert_int_equal(qp_flash_part_program(&d.fw, 0, old, osz), 0);
        tu_mem_t pm = {pkg, pkg_size, 0};
        qp_patch_inplace_config_t c;
        tu_inplace_config(&c, &d, &pm);
        qp_patch_inplace_stats_t s;
        assert_int_equal(qp_patch_inplace_apply(&c, &s), 0);
        assert_int_equal(s.resumed, 0);
        assert_true(s.backup_needed <= st.backup_size);
        uint8_t *got = malloc(nsz);
        assert_int_equal(qp_flash_part_read(&d.fw, 0, got, nsz), 0);
        assert_memory_equal(got, nw, nsz);
        // Applying again finds the finished journal and only re-checks.
        assert_int_equal(qp_patch_inplace_apply(&c, &s), 0);
        assert_int_equal(s.resumed, 1);
        assert_int_equal(s.steps_done, 0);
        free(got);
        tu_dev_close(&d);
        qp_diff_free(pkg);
        tu_free_pair(&p);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pairs_every_filter),
        cmocka_unit_test(test_auto_filter_thumb),
        cmocka_unit_test(test_auto_filter_a32_and_none),
        cmocka_unit_test(test_census_large_sections),
        cmocka_unit_test(test_target_map),
        cmocka_unit_test(test_random_and_edges),
        cmocka_unit_test(test_no_short_excursions),
        cmocka_unit_test(test_sections),
        cmocka_unit_test(test_inplace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
