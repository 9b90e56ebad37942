// fota_internal.h - what the files of src/fota share: the SHA-256 shim over mbedTLS 2.x/3.x,
// little-endian helpers and the journal constants of SPEC-patch §8.4.
#ifndef QP_FOTA_INTERNAL_H
#define QP_FOTA_INTERNAL_H

#include <stdint.h>

#include <mbedtls/sha256.h>
#include <mbedtls/version.h>

#if defined(__GNUC__)
#define QP_INTERNAL __attribute__((visibility("hidden")))
#else
#define QP_INTERNAL
#endif

// mbedTLS 2.x spells the SHA-256 calls with _ret; 3.x dropped the suffix.
#if MBEDTLS_VERSION_MAJOR < 3
#define fota_sha_starts(c) mbedtls_sha256_starts_ret((c), 0)
#define fota_sha_update(c, d, n) mbedtls_sha256_update_ret((c), (d), (n))
#define fota_sha_finish(c, out) mbedtls_sha256_finish_ret((c), (out))
#else
#define fota_sha_starts(c) mbedtls_sha256_starts((c), 0)
#define fota_sha_update(c, d, n) mbedtls_sha256_update((c), (d), (n))
#define fota_sha_finish(c, out) mbedtls_sha256_finish((c), (out))
#endif

// Journal header (SPEC-patch §8.4).
#define FOTA_J_MAGIC "QPFWJRNL"
#define FOTA_J_VERSION 1u
#define FOTA_J_HDR 128u

static inline uint32_t fota_le32(const uint8_t *b) {
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}
static inline void fota_put32(uint8_t *b, uint32_t v) {
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
    b[2] = (uint8_t)(v >> 16);
    b[3] = (uint8_t)(v >> 24);
}

#endif
