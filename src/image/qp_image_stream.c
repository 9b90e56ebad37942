// qp_image_stream.c - the section codecs (SPEC-image §4): streaming decoder and encoder for
// raw LZMA2 (with an optional BCJ filter, liblzma) and for LZO1X blocks (liblzo2), and the
// one-shot qp_image_decompress()/qp_image_recompress() built on them.
//
// One streaming path serves both the host tools and the device: the FOTA apply decodes old
// sections and re-encodes new ones a buffer at a time, so the one-shot calls are thin loops
// over it and the tests of one cover the other. The coder state lives inside the caller's
// qp_image_stream_t (no allocation for the handle itself); only liblzma's state and the LZO
// block buffers are allocated, through the config's allocator.
#include "image_internal.h"

#include <lzo/lzo1x.h>
#include <string.h>

#include "qp/qp_err.h"

enum { KIND_CLOSED = 0, KIND_DECODER = 1, KIND_ENCODER = 2 };

typedef struct stream_impl {
    uint8_t kind;
    uint8_t ended;
    qp_image_params_t p;
    qp_image_config_t cfg;
    uint64_t usize;          // uncompressed bytes of the section
    uint64_t csize;          // decoder: recorded compressed bytes
    uint64_t utotal;         // uncompressed bytes consumed (encoder) or produced (decoder)
    uint64_t ctotal;         // compressed bytes produced (encoder) or consumed (decoder)
    uint8_t usha_want[32], csha_want[32]; // decoder: recorded hashes
    uint8_t usha[32], csha[32];           // results, once ended
    qp_image_sha256_t uh, ch;
    // LZMA: the current stream (§4.1: one per restart interval) ends at uncompressed
    // offset chunk_end; it began at (chunk_u, chunk_c).
    lzma_stream lz;
    lzma_allocator la;
    uint64_t chunk_end, chunk_u, chunk_c;
    // A random-access decoder (qp_image_decoder_open_at) may not see the section's start,
    // so it neither computes nor checks the hashes.
    uint8_t unhashed;
    // LZO: blk_u holds an uncompressed block, blk_c a block header plus compressed data.
    uint8_t *blk_u, *blk_c, *wrk;
    size_t fill;             // bytes gathered in blk_u (encoder) or blk_c (decoder)
    size_t need;             // decoder: bytes blk_c must hold before the next step
    size_t pend_off, pend_len; // bytes of blk_c (encoder) or blk_u (decoder) to hand out
    uint32_t blk_ulen;       // uncompressed length of the current block
} stream_impl_t;

_Static_assert(sizeof(stream_impl_t) <= sizeof(((qp_image_stream_t *)0)->opaque),
               "qp_image_stream_t.opaque too small for the coder state");
_Static_assert(_Alignof(stream_impl_t) <= _Alignof(uint64_t),
               "qp_image_stream_t.opaque under-aligned for the coder state");

static stream_impl_t *impl(qp_image_stream_t *st) {
    return (stream_impl_t *)(void *)st->opaque;
}

static void *lz_alloc(void *opaque, size_t nmemb, size_t size) {
    if (size && nmemb > SIZE_MAX / size) {
        return NULL;
    }
    return qp_image_alloc(opaque, nmemb * size);
}

static void lz_free(void *opaque, void *ptr) {
    qp_image_free(opaque, ptr);
}

void qp_image_stream_init(qp_image_stream_t *st) {
    memset(st, 0, sizeof *st);
}

void qp_image_stream_close(qp_image_stream_t *st) {
    if (!st) {
        return;
    }
    stream_impl_t *s = impl(st);
    if (s->kind != KIND_CLOSED) {
        if (s->p.codec == QP_IMAGE_CODEC_LZMA) {
            lzma_end(&s->lz);
        }
        qp_image_free(&s->cfg, s->blk_u);
        qp_image_free(&s->cfg, s->blk_c);
        qp_image_free(&s->cfg, s->wrk);
        if (!s->ended) {
            // The hash contexts were started at open; finish them to release them.
            uint8_t scratch[32];
            qp_image_sha256_finish(&s->uh, scratch);
            qp_image_sha256_finish(&s->ch, scratch);
        }
    }
    memset(st, 0, sizeof *st);
}

static uint64_t min_u64(uint64_t a, uint64_t b) {
    return a < b ? a : b;
}

static int map_lzma(lzma_ret r) {
    switch (r) {
    case LZMA_MEM_ERROR: return QP_ERR_NOMEM;
    case LZMA_OPTIONS_ERROR: return QP_ERR_CORRUPT;
    case LZMA_PROG_ERROR: return QP_ERR_INVAL;
    default: return QP_ERR_CORRUPT;
    }
}

// (Re)starts liblzma for the stream beginning at uncompressed offset utotal (§4.1). Re-
// initialising the same lzma_stream reuses liblzma's buffers, so restarts cost no memory.
static int lzma_start(stream_impl_t *s) {
    lzma_options_lzma o;
    lzma_options_bcj bcj;
    lzma_filter f[3];
    qp_image_lzma_filters(&s->p, s->utotal, &o, &bcj, f);
    lzma_ret r = s->kind == KIND_DECODER ? lzma_raw_decoder(&s->lz, f)
                                         : lzma_raw_encoder(&s->lz, f);
    s->chunk_u = s->utotal;
    s->chunk_c = s->ctotal;
    s->chunk_end = s->p.restart ? min_u64(s->utotal + s->p.restart, s->usize) : s->usize;
    return r == LZMA_OK ? 0 : map_lzma(r);
}

static int open_common(stream_impl_t *s, const qp_image_params_t *p, uint64_t usize,
                       const qp_image_config_t *cfg, int kind) {
    memset(s, 0, sizeof *s);
    s->p = *p;
    if (cfg) {
        s->cfg = *cfg;
    }
    s->usize = usize;
    s->kind = (uint8_t)kind;
    qp_image_sha256_start(&s->uh);
    qp_image_sha256_start(&s->ch);
    int err = 0;
    if (p->codec == QP_IMAGE_CODEC_LZMA) {
        s->la.alloc = lz_alloc;
        s->la.free = lz_free;
        s->la.opaque = &s->cfg;
        lzma_stream init = LZMA_STREAM_INIT;
        s->lz = init;
        s->lz.allocator = &s->la;
    } else {
        // liblzo2 asks for lzo_init() before first use (a check of its build); cheap.
        if (lzo_init() != LZO_E_OK) {
            return QP_ERR_NOTSUP;
        }
        size_t ub = p->lzo_block;
        size_t cb = (size_t)qp_image_lzo_block_bound(p->lzo_block);
        s->blk_u = qp_image_alloc(&s->cfg, ub);
        s->blk_c = qp_image_alloc(&s->cfg, cb);
        if (kind == KIND_ENCODER) {
            s->wrk = qp_image_alloc(&s->cfg, p->lzo_algo == QP_IMAGE_LZO_1X_1
                                                 ? LZO1X_1_MEM_COMPRESS
                                                 : LZO1X_999_MEM_COMPRESS);
        }
        if (!s->blk_u || !s->blk_c || (kind == KIND_ENCODER && !s->wrk)) {
            err = QP_ERR_NOMEM;
        }
        s->need = 8;
    }
    return err;
}

static int decoder_open(qp_image_stream_t *st, const qp_image_section_t *sec,
                        const qp_image_config_t *cfg, uint64_t uoff, uint64_t coff,
                        int unhashed) {
    if (qp_image_params_check(&sec->params) < 0 || sec->usize > QP_IMAGE_SECTION_MAX ||
        sec->csize > QP_IMAGE_SECTION_MAX) {
        qp_image_stream_init(st);
        return QP_ERR_CORRUPT;
    }
    if ((uoff || coff) && (sec->params.codec != QP_IMAGE_CODEC_LZMA || !sec->params.restart ||
                           uoff % sec->params.restart || uoff >= sec->usize ||
                           coff >= sec->csize)) {
        qp_image_stream_init(st);
        return QP_ERR_INVAL;
    }
    stream_impl_t *s = impl(st);
    int err = open_common(s, &sec->params, sec->usize, cfg, KIND_DECODER);
    s->csize = sec->csize;
    s->utotal = uoff;
    s->ctotal = coff;
    s->unhashed = (uint8_t)unhashed;
    memcpy(s->usha_want, sec->usha256, 32);
    memcpy(s->csha_want, sec->csha256, 32);
    if (err == 0 && s->p.codec == QP_IMAGE_CODEC_LZMA) {
        err = lzma_start(s);
    }
    if (err < 0) {
        qp_image_stream_close(st);
    }
    return err;
}

int qp_image_decoder_open(qp_image_stream_t *st, const qp_image_section_t *sec,
                          const qp_image_config_t *cfg) {
    return decoder_open(st, sec, cfg, 0, 0, 0);
}

int qp_image_decoder_open_at(qp_image_stream_t *st, const qp_image_section_t *sec,
                             const qp_image_config_t *cfg, uint64_t uoff, uint64_t coff) {
    return decoder_open(st, sec, cfg, uoff, coff, 1);
}

int qp_image_encoder_open(qp_image_stream_t *st, const qp_image_params_t *p, uint64_t usize,
                          const qp_image_config_t *cfg) {
    if (qp_image_params_check(p) < 0 || usize > QP_IMAGE_SECTION_MAX) {
        qp_image_stream_init(st);
        return QP_ERR_INVAL;
    }
    int err = open_common(impl(st), p, usize, cfg, KIND_ENCODER);
    if (err == 0 && p->codec == QP_IMAGE_CODEC_LZMA) {
        err = lzma_start(impl(st));
    }
    if (err < 0) {
        qp_image_stream_close(st);
    }
    return err;
}

void qp_image_stream_restart_point(qp_image_stream_t *st, uint64_t *uoff, uint64_t *coff) {
    stream_impl_t *s = impl(st);
    int lz = s->kind != KIND_CLOSED && s->p.codec == QP_IMAGE_CODEC_LZMA;
    *uoff = lz ? s->chunk_u : 0;
    *coff = lz ? s->chunk_c : 0;
}

static int finish(stream_impl_t *s) {
    qp_image_sha256_finish(&s->uh, s->usha);
    qp_image_sha256_finish(&s->ch, s->csha);
    if (s->kind == KIND_ENCODER && s->cfg.skip_input_hash) {
        memset(s->usha, 0, sizeof s->usha);
    }
    s->ended = 1;
    if (s->kind == KIND_DECODER) {
        if (s->utotal != s->usize || s->ctotal != s->csize ||
            (!s->unhashed && (memcmp(s->usha, s->usha_want, 32) != 0 ||
                             memcmp(s->csha, s->csha_want, 32) != 0))) {
            return QP_ERR_CORRUPT;
        }
    }
    return 1;
}

// --- LZMA -------------------------------------------------------------------------------

static int lzma_run(stream_impl_t *s, const uint8_t **in, size_t *in_len, uint8_t **out,
                    size_t *out_len) {
    for (;;) {
        size_t avail_in, avail_out;
        uint8_t scratch;
        int probing = 0;
        lzma_action action = LZMA_RUN;
        if (s->kind == KIND_DECODER) {
            avail_in = (size_t)min_u64(*in_len, s->csize - s->ctotal);
            avail_out = (size_t)min_u64(*out_len, s->chunk_end - s->utotal);
            // All output of this stream delivered: run into a one-byte scratch to see its
            // end marker, or catch data that decodes to more than the recorded size.
            probing = s->utotal == s->chunk_end;
            if (probing) {
                avail_out = 1;
            }
        } else {
            avail_in = (size_t)min_u64(*in_len, s->chunk_end - s->utotal);
            avail_out = *out_len;
            if (s->utotal + avail_in == s->chunk_end) {
                action = LZMA_FINISH;
            }
        }
        if (avail_out == 0) {
            return 0;
        }
        s->lz.next_in = *in;
        s->lz.avail_in = avail_in;
        s->lz.next_out = probing ? &scratch : *out;
        s->lz.avail_out = avail_out;
        lzma_ret r = lzma_code(&s->lz, action);
        size_t used = avail_in - s->lz.avail_in;
        size_t made = avail_out - s->lz.avail_out;
        if (s->kind == KIND_DECODER) {
            if (made && probing) {
                return QP_ERR_CORRUPT; // decodes to more than usize
            }
            if (!s->unhashed) {
                qp_image_sha256_update(&s->ch, *in, used);
                qp_image_sha256_update(&s->uh, *out, made);
            }
            s->ctotal += used;
            s->utotal += made;
        } else {
            if (!s->cfg.skip_input_hash) {
                qp_image_sha256_update(&s->uh, *in, used);
            }
            qp_image_sha256_update(&s->ch, *out, made);
            s->utotal += used;
            s->ctotal += made;
            if (s->ctotal > QP_IMAGE_SECTION_MAX) {
                return QP_ERR_FBIG;
            }
        }
        *in += used;
        *in_len -= used;
        if (!probing) {
            *out += made;
            *out_len -= made;
        }
        if (r == LZMA_STREAM_END) {
            if (s->utotal < s->usize) {
                // The end of one restart interval (§4.1): the next stream follows.
                if (s->utotal != s->chunk_end) {
                    return QP_ERR_CORRUPT;
                }
                int err = lzma_start(s);
                if (err < 0) {
                    return err;
                }
                continue;
            }
            return finish(s);
        }
        if (r != LZMA_OK && r != LZMA_BUF_ERROR) {
            return map_lzma(r);
        }
        if (used == 0 && made == 0) {
            // No progress. The decoder with every recorded byte fed and room to write
            // is stuck for good: the section is truncated.
            if (s->kind == KIND_DECODER && s->ctotal == s->csize) {
                return QP_ERR_CORRUPT;
            }
            return 0;
        }
    }
}

// --- LZO --------------------------------------------------------------------------------

// Uncompressed length of the block starting at utotal (§4.2: all full but the last).
static uint32_t lzo_block_len(const stream_impl_t *s, uint64_t at) {
    return (uint32_t)min_u64(s->p.lzo_block, s->usize - at);
}

static int lzo_compress_block(stream_impl_t *s) {
    uint32_t ulen = (uint32_t)s->fill;
    lzo_uint clen = 0;
    int r;
    if (s->p.lzo_algo == QP_IMAGE_LZO_1X_1) {
        r = lzo1x_1_compress(s->blk_u, ulen, s->blk_c + 8, &clen, s->wrk);
    } else {
        r = lzo1x_999_compress(s->blk_u, ulen, s->blk_c + 8, &clen, s->wrk);
    }
    if (r != LZO_E_OK) {
        return QP_ERR_NOMEM; // liblzo2 fails only for lack of work memory
    }
    if (clen >= ulen) {
        // Stored block, as lzop does: never larger than the input.
        memcpy(s->blk_c + 8, s->blk_u, ulen);
        clen = ulen;
    }
    qp_image_put_le32(s->blk_c, ulen);
    qp_image_put_le32(s->blk_c + 4, (uint32_t)clen);
    s->pend_off = 0;
    s->pend_len = 8 + clen;
    s->fill = 0;
    return 0;
}

// Hands out the pending bytes of `buf` (a finished block), hashing and counting them.
// Returns 1 while some remain (the caller's output is full), else 0.
static int drain(stream_impl_t *s, const uint8_t *buf, qp_image_sha256_t *h, uint64_t *total,
                 uint8_t **out, size_t *out_len) {
    size_t n = s->pend_len < *out_len ? s->pend_len : *out_len;
    if (n) {
        memcpy(*out, buf + s->pend_off, n);
        if (!s->unhashed) {
            qp_image_sha256_update(h, *out, n);
        }
        *out += n;
        *out_len -= n;
        s->pend_off += n;
        s->pend_len -= n;
        *total += n;
    }
    return s->pend_len != 0;
}

static int lzo_encode(stream_impl_t *s, const uint8_t **in, size_t *in_len, uint8_t **out,
                      size_t *out_len) {
    for (;;) {
        if (drain(s, s->blk_c, &s->ch, &s->ctotal, out, out_len)) {
            return 0;
        }
        if (s->utotal == s->usize && s->fill == 0) {
            return finish(s);
        }
        uint32_t want = lzo_block_len(s, s->utotal - s->fill);
        size_t n = (size_t)min_u64(*in_len, want - s->fill);
        memcpy(s->blk_u + s->fill, *in, n);
        if (!s->cfg.skip_input_hash) {
            qp_image_sha256_update(&s->uh, *in, n);
        }
        *in += n;
        *in_len -= n;
        s->fill += n;
        s->utotal += n;
        if (s->fill < want) {
            return 0;
        }
        int err = lzo_compress_block(s);
        if (err < 0) {
            return err;
        }
    }
}

static int lzo_decode(stream_impl_t *s, const uint8_t **in, size_t *in_len, uint8_t **out,
                      size_t *out_len) {
    for (;;) {
        if (drain(s, s->blk_u, &s->uh, &s->utotal, out, out_len)) {
            return 0;
        }
        if (s->utotal == s->usize) {
            // Bytes left in the section after the last block are corrupt data too.
            return finish(s);
        }
        // Gather `need` bytes of the section: first the 8-byte header, then the data.
        size_t n = (size_t)min_u64(*in_len, s->need - s->fill);
        n = (size_t)min_u64(n, s->csize - s->ctotal);
        memcpy(s->blk_c + s->fill, *in, n);
        if (!s->unhashed) {
            qp_image_sha256_update(&s->ch, *in, n);
        }
        *in += n;
        *in_len -= n;
        s->fill += n;
        s->ctotal += n;
        if (s->fill < s->need) {
            if (s->ctotal == s->csize) {
                return QP_ERR_CORRUPT; // section ends inside a block
            }
            return 0;
        }
        if (s->need == 8) {
            uint32_t ulen = qp_image_get_le32(s->blk_c);
            uint32_t clen = qp_image_get_le32(s->blk_c + 4);
            if (ulen != lzo_block_len(s, s->utotal) || clen == 0 || clen > ulen) {
                return QP_ERR_CORRUPT;
            }
            s->blk_ulen = ulen;
            s->need = 8 + (size_t)clen;
            continue;
        }
        size_t clen = s->need - 8;
        if (clen == s->blk_ulen) {
            memcpy(s->blk_u, s->blk_c + 8, clen);
        } else {
            lzo_uint got = s->blk_ulen;
            int r = lzo1x_decompress_safe(s->blk_c + 8, clen, s->blk_u, &got, NULL);
            if (r != LZO_E_OK || got != s->blk_ulen) {
                return QP_ERR_CORRUPT;
            }
        }
        s->pend_off = 0;
        s->pend_len = s->blk_ulen;
        s->fill = 0;
        s->need = 8;
    }
}

int qp_image_stream_run(qp_image_stream_t *st, const uint8_t **in, size_t *in_len,
                        uint8_t **out, size_t *out_len) {
    stream_impl_t *s = impl(st);
    if (s->kind == KIND_CLOSED) {
        return QP_ERR_INVAL;
    }
    if (s->ended) {
        return 1;
    }
    if (s->p.codec == QP_IMAGE_CODEC_LZMA) {
        return lzma_run(s, in, in_len, out, out_len);
    }
    return s->kind == KIND_ENCODER ? lzo_encode(s, in, in_len, out, out_len)
                                   : lzo_decode(s, in, in_len, out, out_len);
}

int qp_image_stream_result(const qp_image_stream_t *st, uint64_t *usize, uint64_t *csize,
                           uint8_t usha256[QP_IMAGE_SHA256_SIZE],
                           uint8_t csha256[QP_IMAGE_SHA256_SIZE]) {
    const stream_impl_t *s = (const stream_impl_t *)(const void *)st->opaque;
    if (s->kind == KIND_CLOSED || !s->ended) {
        return QP_ERR_INVAL;
    }
    if (usize) {
        *usize = s->utotal;
    }
    if (csize) {
        *csize = s->ctotal;
    }
    if (usha256) {
        memcpy(usha256, s->usha, 32);
    }
    if (csha256) {
        memcpy(csha256, s->csha, 32);
    }
    return 0;
}

int qp_image_decompress(const qp_image_section_t *sec, const void *src, size_t srclen,
                        void *dst, size_t dstlen, const qp_image_config_t *cfg) {
    if (srclen != sec->csize) {
        return QP_ERR_CORRUPT;
    }
    if (dstlen < sec->usize) {
        return QP_ERR_INVAL;
    }
    qp_image_stream_t st;
    int err = qp_image_decoder_open(&st, sec, cfg);
    if (err < 0) {
        return err;
    }
    const uint8_t *in = src;
    uint8_t *out = dst;
    size_t in_len = srclen, out_len = (size_t)sec->usize;
    err = qp_image_stream_run(&st, &in, &in_len, &out, &out_len);
    // With all input and exactly usize of room, anything but the end is corruption.
    if (err == 0) {
        err = QP_ERR_CORRUPT;
    }
    qp_image_stream_close(&st);
    return err < 0 ? err : 0;
}

int qp_image_compress_buf(const qp_image_params_t *p, const void *src, size_t len,
                          void *dst, size_t cap, size_t *outlen, uint8_t usha[32],
                          uint8_t csha[32], const qp_image_config_t *cfg) {
    qp_image_stream_t st;
    int err = qp_image_encoder_open(&st, p, len, cfg);
    if (err < 0) {
        return err;
    }
    const uint8_t *in = src;
    uint8_t *out = dst;
    size_t in_len = len, out_len = cap;
    // Progress in slices, so a caller can show it on large sections.
    const size_t slice = 256u * 1024;
    for (;;) {
        size_t give = in_len < slice ? in_len : slice;
        size_t left = give, room = out_len;
        err = qp_image_stream_run(&st, &in, &left, &out, &out_len);
        in_len -= give - left;
        if (err != 0) {
            break;
        }
        if (cfg && cfg->progress) {
            cfg->progress(cfg->progress_ctx, len - in_len, len);
        }
        // The encoder stops short only for lack of output room.
        if (out_len == 0 || (left == give && room == out_len)) {
            err = QP_ERR_NOSPC;
            break;
        }
    }
    if (err == 1) {
        uint64_t c = 0;
        if (cfg && cfg->progress) {
            cfg->progress(cfg->progress_ctx, len, len);
        }
        err = qp_image_stream_result(&st, NULL, &c, usha, csha);
        if (err == 0) {
            *outlen = (size_t)c;
        }
    }
    qp_image_stream_close(&st);
    return err;
}

int qp_image_recompress(const qp_image_params_t *p, const void *src, size_t len, void *dst,
                        size_t cap, size_t *outlen, const qp_image_config_t *cfg) {
    uint8_t u[32], c[32];
    size_t n = 0;
    int err = qp_image_compress_buf(p, src, len, dst, cap, &n, u, c, cfg);
    if (err < 0) {
        return err;
    }
    *outlen = n;
    return 0;
}
