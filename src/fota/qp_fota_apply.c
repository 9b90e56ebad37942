// qp_fota_apply.c - the in-place apply of an image package (SPEC-patch §8): the firmware
// partition holds the OLD system.img and ends holding the NEW one, byte for byte.
//
// The new image is made of *units*: its header (with the section table), each section
// (recompressed) and its trailer, back to back. Each unit is produced into a *stage* in the
// backup area, checked against its hash, then *committed*: the whole flash blocks it ends are
// copied to the target, after the old blocks that later units still read are backed up; the
// partial block at its end is kept in a *carry* slot and starts the next unit's stage. Old
// data is read through a decoder of the old section (restarted, when a read goes back
// further than its window, at the nearest restart point of the section it has passed, else
// at the section start): from a backup slot once a block was backed up, else from the
// target. Producing a unit never writes the target, so a cut while producing
// only costs the redo of that unit; a commit is block by block with marks. Everything a
// resumed run needs (both image headers, the plan's inputs) is in the journal or the
// package. Depends on qp_patch (streams), qp_image (codecs, header parser) and mbedTLS.
#include <stdlib.h>
#include <string.h>

#include <lzma.h>

#include "fota_internal.h"
#include "qp/qp_err.h"
#include "qp/qp_fota.h"
#include "qp/qp_image.h"

#define UNITS_MAX (QP_IMAGE_MAX_SECTIONS + 2u)
#define HDR_MAX (QP_IMAGE_HEADER_SIZE + QP_IMAGE_MAX_SECTIONS * 1024u)
#define IN_BUF 4096u   // compressed old data
#define OUT_BUF 4096u  // patch output fed to the encoder
#define ALLOC_HDR 16u
#define NO_SLOT 0xFFFFu
#define RP_UNKNOWN UINT32_MAX

typedef struct unit {
    uint32_t ns, ne;      // its bytes in the new image
    uint32_t sp, sp_len;  // sections: their range of the new space
    int sec;              // new image section index; -1 header, -2 trailer
} unit_t;

typedef struct fa {
    const qp_fota_apply_config_t *cfg;
    qp_fota_apply_stats_t st;
    char *msg;
    size_t msglen;
    uint32_t used, cap; // counting allocator (SPEC-patch §8.5)
    qp_patch_t p;
    qp_image_config_t icfg;
    // Images: parsed headers and their bytes (copies, kept in the journal).
    qp_image_info_t oi, ni;
    uint8_t *ohdr, *nhdr;
    uint32_t oh, nh;
    uint32_t osp[QP_IMAGE_MAX_SECTIONS + 1]; // old space offset of each old section; [n] end
    // Plan (§8.3).
    uint32_t B, units, tblocks, oblocks, stage_blocks, slots, m0, jsize;
    unit_t u[UNITS_MAX];
    uint32_t last_reader[QP_IMAGE_MAX_SECTIONS]; // per old section: 1 + last unit reading it
    uint16_t *slot;                             // per old block
    // Old reader.
    int dry;   // 1: nothing written yet, every old byte is in the target
    int dry_encode; // the dry run also recompresses (qp_fota_prepare)
    int dec_sec;
    qp_image_stream_t dec;
    uint64_t dpos;        // uncompressed bytes of dec_sec decoded
    uint8_t *win;         // the last wfill of them
    uint32_t wfill;
    uint8_t *ib;
    const uint8_t *inp;
    size_t in_len;
    uint64_t cin;         // next compressed byte to read (image offset)
    // Restart points of the old sections (SPEC-image §4.1), noted as the decoder passes
    // them: rp[rp_base[j] + k] is where section j's k-th stream begins in its compressed
    // data, or RP_UNKNOWN.
    uint32_t *rp;
    uint32_t rp_base[QP_IMAGE_MAX_SECTIONS + 1];
    // Buffers.
    uint8_t *blk;         // one block: stage writer, copies
    uint8_t *obuf;        // patch output
    uint32_t at;          // patch output position in the new space
} fa_t;

// ---------------------------------------------------------------------------------------
// Memory: one counter for everything, capped (SPEC-patch §8.5)
// ---------------------------------------------------------------------------------------

static void *fa_alloc(void *ctx, size_t size) {
    fa_t *a = ctx;
    if (size > UINT32_MAX - ALLOC_HDR || size + ALLOC_HDR > a->cap - a->used) {
        return NULL;
    }
    uint32_t total = (uint32_t)size + ALLOC_HDR;
    uint8_t *raw = a->cfg->alloc ? a->cfg->alloc(a->cfg->alloc_ctx, total) : malloc(total);
    if (!raw) {
        return NULL;
    }
    memcpy(raw, &total, sizeof total);
    a->used += total;
    if (a->used > a->st.ram_peak) {
        a->st.ram_peak = a->used;
    }
    return raw + ALLOC_HDR;
}

static void fa_free(void *ctx, void *ptr) {
    fa_t *a = ctx;
    if (!ptr) {
        return;
    }
    uint8_t *raw = (uint8_t *)ptr - ALLOC_HDR;
    uint32_t total;
    memcpy(&total, raw, sizeof total);
    a->used -= total;
    if (a->cfg->alloc) {
        a->cfg->free(a->cfg->alloc_ctx, raw);
    } else {
        free(raw);
    }
}

static int said(const fa_t *a) {
    return a->msg && a->msglen && a->msg[0];
}

static void say(fa_t *a, const char *text) {
    if (a->msg && a->msglen) {
        size_t n = strlen(text);
        n = n < a->msglen - 1 ? n : a->msglen - 1;
        memcpy(a->msg, text, n);
        a->msg[n] = 0;
    }
}

// ---------------------------------------------------------------------------------------
// Flash operations, counted (the test seam stops before the n-th write)
// ---------------------------------------------------------------------------------------

static int op_check(fa_t *a) {
    if (a->cfg->stop_after && a->st.flash_ops + 1u >= a->cfg->stop_after) {
        return QP_ERR_IO;
    }
    a->st.flash_ops++;
    return 0;
}

static int f_erase(fa_t *a, const qp_patch_flash_t *f, uint32_t off, uint32_t len) {
    int err = op_check(a);
    return err < 0 ? err : f->erase(f->ctx, off, len);
}

static int f_prog(fa_t *a, const qp_patch_flash_t *f, uint32_t off, const void *buf,
                  uint32_t len) {
    int err = op_check(a);
    return err < 0 ? err : f->prog(f->ctx, off, buf, len);
}

// A mark byte: any cleared bit counts as set, because a torn mark program only happens
// after the operation it records has completed (as SPEC-patch §6.3).
static int mark_get(fa_t *a, uint32_t off, int *set) {
    uint8_t b;
    int err = a->cfg->backup.read(a->cfg->backup.ctx, off, &b, 1);
    if (err == 0) {
        *set = b != 0xFFu;
    }
    return err;
}

static int mark_set(fa_t *a, uint32_t off) {
    static const uint8_t zero = 0;
    return f_prog(a, &a->cfg->backup, off, &zero, 1);
}

// Journal layout (§8.4): marks after the header and the two image header copies.
static uint32_t m_staged(const fa_t *a, uint32_t u) { return a->m0 + 2u * u; }
static uint32_t m_commit(const fa_t *a, uint32_t u) { return a->m0 + 2u * u + 1u; }
static uint32_t m_write(const fa_t *a, uint32_t k) { return a->m0 + 2u * a->units + k; }
static uint32_t m_backup(const fa_t *a, uint32_t s) {
    return a->m0 + 2u * a->units + a->tblocks + s;
}
static uint32_t m_tail(const fa_t *a) { return m_backup(a, a->slots); }
static uint32_t m_done(const fa_t *a) { return m_backup(a, a->slots) + 1u; }
static uint32_t carry_off(const fa_t *a, uint32_t c) { return a->jsize + c * a->B; }
static uint32_t stage_off(const fa_t *a, uint32_t j) { return a->jsize + (2u + j) * a->B; }
static uint32_t slot_off(const fa_t *a, uint32_t s) {
    return a->jsize + (2u + a->stage_blocks + s) * a->B;
}

// ---------------------------------------------------------------------------------------
// Old data: compressed blocks (target or backup slot), then the section decoder
// ---------------------------------------------------------------------------------------

static int old_image_read(fa_t *a, uint64_t off, uint8_t *buf, uint32_t len) {
    const qp_patch_flash_t *t = &a->cfg->target;
    while (len) {
        uint32_t b = (uint32_t)(off / a->B), in = (uint32_t)(off % a->B);
        uint32_t k = a->B - in < len ? a->B - in : len;
        int err, backed = 0;
        if (!a->dry && b < a->oblocks && a->slot[b] != NO_SLOT) {
            err = mark_get(a, m_backup(a, a->slot[b]), &backed);
            if (err < 0) {
                return err;
            }
        }
        if (backed) {
            err = a->cfg->backup.read(a->cfg->backup.ctx, slot_off(a, a->slot[b]) + in, buf, k);
        } else {
            err = t->read(t->ctx, (uint32_t)off, buf, k);
        }
        if (err < 0) {
            return err;
        }
        buf += k;
        off += k;
        len -= k;
    }
    return 0;
}

// Restarts the decoder of old section j at the last restart point at or before `pos` that
// it has passed (the section start if none).
static int dec_restart(fa_t *a, int j, uint32_t pos) {
    const qp_image_section_t *s = &a->oi.sections[j];
    qp_image_stream_close(&a->dec);
    a->dec_sec = -1;
    uint32_t k = s->params.restart ? pos / s->params.restart : 0;
    while (k > 0 && a->rp[a->rp_base[j] + k] == RP_UNKNOWN) {
        k--;
    }
    uint64_t uoff = (uint64_t)k * s->params.restart, coff = k ? a->rp[a->rp_base[j] + k] : 0;
    int err = qp_image_decoder_open_at(&a->dec, s, &a->icfg, uoff, coff);
    if (err < 0) {
        return err;
    }
    a->dec_sec = j;
    a->dpos = uoff;
    a->wfill = 0;
    a->in_len = 0;
    a->cin = s->offset + coff;
    a->st.old_restarts++;
    return 0;
}

// Allocates the restart-point table of the old sections (a few bytes per 256 KiB).
static int restart_points_alloc(fa_t *a) {
    uint32_t n = 0;
    for (uint32_t j = 0; j < a->oi.section_count; j++) {
        const qp_image_section_t *s = &a->oi.sections[j];
        a->rp_base[j] = n;
        n += s->params.restart ? (uint32_t)(s->usize / s->params.restart) + 1u : 1u;
    }
    a->rp_base[a->oi.section_count] = n;
    a->rp = fa_alloc(a, (size_t)n * sizeof *a->rp);
    if (!a->rp) {
        return QP_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < n; i++) {
        a->rp[i] = RP_UNKNOWN;
    }
    return 0;
}

// Decodes more of the current section into the window (keeping its second half when full).
static int dec_more(fa_t *a) {
    const qp_image_section_t *s = &a->oi.sections[a->dec_sec];
    if (a->wfill == QP_FOTA_WINDOW) {
        memmove(a->win, a->win + QP_FOTA_WINDOW / 2, QP_FOTA_WINDOW / 2);
        a->wfill = QP_FOTA_WINDOW / 2;
    }
    // All compressed bytes may be in before all output is out: an LZO decoder takes a
    // whole block (64 KiB) of input and drains it over several windows.
    uint64_t end = s->offset + s->csize;
    if (a->in_len == 0 && a->cin < end) {
        uint32_t k = end - a->cin < IN_BUF ? (uint32_t)(end - a->cin) : IN_BUF;
        int err = old_image_read(a, a->cin, a->ib, k);
        if (err < 0) {
            return err;
        }
        a->cin += k;
        a->inp = a->ib;
        a->in_len = k;
    }
    uint8_t *out = a->win + a->wfill;
    size_t out_len = QP_FOTA_WINDOW - a->wfill;
    int r = qp_image_stream_run(&a->dec, &a->inp, &a->in_len, &out, &out_len);
    if (r < 0) {
        return r;
    }
    uint32_t got = (uint32_t)(QP_FOTA_WINDOW - a->wfill - out_len);
    if (got == 0 && (r == 1 || (a->in_len == 0 && a->cin == end))) {
        return QP_ERR_CORRUPT; // read past the section's end
    }
    if (s->params.restart) {
        uint64_t uoff, coff;
        qp_image_stream_restart_point(&a->dec, &uoff, &coff);
        a->rp[a->rp_base[a->dec_sec] + uoff / s->params.restart] = (uint32_t)coff;
    }
    a->wfill += got;
    a->dpos += got;
    return 0;
}

static int sec_read(fa_t *a, int j, uint32_t pos, uint8_t *buf, uint32_t len) {
    if (a->dec_sec != j || pos < a->dpos - a->wfill) {
        int err = dec_restart(a, j, pos);
        if (err < 0) {
            return err;
        }
    }
    while (len) {
        while (pos >= a->dpos) {
            int err = dec_more(a);
            if (err < 0) {
                return err;
            }
        }
        uint32_t woff = (uint32_t)(pos - (a->dpos - a->wfill));
        uint32_t k = (uint32_t)(a->dpos - pos) < len ? (uint32_t)(a->dpos - pos) : len;
        memcpy(buf, a->win + woff, k);
        buf += k;
        pos += k;
        len -= k;
    }
    return 0;
}

// qp_patch's old_read: old space = old image header, then the uncompressed sections.
static int space_read(void *ctx, uint32_t off, void *vbuf, uint32_t len) {
    fa_t *a = ctx;
    uint8_t *buf = vbuf;
    while (len) {
        uint32_t k;
        if (off < a->oh) {
            k = a->oh - off < len ? a->oh - off : len;
            memcpy(buf, a->ohdr + off, k);
        } else {
            uint32_t j = 0;
            while (j < a->oi.section_count && off >= a->osp[j + 1]) {
                j++;
            }
            if (j == a->oi.section_count) {
                return QP_ERR_CORRUPT;
            }
            k = a->osp[j + 1] - off < len ? a->osp[j + 1] - off : len;
            int err = sec_read(a, (int)j, off - a->osp[j], buf, k);
            if (err < 0) {
                return err;
            }
        }
        buf += k;
        off += k;
        len -= k;
    }
    return 0;
}

// ---------------------------------------------------------------------------------------
// The plan (§8.3)
// ---------------------------------------------------------------------------------------

// Which old sections each package section reads (filter context included).
static int walk_run(void *ctx, uint32_t new_pos, uint32_t old_pos, uint32_t len) {
    fa_t *a = ctx;
    uint32_t ps = 0;
    while (ps + 1u < a->p.info.section_count && new_pos >= a->p.info.sections[ps + 1].new_offset) {
        ps++;
    }
    uint64_t lo = old_pos >= 4u ? old_pos - 4u : 0, hi = (uint64_t)old_pos + len + 4u;
    for (uint32_t j = 0; j < a->oi.section_count; j++) {
        if (lo < a->osp[j + 1] && hi > a->osp[j] && a->last_reader[j] < ps + 1u) {
            a->last_reader[j] = ps + 1u;
        }
    }
    return 0;
}

// Parses both image headers (already in ohdr/nhdr) against the package and lays out units.
static int plan_headers(fa_t *a) {
    const qp_patch_info_t *in = &a->p.info;
    if (qp_image_parse_header(&a->oi, a->ohdr, a->oh, NULL) < 0 ||
        a->oi.header_size != a->oh || a->oi.image_size != in->old_size) {
        say(a, "the installed firmware's header does not match the package");
        return QP_ERR_NOENT;
    }
    if (qp_image_parse_header(&a->ni, a->nhdr, a->nh, NULL) < 0 ||
        a->ni.header_size != a->nh || a->ni.image_size != in->new_size ||
        a->ni.section_count + 1u != in->section_count ||
        strcmp(a->ni.model, a->oi.model) != 0) {
        say(a, "the package's new firmware header is inconsistent");
        return QP_ERR_CORRUPT;
    }
    uint64_t pos = a->oh;
    for (uint32_t j = 0; j < a->oi.section_count; j++) {
        a->osp[j] = (uint32_t)pos;
        pos += a->oi.sections[j].usize;
    }
    a->osp[a->oi.section_count] = (uint32_t)pos;
    if (pos != in->old_space_size) {
        say(a, "the installed firmware's sections do not match the package");
        return QP_ERR_NOENT;
    }
    a->units = a->ni.section_count + 2u;
    a->u[0] = (unit_t){0, a->nh, 0, a->nh, -1};
    for (uint32_t i = 0; i < a->ni.section_count; i++) {
        const qp_image_section_t *s = &a->ni.sections[i];
        const qp_patch_section_info_t *ps = &in->sections[i + 1u];
        if (s->usize != ps->new_size || strcmp(s->name, ps->name) != 0) {
            say(a, "the package's sections do not match its new firmware header");
            return QP_ERR_CORRUPT;
        }
        a->u[i + 1u] = (unit_t){(uint32_t)s->offset, (uint32_t)(s->offset + s->csize),
                                ps->new_offset, ps->new_size, (int)i};
    }
    a->u[a->units - 1u] = (unit_t){in->new_size - QP_IMAGE_TRAILER_SIZE, in->new_size, 0, 0,
                                   -2};
    return 0;
}

static uint32_t commit_end(const fa_t *a, uint32_t u) {
    return u + 1u == a->units ? a->tblocks : a->u[u].ne / a->B;
}

static int plan_compute(fa_t *a, uint32_t sector) {
    const qp_patch_info_t *in = &a->p.info;
    uint32_t B = a->B;
    memset(a->last_reader, 0, sizeof a->last_reader);
    int err = qp_patch_walk(&a->p, walk_run, a);
    // The walk rewinds the patch: its output is at new-space offset 0 again. (Left at the
    // end of the header entry, the dry run skipped that much into each section, so the
    // patch never saw a whole section and checked none of their hashes.)
    a->at = 0;
    if (err < 0) {
        return err;
    }
    a->tblocks = (in->new_size + B - 1u) / B;
    a->oblocks = (in->old_size + B - 1u) / B;
    a->slot = fa_alloc(a, (size_t)a->oblocks * sizeof *a->slot + 2u);
    if (!a->slot) {
        return QP_ERR_NOMEM;
    }
    a->stage_blocks = 0;
    a->slots = 0;
    for (uint32_t b = 0; b < a->oblocks; b++) {
        a->slot[b] = NO_SLOT;
    }
    for (uint32_t u = 0; u < a->units; u++) {
        uint32_t cb = a->u[u].ns / B;
        uint32_t need = (a->u[u].ne - cb * B + B - 1u) / B;
        a->stage_blocks = need > a->stage_blocks ? need : a->stage_blocks;
        // Old blocks this unit's commit overwrites that a later unit still decodes.
        for (uint32_t k = cb; k < commit_end(a, u) && k < a->oblocks; k++) {
            for (uint32_t j = 0; j < a->oi.section_count; j++) {
                const qp_image_section_t *s = &a->oi.sections[j];
                if (a->last_reader[j] > u + 1u && (uint64_t)k * B < s->offset + s->csize &&
                    (uint64_t)(k + 1u) * B > s->offset && a->slot[k] == NO_SLOT) {
                    a->slot[k] = (uint16_t)a->slots++;
                }
            }
        }
    }
    a->m0 = (FOTA_J_HDR + a->oh + a->nh + 15u) & ~15u;
    uint32_t marks = m_done(a) + 1u;
    a->jsize = (marks + sector - 1u) / sector * sector;
    uint64_t need = (uint64_t)a->jsize + (uint64_t)(2u + a->stage_blocks + a->slots) * B;
    a->st.backup_needed = need > UINT32_MAX ? UINT32_MAX : (uint32_t)need;
    return 0;
}

// ---------------------------------------------------------------------------------------
// Journal header (§8.4)
// ---------------------------------------------------------------------------------------

static void journal_header(const fa_t *a, uint8_t *h) {
    memset(h, 0xFF, FOTA_J_HDR);
    memcpy(h, FOTA_J_MAGIC, 8);
    fota_put32(h + 8, FOTA_J_VERSION);
    fota_put32(h + 12, 0); // reserved
    fota_put32(h + 16, a->B);
    fota_put32(h + 20, a->oh);
    fota_put32(h + 24, a->nh);
    fota_put32(h + 28, a->p.info.old_size);
    fota_put32(h + 32, a->p.info.new_size);
    memcpy(h + 36, a->p.info.package_sha256, 32);
    uint32_t crc = lzma_crc32(h, 68, 0);
    crc = lzma_crc32(a->ohdr, a->oh, crc);
    crc = lzma_crc32(a->nhdr, a->nh, crc);
    fota_put32(h + 68, crc);
}

// Reads a journal of this package: 1 with ohdr/nhdr loaded, 0 if there is none.
static int journal_load(fa_t *a) {
    const qp_patch_flash_t *bk = &a->cfg->backup;
    uint8_t h[FOTA_J_HDR];
    int err = bk->read(bk->ctx, 0, h, FOTA_J_HDR);
    if (err < 0) {
        return err;
    }
    uint32_t oh = fota_le32(h + 20), nh = fota_le32(h + 24);
    if (memcmp(h, FOTA_J_MAGIC, 8) != 0 || fota_le32(h + 8) != FOTA_J_VERSION ||
        memcmp(h + 36, a->p.info.package_sha256, 32) != 0 || fota_le32(h + 16) != a->B ||
        oh < QP_IMAGE_HEADER_SIZE || oh > HDR_MAX || nh < QP_IMAGE_HEADER_SIZE ||
        nh > HDR_MAX || (uint64_t)FOTA_J_HDR + oh + nh > bk->size) {
        return 0;
    }
    a->ohdr = fa_alloc(a, oh);
    a->nhdr = fa_alloc(a, nh);
    if (!a->ohdr || !a->nhdr) {
        return QP_ERR_NOMEM;
    }
    a->oh = oh;
    a->nh = nh;
    err = bk->read(bk->ctx, FOTA_J_HDR, a->ohdr, oh);
    if (err == 0) {
        err = bk->read(bk->ctx, FOTA_J_HDR + oh, a->nhdr, nh);
    }
    if (err < 0) {
        return err;
    }
    uint8_t want[FOTA_J_HDR];
    journal_header(a, want);
    if (memcmp(want, h, 72) != 0) {
        fa_free(a, a->ohdr);
        fa_free(a, a->nhdr);
        a->ohdr = a->nhdr = NULL;
        return 0; // torn: a fresh start
    }
    return 1;
}

// ---------------------------------------------------------------------------------------
// Checks before the first write (§8.2)
// ---------------------------------------------------------------------------------------

static int open_package(fa_t *a) {
    const qp_fota_apply_config_t *cfg = a->cfg;
    qp_patch_config_t pc;
    memset(&pc, 0, sizeof pc);
    pc.pkg_read = cfg->pkg_read;
    pc.pkg_ctx = cfg->pkg_ctx;
    pc.pkg_size = cfg->pkg_size;
    pc.old_read = space_read;
    pc.old_ctx = a;
    pc.alloc = fa_alloc;
    pc.free = fa_free;
    pc.alloc_ctx = a;
    pc.model = cfg->model;
    // The header is read before the cap is known: allow it, then cap at apply_ram.
    int err = qp_patch_open(&a->p, &pc);
    if (err == QP_ERR_NOENT) {
        say(a, "the package is for another model");
    } else if (err == QP_ERR_NOMEM) {
        say(a, "the package needs more RAM than is available");
    } else if (err < 0) {
        say(a, err == QP_ERR_NOTSUP ? "unsupported package version"
                                    : "the package is damaged or incomplete");
    }
    if (err < 0) {
        return err;
    }
    const qp_patch_info_t *in = &a->p.info;
    a->st.ram_needed = in->apply_ram;
    if (!(in->flags & QP_PATCH_F_IMAGE) || in->section_count < 2u ||
        strcmp(in->sections[0].name, QP_FOTA_HEADER_SECTION) != 0 ||
        in->sections[0].new_size > HDR_MAX || in->sections[0].old_size > HDR_MAX ||
        in->sections[0].old_offset != 0 || in->new_size < QP_IMAGE_HEADER_SIZE + 32u) {
        say(a, "not a firmware image package");
        return QP_ERR_NOTSUP;
    }
    if (cfg->ram_limit && in->apply_ram > cfg->ram_limit) {
        say(a, "the package needs more RAM than is available");
        return QP_ERR_NOMEM;
    }
    if (a->used > in->apply_ram) {
        say(a, "the package needs more RAM than it declares");
        return QP_ERR_NOMEM;
    }
    a->cap = in->apply_ram;
    a->B = in->block_size;
    const qp_patch_flash_t *t = &cfg->target, *bk = &cfg->backup;
    if (a->B % t->sector_size || a->B % bk->sector_size || t->size % a->B) {
        say(a, "the package's block size does not fit this flash");
        return QP_ERR_INVAL;
    }
    if (in->new_size > t->size) {
        say(a, "the new firmware is larger than the firmware partition");
        return QP_ERR_NOSPC;
    }
    err = qp_patch_verify(&a->p);
    if (err < 0) {
        say(a, "the package is damaged, incomplete or tampered with (hash mismatch)");
        return err;
    }
    // With the hash good, the signature over the header vouches for every byte (§3.5).
    if (cfg->key) {
        err = qp_patch_sig_verify(&a->p, cfg->key);
        if (err == QP_ERR_AUTH) {
            say(a, in->flags & QP_PATCH_F_SIGNED
                       ? "bad signature: the package was not signed with this device's key "
                         "(another key, or altered after signing)"
                       : "the package is not signed, and this device accepts only signed "
                         "packages");
        } else if (err < 0) {
            say(a, "the signature could not be checked");
        }
    }
    return err;
}

static int target_hash_is(fa_t *a, uint32_t size, const uint8_t want[32]) {
    const qp_patch_flash_t *t = &a->cfg->target;
    if (size > t->size) {
        return 0;
    }
    mbedtls_sha256_context c;
    mbedtls_sha256_init(&c);
    fota_sha_starts(&c);
    int err = 0;
    for (uint32_t off = 0; off < size && err == 0;) {
        uint32_t k = size - off < a->B ? size - off : a->B;
        err = t->read(t->ctx, off, a->blk, k);
        fota_sha_update(&c, a->blk, k);
        off += k;
    }
    uint8_t md[32];
    fota_sha_finish(&c, md);
    mbedtls_sha256_free(&c);
    return err < 0 ? err : memcmp(md, want, 32) == 0;
}

// Fresh start: old image hash, old header from the target, new header from the package.
static int load_headers_fresh(fa_t *a) {
    const qp_patch_info_t *in = &a->p.info;
    int r = target_hash_is(a, in->old_size, in->old_sha256);
    if (r <= 0) {
        if (r == 0) {
            say(a, "the package was made for another firmware than the installed one");
        }
        return r < 0 ? r : QP_ERR_NOENT;
    }
    a->oh = in->sections[0].old_size;
    a->nh = in->sections[0].new_size;
    a->ohdr = fa_alloc(a, a->oh ? a->oh : 1u);
    a->nhdr = fa_alloc(a, a->nh ? a->nh : 1u);
    if (!a->ohdr || !a->nhdr) {
        return QP_ERR_NOMEM;
    }
    int err = a->cfg->target.read(a->cfg->target.ctx, 0, a->ohdr, a->oh);
    if (err < 0) {
        return err;
    }
    // The new header is package section 0's output; it reads only the old header.
    uint32_t got = 0;
    while (got < a->nh) {
        int n = qp_patch_read(&a->p, a->nhdr + got, a->nh - got);
        if (n <= 0) {
            say(a, "the package is damaged (header section)");
            return n < 0 ? n : QP_ERR_CORRUPT;
        }
        got += (uint32_t)n;
    }
    a->at = got;
    return 0;
}

static int prepare(fa_t *a, int *resume) {
    int err = open_package(a);
    if (err < 0) {
        return err;
    }
    a->blk = fa_alloc(a, a->B);
    a->obuf = fa_alloc(a, OUT_BUF);
    a->ib = fa_alloc(a, IN_BUF);
    a->win = fa_alloc(a, QP_FOTA_WINDOW);
    if (!a->blk || !a->obuf || !a->ib || !a->win) {
        return QP_ERR_NOMEM;
    }
    int r = journal_load(a);
    if (r < 0) {
        return r;
    }
    *resume = r;
    if (!r) {
        err = load_headers_fresh(a);
        if (err < 0) {
            return err;
        }
    }
    err = plan_headers(a);
    if (err == 0) {
        err = restart_points_alloc(a);
    }
    if (err == 0) {
        err = plan_compute(a, a->cfg->backup.sector_size);
    }
    if (err == 0 && a->st.backup_needed > a->cfg->backup.size) {
        say(a, "the backup area is too small for this package");
        err = QP_ERR_NOSPC;
    }
    if (err == 0 && a->slots >= NO_SLOT) {
        err = QP_ERR_NOTSUP;
    }
    a->st.units = a->units;
    return err;
}

// ---------------------------------------------------------------------------------------
// Producing a unit into the stage (§8.3)
// ---------------------------------------------------------------------------------------

typedef struct stage_writer {
    fa_t *a;
    uint32_t base;  // new image offset of stage block 0
    uint32_t fill;  // bytes in a->blk
    uint32_t block; // stage block being filled
    int write;      // 0: dry run (count only)
} stage_writer_t;

static int sw_flush(stage_writer_t *w) {
    fa_t *a = w->a;
    if (w->write) {
        memset(a->blk + w->fill, 0xFF, a->B - w->fill);
        int err = f_erase(a, &a->cfg->backup, stage_off(a, w->block), a->B);
        if (err == 0) {
            err = f_prog(a, &a->cfg->backup, stage_off(a, w->block), a->blk, a->B);
        }
        if (err < 0) {
            return err;
        }
    }
    w->block++;
    w->fill = 0;
    return 0;
}

static int sw_put(stage_writer_t *w, const uint8_t *d, uint32_t n) {
    while (n) {
        uint32_t k = w->a->B - w->fill < n ? w->a->B - w->fill : n;
        memcpy(w->a->blk + w->fill, d, k);
        w->fill += k;
        d += k;
        n -= k;
        if (w->fill == w->a->B) {
            int err = sw_flush(w);
            if (err < 0) {
                return err;
            }
        }
    }
    return 0;
}

// Positions the patch output at new-space offset `pos` (a section start).
static int patch_seek(fa_t *a, uint32_t pos) {
    int err = 0;
    if (a->at > pos) {
        err = qp_patch_rewind(&a->p);
        a->at = 0;
    }
    if (err == 0 && a->at < pos) {
        int n = qp_patch_skip(&a->p, pos - a->at);
        err = n < 0 ? n : (uint32_t)n != pos - a->at ? QP_ERR_CORRUPT : 0;
    }
    if (err == 0) {
        a->at = pos;
    }
    return err;
}

// Recompresses section unit `u` from the patch output into `w` (or, dry, only checks the
// uncompressed data through the patch's section hash).
static int produce_section(fa_t *a, const unit_t *un, stage_writer_t *w, int encode) {
    int err = patch_seek(a, un->sp);
    if (err < 0) {
        return err;
    }
    const qp_image_section_t *s = &a->ni.sections[un->sec];
    qp_image_stream_t enc;
    qp_image_stream_init(&enc);
    if (encode) {
        err = qp_image_encoder_open(&enc, &s->params, s->usize, &a->icfg);
        if (err < 0) {
            return err;
        }
    }
    uint32_t left = un->sp_len;
    int done = 0;
    while (err == 0 && !done) {
        const uint8_t *in = a->obuf;
        size_t in_len = 0;
        if (left) {
            uint32_t k = left < OUT_BUF ? left : OUT_BUF;
            int n = qp_patch_read(&a->p, a->obuf, k);
            if (n <= 0) {
                err = n < 0 ? n : QP_ERR_CORRUPT;
                break;
            }
            in_len = (size_t)n;
            left -= (uint32_t)n;
            a->at += (uint32_t)n;
        }
        if (!encode) {
            done = left == 0;
            continue;
        }
        do {
            uint8_t *out = a->blk + w->fill;
            size_t out_len = a->B - w->fill;
            int r = qp_image_stream_run(&enc, &in, &in_len, &out, &out_len);
            if (r < 0) {
                err = r;
                break;
            }
            w->fill = a->B - (uint32_t)out_len;
            if (w->fill == a->B) {
                err = sw_flush(w);
            }
            if (r == 1) {
                done = 1;
                break;
            }
            if (out_len > 0 && in_len == 0 && left) {
                break; // needs input
            }
        } while (err == 0 && (in_len > 0 || !left));
    }
    if (err == 0 && encode) {
        uint64_t csize;
        uint8_t csha[32];
        err = qp_image_stream_result(&enc, NULL, &csize, NULL, csha);
        if (err == 0 && (csize != s->csize || memcmp(csha, s->csha256, 32) != 0)) {
            say(a, "this module's LZMA encoder does not reproduce the new firmware's "
                   "sections (another liblzma?)");
            err = QP_ERR_CORRUPT;
        }
    }
    qp_image_stream_close(&enc);
    return err;
}

// The trailer is the SHA-256 of everything before it: the committed blocks, then the
// carry (already in the stage writer's buffer).
static int put_trailer(fa_t *a, stage_writer_t *w, uint32_t cb) {
    const qp_patch_flash_t *t = &a->cfg->target;
    mbedtls_sha256_context c;
    mbedtls_sha256_init(&c);
    fota_sha_starts(&c);
    int err = 0;
    for (uint32_t k = 0; k < cb && err == 0; k++) {
        for (uint32_t off = 0; off < a->B && err == 0; off += OUT_BUF) {
            uint32_t n = a->B - off < OUT_BUF ? a->B - off : OUT_BUF;
            err = t->read(t->ctx, k * a->B + off, a->obuf, n);
            fota_sha_update(&c, a->obuf, n);
        }
    }
    fota_sha_update(&c, a->blk, w->fill);
    uint8_t md[32];
    fota_sha_finish(&c, md);
    mbedtls_sha256_free(&c);
    return err < 0 ? err : sw_put(w, md, 32);
}

static int produce_unit(fa_t *a, uint32_t u) {
    const unit_t *un = &a->u[u];
    uint32_t cb = un->ns / a->B;
    stage_writer_t w = {a, cb * a->B, 0, 0, 1};
    // The carry: the start of this unit's first block, kept by the previous commit.
    uint32_t carry = un->ns - cb * a->B;
    int err = 0;
    if (carry) {
        err = a->cfg->backup.read(a->cfg->backup.ctx, carry_off(a, (u - 1u) % 2u), a->blk,
                                  carry);
        w.fill = carry;
    }
    if (err < 0) {
        return err;
    }
    if (un->sec == -1) {
        err = sw_put(&w, a->nhdr, a->nh);
    } else if (un->sec == -2) {
        err = put_trailer(a, &w, cb);
    } else {
        err = produce_section(a, un, &w, 1);
    }
    if (err == 0 && w.fill) {
        err = sw_flush(&w);
    }
    return err;
}

// ---------------------------------------------------------------------------------------
// Committing a unit (§8.3)
// ---------------------------------------------------------------------------------------

static int commit_unit(fa_t *a, uint32_t u) {
    const qp_patch_flash_t *t = &a->cfg->target, *bk = &a->cfg->backup;
    const unit_t *un = &a->u[u];
    uint32_t B = a->B, cb = un->ns / B, ce = commit_end(a, u);
    int err = 0;
    for (uint32_t k = cb; k < ce && err == 0; k++) {
        int done = 0;
        err = mark_get(a, m_write(a, k), &done);
        if (err < 0 || done) {
            continue;
        }
        if (k < a->oblocks && a->slot[k] != NO_SLOT) {
            int backed;
            err = mark_get(a, m_backup(a, a->slot[k]), &backed);
            if (err == 0 && !backed) {
                err = t->read(t->ctx, k * B, a->blk, B);
                if (err == 0) {
                    err = f_erase(a, bk, slot_off(a, a->slot[k]), B);
                }
                if (err == 0) {
                    err = f_prog(a, bk, slot_off(a, a->slot[k]), a->blk, B);
                }
                if (err == 0) {
                    err = mark_set(a, m_backup(a, a->slot[k]));
                    a->st.backups++;
                }
            }
        }
        if (err == 0) {
            err = bk->read(bk->ctx, stage_off(a, k - cb), a->blk, B);
        }
        if (err == 0) {
            err = f_erase(a, t, k * B, B);
        }
        if (err == 0) {
            err = f_prog(a, t, k * B, a->blk, B);
        }
        if (err == 0) {
            err = mark_set(a, m_write(a, k));
            a->st.blocks_written++;
        }
    }
    // The partial block at the end starts the next unit's stage.
    if (err == 0 && u + 1u < a->units && un->ne > ce * B) {
        err = bk->read(bk->ctx, stage_off(a, ce - cb), a->blk, B);
        if (err == 0) {
            err = f_erase(a, bk, carry_off(a, u % 2u), B);
        }
        if (err == 0) {
            err = f_prog(a, bk, carry_off(a, u % 2u), a->blk, B);
        }
    }
    return err;
}

// ---------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------

static int cfg_ok(const qp_fota_apply_config_t *cfg) {
    return cfg && cfg->pkg_read && cfg->target.read && cfg->target.prog && cfg->target.erase &&
           cfg->backup.read && cfg->backup.prog && cfg->backup.erase &&
           cfg->target.sector_size && cfg->backup.sector_size &&
           (!cfg->alloc || cfg->free);
}

// The handle itself (both image headers parsed, the patch handle: about 10 KiB) comes from
// the caller's allocator too, and is counted in ram_peak.
static fa_t *handle_alloc(const qp_fota_apply_config_t *cfg) {
    return cfg->alloc ? cfg->alloc(cfg->alloc_ctx, sizeof(fa_t)) : malloc(sizeof(fa_t));
}

static void handle_free(const qp_fota_apply_config_t *cfg, fa_t *a) {
    if (cfg->alloc) {
        cfg->free(cfg->alloc_ctx, a);
    } else {
        free(a);
    }
}

static void fa_init(fa_t *a, const qp_fota_apply_config_t *cfg, char *msg, size_t msglen) {
    memset(a, 0, sizeof *a);
    a->cfg = cfg;
    a->msg = msg;
    a->msglen = msglen;
    a->cap = UINT32_MAX; // until the header is read (§8.5)
    a->used = (uint32_t)sizeof *a;
    a->st.ram_peak = a->used;
    a->dec_sec = -1;
    a->dry = 1;
    qp_patch_init(&a->p);
    qp_image_stream_init(&a->dec);
    a->icfg.alloc = fa_alloc;
    a->icfg.free = fa_free;
    a->icfg.alloc_ctx = a;
    // The encoder's input is the patch output, which the patch checks (dry run) and the
    // recompressed bytes' hash checks again: no third hash of it.
    a->icfg.skip_input_hash = 1;
    if (msg && msglen) {
        msg[0] = 0;
    }
}

static void fa_fini(fa_t *a, qp_fota_apply_stats_t *stats) {
    qp_image_stream_close(&a->dec);
    fa_free(a, a->slot);
    fa_free(a, a->ohdr);
    fa_free(a, a->nhdr);
    fa_free(a, a->blk);
    fa_free(a, a->obuf);
    fa_free(a, a->ib);
    fa_free(a, a->win);
    fa_free(a, a->rp);
    qp_patch_close(&a->p);
    if (stats) {
        *stats = a->st;
    }
}

// 1 when the target has not been touched under the journal yet (the journal was only
// prepared, qp_fota_prepare), 0 otherwise. The first target write (an erase, perhaps cut
// before its block's write mark) comes after unit 0 is staged.
static int target_untouched(fa_t *a) {
    int staged = 0;
    int err = mark_get(a, m_staged(a, 0), &staged);
    return err < 0 ? err : !staged;
}

// Everything before the first write to the target (§8.2): checks and plan; on a fresh
// start the dry run and the journal header. A journal found with no target block written
// yet (prepared by qp_fota_prepare, possibly long ago) is resumed only if the target still
// holds the old image, which the dry run was made against.
static int start(fa_t *a) {
    const qp_patch_flash_t *bk = &a->cfg->backup;
    int resume = 0;
    int err = prepare(a, &resume);
    if (err < 0) {
        return err;
    }
    a->st.resumed = (uint32_t)resume;
    if (resume) {
        int r = target_untouched(a);
        if (r == 1) {
            r = target_hash_is(a, a->p.info.old_size, a->p.info.old_sha256);
            if (r == 0) {
                say(a, "the package was made for another firmware than the installed one");
                return QP_ERR_NOENT;
            }
        }
        return r < 0 ? r : 0;
    }
    // Dry run: the whole new space once, every section hash checked, nothing written. For
    // qp_fota_prepare (verify(), before the restart) it also recompresses each section and
    // checks the result against the new image's hashes, so an encoder that does not
    // reproduce them is refused before the target is touched (§8.2).
    for (uint32_t u = 1; u + 1u < a->units && err == 0; u++) {
        stage_writer_t count_only = {a, 0, 0, 0, 0};
        err = produce_section(a, &a->u[u], &count_only, a->dry_encode);
    }
    if (err < 0) {
        if (err == QP_ERR_CORRUPT && !said(a)) {
            say(a, "the package does not rebuild the new firmware");
        }
        return err;
    }
    uint8_t h[FOTA_J_HDR];
    journal_header(a, h);
    err = f_erase(a, bk, 0, a->jsize);
    // Header copies first, the header (with its CRC) last: a torn write is no journal.
    if (err == 0) {
        err = f_prog(a, bk, FOTA_J_HDR, a->ohdr, a->oh);
    }
    if (err == 0) {
        err = f_prog(a, bk, FOTA_J_HDR + a->oh, a->nhdr, a->nh);
    }
    if (err == 0) {
        err = f_prog(a, bk, 0, h, FOTA_J_HDR);
    }
    return err;
}

static int run(fa_t *a) {
    int err = start(a);
    if (err < 0) {
        return err;
    }
    a->dry = 0;
    // The dry run (this call's or the prepare's) checked every section's hash against the
    // same package and old data; from here each section's recompressed bytes are checked
    // against the new image's hashes before they are committed, so the patch need not
    // hash its output again.
    qp_patch_set_hash_checks(&a->p, 0);
    int done = 0;
    err = mark_get(a, m_done(a), &done);
    if (err < 0) {
        return err;
    }
    if (done) {
        a->st.complete = 1;
    }
    for (uint32_t u = 0; u < a->units && !done; u++) {
        int staged = 0, committed = 0;
        err = mark_get(a, m_commit(a, u), &committed);
        if (err < 0) {
            return err;
        }
        if (committed) {
            continue;
        }
        err = mark_get(a, m_staged(a, u), &staged);
        if (err == 0 && !staged) {
            err = produce_unit(a, u);
            if (err == 0) {
                err = mark_set(a, m_staged(a, u));
            }
        }
        if (err == 0) {
            err = commit_unit(a, u);
        }
        if (err == 0) {
            err = mark_set(a, m_commit(a, u));
        }
        if (err < 0) {
            if (err == QP_ERR_CORRUPT) {
                say(a, "the new firmware could not be rebuilt exactly");
            }
            return err;
        }
    }
    // Old blocks past the new image are erased, so the partition holds NEW and then 0xFF.
    int tail = 1;
    if (!done) {
        err = mark_get(a, m_tail(a), &tail);
    }
    if (err == 0 && !tail) {
        for (uint32_t k = a->tblocks; k < a->oblocks && err == 0; k++) {
            err = f_erase(a, &a->cfg->target, k * a->B, a->B);
        }
        if (err == 0) {
            err = mark_set(a, m_tail(a));
        }
    }
    if (err == 0) {
        int r = target_hash_is(a, a->p.info.new_size, a->p.info.new_sha256);
        if (r == 0) {
            say(a, "the rewritten firmware does not match the package's hash");
        }
        err = r < 0 ? r : r ? 0 : QP_ERR_CORRUPT;
    }
    if (err == 0 && !done) {
        err = mark_set(a, m_done(a));
    }
    return err;
}

// qp_fota_check: everything up to the plan, nothing written.
static int check_only(fa_t *a) {
    int resume = 0;
    return prepare(a, &resume);
}

// One handle per call, from the caller's allocator, around `body`.
static int with_handle(const qp_fota_apply_config_t *cfg, qp_fota_apply_stats_t *stats,
                       char *msg, size_t msglen, int (*body)(fa_t *)) {
    if (!cfg_ok(cfg)) {
        return QP_ERR_INVAL;
    }
    fa_t *a = handle_alloc(cfg);
    if (!a) {
        return QP_ERR_NOMEM;
    }
    fa_init(a, cfg, msg, msglen);
    int err = body(a);
    fa_fini(a, stats);
    handle_free(cfg, a);
    return err;
}

int qp_fota_check(const qp_fota_apply_config_t *cfg, qp_fota_apply_stats_t *stats,
                  char *msg, size_t msglen) {
    return with_handle(cfg, stats, msg, msglen, check_only);
}

static int start_encoding(fa_t *a) {
    a->dry_encode = 1;
    return start(a);
}

int qp_fota_prepare(const qp_fota_apply_config_t *cfg, qp_fota_apply_stats_t *stats,
                    char *msg, size_t msglen) {
    return with_handle(cfg, stats, msg, msglen, start_encoding);
}

int qp_fota_apply(const qp_fota_apply_config_t *cfg, qp_fota_apply_stats_t *stats,
                  char *msg, size_t msglen) {
    return with_handle(cfg, stats, msg, msglen, run);
}

int qp_fota_journal_clear(const qp_patch_flash_t *backup) {
    if (!backup || !backup->erase || !backup->sector_size || backup->size < FOTA_J_HDR) {
        return QP_ERR_INVAL;
    }
    return backup->erase(backup->ctx, 0, backup->sector_size);
}
