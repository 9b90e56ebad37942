// qp_image_util.c - little-endian fields, CRC-32 and SHA-256 (over liblzma and mbedTLS),
// and the allocation seam for src/image.
#include "image_internal.h"

#include <lzma.h>
#include <mbedtls/version.h>
#include <stdlib.h>

void qp_image_put_le16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

void qp_image_put_le32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

void qp_image_put_le64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

uint16_t qp_image_get_le16(const uint8_t *p) {
    return (uint16_t)(p[0] | p[1] << 8);
}

uint32_t qp_image_get_le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

uint64_t qp_image_get_le64(const uint8_t *p) {
    return (uint64_t)qp_image_get_le32(p) | (uint64_t)qp_image_get_le32(p + 4) << 32;
}

uint32_t qp_image_crc32(const void *buf, size_t len, uint32_t crc) {
    return lzma_crc32(buf, len, crc);
}

// mbedTLS 2.x names the non-deprecated calls *_ret; 3.x dropped the suffix. With the
// SHA-256 (not SHA-224) variant and valid contexts these calls cannot fail.
#if MBEDTLS_VERSION_MAJOR >= 3
#define SHA_START mbedtls_sha256_starts
#define SHA_UPDATE mbedtls_sha256_update
#define SHA_FINISH mbedtls_sha256_finish
#else
#define SHA_START mbedtls_sha256_starts_ret
#define SHA_UPDATE mbedtls_sha256_update_ret
#define SHA_FINISH mbedtls_sha256_finish_ret
#endif

void qp_image_sha256_start(qp_image_sha256_t *h) {
    mbedtls_sha256_init(h);
    (void)SHA_START(h, 0);
}

void qp_image_sha256_update(qp_image_sha256_t *h, const void *buf, size_t len) {
    if (len) {
        (void)SHA_UPDATE(h, buf, len);
    }
}

void qp_image_sha256_finish(qp_image_sha256_t *h, uint8_t out[32]) {
    (void)SHA_FINISH(h, out);
    mbedtls_sha256_free(h);
}

void qp_image_sha256(const void *buf, size_t len, uint8_t out[32]) {
    qp_image_sha256_t h;
    qp_image_sha256_start(&h);
    qp_image_sha256_update(&h, buf, len);
    qp_image_sha256_finish(&h, out);
}

void *qp_image_alloc(const qp_image_config_t *cfg, size_t size) {
    if (cfg && cfg->alloc) {
        return cfg->alloc(cfg->alloc_ctx, size);
    }
    return malloc(size);
}

void qp_image_free(const qp_image_config_t *cfg, void *ptr) {
    if (cfg && cfg->alloc) {
        if (cfg->free) {
            cfg->free(cfg->alloc_ctx, ptr);
        }
        return;
    }
    free(ptr);
}

int qp_image_str_valid(const char *s, size_t max) {
    size_t n = 0;
    for (; s[n]; n++) {
        if (n >= max || (unsigned char)s[n] < 0x20 || (unsigned char)s[n] > 0x7e) {
            return 0;
        }
    }
    return n > 0;
}
