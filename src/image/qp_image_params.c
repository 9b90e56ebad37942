// qp_image_params.c - section encoder settings: resolving options into exact settings,
// checking recorded ones, their table encoding (SPEC-image §4.1, §4.2), the memory a coder
// needs, compression bounds, and the names used in messages.
//
// Recorded settings never go through liblzma's preset table when used: a preset's meaning
// may change between liblzma releases, the resolved fields may not (§4.4).
#include "image_internal.h"

#include <lzma.h>
#include <lzo/lzo1x.h>
#include <string.h>

#include "qp/qp_err.h"

// Deepest match-finder search accepted from an image. liblzma's own choice is at most
// ~150; a bound keeps a damaged or hostile header from making recompression crawl.
#define DEPTH_MAX 1000u

static const char *const models[] = {"EC600S", "EC100Y"};

int qp_image_model_valid(const char *model) {
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        if (model && strcmp(model, models[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

int qp_image_name_valid(const char *name) {
    size_t n = 0;
    if (!name) {
        return 0;
    }
    for (; name[n]; n++) {
        char c = name[n];
        if (n >= QP_IMAGE_NAME_MAX ||
            !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
            return 0;
        }
    }
    return n > 0;
}

const char *qp_image_codec_name(uint8_t codec) {
    switch (codec) {
    case QP_IMAGE_CODEC_LZMA: return "lzma";
    case QP_IMAGE_CODEC_LZO: return "lzop";
    default: return "?";
    }
}

const char *qp_image_bcj_name(uint8_t bcj) {
    switch (bcj) {
    case QP_IMAGE_BCJ_NONE: return "none";
    case QP_IMAGE_BCJ_ARM: return "arm";
    case QP_IMAGE_BCJ_ARMTHUMB: return "armthumb";
    default: return "?";
    }
}

const char *qp_image_mf_name(uint8_t mf) {
    static const char *const names[] = {"?", "hc3", "hc4", "bt2", "bt3", "bt4"};
    return mf <= QP_IMAGE_MF_BT4 ? names[mf] : "?";
}

// Smallest 2^n or 3 * 2^(n-1) >= size, at least QP_IMAGE_DICT_MIN: the dictionary sizes the
// .xz format can describe, so an xz-minded reader sees a familiar value.
static uint32_t dict_for_size(uint64_t size) {
    uint32_t d = QP_IMAGE_DICT_MIN;
    while (d < size && d < QP_IMAGE_DICT_MAX) {
        // 4 KiB, 6 KiB, 8 KiB, 12 KiB, ...: a power of two grows by half, 3 * 2^(n-1)
        // grows to 2^(n+1).
        d = (d & (d - 1)) == 0 ? d + d / 2 : d / 3 * 4;
    }
    return d;
}

int qp_image_params_resolve(qp_image_params_t *out, const qp_image_section_opts_t *opts,
                            uint64_t usize) {
    static const qp_image_section_opts_t none;
    if (!opts) {
        opts = &none;
    }
    uint8_t codec = opts->codec ? opts->codec : QP_IMAGE_CODEC_LZMA;
    uint8_t level = opts->level ? opts->level : QP_IMAGE_DEFAULT_LEVEL;
    if (level > 9 || opts->content > QP_IMAGE_CONTENT_ARCHIVE) {
        return QP_ERR_INVAL;
    }
    qp_image_params_t p;
    memset(&p, 0, sizeof p);
    p.codec = codec;
    p.level = level;
    if (codec == QP_IMAGE_CODEC_LZO) {
        p.lzo_algo = level == 1 ? QP_IMAGE_LZO_1X_1 : QP_IMAGE_LZO_1X_999;
        p.lzo_block = opts->lzo_block ? opts->lzo_block : QP_IMAGE_DEFAULT_LZO_BLOCK;
        if (p.lzo_block > QP_IMAGE_LZO_BLOCK_MAX) {
            return QP_ERR_INVAL;
        }
        *out = p;
        return 0;
    }
    if (codec != QP_IMAGE_CODEC_LZMA) {
        return QP_ERR_INVAL;
    }
    lzma_options_lzma o;
    if (lzma_lzma_preset(&o, level)) {
        return QP_ERR_INVAL;
    }
    uint32_t dict = opts->dict_size ? opts->dict_size : QP_IMAGE_DEFAULT_DICT_SIZE;
    if (dict < QP_IMAGE_DICT_MIN || dict > QP_IMAGE_DICT_MAX) {
        return QP_ERR_INVAL;
    }
    // A dictionary larger than the data finds nothing more, but costs its full size in
    // the encoder and decoder.
    uint32_t fit = dict_for_size(usize);
    p.dict_size = fit < dict ? fit : dict;
    // An app archive holds Python text, where a branch filter only gets in the way.
    p.bcj = opts->bcj                                  ? opts->bcj
            : opts->content == QP_IMAGE_CONTENT_ARCHIVE ? QP_IMAGE_BCJ_NONE
                                                        : QP_IMAGE_DEFAULT_BCJ;
    p.mf = opts->mf ? opts->mf : QP_IMAGE_DEFAULT_MF;
    if (p.bcj > QP_IMAGE_BCJ_ARMTHUMB || p.mf > QP_IMAGE_MF_BT4) {
        return QP_ERR_INVAL;
    }
    p.lc = (uint8_t)o.lc;
    p.lp = (uint8_t)o.lp;
    p.pb = (uint8_t)o.pb;
    p.mode = o.mode == LZMA_MODE_FAST ? QP_IMAGE_MODE_FAST : QP_IMAGE_MODE_NORMAL;
    p.nice_len = o.nice_len;
    p.depth = o.depth;
    uint32_t restart = opts->restart ? opts->restart : QP_IMAGE_DEFAULT_RESTART;
    if (restart != QP_IMAGE_RESTART_NONE &&
        (restart < QP_IMAGE_RESTART_MIN || restart > QP_IMAGE_RESTART_MAX ||
         (restart & (restart - 1u)))) {
        return QP_ERR_INVAL;
    }
    p.restart = restart != QP_IMAGE_RESTART_NONE && usize > restart ? restart : 0;
    if (qp_image_params_check(&p) < 0) {
        return QP_ERR_INVAL;
    }
    *out = p;
    return 0;
}

void qp_image_lzma_filters(const qp_image_params_t *p, uint64_t start, lzma_options_lzma *o,
                           lzma_options_bcj *bcj, lzma_filter f[3]) {
    static const lzma_match_finder mf[] = {LZMA_MF_HC4, LZMA_MF_HC3, LZMA_MF_HC4,
                                           LZMA_MF_BT2, LZMA_MF_BT3, LZMA_MF_BT4};
    memset(o, 0, sizeof *o);
    o->dict_size = p->dict_size;
    o->lc = p->lc;
    o->lp = p->lp;
    o->pb = p->pb;
    o->mode = p->mode == QP_IMAGE_MODE_FAST ? LZMA_MODE_FAST : LZMA_MODE_NORMAL;
    o->nice_len = p->nice_len;
    o->mf = mf[p->mf <= QP_IMAGE_MF_BT4 ? p->mf : 0];
    o->depth = p->depth;
    int n = 0;
    if (p->bcj == QP_IMAGE_BCJ_ARM || p->bcj == QP_IMAGE_BCJ_ARMTHUMB) {
        f[n].id = p->bcj == QP_IMAGE_BCJ_ARM ? LZMA_FILTER_ARM : LZMA_FILTER_ARMTHUMB;
        memset(bcj, 0, sizeof *bcj);
        bcj->start_offset = (uint32_t)start; // positions count from the section start
        f[n].options = bcj;
        n++;
    }
    f[n].id = LZMA_FILTER_LZMA2;
    f[n].options = o;
    n++;
    f[n].id = LZMA_VLI_UNKNOWN;
    f[n].options = NULL;
}

int qp_image_params_check(const qp_image_params_t *p) {
    if (p->level > 9) {
        return QP_ERR_CORRUPT;
    }
    if (p->codec == QP_IMAGE_CODEC_LZO) {
        if ((p->lzo_algo != QP_IMAGE_LZO_1X_1 && p->lzo_algo != QP_IMAGE_LZO_1X_999) ||
            p->lzo_block == 0 || p->lzo_block > QP_IMAGE_LZO_BLOCK_MAX) {
            return QP_ERR_CORRUPT;
        }
        return 0;
    }
    if (p->codec != QP_IMAGE_CODEC_LZMA) {
        return QP_ERR_CORRUPT;
    }
    if (p->bcj < QP_IMAGE_BCJ_NONE || p->bcj > QP_IMAGE_BCJ_ARMTHUMB ||
        p->mf < QP_IMAGE_MF_HC3 || p->mf > QP_IMAGE_MF_BT4 ||
        (p->mode != QP_IMAGE_MODE_FAST && p->mode != QP_IMAGE_MODE_NORMAL) ||
        p->dict_size < QP_IMAGE_DICT_MIN || p->dict_size > QP_IMAGE_DICT_MAX ||
        p->lc > 4 || p->lp > 4 || p->lc + p->lp > 4 || p->pb > 4 || p->nice_len < 2 ||
        p->nice_len > 273 || p->depth > DEPTH_MAX ||
        (p->restart && (p->restart < QP_IMAGE_RESTART_MIN || p->restart > QP_IMAGE_RESTART_MAX ||
                        (p->restart & (p->restart - 1u))))) {
        return QP_ERR_CORRUPT;
    }
    // What liblzma itself refuses (e.g. nice_len below the match finder's hash length)
    // shows as UINT64_MAX.
    lzma_options_lzma o;
    lzma_options_bcj bcj;
    lzma_filter f[3];
    qp_image_lzma_filters(p, 0, &o, &bcj, f);
    if (lzma_raw_encoder_memusage(f) == UINT64_MAX ||
        lzma_raw_decoder_memusage(f) == UINT64_MAX) {
        return QP_ERR_CORRUPT;
    }
    return 0;
}

uint64_t qp_image_lzo_block_bound(uint32_t block) {
    // liblzo2's documented worst case for LZO1X, plus the 8-byte block header (§4.2).
    return 8 + (uint64_t)block + block / 16 + 64 + 3;
}

int qp_image_memusage(const qp_image_params_t *p, uint64_t *encoder, uint64_t *decoder) {
    if (qp_image_params_check(p) < 0) {
        return QP_ERR_CORRUPT;
    }
    uint64_t enc, dec;
    if (p->codec == QP_IMAGE_CODEC_LZO) {
        // Decoder: one uncompressed and one compressed block. Encoder: the same plus
        // liblzo2's work memory.
        dec = p->lzo_block + qp_image_lzo_block_bound(p->lzo_block);
        enc = dec + (p->lzo_algo == QP_IMAGE_LZO_1X_1 ? LZO1X_1_MEM_COMPRESS
                                                      : LZO1X_999_MEM_COMPRESS);
    } else {
        lzma_options_lzma o;
        lzma_options_bcj bcj;
        lzma_filter f[3];
        qp_image_lzma_filters(p, 0, &o, &bcj, f);
        enc = lzma_raw_encoder_memusage(f);
        dec = lzma_raw_decoder_memusage(f);
    }
    if (encoder) {
        *encoder = enc;
    }
    if (decoder) {
        *decoder = dec;
    }
    return 0;
}

uint64_t qp_image_compress_bound(const qp_image_params_t *p, uint64_t usize) {
    if (qp_image_params_check(p) < 0 || usize > QP_IMAGE_SECTION_MAX) {
        return UINT64_MAX;
    }
    if (p->codec == QP_IMAGE_CODEC_LZO) {
        uint64_t blocks = (usize + p->lzo_block - 1) / p->lzo_block;
        // Stored blocks cap each at block + 8; the bound is for any block count.
        return usize + blocks * 8;
    }
    // LZMA2 stores incompressible data in uncompressed chunks of at most 64 KiB with a
    // 3-byte header each, then one end byte; an LZMA chunk is never chosen when larger.
    // The margin covers the first chunk's properties/dictionary-reset bytes. Each restart
    // stream (§4.1) adds its own end byte, margin and one more partial chunk.
    uint64_t streams = p->restart ? usize / p->restart + 1 : 1;
    return usize + (usize / 65536 + streams) * 3 + streams * (1 + 16);
}

void qp_image_params_encode(const qp_image_params_t *p, uint8_t *out) {
    memset(out, 0, ENT_PARAMS_SIZE);
    out[0] = p->level;
    if (p->codec == QP_IMAGE_CODEC_LZO) {
        out[1] = p->lzo_algo;
        qp_image_put_le32(out + 4, p->lzo_block);
        return;
    }
    out[1] = p->bcj;
    out[2] = p->lc;
    out[3] = p->lp;
    out[4] = p->pb;
    out[5] = p->mode;
    out[6] = p->mf;
    qp_image_put_le32(out + 8, p->dict_size);
    qp_image_put_le32(out + 12, p->nice_len);
    qp_image_put_le32(out + 16, p->depth);
    qp_image_put_le32(out + 20, p->restart);
}

void qp_image_params_decode(uint8_t codec, const uint8_t *in, qp_image_params_t *p) {
    memset(p, 0, sizeof *p);
    p->codec = codec;
    p->level = in[0];
    if (codec == QP_IMAGE_CODEC_LZO) {
        p->lzo_algo = in[1];
        p->lzo_block = qp_image_get_le32(in + 4);
        return;
    }
    p->bcj = in[1];
    p->lc = in[2];
    p->lp = in[3];
    p->pb = in[4];
    p->mode = in[5];
    p->mf = in[6];
    p->dict_size = qp_image_get_le32(in + 8);
    p->nice_len = qp_image_get_le32(in + 12);
    p->depth = qp_image_get_le32(in + 16);
    p->restart = qp_image_get_le32(in + 20);
}
