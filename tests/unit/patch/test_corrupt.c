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
        cmocka_unit_test(test_wrong_old_model_sizes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
