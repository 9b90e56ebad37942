// Bad packages are rejected before the firmware partition is touched (SPEC-patch §3.4,
// §6.1): truncated at many lengths, a bit flipped in the header and all over the body, a
// package with a good hash but damaged streams, made for another old image or model, a size
// that disagrees with the store, a backup area or target too small, a RAM limit too low.
// Each case checks the error and that the flash saw no program or erase at all.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <lzma.h>
#include <mbedtls/sha256.h>
#include <mbedtls/version.h>

#include "patch_testutil.h"
#include "qp/qp_err.h"

static tu_pair_t pair;
static uint8_t *pkg;
static uint32_t pkg_size;

static int setup(void **state) {
    (void)state;
    tu_make_pair(&pair, 51, 20000, 10);
    qp_diff_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.level = 6;
    return qp_diff_create(&cfg, pair.old, pair.old_size, pair.new_, pair.new_size, NULL, 0,
                          &pkg, &pkg_size, NULL);
}

static int teardown(void **state) {
    (void)state;
    qp_diff_free(pkg);
    tu_free_pair(&pair);
    return 0;
}

// Applies `p` (size n) in place on a device holding OLD with the given partition sizes;
// returns the error and checks nothing was written.
static int apply_untouched(const uint8_t *p, uint32_t n, uint32_t fw, uint32_t bk,
                           const char *model, uint32_t ram_limit) {
    tu_dev_t d;
    tu_dev_open(&d, fw, bk);
    if (pair.old_size <= fw) {
        assert_int_equal(qp_flash_part_program(&d.fw, 0, pair.old, pair.old_size), 0);
    }
    uint64_t ops = qp_flash_op_count(&d.flash);
    tu_mem_t pm = {p, n, 0};
    qp_patch_inplace_config_t c;
    tu_inplace_config(&c, &d, &pm);
    c.patch.model = model;
    c.patch.ram_limit = ram_limit;
    int err = qp_patch_inplace_apply(&c, NULL);
    if (err < 0) {
        assert_int_equal(qp_flash_op_count(&d.flash), ops);
    }
    tu_dev_close(&d);
    return err;
}

#define FW (64u * 1024u)

static void test_truncated(void **state) {
    (void)state;
    for (uint32_t n = 0; n < pkg_size; n += n < 600 ? 1 : 997) {
        int err = apply_untouched(pkg, n, FW, FW, NULL, 0);
        assert_int_equal(err, QP_ERR_CORRUPT);
    }
    assert_int_equal(apply_untouched(pkg, pkg_size - 1, FW, FW, NULL, 0), QP_ERR_CORRUPT);
}

static void test_bit_flips(void **state) {
    (void)state;
    uint8_t *b = malloc(pkg_size);
    for (uint32_t i = 0; i < pkg_size; i += i < 512 ? 1 : 211) {
        memcpy(b, pkg, pkg_size);
        b[i] ^= (uint8_t)(1u << (i % 8));
        int err = apply_untouched(b, pkg_size, FW, FW, NULL, 0);
        // Mostly CORRUPT; a flipped version or flag is NOTSUP, a flipped RAM or size field
        // may trip those checks first.
        assert_true(err == QP_ERR_CORRUPT || err == QP_ERR_NOTSUP || err == QP_ERR_NOMEM ||
                    err == QP_ERR_NOSPC || err == QP_ERR_INVAL || err == QP_ERR_NOENT);
    }
    free(b);
}

static uint32_t qp_le32_test(const uint8_t *b) {
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static void qp_put32_test(uint8_t *b, uint32_t v) {
    for (int i = 0; i < 4; i++) {
        b[i] = (uint8_t)(v >> (8 * i));
    }
}

static void rehash(uint8_t *b, uint32_t n) {
    uint8_t md[32];
    memset(b + 160, 0, 32);
#if MBEDTLS_VERSION_MAJOR < 3
    mbedtls_sha256_ret(b, n, md, 0);
#else
    mbedtls_sha256(b, n, md, 0);
#endif
    memcpy(b + 160, md, 32);
}

// A package whose hash is right but whose streams are not (a buggy or hostile builder):
// the dry run must catch it before the first write.
static void test_good_hash_bad_streams(void **state) {
    (void)state;
    uint8_t *b = malloc(pkg_size);
    uint32_t hdr = QP_PATCH_HEADER_SIZE + QP_PATCH_SECTION_DESC_SIZE;
    for (uint32_t i = hdr; i < pkg_size; i += 37) {
        memcpy(b, pkg, pkg_size);
        b[i] ^= 0x55;
        rehash(b, pkg_size);
        int err = apply_untouched(b, pkg_size, FW, FW, NULL, 0);
        assert_true(err == QP_ERR_CORRUPT || err == QP_ERR_NOMEM);
    }
    // The new image hash itself altered: everything decodes, the result does not match.
    memcpy(b, pkg, pkg_size);
    b[128] ^= 1;
    rehash(b, pkg_size);
    assert_int_equal(apply_untouched(b, pkg_size, FW, FW, NULL, 0), QP_ERR_CORRUPT);
    free(b);
}

// Target maps (SPEC-patch §5.1) that break its rules. The package's one section gets a
// control stream made here: a map, then the entries of a package made with the mapped
// filter; the package is rebuilt around it with a correct hash, so only the map's own
// checks can refuse it. Offsets: the section descriptor at 256, its control stream record
// at 256 + 40 (offset, size, raw size, dictionary), the diff and extra records after it.
static uint32_t lzma_raw(const uint8_t *in, size_t n, uint8_t *out, size_t cap, int enc) {
    lzma_options_lzma opt;
    assert_false(lzma_lzma_preset(&opt, 6));
    opt.dict_size = 4096;
    lzma_filter f[2] = {{LZMA_FILTER_LZMA2, &opt}, {LZMA_VLI_UNKNOWN, NULL}};
    size_t in_pos = 0, out_pos = 0;
    if (enc) {
        assert_int_equal(lzma_raw_buffer_encode(f, NULL, in, n, out, &out_pos, cap), LZMA_OK);
    } else {
        lzma_ret r = lzma_raw_buffer_decode(f, NULL, in, &in_pos, n, out, &out_pos, cap);
        assert_true(r == LZMA_OK || r == LZMA_STREAM_END);
    }
    return (uint32_t)out_pos;
}

static uint32_t put_varint(uint8_t *b, uint64_t v) {
    uint32_t n = 0;
    do {
        b[n] = (uint8_t)((v & 0x7Fu) | (v > 0x7Fu ? 0x80u : 0u));
        v >>= 7;
        n++;
    } while (v);
    return n;
}

static uint32_t get_varint(const uint8_t *b, uint32_t *at) {
    uint32_t v = 0, shift = 0;
    while (b[*at] & 0x80u) {
        v |= (uint32_t)(b[(*at)++] & 0x7Fu) << shift;
        shift += 7;
    }
    return v | (uint32_t)b[(*at)++] << shift;
}

// Applies `m` map bytes (NULL: the package's own map) followed by the entries of `mp` (a
// mapped package) in place and returns the error.
static int apply_with_map(const uint8_t *mp, uint32_t mp_size, const uint8_t *m, uint32_t mn) {
    enum { CAP = 1 << 16 };
    uint8_t *ctrl = malloc(CAP), *raw = malloc(CAP), *out = malloc(mp_size + CAP);
    const uint8_t *rec = mp + 256 + 40;
    uint32_t off = qp_le32_test(rec), size = qp_le32_test(rec + 4);
    uint32_t rn = lzma_raw(mp + off, size, raw, CAP, 0);
    assert_int_equal(rn, qp_le32_test(rec + 8));
    // Skip the package's own map: count, then two varints per piece.
    uint32_t at = 0, count = get_varint(raw, &at);
    for (uint32_t i = 0; i < 2 * count; i++) {
        get_varint(raw, &at);
    }
    if (!m) {
        m = raw;
        mn = at;
    }
    memcpy(ctrl, m, mn);
    memcpy(ctrl + mn, raw + at, rn - at);
    uint32_t cn = mn + rn - at;
    memcpy(out, mp, off);
    uint32_t csize = lzma_raw(ctrl, cn, out + off, CAP, 1);
    memcpy(out + off + csize, mp + off + size, mp_size - off - size);
    uint32_t n = mp_size - size + csize;
    uint8_t *orec = out + 256 + 40;
    qp_put32_test(orec + 4, csize);
    qp_put32_test(orec + 8, cn);
    qp_put32_test(orec + 12, 4096);
    for (int k = 1; k < 3; k++) {
        qp_put32_test(orec + 16 * k, qp_le32_test(orec + 16 * k) + csize - size);
    }
    qp_put32_test(out + 20, n);
    rehash(out, n);
    int err = apply_untouched(out, n, FW, FW, NULL, 0);
    free(ctrl);
    free(raw);
    free(out);
    return err;
}

static void test_bad_target_map(void **state) {
    (void)state;
    qp_diff_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.level = 6;
    cfg.filter = QP_DIFF_FILTER_THUMB_MAP;
    uint8_t *mp;
    uint32_t mp_size;
    qp_diff_stats_t st;
    assert_int_equal(qp_diff_create(&cfg, pair.old, pair.old_size, pair.new_, pair.new_size,
                                    NULL, 0, &mp, &mp_size, &st), 0);
    assert_int_equal(st.filters[QP_PATCH_FILTER_THUMB_MAP], 1);
    uint8_t m[64];
    uint32_t n;
    // The package's own map, recompressed, rebuilds NEW: the harness works.
    assert_int_equal(apply_with_map(mp, mp_size, NULL, 0), 0);
    // A second piece starting where the first does (starts must increase).
    n = put_varint(m, 2);
    n += put_varint(m + n, 0x100);
    n += put_varint(m + n, 2);
    n += put_varint(m + n, 0);
    n += put_varint(m + n, 2);
    assert_int_equal(apply_with_map(mp, mp_size, m, n), QP_ERR_CORRUPT);
    // A start past the 22-bit Thumb field.
    n = put_varint(m, 1);
    n += put_varint(m + n, 0x400000);
    n += put_varint(m + n, 2);
    assert_int_equal(apply_with_map(mp, mp_size, m, n), QP_ERR_CORRUPT);
    // More pieces than any map may have.
    n = put_varint(m, (1u << 20) + 1u);
    assert_int_equal(apply_with_map(mp, mp_size, m, n), QP_ERR_CORRUPT);
    // A count the stream does not hold: the entries read as pieces run out.
    n = put_varint(m, 1u << 20);
    assert_int_equal(apply_with_map(mp, mp_size, m, n), QP_ERR_CORRUPT);
    // Well formed, but not the map the diff was made with: the output is wrong.
    assert_int_equal(apply_with_map(mp, mp_size, (const uint8_t *)"\0", 1), QP_ERR_CORRUPT);
    n = put_varint(m, 1);
    n += put_varint(m + n, 0);
    n += put_varint(m + n, 2);
    assert_int_equal(apply_with_map(mp, mp_size, m, n), QP_ERR_CORRUPT);
    // A filter id this reader does not know.
    mp[256 + 16] = QP_PATCH_FILTER_MAX + 1;
    rehash(mp, mp_size);
    assert_int_equal(apply_untouched(mp, mp_size, FW, FW, NULL, 0), QP_ERR_NOTSUP);
    qp_diff_free(mp);
}

static void test_wrong_old_model_sizes(void **state) {
    (void)state;
    // Another old image in the target.
    tu_dev_t d;
    tu_dev_open(&d, FW, FW);
    uint8_t *other = malloc(pair.old_size);
    memcpy(other, pair.old, pair.old_size);
    other[pair.old_size / 2] ^= 1;
    assert_int_equal(qp_flash_part_program(&d.fw, 0, other, pair.old_size), 0);
    uint64_t ops = qp_flash_op_count(&d.flash);
    tu_mem_t pm = {pkg, pkg_size, 0};
    qp_patch_inplace_config_t c;
    tu_inplace_config(&c, &d, &pm);
    assert_int_equal(qp_patch_inplace_apply(&c, NULL), QP_ERR_NOENT);
    assert_int_equal(qp_flash_op_count(&d.flash), ops);
    tu_dev_close(&d);
    free(other);
    // Another model.
    assert_int_equal(apply_untouched(pkg, pkg_size, FW, FW, "EC200U", 0), QP_ERR_NOENT);
    assert_int_equal(apply_untouched(pkg, pkg_size, FW, FW, "EC600S", 0), 0);
    // Store larger than the package (something appended).
    uint8_t *b = calloc(1, pkg_size + 10);
    memcpy(b, pkg, pkg_size);
    assert_int_equal(apply_untouched(b, pkg_size + 10, FW, FW, NULL, 0), QP_ERR_CORRUPT);
    free(b);
    // Backup area too small, target too small, RAM limit below the header's.
    assert_int_equal(apply_untouched(pkg, pkg_size, FW, 4096, NULL, 0), QP_ERR_NOSPC);
    assert_int_equal(apply_untouched(pkg, pkg_size, 8192, FW, NULL, 0), QP_ERR_NOSPC);
    assert_int_equal(apply_untouched(pkg, pkg_size, FW, FW, NULL, 20000), QP_ERR_NOMEM);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_bit_flips),
        cmocka_unit_test(test_good_hash_bad_streams),
        cmocka_unit_test(test_bad_target_map),
        cmocka_unit_test(test_wrong_old_model_sizes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
