// qp_patch_sign.c - the host side of signed packages (SPEC-patch §3.5): making a P-256 key
// pair, exporting its public key for device profiles, and signing a package. Library
// qp_patch_sig (its device half is qp_patch_sig.c); used by adiff. Host only: the random
// numbers come from mbedTLS's entropy collector over the operating system's source.
//
// Signatures are deterministic (RFC 6979, mbedtls_ecdsa_sign_det_ext): the random generator
// only blinds the computation against side channels, so a package signed twice with one key
// is byte-identical, and tests can pin its bytes.
#include <string.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>

#include "patch_internal.h"
#include "qp/qp_err.h"

typedef struct rng {
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
} rng_t;

static int rng_open(rng_t *g) {
    static const char pers[] = "openqpy qp_patch_sign";
    mbedtls_entropy_init(&g->entropy);
    mbedtls_ctr_drbg_init(&g->drbg);
    return mbedtls_ctr_drbg_seed(&g->drbg, mbedtls_entropy_func, &g->entropy,
                                 (const unsigned char *)pers, sizeof pers - 1)
               ? QP_ERR_IO
               : 0;
}

static void rng_close(rng_t *g) {
    mbedtls_ctr_drbg_free(&g->drbg);
    mbedtls_entropy_free(&g->entropy);
}

// Parses a private key (PEM or DER) and checks it is P-256.
static int load_private(mbedtls_pk_context *pk, const void *text, size_t len) {
    uint8_t buf[QP_PATCH_SIG_PEM_MAX + 1];
    size_t n;
    int err = qp_patch_sig_key_text(text, len, buf, &n);
    if (err < 0) {
        return err;
    }
    err = qp_patch_sig_check_p256(mbedtls_pk_parse_key(pk, buf, n, NULL, 0), pk);
    mbedtls_platform_zeroize(buf, sizeof buf);
    return err;
}

int qp_patch_sign_key_check(const void *key_text, size_t len) {
    mbedtls_pk_context pk;
    mbedtls_pk_init(&pk);
    int err = load_private(&pk, key_text, len);
    mbedtls_pk_free(&pk);
    return err;
}

// mbedTLS's writers fail on a short buffer with a base64 or ASN.1 code.
static int written(int mbed_err) {
    return mbed_err == 0 ? 0 : QP_ERR_RANGE;
}

int qp_patch_sign_genkey(char *pem, size_t pemlen) {
    rng_t g;
    mbedtls_pk_context pk;
    mbedtls_pk_init(&pk);
    int err = rng_open(&g);
    if (err == 0 && mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) != 0) {
        err = QP_ERR_NOMEM;
    }
    if (err == 0 && mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(pk),
                                        mbedtls_ctr_drbg_random, &g.drbg) != 0) {
        err = QP_ERR_IO;
    }
    if (err == 0) {
        err = written(mbedtls_pk_write_key_pem(&pk, (unsigned char *)pem, pemlen));
    }
    mbedtls_pk_free(&pk);
    rng_close(&g);
    return err;
}

int qp_patch_sign_pubkey(const void *key_text, size_t len, char *pem, size_t pemlen) {
    mbedtls_pk_context pk;
    mbedtls_pk_init(&pk);
    int err = load_private(&pk, key_text, len);
    if (err == QP_ERR_INVAL) {
        // Not a private key: a public key is fine too (its PEM comes back normalised).
        mbedtls_pk_free(&pk);
        mbedtls_pk_init(&pk);
        uint8_t buf[QP_PATCH_SIG_PEM_MAX + 1];
        size_t n;
        err = qp_patch_sig_key_text(key_text, len, buf, &n);
        if (err == 0) {
            err = qp_patch_sig_check_p256(mbedtls_pk_parse_public_key(&pk, buf, n), &pk);
        }
    }
    if (err == 0) {
        err = written(mbedtls_pk_write_pubkey_pem(&pk, (unsigned char *)pem, pemlen));
    }
    mbedtls_pk_free(&pk);
    return err;
}

// ECDSA over `md` with the private key in `pk`; r and s big-endian into sig.
static int ecdsa_sign(mbedtls_pk_context *pk, const uint8_t md[32],
                      uint8_t sig[QP_PATCH_SIG_SIZE]) {
    rng_t g;
    int err = rng_open(&g);
    mbedtls_mpi r, s;
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);
    mbedtls_ecp_keypair *ec = mbedtls_pk_ec(*pk);
    if (err == 0 &&
        (mbedtls_ecdsa_sign_det_ext(&ec->grp, &r, &s, &ec->d, md, 32, MBEDTLS_MD_SHA256,
                                    mbedtls_ctr_drbg_random, &g.drbg) != 0 ||
         mbedtls_mpi_write_binary(&r, sig, 32) != 0 ||
         mbedtls_mpi_write_binary(&s, sig + 32, 32) != 0)) {
        err = QP_ERR_NOMEM; // the only way these fail with a valid P-256 key
    }
    mbedtls_mpi_free(&s);
    mbedtls_mpi_free(&r);
    rng_close(&g);
    return err;
}

int qp_patch_sign(uint8_t *pkg, uint32_t size, const void *key_text, size_t len) {
    qp_patch_info_t info;
    if (!pkg) {
        return QP_ERR_INVAL;
    }
    int err = qp_patch_parse_header(pkg, size, &info);
    if (err == 0 && info.package_size != size) {
        err = QP_ERR_CORRUPT;
    }
    if (err < 0) {
        return err == QP_ERR_AGAIN ? QP_ERR_CORRUPT : err;
    }
    mbedtls_pk_context pk;
    mbedtls_pk_init(&pk);
    err = load_private(&pk, key_text, len);
    // Work on a copy of the header so that `pkg` is untouched unless signing succeeds.
    uint8_t h[QP_PATCH_HEADER_SIZE + QP_PATCH_SECTIONS_MAX * QP_PATCH_SECTION_DESC_SIZE];
    uint32_t hs = info.header_size;
    if (err == 0) {
        memcpy(h, pkg, hs);
        qp_put32(h + PH_FLAGS, info.flags | QP_PATCH_F_SIGNED);
        memset(h + PH_PKG_SHA, 0, PH_SIG + QP_PATCH_SIG_SIZE - PH_PKG_SHA);
        // §3.2: package hash over everything, the hash and signature fields as zeros.
        mbedtls_sha256_context c;
        mbedtls_sha256_init(&c);
        qp_sha256_starts(&c);
        qp_sha256_update(&c, h, hs);
        qp_sha256_update(&c, pkg + hs, size - hs);
        qp_sha256_finish(&c, h + PH_PKG_SHA);
        mbedtls_sha256_free(&c);
        uint8_t md[32];
        qp_patch_mem_t m = {h, hs};
        err = qp_patch_sig_digest(qp_patch_mem_read, &m, hs, md);
        if (err == 0) {
            err = ecdsa_sign(&pk, md, h + PH_SIG);
        }
    }
    if (err == 0) {
        memcpy(pkg, h, hs);
    }
    mbedtls_pk_free(&pk);
    return err;
}
