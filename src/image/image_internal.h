// image_internal.h - what the files of src/image share and nobody else may use: little-
// endian field access, the SHA-256 wrapper over mbedTLS, and allocation through the
// caller's qp_image_config_t.
//
// SHA-256 comes from mbedTLS (libmbedcrypto), the project's crypto dependency; the wrapper
// keeps its 2.x/3.x naming difference in one place.
#ifndef QP_IMAGE_INTERNAL_H
#define QP_IMAGE_INTERNAL_H

#include "qp/qp_image.h"

#include <lzma.h>
#include <mbedtls/sha256.h>
#include <stddef.h>
#include <stdint.h>

#ifndef QP_INTERNAL
#define QP_INTERNAL __attribute__((visibility("hidden")))
#endif

// Field offsets of the fixed header (SPEC-image §3.1) and of a table entry (§3.2).
#define IMG_OFF_MAGIC 0
#define IMG_OFF_HCRC 8
#define IMG_OFF_MAJOR 12
#define IMG_OFF_MINOR 14
#define IMG_OFF_HSIZE 16
#define IMG_OFF_COUNT 20
#define IMG_OFF_ISIZE 24
#define IMG_OFF_FLAGS 32
#define IMG_OFF_ESIZE 36
#define IMG_OFF_MODEL 40
#define IMG_OFF_VERSION 56
#define IMG_OFF_RESERVED 120

#define ENT_OFF_NAME 0
#define ENT_OFF_CODEC 16
#define ENT_OFF_CONTENT 17
#define ENT_OFF_RES1 18
#define ENT_OFF_FLAGS 20
#define ENT_OFF_OFFSET 24
#define ENT_OFF_CSIZE 32
#define ENT_OFF_USIZE 40
#define ENT_OFF_PARAMS 48 // 32 bytes of codec settings (§4.1, §4.2)
#define ENT_OFF_USHA 80
#define ENT_OFF_CSHA 112
#define ENT_OFF_RES2 144
#define ENT_PARAMS_SIZE 32

QP_INTERNAL void qp_image_put_le16(uint8_t *p, uint16_t v);
QP_INTERNAL void qp_image_put_le32(uint8_t *p, uint32_t v);
QP_INTERNAL void qp_image_put_le64(uint8_t *p, uint64_t v);
QP_INTERNAL uint16_t qp_image_get_le16(const uint8_t *p);
QP_INTERNAL uint32_t qp_image_get_le32(const uint8_t *p);
QP_INTERNAL uint64_t qp_image_get_le64(const uint8_t *p);

// CRC-32 (IEEE, as zlib), from liblzma.
QP_INTERNAL uint32_t qp_image_crc32(const void *buf, size_t len, uint32_t crc);

typedef mbedtls_sha256_context qp_image_sha256_t;
QP_INTERNAL void qp_image_sha256_start(qp_image_sha256_t *h);
QP_INTERNAL void qp_image_sha256_update(qp_image_sha256_t *h, const void *buf, size_t len);
QP_INTERNAL void qp_image_sha256_finish(qp_image_sha256_t *h, uint8_t out[32]);
QP_INTERNAL void qp_image_sha256(const void *buf, size_t len, uint8_t out[32]);

// Allocation through cfg (NULL cfg or NULL alloc: malloc/free).
QP_INTERNAL void *qp_image_alloc(const qp_image_config_t *cfg, size_t size);
QP_INTERNAL void qp_image_free(const qp_image_config_t *cfg, void *ptr);

// Encodes/decodes the 32 bytes of codec settings of a table entry (§4.1, §4.2). Decoding
// does not validate; qp_image_params_check() does.
QP_INTERNAL void qp_image_params_encode(const qp_image_params_t *p, uint8_t *out);
QP_INTERNAL void qp_image_params_decode(uint8_t codec, const uint8_t *in,
                                        qp_image_params_t *p);

// liblzma's filter chain (optional BCJ, then LZMA2) for LZMA settings already checked,
// for the stream that starts at uncompressed offset `start` of the section (§4.1: the BCJ
// filter counts positions from the section start); `o` and `bcj` hold the options f
// points to.
QP_INTERNAL void qp_image_lzma_filters(const qp_image_params_t *p, uint64_t start,
                                       lzma_options_lzma *o, lzma_options_bcj *bcj,
                                       lzma_filter f[3]);

// Bytes of compressed output per LZO block at most (header included).
QP_INTERNAL uint64_t qp_image_lzo_block_bound(uint32_t block);

// The encoder loop shared by qp_image_recompress() and the builder: compresses `len`
// bytes into dst (capacity cap), giving the size and both hashes. Reports progress.
QP_INTERNAL int qp_image_compress_buf(const qp_image_params_t *p, const void *src,
                                      size_t len, void *dst, size_t cap, size_t *outlen,
                                      uint8_t usha[32], uint8_t csha[32],
                                      const qp_image_config_t *cfg);

// 1 if s is 1..max bytes of printable ASCII (0x20..0x7e), else 0.
QP_INTERNAL int qp_image_str_valid(const char *s, size_t max);

#endif
