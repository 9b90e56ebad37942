// Signed packages (SPEC-patch §3.5, qp_patch_sig.h): a package signed with one key passes
// with its public key and fails with another; a byte changed anywhere (header, body,
// signature), a truncated signature, a stripped signature and an unsigned package are
// refused when a key is required; a signed package is accepted by a device without a key
// and still applies; signing is deterministic and leaves an unsigned package's hash as
// format 1.0 computed it; keys of the wrong kind are refused with NOTSUP/INVAL. Keys are
// made by the library itself in setup (nothing secret is committed).
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <mbedtls/ecp.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>
#include <mbedtls/version.h>

#include "patch_testutil.h"
#include "qp/qp_err.h"
#include "qp/qp_patch_sig.h"

#define OFF_FLAGS 12u
#define OFF_MODEL 64u
#define OFF_PKG_SHA 160u
#define OFF_SIG 192u

static tu_pair_t pair;
static uint8_t *unsigned_pkg;
static uint32_t size;
static char priv_a[512], priv_b[512], pub_a[256], pub_b[256];
static qp_patch_sig_key_t key_a, key_b;

static int setup(void **state) {
    (void)state;
    tu_make_pair(&pair, 7, 12000, 6);
    qp_diff_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.level = 6;
    int err = qp_diff_create(&cfg, pair.old, pair.old_size, pair.new_, pair.new_size, NULL, 0,
                             &unsigned_pkg, &size, NULL);
    if (err == 0) {
        err = qp_patch_sign_genkey(priv_a, sizeof priv_a);
    }
    if (err == 0) {
        err = qp_patch_sign_genkey(priv_b, sizeof priv_b);
    }
    if (err == 0) {
        err = qp_patch_sign_pubkey(priv_a, strlen(priv_a), pub_a, sizeof pub_a);
    }
    if (err == 0) {
        err = qp_patch_sign_pubkey(priv_b, strlen(priv_b), pub_b, sizeof pub_b);
    }
    if (err == 0) {
        err = qp_patch_sig_key_parse(&key_a, pub_a, strlen(pub_a));
    }
    if (err == 0) {
        err = qp_patch_sig_key_parse(&key_b, pub_b, strlen(pub_b));
    }
    return err;
}

static int teardown(void **state) {
    (void)state;
    qp_diff_free(unsigned_pkg);
    tu_free_pair(&pair);
    return 0;
}

// A malloc'ed copy of the unsigned package, signed with `priv` unless NULL.
static uint8_t *copy_signed(const char *priv) {
    uint8_t *p = malloc(size);
    assert_non_null(p);
    memcpy(p, unsigned_pkg, size);
    if (priv) {
        assert_int_equal(qp_patch_sign(p, size, priv, strlen(priv)), 0);
    }
    return p;
}

// What a device does (qp_fota_check's order): open, package hash, then, with a key, the
// signature. Returns the first failure.
static int device_check(const uint8_t *p, uint32_t n, const qp_patch_sig_key_t *key) {
    tu_mem_t m = {p, n, 0};
    qp_patch_t h;
    int err = tu_open_mem(&h, &m);
    if (err == 0) {
        err = qp_patch_verify(&h);
    }
    if (err == 0 && key) {
        err = qp_patch_sig_verify(&h, key);
    }
    qp_patch_close(&h);
    return err;
}

// Only the signature check (the hash left out), to show what each check covers.
static int sig_only(const uint8_t *p, const qp_patch_sig_key_t *key) {
    tu_mem_t m = {p, size, 0};
    qp_patch_t h;
    int err = tu_open_mem(&h, &m);
    if (err == 0) {
        err = qp_patch_sig_verify(&h, key);
    }
    qp_patch_close(&h);
    return err;
}

static void sha256(const uint8_t *d, size_t n, uint8_t out[32]) {
    mbedtls_sha256_context c;
    mbedtls_sha256_init(&c);
#if MBEDTLS_VERSION_MAJOR < 3
    mbedtls_sha256_starts_ret(&c, 0);
    mbedtls_sha256_update_ret(&c, d, n);
    mbedtls_sha256_finish_ret(&c, out);
#else
    mbedtls_sha256_starts(&c, 0);
    mbedtls_sha256_update(&c, d, n);
    mbedtls_sha256_finish(&c, out);
#endif
    mbedtls_sha256_free(&c);
}

// What an attacker who knows the format but not the key does after an edit: recompute the
// package hash (§3.2: hash and signature fields as zeros).
static void rehash(uint8_t *p) {
    uint8_t saved[96], md[32];
    memcpy(saved, p + OFF_PKG_SHA, sizeof saved);
    memset(p + OFF_PKG_SHA, 0, sizeof saved);
    sha256(p, size, md);
    memcpy(p + OFF_PKG_SHA, md, 32);
    memcpy(p + OFF_SIG, saved + 32, 64);
}

static void test_good_signature(void **state) {
    (void)state;
    uint8_t *p = copy_signed(priv_a);
    assert_int_equal(device_check(p, size, &key_a), 0);
    // The signed package applies exactly as the unsigned one.
    uint8_t *out;
    uint32_t out_size;
    assert_int_equal(tu_apply_stream(p, size, pair.old, pair.old_size, &out, &out_size, NULL),
                     0);
    assert_int_equal(out_size, pair.new_size);
    assert_memory_equal(out, pair.new_, pair.new_size);
    free(out);
    free(p);
}

static void test_wrong_key(void **state) {
    (void)state;
    uint8_t *p = copy_signed(priv_a);
    assert_int_equal(device_check(p, size, &key_b), QP_ERR_AUTH);
    // Re-signing replaces the signature: now B's, no longer A's.
    assert_int_equal(qp_patch_sign(p, size, priv_b, strlen(priv_b)), 0);
    assert_int_equal(device_check(p, size, &key_b), 0);
    assert_int_equal(device_check(p, size, &key_a), QP_ERR_AUTH);
    free(p);
}

static void test_header_byte_flipped(void **state) {
    (void)state;
    uint8_t *p = copy_signed(priv_a);
    static const uint32_t offs[] = {OFF_FLAGS + 1, 40, OFF_MODEL, 100, 140,
                                    QP_PATCH_HEADER_SIZE + 30};
    for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
        p[offs[i]] ^= 0x01;
        // The hash covers the header: the plain check already fails ...
        assert_int_equal(device_check(p, size, NULL) < 0, 1);
        // ... and with the hash recomputed, the signature does (or the header no longer
        // parses, which is refused too).
        rehash(p);
        assert_int_equal(device_check(p, size, &key_a) < 0, 1);
        int sig = sig_only(p, &key_a);
        assert_true(sig == QP_ERR_AUTH || sig == QP_ERR_CORRUPT || sig == QP_ERR_NOTSUP);
        memcpy(p, unsigned_pkg, size);
        assert_int_equal(qp_patch_sign(p, size, priv_a, strlen(priv_a)), 0);
    }
    free(p);
}

static void test_body_byte_flipped(void **state) {
    (void)state;
    uint8_t *p = copy_signed(priv_a);
    uint32_t hs = QP_PATCH_HEADER_SIZE + QP_PATCH_SECTION_DESC_SIZE; // one section
    for (uint32_t off = hs; off < size; off += (size - hs) / 7 + 1) {
        p[off] ^= 0x80;
        assert_int_equal(device_check(p, size, &key_a), QP_ERR_CORRUPT);
        // The signature alone covers only the header: the body is the hash's job, which is
        // why a device runs both.
        assert_int_equal(sig_only(p, &key_a), 0);
        p[off] ^= 0x80;
    }
    assert_int_equal(device_check(p, size, &key_a), 0);
    free(p);
}

static void test_signature_damaged(void **state) {
    (void)state;
    uint8_t *p = copy_signed(priv_a);
    // Not covered by the package hash (§3.2), so only the signature check sees it.
    for (uint32_t i = 0; i < QP_PATCH_SIG_SIZE; i += 9) {
        p[OFF_SIG + i] ^= 0x04;
        assert_int_equal(device_check(p, size, NULL), 0);
        assert_int_equal(device_check(p, size, &key_a), QP_ERR_AUTH);
        p[OFF_SIG + i] ^= 0x04;
    }
    // Truncated: s zeroed, then r too.
    memset(p + OFF_SIG + 32, 0, 32);
    assert_int_equal(device_check(p, size, &key_a), QP_ERR_AUTH);
    memset(p + OFF_SIG, 0, 32);
    assert_int_equal(device_check(p, size, &key_a), QP_ERR_AUTH);
    // A package cut short is refused before any signature is looked at.
    memcpy(p, unsigned_pkg, size);
    assert_int_equal(qp_patch_sign(p, size, priv_a, strlen(priv_a)), 0);
    assert_int_equal(device_check(p, size - 1, &key_a), QP_ERR_CORRUPT);
    free(p);
}

static void test_unsigned_and_stripped(void **state) {
    (void)state;
    assert_int_equal(device_check(unsigned_pkg, size, &key_a), QP_ERR_AUTH);
    // The signature removed and the hash recomputed: an unsigned package, refused.
    uint8_t *p = copy_signed(priv_a);
    p[OFF_FLAGS] &= (uint8_t)~QP_PATCH_F_SIGNED;
    memset(p + OFF_SIG, 0, QP_PATCH_SIG_SIZE);
    rehash(p);
    assert_int_equal(device_check(p, size, NULL), 0);
    assert_int_equal(device_check(p, size, &key_a), QP_ERR_AUTH);
    free(p);
}

static void test_no_key_accepts_both(void **state) {
    (void)state;
    uint8_t *p = copy_signed(priv_a);
    assert_int_equal(device_check(p, size, NULL), 0);
    assert_int_equal(device_check(unsigned_pkg, size, NULL), 0);
    free(p);
}

static void test_deterministic_and_compatible(void **state) {
    (void)state;
    uint8_t *p1 = copy_signed(priv_a), *p2 = copy_signed(priv_a);
    assert_memory_equal(p1, p2, size);
    assert_int_equal(qp_patch_sign(p2, size, priv_a, strlen(priv_a)), 0);
    assert_memory_equal(p1, p2, size);
    // Only the flag, the hash and the signature differ from the unsigned package.
    for (uint32_t i = 0; i < size; i++) {
        if (i != OFF_FLAGS && (i < OFF_PKG_SHA || i >= OFF_SIG + QP_PATCH_SIG_SIZE)) {
            assert_int_equal(p1[i], unsigned_pkg[i]);
        }
    }
    // An unsigned package's hash is what format 1.0 computed (only its own field zeroed).
    uint8_t *u = copy_signed(NULL), md[32];
    memset(u + OFF_PKG_SHA, 0, 32);
    sha256(u, size, md);
    assert_memory_equal(md, unsigned_pkg + OFF_PKG_SHA, 32);
    free(u);
    free(p1);
    free(p2);
}

// A P-384 key pair as PEM, made with mbedTLS directly (the library makes P-256 only).
static int test_rng(void *ctx, unsigned char *out, size_t len) {
    unsigned *s = ctx;
    for (size_t i = 0; i < len; i++) {
        *s = *s * 1103515245u + 12345u;
        out[i] = (unsigned char)(*s >> 16);
    }
    return 0;
}

static void p384_keys(char *priv, size_t privlen, char *pub, size_t publen) {
    mbedtls_pk_context pk;
    mbedtls_pk_init(&pk);
    unsigned seed = 384;
    assert_int_equal(mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)), 0);
    assert_int_equal(mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP384R1, mbedtls_pk_ec(pk), test_rng,
                                         &seed),
                     0);
    assert_int_equal(mbedtls_pk_write_key_pem(&pk, (unsigned char *)priv, privlen), 0);
    assert_int_equal(mbedtls_pk_write_pubkey_pem(&pk, (unsigned char *)pub, publen), 0);
    mbedtls_pk_free(&pk);
}

static void test_keys(void **state) {
    (void)state;
    qp_patch_sig_key_t k;
    static const char junk[] = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
    assert_int_equal(qp_patch_sig_key_parse(&k, junk, strlen(junk)), QP_ERR_INVAL);
    assert_int_equal(qp_patch_sig_key_parse(&k, "hello", 5), QP_ERR_INVAL);
    assert_int_equal(qp_patch_sig_key_parse(&k, pub_a, 0), QP_ERR_INVAL);
    char big[QP_PATCH_SIG_PEM_MAX + 1];
    memset(big, '\n', sizeof big);
    memcpy(big, pub_a, strlen(pub_a));
    assert_int_equal(qp_patch_sig_key_parse(&k, big, sizeof big), QP_ERR_INVAL);
    assert_int_equal(qp_patch_sig_key_parse(&k, big, sizeof big - 1), 0);
    // A private key is not a public key (a device never holds one).
    assert_int_equal(qp_patch_sig_key_parse(&k, priv_a, strlen(priv_a)), QP_ERR_INVAL);
    // The public key of a public key is itself; PEM without its final newline parses.
    char again[256];
    assert_int_equal(qp_patch_sign_pubkey(pub_a, strlen(pub_a), again, sizeof again), 0);
    assert_string_equal(again, pub_a);
    assert_int_equal(qp_patch_sig_key_parse(&k, pub_a, strlen(pub_a) - 1), 0);
    assert_memory_equal(k.q, key_a.q, sizeof k.q);
    // DER works too.
    mbedtls_pk_context pk;
    mbedtls_pk_init(&pk);
    assert_int_equal(mbedtls_pk_parse_public_key(&pk, (const unsigned char *)pub_a,
                                                 strlen(pub_a) + 1),
                     0);
    unsigned char der[200];
    int n = mbedtls_pk_write_pubkey_der(&pk, der, sizeof der);
    assert_true(n > 0);
    assert_int_equal(qp_patch_sig_key_parse(&k, der + sizeof der - n, (size_t)n), 0);
    assert_memory_equal(k.q, key_a.q, sizeof k.q);
    mbedtls_pk_free(&pk);
    // Another curve: NOTSUP everywhere.
    char priv384[512], pub384[256];
    p384_keys(priv384, sizeof priv384, pub384, sizeof pub384);
    assert_int_equal(qp_patch_sig_key_parse(&k, pub384, strlen(pub384)), QP_ERR_NOTSUP);
    uint8_t *p = copy_signed(NULL);
    assert_int_equal(qp_patch_sign(p, size, priv384, strlen(priv384)), QP_ERR_NOTSUP);
    // Signing with a public key, or a non-package, or the wrong size: refused, untouched.
    assert_int_equal(qp_patch_sign(p, size, pub_a, strlen(pub_a)), QP_ERR_INVAL);
    assert_int_equal(qp_patch_sign(p, size - 1, priv_a, strlen(priv_a)), QP_ERR_CORRUPT);
    assert_memory_equal(p, unsigned_pkg, size);
    p[0] ^= 1;
    assert_int_equal(qp_patch_sign(p, size, priv_a, strlen(priv_a)), QP_ERR_CORRUPT);
    free(p);
    // Short output buffers.
    char tiny[40];
    assert_int_equal(qp_patch_sign_genkey(tiny, sizeof tiny), QP_ERR_RANGE);
    assert_int_equal(qp_patch_sign_pubkey(priv_a, strlen(priv_a), tiny, sizeof tiny),
                     QP_ERR_RANGE);
    // A key struct that is not a curve point never verifies.
    memset(&k, 0x5A, sizeof k);
    uint8_t *s = copy_signed(priv_a);
    assert_int_equal(device_check(s, size, &k), QP_ERR_AUTH);
    free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_signature),
        cmocka_unit_test(test_wrong_key),
        cmocka_unit_test(test_header_byte_flipped),
        cmocka_unit_test(test_body_byte_flipped),
        cmocka_unit_test(test_signature_damaged),
        cmocka_unit_test(test_unsigned_and_stripped),
        cmocka_unit_test(test_no_key_accepts_both),
        cmocka_unit_test(test_deterministic_and_compatible),
        cmocka_unit_test(test_keys),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
