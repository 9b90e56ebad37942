// qp_patch.c - the streaming apply (SPEC-patch §4, §5): opens a package, checks it, and
// produces the new space sequentially from the old space and the three LZMA2 streams of
// each section (control, diff, extra). Portable C11 over liblzma and mbedTLS SHA-256.
//
// RAM: every byte comes from the caller's allocator through a counter (qp_patch_alloc)
// capped at the header's apply_ram, and liblzma allocates through the same counter, so the
// bound the package promises is the bound the device gets. The pieces: three LZMA2 decoders
// (their dictionaries dominate), three package input buffers, one old-data buffer, the
// inverse-filter window and, for a mapped filter, the section's target map (§5.1).
//
// Production is a pipeline: the control stream says how many bytes come from old data plus
// the diff stream (an "add" run) and how many from the extra stream; the result is the
// *filtered* new section, so the inverse branch filter runs over a small window before the
// bytes are delivered, holding back at most 3 bytes that a branch instruction might still
// straddle.
#include <stdlib.h>
#include <string.h>

#include <lzma.h>

#include "patch_internal.h"
#include "qp/qp_err.h"

#define WIN 1024u               // inverse-filter window (bytes)
#define HDR_ALIGN 16u           // allocation header, keeps 16-byte alignment

typedef struct pstream {
    lzma_stream lz;
    uint32_t pkg_off;   // next package byte to feed
    uint32_t pkg_left;  // compressed bytes not yet fed
    uint32_t raw_left;  // decompressed bytes still expected
    uint8_t *in;
    uint8_t active;
} pstream_t;

struct qp_patch_state {
    lzma_allocator la;
    pstream_t s[QP_PATCH_STREAMS];
    uint8_t *obuf;           // QP_PATCH_OLD_BUF + 8: old reads with filter context
    uint8_t cbuf[32];        // decoded control bytes not yet parsed
    uint32_t cpos, clen;
    uint32_t sec;            // current section; section_count at the end
    uint32_t sec_gen;        // filtered bytes of the section generated
    uint32_t sec_ctrl;       // bytes of the section the control entries so far cover
    uint32_t old_pos;
    uint32_t add_left, copy_left;
    int64_t seek;
    uint8_t seek_pending;
    uint8_t sec_started;
    uint8_t sec_skipped, all_skipped;
    uint8_t unchecked;       // qp_patch_set_hash_checks(p, 0): no output hashing
    qp_patch_map_t map;      // the section's target map (§5.1); start and add share one block
    uint8_t win[WIN];
    uint32_t win_pos;        // section-relative position of win[0]
    uint32_t win_len, win_head, win_ready;
    uint32_t scan;           // next candidate position for the inverse filter
    uint32_t out_pos;        // new-space bytes delivered (or skipped)
    mbedtls_sha256_context sec_sha, all_sha;
};

// ---------------------------------------------------------------------------------------
// Allocation
// ---------------------------------------------------------------------------------------

void *qp_patch_alloc(qp_patch_t *p, size_t size) {
    if (size > UINT32_MAX - HDR_ALIGN) {
        return NULL;
    }
    uint32_t total = (uint32_t)size + HDR_ALIGN;
    if (total > p->ram_cap - p->ram_used) {
        return NULL; // over the budget the package declared (or the caller granted)
    }
    uint8_t *raw;
    if (p->cfg.alloc) {
        raw = p->cfg.alloc(p->cfg.alloc_ctx, total);
    } else {
#if QP_NO_MALLOC
        raw = NULL;
#else
        raw = malloc(total);
#endif
    }
    if (!raw) {
        return NULL;
    }
    memcpy(raw, &total, sizeof total);
    p->ram_used += total;
    if (p->ram_used > p->ram_peak) {
        p->ram_peak = p->ram_used;
    }
    return raw + HDR_ALIGN;
}

void qp_patch_free(qp_patch_t *p, void *ptr) {
    if (!ptr) {
        return;
    }
    uint8_t *raw = (uint8_t *)ptr - HDR_ALIGN;
    uint32_t total;
    memcpy(&total, raw, sizeof total);
    p->ram_used -= total;
    if (p->cfg.alloc) {
        if (p->cfg.free) {
            p->cfg.free(p->cfg.alloc_ctx, raw);
        }
    } else {
#if !QP_NO_MALLOC
        free(raw);
#endif
    }
}

static void *lz_alloc(void *opaque, size_t nmemb, size_t size) {
    if (size && nmemb > SIZE_MAX / size) {
        return NULL;
    }
    return qp_patch_alloc(opaque, nmemb * size);
}

static void lz_free(void *opaque, void *ptr) {
    qp_patch_free(opaque, ptr);
}

// ---------------------------------------------------------------------------------------
// Streams
// ---------------------------------------------------------------------------------------

static void stream_end(pstream_t *s) {
    if (s->active) {
        lzma_end(&s->lz);
        s->active = 0;
    }
}

static int stream_start(qp_patch_t *p, pstream_t *s, const qp_patch_stream_info_t *si) {
    stream_end(s);
    lzma_options_lzma opt;
    if (lzma_lzma_preset(&opt, 0)) {
        return QP_ERR_NOTSUP;
    }
    opt.dict_size = si->dict_size;
    lzma_filter filters[2] = {{LZMA_FILTER_LZMA2, &opt}, {LZMA_VLI_UNKNOWN, NULL}};
    lzma_stream init = LZMA_STREAM_INIT;
    s->lz = init;
    s->lz.allocator = &p->st->la;
    lzma_ret r = lzma_raw_decoder(&s->lz, filters);
    if (r != LZMA_OK) {
        lzma_end(&s->lz);
        return r == LZMA_MEM_ERROR ? QP_ERR_NOMEM : QP_ERR_CORRUPT;
    }
    s->active = 1;
    s->pkg_off = si->offset;
    s->pkg_left = si->size;
    s->raw_left = si->raw_size;
    return 0;
}

// Decodes exactly n bytes into dst (or discards them when dst is NULL).
static int stream_read(qp_patch_t *p, pstream_t *s, uint8_t *dst, uint32_t n) {
    if (n > s->raw_left) {
        return QP_ERR_CORRUPT;
    }
    uint8_t *scratch = p->st->obuf;
    while (n) {
        uint32_t want = n;
        uint8_t *out = dst;
        if (!dst) {
            want = n < QP_PATCH_OLD_BUF ? n : QP_PATCH_OLD_BUF;
            out = scratch;
        }
        s->lz.next_out = out;
        s->lz.avail_out = want;
        while (s->lz.avail_out) {
            if (s->lz.avail_in == 0 && s->pkg_left) {
                uint32_t k = s->pkg_left < QP_PATCH_IN_BUF ? s->pkg_left : QP_PATCH_IN_BUF;
                int err = p->cfg.pkg_read(p->cfg.pkg_ctx, s->pkg_off, s->in, k);
                if (err < 0) {
                    return err;
                }
                s->pkg_off += k;
                s->pkg_left -= k;
                s->lz.next_in = s->in;
                s->lz.avail_in = k;
            }
            size_t before = s->lz.avail_out;
            lzma_ret r = lzma_code(&s->lz, LZMA_RUN);
            if (r == LZMA_MEM_ERROR) {
                return QP_ERR_NOMEM;
            }
            if (r != LZMA_OK && r != LZMA_STREAM_END) {
                return QP_ERR_CORRUPT;
            }
            if (s->lz.avail_out && (r == LZMA_STREAM_END ||
                                    (s->lz.avail_out == before && s->lz.avail_in == 0 &&
                                     s->pkg_left == 0))) {
                return QP_ERR_CORRUPT; // the stream ends before its declared size
            }
        }
        s->raw_left -= want;
        n -= want;
        if (dst) {
            dst += want;
        }
    }
    return 0;
}

static int ctrl_byte(qp_patch_t *p, uint8_t *b) {
    struct qp_patch_state *st = p->st;
    if (st->cpos == st->clen) {
        pstream_t *s = &st->s[QP_PATCH_STREAM_CTRL];
        uint32_t k = s->raw_left < sizeof st->cbuf ? s->raw_left : sizeof st->cbuf;
        if (k == 0) {
            return QP_ERR_CORRUPT;
        }
        int err = stream_read(p, s, st->cbuf, k);
        if (err < 0) {
            return err;
        }
        st->cpos = 0;
        st->clen = k;
    }
    *b = st->cbuf[st->cpos++];
    return 0;
}

static int ctrl_varint(qp_patch_t *p, uint64_t *v) {
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        uint8_t b;
        int err = ctrl_byte(p, &b);
        if (err < 0) {
            return err;
        }
        *v |= (uint64_t)(b & 0x7Fu) << shift;
        if (!(b & 0x80u)) {
            return 0;
        }
    }
    return QP_ERR_CORRUPT;
}

static void map_release(qp_patch_t *p) {
    struct qp_patch_state *st = p->st;
    qp_patch_free(p, st->map.start);
    memset(&st->map, 0, sizeof st->map);
}

// Reads the target map at the start of a mapped section's control stream (§5.1) and checks
// it; `keep` stores it in st->map (allocated through the counter), otherwise it is skipped
// (the plan's walk needs only the entries after it).
static int map_read(qp_patch_t *p, int keep) {
    struct qp_patch_state *st = p->st;
    uint32_t mask = qp_patch_field_mask(p->info.sections[st->sec].filter);
    uint64_t n;
    int err = ctrl_varint(p, &n);
    if (err < 0) {
        return err;
    }
    if (n > QP_PATCH_MAP_MAX) {
        return QP_ERR_CORRUPT;
    }
    map_release(p);
    if (keep && n) {
        st->map.start = qp_patch_alloc(p, (size_t)n * 2u * sizeof(uint32_t));
        if (!st->map.start) {
            return QP_ERR_NOMEM;
        }
        st->map.add = st->map.start + n;
        st->map.count = (uint32_t)n;
    }
    uint64_t start = 0;
    uint32_t add = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t d, zz;
        err = ctrl_varint(p, &d);
        if (err == 0) {
            err = ctrl_varint(p, &zz);
        }
        if (err < 0) {
            return err;
        }
        // Starts strictly increase and stay inside the field.
        if ((i > 0 && d == 0) || d > mask || start + d > mask) {
            return QP_ERR_CORRUPT;
        }
        start += d;
        add = (uint32_t)(add + (uint32_t)((zz >> 1) ^ -(zz & 1u))) & mask;
        if (keep) {
            st->map.start[i] = (uint32_t)start;
            st->map.add[i] = add;
        }
    }
    return 0;
}

// Reads the next control entry (§4.2) and checks it against the section and old space.
static int ctrl_next(qp_patch_t *p) {
    struct qp_patch_state *st = p->st;
    const qp_patch_section_info_t *sec = &p->info.sections[st->sec];
    if (st->seek_pending) {
        int64_t np = (int64_t)st->old_pos + st->seek;
        if (np < 0 || np > (int64_t)p->info.old_space_size) {
            return QP_ERR_CORRUPT;
        }
        st->old_pos = (uint32_t)np;
        st->seek_pending = 0;
    }
    uint64_t add, copy, zz;
    int err = ctrl_varint(p, &add);
    if (err == 0) {
        err = ctrl_varint(p, &copy);
    }
    if (err == 0) {
        err = ctrl_varint(p, &zz);
    }
    if (err < 0) {
        return err;
    }
    uint32_t room = sec->new_size - st->sec_ctrl;
    if (add > room || copy > room - add || add > p->info.old_space_size - st->old_pos) {
        return QP_ERR_CORRUPT;
    }
    st->add_left = (uint32_t)add;
    st->copy_left = (uint32_t)copy;
    st->sec_ctrl += (uint32_t)(add + copy);
    st->seek = (int64_t)(zz >> 1) ^ -(int64_t)(zz & 1u);
    st->seek_pending = 1;
    return 0;
}

// Reads old-space bytes [pos, pos + n) with the section's forward filter applied.
static int read_old_filtered(qp_patch_t *p, uint32_t pos, uint8_t *dst, uint32_t n) {
    const qp_patch_section_info_t *sec = &p->info.sections[p->st->sec];
    uint8_t *ob = p->st->obuf;
    uint32_t ctx = sec->filter == QP_PATCH_FILTER_NONE ? 0 : 4;
    if (!p->cfg.old_read) {
        return QP_ERR_INVAL;
    }
    while (n) {
        uint32_t k = n < QP_PATCH_OLD_BUF ? n : QP_PATCH_OLD_BUF;
        uint32_t lo = pos >= ctx ? pos - ctx : 0;
        uint32_t hi = pos + k + ctx;
        if (hi > p->info.old_space_size) {
            hi = p->info.old_space_size;
        }
        int err = p->cfg.old_read(p->cfg.old_ctx, lo, ob, hi - lo);
        if (err < 0) {
            return err;
        }
        qp_patch_filter(sec->filter, 1, ob, hi - lo, lo, sec->old_offset, lo, &p->st->map);
        memcpy(dst, ob + (pos - lo), k);
        dst += k;
        pos += k;
        n -= k;
    }
    return 0;
}

// Generates the next n filtered bytes of the section into dst (NULL: skip them).
static int generate(qp_patch_t *p, uint8_t *dst, uint32_t n) {
    struct qp_patch_state *st = p->st;
    int err = 0;
    while (n) {
        if (st->add_left) {
            uint32_t k = st->add_left < n ? st->add_left : n;
            if (!dst) {
                err = stream_read(p, &st->s[QP_PATCH_STREAM_DIFF], NULL, k);
            } else {
                err = read_old_filtered(p, st->old_pos, dst, k);
                // The diff bytes go through obuf in pieces and are added to the old bytes.
                for (uint32_t done = 0; err == 0 && done < k;) {
                    uint32_t c = k - done < QP_PATCH_OLD_BUF ? k - done : QP_PATCH_OLD_BUF;
                    err = stream_read(p, &st->s[QP_PATCH_STREAM_DIFF], st->obuf, c);
                    for (uint32_t i = 0; err == 0 && i < c; i++) {
                        dst[done + i] = (uint8_t)(dst[done + i] + st->obuf[i]);
                    }
                    done += c;
                }
            }
            if (err < 0) {
                return err;
            }
            st->old_pos += k;
            st->add_left -= k;
            n -= k;
            st->sec_gen += k;
            if (dst) {
                dst += k;
            }
        } else if (st->copy_left) {
            uint32_t k = st->copy_left < n ? st->copy_left : n;
            err = stream_read(p, &st->s[QP_PATCH_STREAM_EXTRA], dst, k);
            if (err < 0) {
                return err;
            }
            st->copy_left -= k;
            n -= k;
            st->sec_gen += k;
            if (dst) {
                dst += k;
            }
        } else {
            err = ctrl_next(p);
            if (err < 0) {
                return err;
            }
        }
    }
    return 0;
}

// ---------------------------------------------------------------------------------------
// Sections
// ---------------------------------------------------------------------------------------

static void end_streams(struct qp_patch_state *st) {
    for (int k = 0; k < QP_PATCH_STREAMS; k++) {
        stream_end(&st->s[k]);
    }
}

static int section_start(qp_patch_t *p) {
    struct qp_patch_state *st = p->st;
    const qp_patch_section_info_t *sec = &p->info.sections[st->sec];
    for (int k = 0; k < QP_PATCH_STREAMS; k++) {
        int err = stream_start(p, &st->s[k], &sec->streams[k]);
        if (err < 0) {
            return err;
        }
    }
    st->cpos = st->clen = 0;
    if (qp_patch_filter_mapped(sec->filter)) {
        int err = map_read(p, 1);
        if (err < 0) {
            return err;
        }
    }
    st->sec_gen = st->sec_ctrl = 0;
    st->old_pos = sec->old_offset;
    st->add_left = st->copy_left = 0;
    st->seek_pending = 0;
    st->win_pos = st->win_len = st->win_head = st->win_ready = 0;
    st->scan = 0;
    st->sec_skipped = 0;
    st->sec_started = 1;
    qp_sha256_starts(&st->sec_sha);
    return 0;
}

// The section is fully delivered: every stream must be used up exactly (§4.2).
static int section_finish(qp_patch_t *p) {
    struct qp_patch_state *st = p->st;
    const qp_patch_section_info_t *sec = &p->info.sections[st->sec];
    if (st->add_left || st->copy_left || st->cpos != st->clen) {
        return QP_ERR_CORRUPT;
    }
    for (int k = 0; k < QP_PATCH_STREAMS; k++) {
        if (st->s[k].raw_left) {
            return QP_ERR_CORRUPT;
        }
    }
    end_streams(st);
    map_release(p);
    if (!st->sec_skipped && !st->unchecked) {
        uint8_t md[32];
        qp_sha256_finish(&st->sec_sha, md);
        if (memcmp(md, sec->new_sha256, 32) != 0) {
            return QP_ERR_CORRUPT;
        }
    }
    st->sec_started = 0;
    st->sec++;
    if (st->sec == p->info.section_count && !st->all_skipped && !st->unchecked &&
        !(p->info.flags & QP_PATCH_F_IMAGE)) {
        uint8_t md[32];
        qp_sha256_finish(&st->all_sha, md);
        if (memcmp(md, p->info.new_sha256, 32) != 0) {
            return QP_ERR_CORRUPT;
        }
    }
    return 0;
}

// Makes at least one byte ready in the window, or finishes sections; returns 1 when a byte
// is ready, 0 at the end of the new space.
static int fill(qp_patch_t *p) {
    struct qp_patch_state *st = p->st;
    for (;;) {
        if (st->win_head < st->win_ready) {
            return 1;
        }
        if (st->sec == p->info.section_count) {
            return 0;
        }
        if (!st->sec_started) {
            int err = section_start(p);
            if (err < 0) {
                return err;
            }
        }
        const qp_patch_section_info_t *sec = &p->info.sections[st->sec];
        // Keep the held-back tail, then generate more.
        uint32_t keep = st->win_len - st->win_ready;
        memmove(st->win, st->win + st->win_ready, keep);
        st->win_pos += st->win_ready;
        st->win_len = keep;
        st->win_head = st->win_ready = 0;
        uint32_t left = sec->new_size - st->sec_gen;
        if (left == 0 && keep == 0) {
            int err = section_finish(p);
            if (err < 0) {
                return err;
            }
            continue;
        }
        uint32_t k = WIN - keep < left ? WIN - keep : left;
        int err = generate(p, st->win + keep, k);
        if (err < 0) {
            return err;
        }
        st->win_len += k;
        st->scan = qp_patch_filter(sec->filter, 0, st->win, st->win_len, st->win_pos, 0,
                                   st->scan, NULL);
        if (st->sec_gen == sec->new_size) {
            st->win_ready = st->win_len;
        } else {
            st->win_ready = st->scan - st->win_pos < st->win_len ? st->scan - st->win_pos
                                                                   : st->win_len;
        }
    }
}

// ---------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------

void qp_patch_init(qp_patch_t *p) {
    memset(p, 0, sizeof *p);
}

static void reset_production(qp_patch_t *p) {
    struct qp_patch_state *st = p->st;
    end_streams(st);
    map_release(p);
    st->sec = 0;
    st->sec_started = 0;
    st->all_skipped = 0;
    st->out_pos = 0;
    st->win_pos = st->win_len = st->win_head = st->win_ready = 0;
    qp_sha256_starts(&st->all_sha);
}

int qp_patch_open(qp_patch_t *p, const qp_patch_config_t *cfg) {
    if (!p || !cfg || !cfg->pkg_read) {
        return QP_ERR_INVAL;
    }
    qp_patch_init(p);
    p->cfg = *cfg;
    uint8_t fixed[QP_PATCH_HEADER_SIZE];
    uint8_t *hdr = NULL;
    if (cfg->pkg_size < QP_PATCH_HEADER_SIZE) {
        return QP_ERR_CORRUPT;
    }
    int err = cfg->pkg_read(cfg->pkg_ctx, 0, fixed, sizeof fixed);
    if (err < 0) {
        return err;
    }
    err = qp_patch_parse_header(fixed, sizeof fixed, &p->info);
    if (err < 0 && err != QP_ERR_AGAIN) {
        return err;
    }
    if (p->info.package_size != cfg->pkg_size) {
        return QP_ERR_CORRUPT; // truncated, or something appended
    }
    if (cfg->ram_limit && p->info.apply_ram > cfg->ram_limit) {
        return QP_ERR_NOMEM;
    }
    p->ram_cap = p->info.apply_ram;
    if (err == QP_ERR_AGAIN) {
        hdr = qp_patch_alloc(p, p->info.header_size);
        if (!hdr) {
            return QP_ERR_NOMEM;
        }
        err = cfg->pkg_read(cfg->pkg_ctx, 0, hdr, p->info.header_size);
        if (err == 0) {
            err = qp_patch_parse_header(hdr, p->info.header_size, &p->info);
        }
        qp_patch_free(p, hdr);
        if (err < 0) {
            goto fail;
        }
    }
    if (cfg->model && strcmp(cfg->model, p->info.model) != 0) {
        err = QP_ERR_NOENT;
        goto fail;
    }
    struct qp_patch_state *st = qp_patch_alloc(p, sizeof *st);
    if (!st) {
        err = QP_ERR_NOMEM;
        goto fail;
    }
    memset(st, 0, sizeof *st);
    p->st = st;
    st->la.alloc = lz_alloc;
    st->la.free = lz_free;
    st->la.opaque = p;
    st->obuf = qp_patch_alloc(p, QP_PATCH_OLD_BUF + 8u);
    for (int k = 0; k < QP_PATCH_STREAMS; k++) {
        st->s[k].in = qp_patch_alloc(p, QP_PATCH_IN_BUF);
        if (!st->s[k].in) {
            err = QP_ERR_NOMEM;
        }
    }
    if (!st->obuf) {
        err = QP_ERR_NOMEM;
    }
    mbedtls_sha256_init(&st->sec_sha);
    mbedtls_sha256_init(&st->all_sha);
    p->open = 1;
    if (err < 0) {
        goto fail;
    }
    reset_production(p);
    return 0;
fail:
    qp_patch_close(p);
    return err;
}

int qp_patch_verify(qp_patch_t *p) {
    if (!p || !p->open) {
        return QP_ERR_BADF;
    }
    mbedtls_sha256_context c;
    mbedtls_sha256_init(&c);
    qp_sha256_starts(&c);
    uint8_t *b = p->st->obuf;
    int err = 0;
    for (uint32_t off = 0; off < p->info.package_size;) {
        uint32_t k = p->info.package_size - off;
        k = k < QP_PATCH_OLD_BUF ? k : QP_PATCH_OLD_BUF;
        err = p->cfg.pkg_read(p->cfg.pkg_ctx, off, b, k);
        if (err < 0) {
            break;
        }
        // The hash field and the signature are hashed as zeros (§3.2): signing a package
        // must not change the hash the signature covers.
        qp_patch_zero_range(b, off, k, PH_PKG_SHA, PH_SIG + QP_PATCH_SIG_SIZE);
        qp_sha256_update(&c, b, k);
        off += k;
    }
    uint8_t md[32];
    qp_sha256_finish(&c, md);
    mbedtls_sha256_free(&c);
    if (err == 0 && memcmp(md, p->info.package_sha256, 32) != 0) {
        err = QP_ERR_CORRUPT;
    }
    return err;
}

int qp_patch_check_old(qp_patch_t *p) {
    if (!p || !p->open) {
        return QP_ERR_BADF;
    }
    if (!p->cfg.old_read || (p->info.flags & QP_PATCH_F_IMAGE)) {
        return QP_ERR_INVAL;
    }
    mbedtls_sha256_context c;
    mbedtls_sha256_init(&c);
    qp_sha256_starts(&c);
    uint8_t *b = p->st->obuf;
    int err = 0;
    for (uint32_t off = 0; off < p->info.old_size;) {
        uint32_t k = p->info.old_size - off;
        k = k < QP_PATCH_OLD_BUF ? k : QP_PATCH_OLD_BUF;
        err = p->cfg.old_read(p->cfg.old_ctx, off, b, k);
        if (err < 0) {
            break;
        }
        qp_sha256_update(&c, b, k);
        off += k;
    }
    uint8_t md[32];
    qp_sha256_finish(&c, md);
    mbedtls_sha256_free(&c);
    if (err == 0 && memcmp(md, p->info.old_sha256, 32) != 0) {
        err = QP_ERR_NOENT;
    }
    return err;
}

int qp_patch_read(qp_patch_t *p, void *buf, uint32_t len) {
    if (!p || !p->open || (!buf && len)) {
        return QP_ERR_BADF;
    }
    struct qp_patch_state *st = p->st;
    uint8_t *out = buf;
    uint32_t done = 0;
    if (len > INT32_MAX) {
        len = INT32_MAX;
    }
    while (done < len) {
        int r = fill(p);
        if (r < 0) {
            return r;
        }
        if (r == 0) {
            break;
        }
        uint32_t k = st->win_ready - st->win_head;
        k = k < len - done ? k : len - done;
        memcpy(out + done, st->win + st->win_head, k);
        if (!st->unchecked) {
            qp_sha256_update(&st->sec_sha, st->win + st->win_head, k);
            // An image package's whole new space has no hash of its own (§8.1).
            if (!(p->info.flags & QP_PATCH_F_IMAGE)) {
                qp_sha256_update(&st->all_sha, st->win + st->win_head, k);
            }
        }
        st->win_head += k;
        done += k;
        st->out_pos += k;
    }
    return (int)done;
}

void qp_patch_set_hash_checks(qp_patch_t *p, int on) {
    if (p && p->open) {
        p->st->unchecked = !on;
    }
}

int qp_patch_skip(qp_patch_t *p, uint32_t len) {
    if (!p || !p->open) {
        return QP_ERR_BADF;
    }
    struct qp_patch_state *st = p->st;
    uint32_t done = 0;
    if (len > INT32_MAX) {
        len = INT32_MAX;
    }
    st->all_skipped = 1;
    while (done < len && st->sec < p->info.section_count) {
        if (!st->sec_started) {
            int err = section_start(p);
            if (err < 0) {
                return err;
            }
        }
        st->sec_skipped = 1;
        const qp_patch_section_info_t *sec = &p->info.sections[st->sec];
        // What is in the window (ready or held back) goes first; then skip generation.
        uint32_t inwin = st->win_len - st->win_head;
        uint32_t k = inwin < len - done ? inwin : len - done;
        st->win_head += k;
        done += k;
        if (st->win_head < st->win_len) {
            // Part of the window stays: keep it consistent (ready may shrink to head).
            if (st->win_ready < st->win_head) {
                st->win_ready = st->win_head;
            }
            break;
        }
        st->win_pos += st->win_len;
        st->win_len = st->win_head = st->win_ready = 0;
        uint32_t left = sec->new_size - st->sec_gen;
        uint32_t g = left < len - done ? left : len - done;
        int err = generate(p, NULL, g);
        if (err < 0) {
            return err;
        }
        done += g;
        st->win_pos += g;
        // A branch candidate straddling the skip point cannot be inverted; the caller
        // re-reads a few bytes before the point it needs (qp_patch_inplace.c does 4).
        st->scan = st->win_pos;
        if (st->sec_gen == sec->new_size) {
            int err2 = section_finish(p);
            if (err2 < 0) {
                return err2;
            }
        }
    }
    st->out_pos += done;
    return (int)done;
}

int qp_patch_rewind(qp_patch_t *p) {
    if (!p || !p->open) {
        return QP_ERR_BADF;
    }
    reset_production(p);
    return 0;
}

uint32_t qp_patch_ram_peak(const qp_patch_t *p) {
    return p ? p->ram_peak : 0;
}

void qp_patch_close(qp_patch_t *p) {
    if (!p) {
        return;
    }
    struct qp_patch_state *st = p->st;
    if (st) {
        end_streams(st);
        map_release(p);
        for (int k = 0; k < QP_PATCH_STREAMS; k++) {
            qp_patch_free(p, st->s[k].in);
        }
        qp_patch_free(p, st->obuf);
        if (p->open) {
            mbedtls_sha256_free(&st->sec_sha);
            mbedtls_sha256_free(&st->all_sha);
        }
        p->st = NULL;
        qp_patch_free(p, st);
    }
    p->open = 0;
}

int qp_patch_walk_adds(qp_patch_t *p, qp_patch_run_fn fn, void *ctx) {
    if (!p || !p->open) {
        return QP_ERR_BADF;
    }
    struct qp_patch_state *st = p->st;
    int err = 0;
    reset_production(p);
    for (st->sec = 0; st->sec < p->info.section_count; st->sec++) {
        const qp_patch_section_info_t *sec = &p->info.sections[st->sec];
        err = stream_start(p, &st->s[QP_PATCH_STREAM_CTRL], &sec->streams[0]);
        if (err < 0) {
            break;
        }
        st->cpos = st->clen = 0;
        if (qp_patch_filter_mapped(sec->filter)) {
            err = map_read(p, 0);
            if (err < 0) {
                break;
            }
        }
        st->sec_ctrl = 0;
        st->old_pos = sec->old_offset;
        st->seek_pending = 0;
        while (err == 0 && st->sec_ctrl < sec->new_size) {
            uint32_t at = sec->new_offset + st->sec_ctrl;
            err = ctrl_next(p);
            if (err == 0 && st->add_left) {
                err = fn(ctx, at, st->old_pos, st->add_left);
            }
            st->old_pos += st->add_left;
        }
        st->add_left = st->copy_left = 0;
        if (err == 0 && (st->s[0].raw_left || st->cpos != st->clen)) {
            err = QP_ERR_CORRUPT;
        }
        if (err < 0) {
            break;
        }
    }
    reset_production(p);
    return err;
}

int qp_patch_walk(qp_patch_t *p, qp_patch_run_fn fn, void *ctx) {
    if (!p || !p->open || !fn) {
        return QP_ERR_INVAL;
    }
    return qp_patch_walk_adds(p, fn, ctx);
}
