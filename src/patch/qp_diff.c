// qp_diff.c - the host-side differ (SPEC-patch §7): filtered suffix-array matching with
// approximate (add) matches, three LZMA2 streams per section, and a simulated in-place
// apply that measures the RAM and backup space written into the header. Host only: malloc,
// libdivsufsort, liblzma's encoder.
//
// The match scan follows the published bsdiff algorithm (Percival, "Naive differences of
// executable code", 2003): at each new position find the longest exact match in the old
// data; accept it when it beats the current alignment by more than `min_match` bytes; then
// stretch the previous match forward and the new one backward as long as at least half the
// bytes agree, so that code that only moved by relocations becomes one long "add" run whose
// diff bytes are mostly zero. What differs from bsdiff: branch offsets are made absolute
// first (§5), and old branch targets can be moved by a target map that the matched calls
// vote for (§5.1: a second pass; half the diff bytes on a shared library were calls to PLT
// stubs that moved), short matches far from the current alignment are not taken (they
// would restart the module's old-section decoder), control entries are varints, and the
// three streams are LZMA2-compressed with settings suited to each.
#include <stdlib.h>
#include <string.h>

#include <divsufsort.h>
#include <lzma.h>

#include "patch_internal.h"
#include "qp/qp_diff.h"
#include "qp/qp_err.h"

typedef struct buf {
    uint8_t *p;
    size_t len, cap;
} buf_t;

static int buf_reserve(buf_t *b, size_t more) {
    if (b->len + more <= b->cap) {
        return 0;
    }
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more) {
        cap *= 2;
    }
    uint8_t *p = realloc(b->p, cap);
    if (!p) {
        return QP_ERR_NOMEM;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

static int buf_put(buf_t *b, const void *d, size_t n) {
    int err = buf_reserve(b, n);
    if (err == 0 && n) {
        memcpy(b->p + b->len, d, n);
        b->len += n;
    }
    return err;
}

static int buf_varint(buf_t *b, uint64_t v) {
    uint8_t t[10];
    int n = 0;
    do {
        t[n] = (uint8_t)(v & 0x7Fu);
        v >>= 7;
        if (v) {
            t[n] |= 0x80u;
        }
        n++;
    } while (v);
    return buf_put(b, t, (size_t)n);
}

static void buf_release(buf_t *b) {
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

// ---------------------------------------------------------------------------------------
// Matching
// ---------------------------------------------------------------------------------------

static int64_t common_len(const uint8_t *a, int64_t an, const uint8_t *b, int64_t bn) {
    int64_t n = an < bn ? an : bn, i = 0;
    while (i < n && a[i] == b[i]) {
        i++;
    }
    return i;
}

// memcmp of a common prefix, in 64-byte pieces: the same sign, but AddressSanitizer (whose
// memcmp checks the whole length it is given, strict_memcmp) then checks only the pieces
// actually compared; with whole-suffix lengths the search was quadratic under ASan.
static int prefix_cmp(const uint8_t *a, const uint8_t *b, size_t n) {
    while (n) {
        size_t k = n < 64u ? n : 64u;
        int c = memcmp(a, b, k);
        if (c != 0) {
            return c;
        }
        a += k;
        b += k;
        n -= k;
    }
    return 0;
}

// Longest match of nw[0..nn) in old (binary search over the suffix array).
static int64_t longest(const saidx_t *sa, const uint8_t *old, int64_t on, const uint8_t *nw,
                       int64_t nn, int64_t *pos) {
    if (on == 0) {
        *pos = 0;
        return 0;
    }
    int64_t lo = 0, hi = on - 1;
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        int64_t a = sa[mid];
        int64_t n = on - a < nn ? on - a : nn;
        if (prefix_cmp(old + a, nw, (size_t)n) < 0) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    int64_t x = common_len(old + sa[lo], on - sa[lo], nw, nn);
    int64_t y = common_len(old + sa[hi], on - sa[hi], nw, nn);
    if (x >= y) {
        *pos = sa[lo];
        return x;
    }
    *pos = sa[hi];
    return y;
}

// What a pass's scan produces. The diff stream is not kept: it is the add runs' bytes,
// regenerated from `runs` when it is compressed (after the suffix array is freed), so a pass
// never holds a raw stream as large as the section.
typedef struct scan_out {
    buf_t s[QP_PATCH_STREAMS]; // the control and extra streams
    buf_t runs;                // run_t of every add run, in order
    uint64_t diff_len;         // bytes in the diff stream
    uint32_t entries;
} scan_out_t;

// One add run: new bytes [nw, nw + len) of the section from old bytes [old, old + len) of
// the indexed range.
typedef struct run {
    uint32_t nw, old, len;
} run_t;

static int emit(scan_out_t *o, const uint8_t *nw, int64_t lastscan, int64_t lastpos,
                int64_t lenf, int64_t extra_len, int64_t seek) {
    run_t run = {(uint32_t)lastscan, (uint32_t)lastpos, (uint32_t)lenf};
    int err = lenf > 0 ? buf_put(&o->runs, &run, sizeof run) : 0;
    o->diff_len += (uint64_t)lenf;
    if (err == 0) {
        err = buf_put(&o->s[QP_PATCH_STREAM_EXTRA], nw + lastscan + lenf, (size_t)extra_len);
    }
    if (err == 0) {
        err = buf_varint(&o->s[QP_PATCH_STREAM_CTRL], (uint64_t)lenf);
    }
    if (err == 0) {
        err = buf_varint(&o->s[QP_PATCH_STREAM_CTRL], (uint64_t)extra_len);
    }
    if (err == 0) {
        // zigzag: small moves either way stay one byte
        uint64_t zz = ((uint64_t)seek << 1) ^ (uint64_t)(seek >> 63);
        err = buf_varint(&o->s[QP_PATCH_STREAM_CTRL], zz);
    }
    o->entries++;
    return err;
}

// Excursions: a match more than EXCURSION_RANGE bytes away from the current alignment and
// shorter than EXCURSION_MIN bytes is not taken (its bytes go to the diff or extra stream).
// On the module, old data comes from a decoder of the compressed old section that only
// keeps a window behind it (QP_FOTA_WINDOW, 32 KiB, of which at least half is always
// there): a short excursion backwards, or one forwards followed by the return to the
// alignment, restarts that decoder for a handful of bytes. On libcrypto 3.0.17 -> 3.0.20
// the rule cut old-decoder restarts from 244 to 4 and the package by 1.9 % (short
// excursions are mostly chance matches that LZMA encodes as well from the extra stream).
#define EXCURSION_RANGE 8192
#define EXCURSION_MIN 256

static int scan(const qp_diff_config_t *cfg, const char *name, const saidx_t *sa,
                const uint8_t *old, int64_t on, const uint8_t *nw, int64_t nn,
                uint32_t thresh, scan_out_t *o) {
    int64_t sc = 0, len = 0, pos = 0, lastscan = 0, lastpos = 0, lastoffset = 0;
    int64_t next_report = 0;
    while (sc < nn) {
        int64_t oldscore = 0;
        int64_t scsc = sc += len;
        for (; sc < nn; sc++) {
            len = longest(sa, old, on, nw + sc, nn - sc, &pos);
            for (; scsc < sc + len; scsc++) {
                int64_t q = scsc + lastoffset;
                if (q >= 0 && q < on && old[q] == nw[scsc]) {
                    oldscore++;
                }
            }
            int64_t jump = pos - (sc + lastoffset);
            int excursion = (jump > EXCURSION_RANGE || jump < -EXCURSION_RANGE) &&
                            len < EXCURSION_MIN;
            if (!excursion &&
                ((len == oldscore && len != 0) || len > oldscore + (int64_t)thresh)) {
                break;
            }
            int64_t q = sc + lastoffset;
            if (q >= 0 && q < on && old[q] == nw[sc]) {
                oldscore--;
            }
        }
        if (len == oldscore && sc != nn) {
            continue;
        }
        // Stretch the previous match forward while at least half its bytes agree.
        int64_t s = 0, best = 0, lenf = 0;
        for (int64_t i = 0; lastscan + i < sc && lastpos + i < on;) {
            if (old[lastpos + i] == nw[lastscan + i]) {
                s++;
            }
            i++;
            if (s * 2 - i > best * 2 - lenf) {
                best = s;
                lenf = i;
            }
        }
        // And the new one backward.
        int64_t lenb = 0;
        if (sc < nn) {
            s = 0;
            best = 0;
            for (int64_t i = 1; sc >= lastscan + i && pos >= i; i++) {
                if (old[pos - i] == nw[sc - i]) {
                    s++;
                }
                if (s * 2 - i > best * 2 - lenb) {
                    best = s;
                    lenb = i;
                }
            }
        }
        // Where the two stretches overlap, cut at the point that keeps most agreement.
        if (lastscan + lenf > sc - lenb) {
            int64_t overlap = (lastscan + lenf) - (sc - lenb);
            int64_t ss = 0, lens = 0;
            s = 0;
            for (int64_t i = 0; i < overlap; i++) {
                if (nw[lastscan + lenf - overlap + i] == old[lastpos + lenf - overlap + i]) {
                    s++;
                }
                if (nw[sc - lenb + i] == old[pos - lenb + i]) {
                    s--;
                }
                if (s > ss) {
                    ss = s;
                    lens = i + 1;
                }
            }
            lenf += lens - overlap;
            lenb -= lens;
        }
        int err = emit(o, nw, lastscan, lastpos, lenf, (sc - lenb) - (lastscan + lenf),
                       (pos - lenb) - (lastpos + lenf));
        if (err < 0) {
            return err;
        }
        lastscan = sc - lenb;
        lastpos = pos - lenb;
        lastoffset = pos - sc;
        if (cfg->progress && sc >= next_report) {
            cfg->progress(cfg->progress_ctx, name, (uint64_t)sc, (uint64_t)nn);
            next_report = sc + (nn >> 5) + 1;
        }
    }
    if (cfg->progress) {
        cfg->progress(cfg->progress_ctx, name, (uint64_t)nn, (uint64_t)nn);
    }
    return 0;
}

// ---------------------------------------------------------------------------------------
// Compression
// ---------------------------------------------------------------------------------------

static uint32_t dict_for(size_t n, uint32_t dict_max) {
    uint32_t d = QP_PATCH_DICT_MIN;
    while (d < n && d < dict_max) {
        d *= 2;
    }
    return d < dict_max ? d : dict_max;
}

// Candidates (filters) are ranked by their streams compressed at this fast preset; only
// the one kept is compressed at the final preset. On libcrypto 3.0.17 -> 3.0.20 the
// ranking is the same as at 9e and adiff takes about half the time.
#define TRIAL_PRESET 1u

// A raw LZMA2 encoder appending to `out`, settings per stream: the diff stream is mostly
// zeros with differences at instruction-aligned offsets, so position bits help and literal
// context does not.
typedef struct encoder {
    lzma_stream z;
    buf_t *out;
} encoder_t;

static int encoder_open(encoder_t *e, int kind, uint32_t dict, uint32_t preset, buf_t *out) {
    e->z = (lzma_stream)LZMA_STREAM_INIT; // lzma_end() is safe from here on
    e->out = out;
    out->len = 0;
    lzma_options_lzma opt;
    if (lzma_lzma_preset(&opt, preset)) {
        return QP_ERR_INVAL;
    }
    opt.dict_size = dict;
    if (kind == QP_PATCH_STREAM_DIFF) {
        opt.lc = 0;
        opt.lp = 1;
        opt.pb = 1;
    } else if (kind == QP_PATCH_STREAM_CTRL) {
        opt.lc = 0;
        opt.lp = 0;
        opt.pb = 0;
    }
    lzma_filter f[2] = {{LZMA_FILTER_LZMA2, &opt}, {LZMA_VLI_UNKNOWN, NULL}};
    return lzma_raw_encoder(&e->z, f) == LZMA_OK ? 0 : QP_ERR_NOMEM;
}

// Feeds n bytes (LZMA_RUN), or the last ones (LZMA_FINISH, then the stream is ended).
static int encoder_feed(encoder_t *e, const uint8_t *in, size_t n, lzma_action action) {
    e->z.next_in = in;
    e->z.avail_in = n;
    for (;;) {
        int err = e->out->len < e->out->cap
                      ? 0
                      : buf_reserve(e->out, e->out->len < 4096 ? 4096 : e->out->len);
        if (err < 0) {
            return err;
        }
        e->z.next_out = e->out->p + e->out->len;
        e->z.avail_out = e->out->cap - e->out->len;
        lzma_ret r = lzma_code(&e->z, action);
        e->out->len = e->out->cap - e->z.avail_out;
        if (r == LZMA_STREAM_END || (r == LZMA_OK && action == LZMA_RUN &&
                                     e->z.avail_in == 0 && e->z.avail_out > 0)) {
            return 0;
        }
        if (r != LZMA_OK) {
            return r == LZMA_MEM_ERROR ? QP_ERR_NOMEM : QP_ERR_IO;
        }
    }
}

static int compress(int kind, const buf_t *in, uint32_t dict, uint32_t preset, buf_t *out) {
    encoder_t e;
    int err = encoder_open(&e, kind, dict, preset, out);
    if (err == 0) {
        err = encoder_feed(&e, in->p, in->len, LZMA_FINISH);
    }
    lzma_end(&e.z);
    return err;
}

// The diff stream of a pass, generated from its add runs in pieces and compressed.
static int compress_runs(const buf_t *runs, const uint8_t *old, const uint8_t *nw,
                         uint32_t dict, uint32_t preset, buf_t *out) {
    uint8_t piece[16384];
    size_t fill = 0, nruns = runs->len / sizeof(run_t);
    encoder_t e;
    int err = encoder_open(&e, QP_PATCH_STREAM_DIFF, dict, preset, out);
    for (size_t k = 0; err == 0 && k < nruns; k++) {
        run_t r;
        memcpy(&r, runs->p + k * sizeof r, sizeof r);
        for (uint32_t i = 0; err == 0 && i < r.len; i++) {
            piece[fill++] = (uint8_t)(nw[r.nw + i] - old[r.old + i]);
            if (fill == sizeof piece) {
                err = encoder_feed(&e, piece, fill, LZMA_RUN);
                fill = 0;
            }
        }
    }
    if (err == 0) {
        err = encoder_feed(&e, piece, fill, LZMA_FINISH);
    }
    lzma_end(&e.z);
    return err;
}

// Inverse of compress: `in` (a raw LZMA2 stream with dictionary `dict`) into `out`, which
// receives exactly `raw` bytes.
static int decompress(const buf_t *in, uint32_t dict, uint32_t raw, buf_t *out) {
    lzma_options_lzma opt;
    memset(&opt, 0, sizeof opt);
    opt.dict_size = dict;
    lzma_filter f[2] = {{LZMA_FILTER_LZMA2, &opt}, {LZMA_VLI_UNKNOWN, NULL}};
    lzma_stream z = LZMA_STREAM_INIT;
    out->len = 0;
    int err = buf_reserve(out, raw ? raw : 1);
    if (err == 0 && lzma_raw_decoder(&z, f) != LZMA_OK) {
        err = QP_ERR_NOMEM;
    }
    if (err == 0) {
        z.next_in = in->p;
        z.avail_in = in->len;
        z.next_out = out->p;
        z.avail_out = raw;
        lzma_ret r = lzma_code(&z, LZMA_FINISH);
        if (r == LZMA_MEM_ERROR) {
            err = QP_ERR_NOMEM;
        } else if (r != LZMA_STREAM_END || z.avail_out != 0) {
            err = QP_ERR_IO;
        }
        out->len = raw - z.avail_out;
    }
    lzma_end(&z);
    return err;
}

// ---------------------------------------------------------------------------------------
// Target maps (SPEC-patch §5.1)
// ---------------------------------------------------------------------------------------

// A vote: an old branch whose absolute field is `v` became, aligned by an add run, a new
// branch whose field is v + `add` (mod the field width).
typedef struct vote {
    uint32_t v, add;
} vote_t;

static int vote_cmp(const void *a, const void *b) {
    const vote_t *x = a, *y = b;
    if (x->v != y->v) {
        return x->v < y->v ? -1 : 1;
    }
    return x->add < y->add ? -1 : x->add > y->add;
}

// The target map the base pass's add runs vote for: every old branch target takes the move
// most of the branches to it made, and a piece starts wherever that move changes. Branches
// to a function follow it wherever the match put the calls, so this map also knows where
// code the match could not align went (a PLT that grew, functions reordered).
static int map_vote(uint32_t filter, const uint8_t *oldf, const uint8_t *newf,
                    const buf_t *runs, qp_patch_map_t *map) {
    uint32_t unit = qp_patch_filter_base(filter) == QP_PATCH_FILTER_THUMB ? 2u : 4u;
    uint32_t mask = qp_patch_field_mask(filter);
    size_t nruns = runs->len / sizeof(run_t), nv = 0, cap = 0;
    vote_t *votes = NULL;
    memset(map, 0, sizeof *map);
    for (size_t k = 0; k < nruns; k++) {
        run_t r;
        memcpy(&r, runs->p + k * sizeof r, sizeof r);
        // Both sides must sit on the filter's alignment for their candidates to pair up.
        if ((r.nw - r.old) % unit) {
            continue;
        }
        uint32_t j = (unit - r.nw % unit) % unit;
        while (j + 4u <= r.len) {
            int64_t vo = qp_patch_branch_field(filter, oldf + r.old + j);
            int64_t vn = qp_patch_branch_field(filter, newf + r.nw + j);
            if (vo < 0 || vn < 0) {
                j += unit;
                continue;
            }
            if (nv == cap) {
                cap = cap ? cap * 2 : 4096;
                vote_t *nvotes = realloc(votes, cap * sizeof *votes);
                if (!nvotes) {
                    free(votes);
                    return QP_ERR_NOMEM;
                }
                votes = nvotes;
            }
            votes[nv].v = (uint32_t)vo;
            votes[nv].add = (uint32_t)(vn - vo) & mask;
            nv++;
            j += 4;
        }
    }
    if (nv) {
        qsort(votes, nv, sizeof *votes, vote_cmp);
    }
    // Pieces, at most one per voted target: start[] then add[] in one block, as the device
    // keeps them.
    map->start = malloc((nv ? nv : 1) * 2 * sizeof(uint32_t));
    if (!map->start) {
        free(votes);
        return QP_ERR_NOMEM;
    }
    map->add = map->start + (nv ? nv : 1);
    uint32_t cur = 0; // the move below the first piece is none
    for (size_t i = 0; i < nv;) {
        size_t best = i, best_n = 0;
        size_t g = i;
        while (g < nv && votes[g].v == votes[i].v) {
            size_t h = g;
            while (h < nv && votes[h].v == votes[g].v && votes[h].add == votes[g].add) {
                h++;
            }
            if (h - g > best_n) {
                best = g;
                best_n = h - g;
            }
            g = h;
        }
        if (votes[best].add != cur) {
            map->start[map->count] = votes[i].v;
            map->add[map->count] = votes[best].add;
            map->count++;
            cur = votes[best].add;
        }
        i = g;
    }
    free(votes);
    return 0;
}

// The map as it opens the control stream (§5.1): count, then per piece the start's
// increase and the zigzagged change of the move (taken as signed within the field).
static int map_encode(const qp_patch_map_t *map, uint32_t mask, buf_t *b) {
    int err = buf_varint(b, map->count);
    uint32_t start = 0, add = 0;
    for (uint32_t i = 0; err == 0 && i < map->count; i++) {
        uint32_t d = (map->add[i] - add) & mask;
        int64_t sd = d > mask / 2 ? (int64_t)d - (int64_t)mask - 1 : (int64_t)d;
        err = buf_varint(b, map->start[i] - start);
        if (err == 0) {
            err = buf_varint(b, ((uint64_t)sd << 1) ^ (uint64_t)(sd >> 63));
        }
        start = map->start[i];
        add = map->add[i];
    }
    return err;
}

// ---------------------------------------------------------------------------------------
// Sections
// ---------------------------------------------------------------------------------------

// One candidate of a section (a filter's pass): its streams compressed at the trial preset
// (to rank the candidates), then, for the one kept, at the final preset.
typedef struct sec_result {
    buf_t comp[QP_PATCH_STREAMS];
    uint32_t raw[QP_PATCH_STREAMS];
    uint32_t dict[QP_PATCH_STREAMS];
    uint32_t filter;
    uint32_t entries;
    size_t total;
} sec_result_t;

static void result_release(sec_result_t *r) {
    for (int k = 0; k < QP_PATCH_STREAMS; k++) {
        buf_release(&r->comp[k]);
    }
}

// The kept candidate's streams at the final preset (`level`, extreme), from its trial
// streams decompressed one at a time: only the kept candidate's streams are ever held raw.
static int final_compress(sec_result_t *r, uint32_t level) {
    buf_t raw = {0}, out = {0};
    int err = 0;
    r->total = 0;
    for (int k = 0; err == 0 && k < QP_PATCH_STREAMS; k++) {
        err = decompress(&r->comp[k], r->dict[k], r->raw[k], &raw);
        if (err == 0) {
            err = compress(k, &raw, r->dict[k], level | LZMA_PRESET_EXTREME, &out);
        }
        if (err == 0) {
            buf_release(&r->comp[k]);
            r->comp[k] = out;
            memset(&out, 0, sizeof out);
            r->total += r->comp[k].len;
        }
    }
    buf_release(&raw);
    buf_release(&out);
    return err;
}

// Keeps `r` in `best` if it is a candidate (`eligible`) and the first or the smallest so far
// (`have` says whether `best` holds one); otherwise releases it.
static void keep_smaller(sec_result_t *best, sec_result_t *r, int eligible, int *have) {
    if (eligible && (!*have || r->total < best->total)) {
        if (*have) {
            result_release(best);
        }
        *best = *r;
        *have = 1;
    } else {
        result_release(r);
    }
}

// The branch filter for a section's new data `nw` when auto (SPEC-patch §7): the one whose
// candidate branches land inside the section far more often than chance. A call's target is
// code of the same section; a word that only looks like a branch has a field that is noise,
// so its target is uniform over the field's reach around it (±4 MiB for Thumb-2, ±32 MiB
// for A32) and lands inside with the probability `expected` sums. A filter qualifies when
// its hits exceed that by at least 8 and by a quarter of what the candidates could exceed
// it by at all; the largest excess wins. It replaced trying every filter: on the libcrypto
// pair that took adiff 7.9 s and 42.6 MB for the package the census and two passes make in
// 4.7 s and 24 MB.
uint32_t qp_diff_census(const uint8_t *nw, uint32_t n) {
    uint32_t pick = QP_PATCH_FILTER_NONE;
    double pick_excess = 0;
    for (uint32_t f = QP_PATCH_FILTER_THUMB; f <= QP_PATCH_FILTER_ARM; f++) {
        int thumb = f == QP_PATCH_FILTER_THUMB;
        uint32_t unit = thumb ? 2u : 4u, bits = thumb ? 22u : 24u;
        int64_t half = ((int64_t)1 << (bits - 1)) * unit; // reach either way, in bytes
        double cands = 0, hits = 0, expected = 0;
        for (uint32_t i = 0; i + 4u <= n;) {
            int64_t field = qp_patch_branch_field(f, nw + i);
            if (field < 0) {
                i += unit;
                continue;
            }
            int64_t d = field >= (int64_t)1 << (bits - 1) ? field - ((int64_t)1 << bits) : field;
            int64_t pc = (int64_t)i + 2 * (int64_t)unit, target = pc + d * unit;
            int64_t lo = pc - half > 0 ? pc - half : 0;
            int64_t hi = pc + half < (int64_t)n ? pc + half : (int64_t)n;
            cands += 1;
            hits += target >= 0 && target < (int64_t)n;
            expected += hi > lo ? (double)(hi - lo) / (double)(2 * half) : 0;
            i += 4;
        }
        double excess = hits - expected;
        if (excess >= 8 && excess >= (cands - expected) / 4 && excess > pick_excess) {
            pick = f;
            pick_excess = excess;
        }
    }
    return pick;
}

// Diffs one section with one filter into `r`; `nw` is the section's new data, already
// through the filter's base filter. The old side is filtered here: the section's old range
// with 4 bytes of context either side, as the device filters its windows of old data (the
// filters are local, SPEC-patch §5). A mapped filter takes the target map `map` (put at the
// head of the control stream, and applied to the old side); `vote`, if not NULL, receives
// the map this pass's runs vote for (free its start).
static int diff_one(const qp_diff_config_t *cfg, const uint8_t *old_space, uint32_t old_size,
                    const uint8_t *nw, const qp_diff_section_t *sec, uint32_t filter,
                    const qp_patch_map_t *map, qp_patch_map_t *vote, sec_result_t *r) {
    int err = 0;
    uint32_t lo = sec->old_offset >= 4u ? sec->old_offset - 4u : 0;
    uint32_t hi = old_size - (sec->old_offset + sec->old_size) >= 4u
                      ? sec->old_offset + sec->old_size + 4u
                      : old_size;
    uint8_t *oldf = malloc(hi - lo ? hi - lo : 1);
    saidx_t *sa = malloc(((size_t)sec->old_size + 1) * sizeof *sa);
    scan_out_t o;
    memset(&o, 0, sizeof o);
    memset(r, 0, sizeof *r);
    r->filter = filter;
    if (!oldf || !sa) {
        err = QP_ERR_NOMEM;
        goto out;
    }
    memcpy(oldf, old_space + lo, hi - lo);
    qp_patch_filter(filter, 1, oldf, hi - lo, lo, sec->old_offset, lo, map);
    if (qp_patch_filter_mapped(filter)) {
        err = map_encode(map, qp_patch_field_mask(filter), &o.s[QP_PATCH_STREAM_CTRL]);
        if (err < 0) {
            goto out;
        }
    }
    const uint8_t *old = oldf + (sec->old_offset - lo);
    if (sec->old_size && divsufsort(old, sa, (saidx_t)sec->old_size) != 0) {
        err = QP_ERR_NOMEM;
        goto out;
    }
    err = scan(cfg, sec->name, sa, old, sec->old_size, nw, sec->new_size,
               cfg->min_match ? cfg->min_match : 8u, &o);
    free(sa);
    sa = NULL;
    if (err == 0 && vote) {
        err = map_vote(filter, old, nw, &o.runs, vote);
    }
    r->raw[QP_PATCH_STREAM_DIFF] = (uint32_t)o.diff_len;
    r->raw[QP_PATCH_STREAM_CTRL] = (uint32_t)o.s[QP_PATCH_STREAM_CTRL].len;
    r->raw[QP_PATCH_STREAM_EXTRA] = (uint32_t)o.s[QP_PATCH_STREAM_EXTRA].len;
    for (int k = 0; err == 0 && k < QP_PATCH_STREAMS; k++) {
        r->dict[k] = dict_for(r->raw[k], cfg->dict_max ? cfg->dict_max : 1u << 20);
        err = k == QP_PATCH_STREAM_DIFF
                  ? compress_runs(&o.runs, old, nw, r->dict[k], TRIAL_PRESET, &r->comp[k])
                  : compress(k, &o.s[k], r->dict[k], TRIAL_PRESET, &r->comp[k]);
        r->total += r->comp[k].len;
    }
    r->entries = o.entries;
out:
    for (int k = 0; k < QP_PATCH_STREAMS; k++) {
        buf_release(&o.s[k]);
    }
    buf_release(&o.runs);
    free(sa);
    free(oldf);
    if (err < 0) {
        result_release(r);
    }
    return err;
}

// Diffs section `s` into `best`: the base filter is the census's pick (auto) or the one
// asked for; its pass runs, then for a mapped filter the pass with the target map that
// the first pass's runs voted for, and the smaller (at the trial preset) is kept and
// compressed at the final preset. The section's new data is filtered in place for the
// passes and restored before returning.
static int diff_section(const qp_diff_config_t *cfg, const uint8_t *old_space,
                        uint32_t old_size, uint8_t *new_space, const qp_diff_section_t *s,
                        sec_result_t *best) {
    int autof = cfg->filter == QP_DIFF_FILTER_AUTO, have = 0;
    uint8_t *nw = new_space + s->new_offset;
    uint32_t base =
        autof ? qp_diff_census(nw, s->new_size) : qp_patch_filter_base(cfg->filter - 1u);
    int mapped = base != QP_PATCH_FILTER_NONE &&
                 (autof || qp_patch_filter_mapped(cfg->filter - 1u));
    qp_patch_map_t vote;
    memset(&vote, 0, sizeof vote);
    sec_result_t r;
    qp_patch_filter(base, 1, nw, s->new_size, 0, 0, 0, NULL);
    int err = diff_one(cfg, old_space, old_size, nw, s, base, NULL, mapped ? &vote : NULL, &r);
    if (err == 0) {
        keep_smaller(best, &r, autof || !mapped, &have);
    }
    if (err == 0 && mapped) {
        err = diff_one(cfg, old_space, old_size, nw, s, base + 2u, &vote, NULL, &r);
        if (err == 0) {
            keep_smaller(best, &r, 1, &have);
        }
    }
    free(vote.start);
    qp_patch_filter(base, 0, nw, s->new_size, 0, 0, 0, NULL);
    if (err == 0) {
        err = final_compress(best, cfg->level ? cfg->level : 9u);
    }
    return err;
}

// ---------------------------------------------------------------------------------------
// Self-check: the package applied in a simulated flash, in place
// ---------------------------------------------------------------------------------------

// The differ measures with malloc explicitly, so it also works over a QP_NO_MALLOC build of
// the apply library.
static void *host_alloc(void *ctx, size_t size) {
    (void)ctx;
    return malloc(size);
}

static void host_free(void *ctx, void *ptr) {
    (void)ctx;
    free(ptr);
}

// Raw packages: applies in place on a RAM flash holding OLD, measuring RAM and backup.
static int measure_raw(const uint8_t *pkg, uint32_t pkg_size, const uint8_t *old,
                       uint32_t old_size, const uint8_t *nw, uint32_t new_size,
                       uint32_t block, uint32_t *ram, uint32_t *backup) {
    uint32_t big = old_size > new_size ? old_size : new_size;
    uint32_t tsize = (big + block - 1u) / block * block;
    if (tsize == 0) {
        tsize = block;
    }
    uint32_t steps = (new_size + block - 1u) / block;
    uint32_t bsize = qp_patch_journal_size(steps, 4096) + tsize + block;
    qp_patch_ram_flash_t t = {malloc(tsize), tsize}, b = {malloc(bsize), bsize};
    int err = 0;
    if (!t.mem || !b.mem) {
        err = QP_ERR_NOMEM;
        goto out;
    }
    memset(t.mem, 0xFF, tsize);
    memcpy(t.mem, old, old_size);
    memset(b.mem, 0xFF, bsize);
    qp_patch_mem_t src = {pkg, pkg_size};
    qp_patch_inplace_config_t c;
    memset(&c, 0, sizeof c);
    c.patch.pkg_read = qp_patch_mem_read;
    c.patch.pkg_ctx = &src;
    c.patch.pkg_size = pkg_size;
    c.patch.alloc = host_alloc;
    c.patch.free = host_free;
    c.target = qp_patch_ram_flash(&t, 4096);
    c.backup = qp_patch_ram_flash(&b, 4096);
    qp_patch_inplace_stats_t st;
    err = qp_patch_inplace_apply(&c, &st);
    if (err == 0 && memcmp(t.mem, nw, new_size) != 0) {
        err = QP_ERR_IO;
    }
    if (err == 0) {
        *ram = st.ram_peak;
        *backup = st.backup_needed;
    } else if (err != QP_ERR_NOMEM) {
        err = QP_ERR_IO;
    }
out:
    free(t.mem);
    free(b.mem);
    return err;
}

// ---------------------------------------------------------------------------------------
// Package
// ---------------------------------------------------------------------------------------

static void sha256(const uint8_t *d, size_t n, uint8_t out[32]) {
    mbedtls_sha256_context c;
    mbedtls_sha256_init(&c);
    qp_sha256_starts(&c);
    qp_sha256_update(&c, d, n);
    qp_sha256_finish(&c, out);
    mbedtls_sha256_free(&c);
}

static void finish_package(const qp_patch_info_t *info, uint8_t *pkg) {
    qp_patch_info_t i2 = *info;
    memset(i2.package_sha256, 0, 32);
    qp_patch_write_header(&i2, pkg);
    sha256(pkg, info->package_size, i2.package_sha256);
    memcpy(pkg + PH_PKG_SHA, i2.package_sha256, 32);
}

int qp_diff_create(const qp_diff_config_t *cfg, const uint8_t *old_space, uint32_t old_size,
                   uint8_t *new_space, uint32_t new_size,
                   const qp_diff_section_t *sections, uint32_t count, uint8_t **out,
                   uint32_t *out_size, qp_diff_stats_t *stats) {
    qp_diff_config_t defcfg;
    memset(&defcfg, 0, sizeof defcfg);
    if (!cfg) {
        cfg = &defcfg;
    }
    qp_diff_section_t raw = {"raw", 0, old_size, 0, new_size};
    if (!sections || count == 0) {
        sections = &raw;
        count = 1;
    }
    const char *model = cfg->model ? cfg->model : "EC600S";
    uint32_t block = cfg->block_size ? cfg->block_size : 4096u;
    if (!out || !out_size || (!old_space && old_size) || (!new_space && new_size) ||
        count > QP_PATCH_SECTIONS_MAX || strlen(model) > QP_PATCH_MODEL_MAX ||
        cfg->filter > QP_DIFF_FILTER_ARM_MAP || cfg->level > 9 ||
        (cfg->flags & ~QP_PATCH_F_IMAGE) ||
        block < 4096u || (block & (block - 1u)) ||
        (cfg->dict_max && (cfg->dict_max < QP_PATCH_DICT_MIN ||
                           cfg->dict_max > QP_PATCH_DICT_MAX))) {
        return QP_ERR_INVAL;
    }
    if (old_size && new_size && old_space < new_space + new_size &&
        new_space < old_space + old_size) {
        return QP_ERR_INVAL; // the new space is filtered in place while the old one is read
    }
    if (old_size > INT32_MAX || new_size > INT32_MAX) {
        return QP_ERR_FBIG;
    }
    uint32_t pos = 0;
    for (uint32_t i = 0; i < count; i++) {
        const qp_diff_section_t *s = &sections[i];
        if (!s->name || strlen(s->name) > QP_PATCH_NAME_MAX || s->new_offset != pos ||
            s->new_size > new_size - pos || s->old_offset > old_size ||
            s->old_size > old_size - s->old_offset) {
            return QP_ERR_INVAL;
        }
        pos += s->new_size;
    }
    if (pos != new_size) {
        return QP_ERR_INVAL;
    }

    qp_patch_info_t info;
    memset(&info, 0, sizeof info);
    info.version_major = QP_PATCH_VERSION_MAJOR;
    info.version_minor = QP_PATCH_VERSION_MINOR;
    info.flags = cfg->flags;
    info.section_count = count;
    info.header_size = QP_PATCH_HEADER_SIZE + count * QP_PATCH_SECTION_DESC_SIZE;
    info.block_size = block;
    info.old_space_size = old_size;
    info.new_space_size = new_size;
    memcpy(info.model, model, strlen(model) + 1);
    if (cfg->flags & QP_PATCH_F_IMAGE) {
        info.old_size = cfg->old_image_size;
        info.new_size = cfg->new_image_size;
        memcpy(info.old_sha256, cfg->old_image_sha256, 32);
        memcpy(info.new_sha256, cfg->new_image_sha256, 32);
    } else {
        info.old_size = old_size;
        info.new_size = new_size;
        sha256(old_space, old_size, info.old_sha256);
        sha256(new_space, new_size, info.new_sha256);
    }

    sec_result_t res[QP_PATCH_SECTIONS_MAX];
    memset(res, 0, sizeof res);
    int err = 0;
    uint64_t total = info.header_size;
    for (uint32_t i = 0; i < count && err == 0; i++) {
        const qp_diff_section_t *s = &sections[i];
        err = diff_section(cfg, old_space, old_size, new_space, s, &res[i]);
        if (err < 0) {
            break;
        }
        qp_patch_section_info_t *si = &info.sections[i];
        memcpy(si->name, s->name, strlen(s->name) + 1);
        si->filter = res[i].filter;
        si->old_offset = s->old_offset;
        si->old_size = s->old_size;
        si->new_offset = s->new_offset;
        si->new_size = s->new_size;
        sha256(old_space + s->old_offset, s->old_size, si->old_sha256);
        sha256(new_space + s->new_offset, s->new_size, si->new_sha256);
        for (int k = 0; k < QP_PATCH_STREAMS; k++) {
            si->streams[k].offset = (uint32_t)total;
            si->streams[k].size = (uint32_t)res[i].comp[k].len;
            si->streams[k].raw_size = res[i].raw[k];
            si->streams[k].dict_size = res[i].dict[k];
            total += res[i].comp[k].len;
        }
        if (total > UINT32_MAX) {
            err = QP_ERR_FBIG;
        }
    }
    uint8_t *pkg = NULL;
    if (err == 0) {
        info.package_size = (uint32_t)total;
        pkg = malloc(total);
        if (!pkg) {
            err = QP_ERR_NOMEM;
        }
    }
    for (uint32_t i = 0; i < count && err == 0; i++) {
        for (int k = 0; k < QP_PATCH_STREAMS; k++) {
            memcpy(pkg + info.sections[i].streams[k].offset, res[i].comp[k].p,
                   res[i].comp[k].len);
        }
    }
    // An image package is checked and measured by its maker, qp_fota_diff, with the module's
    // own apply on the images (SPEC-patch §8.1); until then it asks for unlimited RAM.
    info.apply_ram = UINT32_MAX;
    if (err == 0) {
        finish_package(&info, pkg);
    }
    if (err == 0 && !(cfg->flags & QP_PATCH_F_IMAGE)) {
        // Measure with an unlimited budget, then record what was used plus a margin for
        // decoder builds that allocate a little differently (SPEC-patch §3.1).
        uint32_t ram = 0, backup = 0;
        if (cfg->progress) {
            cfg->progress(cfg->progress_ctx, "self-check", 0, 1);
        }
        err = measure_raw(pkg, info.package_size, old_space, old_size, new_space, new_size,
                          block, &ram, &backup);
        info.apply_ram = (ram + 4096u + 1023u) / 1024u * 1024u;
        info.backup_size = backup;
        finish_package(&info, pkg);
    }
    if (err == 0) {
        if (stats) {
            memset(stats, 0, sizeof *stats);
            stats->package_size = info.package_size;
            stats->apply_ram = info.apply_ram;
            stats->backup_size = info.backup_size;
            for (uint32_t i = 0; i < count; i++) {
                for (int k = 0; k < QP_PATCH_STREAMS; k++) {
                    stats->stream_size[k] += info.sections[i].streams[k].size;
                    stats->stream_raw[k] += info.sections[i].streams[k].raw_size;
                }
                stats->entries += res[i].entries;
                stats->filters[res[i].filter]++;
            }
        }
        *out = pkg;
        *out_size = info.package_size;
        pkg = NULL;
    }
    free(pkg);
    for (uint32_t i = 0; i < count; i++) {
        result_release(&res[i]);
    }
    return err;
}

void qp_diff_free(void *buf) {
    free(buf);
}
