// test_apply.c - the in-place apply of image packages (src/fota, SPEC-patch §8): round trips
// on generated images (a section that grows into the next, a new section, a removed one),
// the RAM cap enforced by a counting allocator, resume after a stop at flash writes, a
// power-cut sweep at every flash operation k = 1..N on a small image, and bad packages
// refused with the target untouched. The default (CI) run keeps images small and makes the
// common pair once; QP_STRESS=1 (make stress) adds the stop at every write, the full sweep on
// a medium image and a sampled two-cut sweep on a large one.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <lzma.h>
#include <mbedtls/sha256.h>
#include <mbedtls/version.h>

#include "fota_testutil.h"
#include "fwgen.h"
#include "qp/qp_diff.h"
#include "qp/qp_err.h"
#include "qp/qp_flash.h"
#include "qp/qp_fota.h"
#include "qp/qp_fota_store.h"
#include "qp/qp_image.h"

typedef struct dev {
    qp_flash_t flash;
    qp_flash_part_t fw, bk;
} fdev_t;

#define FW_SIZE (1024u * 1024u)
#define BK_SIZE (1024u * 1024u)

static void dev_open(fdev_t *d, const img_t *old) {
    qp_flash_config_t c;
    memset(&c, 0, sizeof c);
    c.size = FW_SIZE + BK_SIZE;
    qp_flash_init(&d->flash);
    assert_int_equal(qp_flash_open_ram(&d->flash, &c), 0);
    assert_int_equal(qp_flash_part_init(&d->fw, &d->flash, 0, FW_SIZE), 0);
    assert_int_equal(qp_flash_part_init(&d->bk, &d->flash, FW_SIZE, BK_SIZE), 0);
    assert_int_equal(qp_flash_part_program(&d->fw, 0, old->p, (uint32_t)old->len), 0);
}

typedef struct pkg {
    uint8_t *p;
    uint32_t size;
} pkg_t;

static int pkg_read(void *ctx, uint32_t off, void *buf, uint32_t len) {
    pkg_t *k = ctx;
    if (off > k->size || len > k->size - off) {
        return QP_ERR_RANGE;
    }
    memcpy(buf, k->p + off, len);
    return 0;
}

// Counting allocator (fails past `limit`).
typedef struct counter {
    size_t used, peak, limit;
} counter_t;
static void *c_alloc(void *ctx, size_t size) {
    counter_t *c = ctx;
    if (c->limit && c->used + size > c->limit) {
        return NULL;
    }
    size_t *p = malloc(size + 16);
    if (!p) {
        return NULL;
    }
    p[0] = size;
    c->used += size;
    c->peak = c->used > c->peak ? c->used : c->peak;
    return (uint8_t *)p + 16;
}
static void c_free(void *ctx, void *ptr) {
    counter_t *c = ctx;
    if (ptr) {
        size_t *p = (size_t *)((uint8_t *)ptr - 16);
        c->used -= p[0];
        free(p);
    }
}

static qp_fota_apply_config_t config(fdev_t *d, pkg_t *k, counter_t *c) {
    qp_fota_apply_config_t a;
    memset(&a, 0, sizeof a);
    a.pkg_read = pkg_read;
    a.pkg_ctx = k;
    a.pkg_size = k->size;
    a.target = qp_fota_part_flash(&d->fw);
    a.backup = qp_fota_part_flash(&d->bk);
    a.model = "EC600S";
    if (c) {
        a.alloc = c_alloc;
        a.free = c_free;
        a.alloc_ctx = c;
    }
    return a;
}

static void assert_holds(fdev_t *d, const img_t *im) {
    uint8_t *buf = malloc(FW_SIZE);
    assert_non_null(buf);
    assert_int_equal(qp_flash_part_read(&d->fw, 0, buf, FW_SIZE), 0);
    assert_memory_equal(buf, im->p, im->len);
    for (size_t i = im->len; i < FW_SIZE; i++) {
        if (buf[i] != 0xFF) {
            fail_msg("byte %zu past the image is 0x%02x", i, buf[i]);
        }
    }
    free(buf);
}

typedef struct pair {
    img_t old, new_;
    pkg_t pkg;
    qp_fota_diff_stats_t st;
} pair_t;

static int stress(void) {
    const char *s = getenv("QP_STRESS");
    return s && *s && strcmp(s, "0") != 0;
}

static void make_pair(pair_t *p, uint32_t cp_size, int extra_old, int extra_new) {
    p->old = make_image("V1.0", cp_size, 0, 10, extra_old);
    p->new_ = make_image("V2.0-NEW", cp_size + cp_size / 8, 3, 30, extra_new);
    char msg[200];
    int err = qp_fota_diff(NULL, p->old.p, p->old.len, p->new_.p, p->new_.len, &p->pkg.p,
                           &p->pkg.size, &p->st, msg, sizeof msg);
    if (err) {
        fail_msg("qp_fota_diff: %d %s", err, msg);
    }
}

static void free_pair(pair_t *p) {
    free(p->old.p);
    free(p->new_.p);
    qp_diff_free(p->pkg.p);
}

// The pair most tests use (64 KiB of cp), made once per run: making a pair diffs (two passes
// per section) and applies once, which is most of a test's time.
static pair_t common_pair;
static int common_made;

static pair_t *common(void) {
    if (!common_made) {
        make_pair(&common_pair, 64 * 1024, 0, 0);
        common_made = 1;
    }
    return &common_pair;
}

static int common_teardown(void **state) {
    (void)state;
    if (common_made) {
        free_pair(&common_pair);
        common_made = 0;
    }
    return 0;
}

static void roundtrip_pair(pair_t *pp) {
    pair_t p = *pp;
    fdev_t d;
    dev_open(&d, &p.old);
    counter_t c = {0};
    qp_fota_apply_config_t a = config(&d, &p.pkg, &c);
    qp_fota_apply_stats_t st;
    char msg[200];
    int err = qp_fota_apply(&a, &st, msg, sizeof msg);
    if (err) {
        fail_msg("apply: %d %s", err, msg);
    }
    assert_holds(&d, &p.new_);
    assert_true(c.peak <= p.st.apply_ram);
    // qp_fota_diff applied once without a cap and recorded that peak plus 8 KiB
    // (SPEC-patch §8.5): under the recorded cap the apply allocates exactly the same.
    assert_int_equal(st.ram_peak + 8192u, p.st.apply_ram);
    assert_int_equal(c.used, 0);
    assert_true(st.backup_needed <= p.st.backup_size);
    // Again: the journal says complete, only the hash is checked.
    assert_int_equal(qp_fota_apply(&a, &st, msg, sizeof msg), 0);
    assert_int_equal(st.complete, 1);
    assert_int_equal(st.flash_ops, 0);
    qp_flash_close(&d.flash);
}

static void roundtrip(uint32_t cp_size, int extra_old, int extra_new) {
    pair_t p;
    make_pair(&p, cp_size, extra_old, extra_new);
    roundtrip_pair(&p);
    free_pair(&p);
}

static void test_roundtrip(void **state) {
    (void)state;
    roundtrip_pair(common());
}

static void test_roundtrip_sections_added_removed(void **state) {
    (void)state;
    roundtrip(32 * 1024, 0, 1);
    roundtrip(32 * 1024, 1, 0);
}

static void test_ram_cap(void **state) {
    (void)state;
    pair_t p = *common();
    fdev_t d;
    dev_open(&d, &p.old);
    // A device granting less than the package needs refuses before touching anything.
    counter_t c = {0};
    qp_fota_apply_config_t a = config(&d, &p.pkg, &c);
    a.ram_limit = p.st.apply_ram - 1;
    char msg[200];
    assert_int_equal(qp_fota_apply(&a, NULL, msg, sizeof msg), QP_ERR_NOMEM);
    assert_non_null(strstr(msg, "RAM"));
    assert_holds(&d, &p.old);
    // An allocator that runs dry in the middle: NOMEM, then a later run with memory resumes.
    c.limit = p.st.apply_ram / 2;
    a.ram_limit = 0;
    int err = qp_fota_apply(&a, NULL, msg, sizeof msg);
    assert_int_equal(err, QP_ERR_NOMEM);
    assert_int_equal(c.used, 0);
    c.limit = 0;
    assert_int_equal(qp_fota_apply(&a, NULL, msg, sizeof msg), 0);
    assert_holds(&d, &p.new_);
    printf("# apply_ram %u, peak %zu, backup %u, package %u\n", p.st.apply_ram, c.peak,
           p.st.backup_size, p.pkg.size);
    qp_flash_close(&d.flash);
}

// Stop (as a SIGKILL would) before flash writes in turn; the next run finishes. The default
// run stops before every 7th write (the power-cut sweep below covers every operation);
// QP_STRESS=1 before every write.
static void test_stop_resume(void **state) {
    (void)state;
    pair_t p;
    make_pair(&p, 24 * 1024, 0, 1);
    fdev_t d;
    dev_open(&d, &p.old);
    qp_fota_apply_config_t a = config(&d, &p.pkg, NULL);
    qp_fota_apply_stats_t st;
    assert_int_equal(qp_fota_apply(&a, &st, NULL, 0), 0);
    uint32_t n = st.flash_ops;
    qp_flash_close(&d.flash);
    assert_true(n > 10);
    uint32_t stride = stress() ? 1u : 7u;
    for (uint32_t k = 1; k <= n; k += stride) {
        dev_open(&d, &p.old);
        a = config(&d, &p.pkg, NULL);
        a.stop_after = k;
        assert_int_equal(qp_fota_apply(&a, &st, NULL, 0), QP_ERR_IO);
        a.stop_after = 0;
        assert_int_equal(qp_fota_apply(&a, &st, NULL, 0), 0);
        assert_holds(&d, &p.new_);
        qp_flash_close(&d.flash);
    }
    printf("# stop/resume: %u flash writes, stride %u\n", n, stride);
    free_pair(&p);
}

// qp_fota_prepare (what fota.verify() runs): checks and dry run, the journal written, the
// target untouched; a second prepare finds the journal; the apply then resumes from it and
// decodes the old firmware once instead of twice. If the firmware partition changed in
// between (reflashed), the prepared journal is not trusted: NOENT, the target left alone.
static void test_prepare_then_apply(void **state) {
    (void)state;
    pair_t p;
    make_pair(&p, 24 * 1024, 0, 1);
    fdev_t d;
    dev_open(&d, &p.old);
    qp_fota_apply_config_t a = config(&d, &p.pkg, NULL);
    qp_fota_apply_stats_t fresh, st;
    assert_int_equal(qp_fota_apply(&a, &fresh, NULL, 0), 0);
    assert_int_equal(fresh.resumed, 0);
    qp_flash_close(&d.flash);

    dev_open(&d, &p.old);
    a = config(&d, &p.pkg, NULL);
    assert_int_equal(qp_fota_prepare(&a, &st, NULL, 0), 0);
    assert_int_equal(st.resumed, 0);
    assert_holds(&d, &p.old);
    assert_int_equal(qp_fota_prepare(&a, &st, NULL, 0), 0);
    assert_int_equal(st.resumed, 1);
    assert_holds(&d, &p.old);
    assert_int_equal(qp_fota_apply(&a, &st, NULL, 0), 0);
    assert_int_equal(st.resumed, 1);
    assert_true(st.old_restarts < fresh.old_restarts); // no second pass over the old data
    assert_holds(&d, &p.new_);
    qp_flash_close(&d.flash);

    dev_open(&d, &p.old);
    a = config(&d, &p.pkg, NULL);
    assert_int_equal(qp_fota_prepare(&a, &st, NULL, 0), 0);
    assert_int_equal(qp_flash_part_erase(&d.fw, 0, FW_SIZE), 0);
    assert_int_equal(qp_flash_part_program(&d.fw, 0, p.new_.p, (uint32_t)p.new_.len), 0);
    char msg[120];
    assert_int_equal(qp_fota_apply(&a, &st, msg, sizeof msg), QP_ERR_NOENT);
    assert_string_equal(msg, "the package was made for another firmware than the installed one");
    assert_holds(&d, &p.new_);
    qp_flash_close(&d.flash);
    free_pair(&p);
}

static void sha256(const uint8_t *d, size_t n, uint8_t out[32]) {
#if MBEDTLS_VERSION_MAJOR < 3
    mbedtls_sha256_ret(d, n, out, 0);
#else
    mbedtls_sha256(d, n, out, 0);
#endif
}

// One "cp" section compressed at LZMA level `level`, as a complete image.
static img_t one_section_image(const uint8_t *cp, uint32_t n, uint8_t level) {
    qp_image_builder_t b;
    qp_image_builder_init(&b);
    assert_int_equal(qp_image_builder_open(&b, NULL, "EC600S", "V2.0-FORGED"), 0);
    qp_image_section_opts_t o = {0};
    o.level = level;
    assert_int_equal(qp_image_builder_add(&b, "cp", cp, n, &o), 0);
    img_t m = {NULL, 0};
    assert_int_equal(qp_image_builder_write(&b, img_append, &m), 0);
    qp_image_builder_close(&b);
    return m;
}

// A module whose LZMA encoder does not reproduce the new image (simulated by an image whose
// section bytes were made at level 1 while its table records the level-9 settings, header
// CRC and trailer made consistent): verify()'s prepare recompresses in its dry run and
// refuses the package before writing anything (SPEC-patch §8.2).
static void test_prepare_refuses_unreproducible(void **state) {
    (void)state;
    img_t old = make_image("V1.0", 24 * 1024, 0, 10, 0);
    uint32_t n = 27 * 1024;
    uint8_t *cp = malloc(n);
    assert_non_null(cp);
    assert_int_equal(fwgen_make(cp, n, 1, 3), n);
    img_t fast = one_section_image(cp, n, 1), best = one_section_image(cp, n, 9);
    free(cp);
    uint32_t hs = QP_IMAGE_HEADER_SIZE + QP_IMAGE_ENTRY_SIZE;
    assert_memory_not_equal(fast.p + QP_IMAGE_HEADER_SIZE + 48,
                            best.p + QP_IMAGE_HEADER_SIZE + 48, 32);
    memcpy(fast.p + QP_IMAGE_HEADER_SIZE + 48, best.p + QP_IMAGE_HEADER_SIZE + 48, 32);
    uint32_t crc = lzma_crc32(fast.p + 12, hs - 12, 0);
    for (int i = 0; i < 4; i++) {
        fast.p[8 + i] = (uint8_t)(crc >> (8 * i));
    }
    sha256(fast.p, fast.len - 32, fast.p + fast.len - 32);
    qp_fota_diff_config_t dc;
    memset(&dc, 0, sizeof dc);
    dc.no_self_check = 1;
    pkg_t pk = {NULL, 0};
    char msg[160];
    assert_int_equal(qp_fota_diff(&dc, old.p, old.len, fast.p, fast.len, &pk.p, &pk.size, NULL,
                                  msg, sizeof msg),
                     0);
    fdev_t d;
    dev_open(&d, &old);
    qp_fota_apply_config_t a = config(&d, &pk, NULL);
    assert_int_equal(qp_fota_prepare(&a, NULL, msg, sizeof msg), QP_ERR_CORRUPT);
    assert_string_equal(msg, "this module's LZMA encoder does not reproduce the new firmware's "
                             "sections (another liblzma?)");
    assert_holds(&d, &old);
    qp_flash_close(&d.flash);
    qp_diff_free(pk.p);
    free(old.p);
    free(fast.p);
    free(best.p);
}

// Cuts power at flash operation k for k = 1, 1 + stride, ... (with `twice`, a second cut
// during the run after), then runs until done: the target must end holding NEW.
static void sweep(pair_t *p, uint32_t stride, int twice) {
    fdev_t d;
    dev_open(&d, &p->old);
    qp_fota_apply_config_t a = config(&d, &p->pkg, NULL);
    qp_fota_apply_stats_t st;
    uint64_t before = qp_flash_op_count(&d.flash);
    assert_int_equal(qp_fota_apply(&a, &st, NULL, 0), 0);
    uint64_t n = qp_flash_op_count(&d.flash) - before;
    qp_flash_close(&d.flash);
    // The image must be large enough to need backups and carries, or the sweep proves little.
    assert_true(st.backups > 0);
    assert_true(st.blocks_written >= 3);
    for (uint64_t k = 1; k <= n; k += stride) {
        dev_open(&d, &p->old);
        a = config(&d, &p->pkg, NULL);
        qp_flash_powercut_arm(&d.flash, k, k * 7919u);
        int err = qp_fota_apply(&a, NULL, NULL, 0);
        qp_flash_power_restore(&d.flash);
        if (twice && err) {
            qp_flash_powercut_arm(&d.flash, k / 2 + 1, k);
            (void)qp_fota_apply(&a, NULL, NULL, 0);
            qp_flash_power_restore(&d.flash);
        }
        char msg[200];
        err = qp_fota_apply(&a, NULL, msg, sizeof msg);
        if (err) {
            fail_msg("cut at op %llu: %d %s", (unsigned long long)k, err, msg);
        }
        assert_holds(&d, &p->new_);
        qp_flash_close(&d.flash);
    }
    printf("# power-cut sweep: %llu flash operations (%u units, %u blocks, %u backups), "
           "stride %u%s\n",
           (unsigned long long)n, st.units, st.blocks_written, st.backups, stride,
           twice ? ", two cuts" : "");
}

// Every flash operation k = 1..N on a small image; QP_STRESS=1 also on a medium one, and
// sampled with two cuts per run on a large one.
static void test_powercut_sweep(void **state) {
    (void)state;
    pair_t p;
    make_pair(&p, 16 * 1024, 0, 0);
    sweep(&p, 1, 0);
    free_pair(&p);
    if (stress()) {
        make_pair(&p, 40 * 1024, 0, 1);
        sweep(&p, 1, 0);
        free_pair(&p);
        make_pair(&p, 600 * 1024, 0, 1);
        sweep(&p, 7, 1);
        free_pair(&p);
    }
}

// Bad packages: refused, target and backup area untouched.
static void expect_refused(pair_t *p, pkg_t *k, const img_t *installed, const char *model,
                           int want, const char *why) {
    fdev_t d;
    dev_open(&d, installed);
    qp_fota_apply_config_t a = config(&d, k, NULL);
    a.model = model;
    char msg[200];
    uint64_t ops = qp_flash_op_count(&d.flash);
    assert_int_equal(qp_fota_check(&a, NULL, msg, sizeof msg), want);
    assert_int_equal(qp_fota_apply(&a, NULL, msg, sizeof msg), want);
    if (!strstr(msg, why)) {
        fail_msg("message '%s' lacks '%s'", msg, why);
    }
    assert_true(qp_flash_op_count(&d.flash) == ops);
    assert_holds(&d, installed);
    qp_flash_close(&d.flash);
    (void)p;
}

static void test_bad_packages(void **state) {
    (void)state;
    pair_t p;
    make_pair(&p, 24 * 1024, 0, 0);
    pkg_t k = {malloc(p.pkg.size), p.pkg.size};
    assert_non_null(k.p);
    // Bit flip in the streams.
    memcpy(k.p, p.pkg.p, k.size);
    k.p[k.size - 100] ^= 0x10;
    expect_refused(&p, &k, &p.old, "EC600S", QP_ERR_CORRUPT, "damaged");
    // Truncated.
    memcpy(k.p, p.pkg.p, k.size);
    pkg_t t = {k.p, k.size - 1};
    expect_refused(&p, &t, &p.old, "EC600S", QP_ERR_CORRUPT, "damaged");
    // Another model.
    memcpy(k.p, p.pkg.p, k.size);
    expect_refused(&p, &k, &p.old, "EC100Y", QP_ERR_NOENT, "model");
    // Another installed firmware (the new one already, or an unrelated one).
    expect_refused(&p, &k, &p.new_, "EC600S", QP_ERR_NOENT, "another firmware");
    // Not a package at all.
    memset(k.p, 0x5A, k.size);
    expect_refused(&p, &k, &p.old, "EC600S", QP_ERR_CORRUPT, "damaged");
    // A bad builder: intact (hash re-sealed) but a section's recorded hash is not what its
    // streams produce. Only the dry run can tell; it must, before anything is written.
    memcpy(k.p, p.pkg.p, k.size);
    k.p[256 + 192 + 120] ^= 0x01; // section 1 (cp): new_sha256 (SPEC-patch §3.3)
    uint8_t saved[96], md[32];
    memcpy(saved, k.p + 160, 96);
    memset(k.p + 160, 0, 96); // §3.2: hashed as zeros (the signature bytes are zero here)
    sha256(k.p, k.size, md);
    memcpy(k.p + 160, saved, 96);
    memcpy(k.p + 160, md, 32);
    for (int prep = 0; prep < 2; prep++) {
        fdev_t d;
        dev_open(&d, &p.old);
        qp_fota_apply_config_t a = config(&d, &k, NULL);
        char msg[200];
        uint64_t ops = qp_flash_op_count(&d.flash);
        assert_int_equal(qp_fota_check(&a, NULL, msg, sizeof msg), 0);
        assert_int_equal(prep ? qp_fota_prepare(&a, NULL, msg, sizeof msg)
                              : qp_fota_apply(&a, NULL, msg, sizeof msg),
                         QP_ERR_CORRUPT);
        assert_string_equal(msg, "the package does not rebuild the new firmware");
        assert_true(qp_flash_op_count(&d.flash) == ops);
        assert_holds(&d, &p.old);
        qp_flash_close(&d.flash);
    }
    free(k.p);
    free_pair(&p);
}

static void test_backup_too_small(void **state) {
    (void)state;
    pair_t p = *common();
    fdev_t d;
    dev_open(&d, &p.old);
    qp_fota_apply_config_t a = config(&d, &p.pkg, NULL);
    a.backup.size = p.st.backup_size - 4096;
    char msg[200];
    assert_int_equal(qp_fota_apply(&a, NULL, msg, sizeof msg), QP_ERR_NOSPC);
    assert_non_null(strstr(msg, "backup"));
    assert_holds(&d, &p.old);
    a.backup.size = p.st.backup_size;
    assert_int_equal(qp_fota_apply(&a, NULL, msg, sizeof msg), 0);
    assert_holds(&d, &p.new_);
    qp_flash_close(&d.flash);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_roundtrip_sections_added_removed),
        cmocka_unit_test(test_ram_cap),
        cmocka_unit_test(test_stop_resume),
        cmocka_unit_test(test_prepare_then_apply),
        cmocka_unit_test(test_prepare_refuses_unreproducible),
        cmocka_unit_test(test_powercut_sweep),
        cmocka_unit_test(test_bad_packages),
        cmocka_unit_test(test_backup_too_small),
    };
    return cmocka_run_group_tests(tests, NULL, common_teardown);
}
