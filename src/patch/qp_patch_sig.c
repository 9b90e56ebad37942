// qp_patch_sig.c - the device side of signed packages (SPEC-patch §3.5): decoding the
// publisher's public key and checking a package's ECDSA P-256 signature. Library
// qp_patch_sig; qp_patch_sign.c is its host half.
//
// The signature covers the header only (at most 3,328 bytes, read in 256-byte pieces, no
// allocation of ours): the header holds package_sha256, which qp_patch_verify() checks
// against every byte of the package, so a device checks both and a package that passes both
// is byte for byte what the key's holder signed. mbedTLS 2.28's ECP code allocates its
// bignums through mbedtls_calloc; a failure there is QP_ERR_NOMEM, never a crash.
#include <string.h>

#include <mbedtls/ecdsa.h>
#include <mbedtls/pk.h>

#include "patch_internal.h"
#include "qp/qp_err.h"

int qp_patch_sig_digest(qp_patch_read_fn read, void *ctx, uint32_t header_size,
                        uint8_t md[32]) {
    mbedtls_sha256_context c;
    mbedtls_sha256_init(&c);
    qp_sha256_starts(&c);
    uint8_t b[256];
    int err = 0;
    for (uint32_t off = 0; off < header_size; off += sizeof b) {
        uint32_t k = header_size - off < sizeof b ? header_size - off : (uint32_t)sizeof b;
        err = read(ctx, off, b, k);
        if (err < 0) {
            break;
        }
        qp_patch_zero_range(b, off, k, PH_SIG, PH_SIG + QP_PATCH_SIG_SIZE);
        qp_sha256_update(&c, b, k);
    }
    qp_sha256_finish(&c, md);
    mbedtls_sha256_free(&c);
    return err;
}

int qp_patch_sig_key_text(const void *text, size_t len, uint8_t *buf, size_t *n) {
    if (!text || len == 0 || len > QP_PATCH_SIG_PEM_MAX) {
        return QP_ERR_INVAL;
    }
    memcpy(buf, text, len);
    buf[len] = 0;
    // mbedTLS reads PEM only from a NUL-terminated buffer whose length counts the NUL, and
    // DER only without one.
    *n = strstr((const char *)buf, "-----BEGIN ") ? len + 1 : len;
    return 0;
}

int qp_patch_sig_check_p256(int mbed_err, mbedtls_pk_context *pk) {
    if (mbed_err == MBEDTLS_ERR_PK_ALLOC_FAILED) {
        return QP_ERR_NOMEM;
    }
    // Ed25519 and other algorithms mbedTLS 2.28 does not know have an unknown OID.
    if (mbed_err == MBEDTLS_ERR_PK_UNKNOWN_PK_ALG ||
        mbed_err == MBEDTLS_ERR_PK_UNKNOWN_NAMED_CURVE) {
        return QP_ERR_NOTSUP;
    }
    if (mbed_err) {
        return QP_ERR_INVAL;
    }
    if (!mbedtls_pk_can_do(pk, MBEDTLS_PK_ECDSA) ||
        mbedtls_pk_ec(*pk)->grp.id != MBEDTLS_ECP_DP_SECP256R1) {
        return QP_ERR_NOTSUP;
    }
    return 0;
}

int qp_patch_sig_key_parse(qp_patch_sig_key_t *key, const void *text, size_t len) {
    uint8_t buf[QP_PATCH_SIG_PEM_MAX + 1];
    size_t n;
    int err = qp_patch_sig_key_text(text, len, buf, &n);
    if (err < 0 || !key) {
        return err < 0 ? err : QP_ERR_INVAL;
    }
    mbedtls_pk_context pk;
    mbedtls_pk_init(&pk);
    err = qp_patch_sig_check_p256(mbedtls_pk_parse_public_key(&pk, buf, n), &pk);
    if (err == 0) {
        const mbedtls_ecp_keypair *ec = mbedtls_pk_ec(pk);
        size_t olen;
        qp_patch_sig_key_t k;
        // The parser has checked the point is on the curve; writing it cannot overflow 65
        // bytes for P-256.
        if (mbedtls_ecp_point_write_binary(&ec->grp, &ec->Q, MBEDTLS_ECP_PF_UNCOMPRESSED,
                                           &olen, k.q, sizeof k.q) != 0 ||
            olen != sizeof k.q) {
            err = QP_ERR_INVAL;
        } else {
            *key = k;
        }
    }
    mbedtls_pk_free(&pk);
    return err;
}

int qp_patch_sig_verify(qp_patch_t *p, const qp_patch_sig_key_t *key) {
    if (!p || !p->open) {
        return QP_ERR_BADF;
    }
    if (!key) {
        return QP_ERR_INVAL;
    }
    if (!(p->info.flags & QP_PATCH_F_SIGNED)) {
        return QP_ERR_AUTH;
    }
    uint8_t md[32], sig[QP_PATCH_SIG_SIZE];
    int err = qp_patch_sig_digest(p->cfg.pkg_read, p->cfg.pkg_ctx, p->info.header_size, md);
    if (err == 0) {
        err = p->cfg.pkg_read(p->cfg.pkg_ctx, PH_SIG, sig, sizeof sig);
    }
    if (err < 0) {
        return err;
    }
    mbedtls_ecp_group grp;
    mbedtls_ecp_point q;
    mbedtls_mpi r, s;
    mbedtls_ecp_group_init(&grp);
    mbedtls_ecp_point_init(&q);
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);
    // The key is plain bytes the caller may have filled itself: check it is on the curve.
    int m = mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP256R1);
    if (m == 0) {
        m = mbedtls_ecp_point_read_binary(&grp, &q, key->q, sizeof key->q);
    }
    if (m == 0) {
        m = mbedtls_ecp_check_pubkey(&grp, &q);
    }
    if (m == 0) {
        m = mbedtls_mpi_read_binary(&r, sig, 32);
    }
    if (m == 0) {
        m = mbedtls_mpi_read_binary(&s, sig + 32, 32);
    }
    if (m == 0) {
        m = mbedtls_ecdsa_verify(&grp, md, sizeof md, &q, &r, &s);
    }
    mbedtls_mpi_free(&s);
    mbedtls_mpi_free(&r);
    mbedtls_ecp_point_free(&q);
    mbedtls_ecp_group_free(&grp);
    if (m == MBEDTLS_ERR_MPI_ALLOC_FAILED || m == MBEDTLS_ERR_ECP_ALLOC_FAILED) {
        return QP_ERR_NOMEM;
    }
    return m == 0 ? 0 : QP_ERR_AUTH;
}
