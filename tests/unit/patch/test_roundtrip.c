// Round trips through the differ and the streaming apply on generated data: firmware-like
// pairs of several sizes with every filter, random data, identical, empty and grown or
// shrunk inputs, multi-section (image) packages, and the in-place apply on a RAM flash.
// Each case checks the output is byte-identical to NEW and the header records what the
// apply used.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

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
    assert_int_equal(qp_diff_create(&cfg, old, old_size, nw, new_size, NULL, 0, &pkg,
                                    &pkg_size, &st), 0);
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
        for (uint32_t f = QP_DIFF_FILTER_NONE; f <= QP_DIFF_FILTER_ARM; f++) {
            roundtrip(p.old, p.old_size, p.new_, p.new_size, f, NULL);
        }
        tu_free_pair(&p);
    }
}

// Auto tries every filter and keeps the smallest package.
static void test_auto_filter_is_smallest(void **state) {
    (void)state;
    tu_pair_t p;
    tu_make_pair(&p, 11, 60000, 20);
    qp_diff_stats_t st[4];
    for (uint32_t f = QP_DIFF_FILTER_AUTO; f <= QP_DIFF_FILTER_ARM; f++) {
        roundtrip(p.old, p.old_size, p.new_, p.new_size, f, &st[f]);
    }
    for (uint32_t f = QP_DIFF_FILTER_NONE; f <= QP_DIFF_FILTER_ARM; f++) {
        assert_true(st[0].package_size <= st[f].package_size);
    }
    tu_free_pair(&p);
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
    roundtrip(a, 1, b, 3, QP_DIFF_FILTER_THUMB, NULL);
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
    qp_patch_config_t c;
    memset(&c, 0, sizeof c);
    c.pkg_read = tu_mem_read;
    c.pkg_ctx = &m;
    c.pkg_size = pkg_size;
    qp_patch_t p;
    qp_patch_init(&p);
    assert_int_equal(qp_patch_open(&p, &c), 0);
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
    qp_patch_config_t c;
    memset(&c, 0, sizeof c);
    c.pkg_read = tu_mem_read;
    c.pkg_ctx = &pm;
    c.pkg_size = pkg_size;
    qp_patch_t h;
    assert_int_equal(qp_patch_open(&h, &c), 0);
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
        const uint8_t *old = grow ? p.old : p.new_, *nw = grow ? p.new_ : p.old;
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
        cmocka_unit_test(test_auto_filter_is_smallest),
        cmocka_unit_test(test_random_and_edges),
        cmocka_unit_test(test_no_short_excursions),
        cmocka_unit_test(test_sections),
        cmocka_unit_test(test_inplace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
