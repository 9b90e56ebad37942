// qp_patch_inplace.c - applying a raw package in place in a flash area (SPEC-patch §6): the
// target holds OLD and ends holding NEW, rewritten block by block, with the old blocks that
// later steps still read backed up first, and progress journalled so that a power cut at any
// flash operation is followed, on the next call, by resuming and finishing. Portable C11;
// the flash is reached only through the qp_patch_flash_t callbacks.
//
// Why it is safe (§6.5): a block of the target is erased only after (a) the package, the old
// image and the whole result were checked by a dry run, (b) the journal header naming this
// package is complete, and (c) every old block a later step reads - this block included - is
// in the backup area with its mark programmed. Any step can therefore be redone from the
// journal alone: its inputs are either untouched target blocks or marked backups.
#include <string.h>

#include "patch_internal.h"
#include "qp/qp_err.h"

#define J_MAGIC "QPJRNL\0\1"
#define J_HDR 64u
#define J_VERSION 1u
#define MARK_BACKUP(k) (J_HDR + 2u * (k))
#define MARK_WRITE(k) (J_HDR + 2u * (k) + 1u)

uint32_t qp_patch_journal_size(uint32_t steps, uint32_t sector_size) {
    uint32_t bytes = J_HDR + 2u * steps + 2u; // + the tail and complete marks
    return (bytes + sector_size - 1u) / sector_size * sector_size;
}

uint32_t qp_patch_inplace_extra_ram(uint32_t block_size, uint32_t old_size) {
    uint32_t blocks = (old_size + block_size - 1u) / block_size;
    // Block buffer, last_use, slot and the slot-occupant array, each with its allocation
    // header (16 bytes, qp_patch.c).
    return block_size + blocks * (4u + 2u + 2u) + 4u * 16u;
}

typedef struct plan_walk {
    qp_patch_plan_t *plan;
    uint32_t old_size;
} plan_walk_t;

// Marks the old blocks an add run reads as used by every step that produces its bytes. A
// step also re-produces the 4 bytes before its block (resume, §6.2), and a filtered read
// looks 4 bytes either side (§5).
static int plan_run(void *ctx, uint32_t new_pos, uint32_t old_pos, uint32_t len) {
    plan_walk_t *w = ctx;
    qp_patch_plan_t *pl = w->plan;
    uint32_t B = pl->block_size;
    uint64_t end = (uint64_t)new_pos + len;
    for (uint64_t k = new_pos / B; k < pl->steps && k * B <= end + 4u; k++) {
        uint64_t a = k * B >= 4u ? k * B - 4u : 0;
        uint64_t b = (k + 1u) * B;
        a = a > new_pos ? a : new_pos;
        b = b < end ? b : end;
        if (a >= b) {
            continue;
        }
        uint64_t lo = old_pos + (a - new_pos), hi = old_pos + (b - new_pos);
        lo = lo >= 4u ? lo - 4u : 0;
        hi = hi + 4u < w->old_size ? hi + 4u : w->old_size;
        for (uint64_t blk = lo / B; blk * B < hi && blk < pl->old_blocks; blk++) {
            if (pl->last_use[blk] < (int32_t)k) {
                pl->last_use[blk] = (int32_t)k;
            }
        }
    }
    return 0;
}

int qp_patch_plan_compute(qp_patch_t *p, qp_patch_plan_t *pl) {
    for (uint32_t i = 0; i < pl->old_blocks; i++) {
        pl->last_use[i] = -1;
        pl->slot[i] = QP_PATCH_NO_SLOT;
    }
    plan_walk_t w = {pl, p->info.old_size};
    int err = qp_patch_walk_adds(p, plan_run, &w);
    if (err < 0) {
        return err;
    }
    // Slots: at step k, old block k needs one if a step >= k reads it; a slot is free again
    // once its block's last reader is before k. Lowest free slot first, so the device and the
    // differ agree (§6.2).
    uint16_t *occ = qp_patch_alloc(p, (size_t)pl->old_blocks * sizeof *occ + 2u);
    if (!occ) {
        return QP_ERR_NOMEM;
    }
    pl->slots = 0;
    uint32_t lim = pl->steps < pl->old_blocks ? pl->steps : pl->old_blocks;
    for (uint32_t k = 0; k < lim; k++) {
        if (pl->last_use[k] < (int32_t)k) {
            continue;
        }
        uint32_t s = 0;
        while (s < pl->slots && pl->last_use[occ[s]] >= (int32_t)k) {
            s++;
        }
        if (s == pl->slots) {
            if (pl->slots >= QP_PATCH_SLOTS_MAX) {
                qp_patch_free(p, occ);
                return QP_ERR_NOTSUP;
            }
            pl->slots++;
        }
        occ[s] = (uint16_t)k;
        pl->slot[k] = (uint16_t)s;
    }
    qp_patch_free(p, occ);
    return 0;
}

static int plan_alloc(qp_patch_t *p, qp_patch_plan_t *pl, uint32_t block_size) {
    memset(pl, 0, sizeof *pl);
    pl->block_size = block_size;
    pl->steps = (uint32_t)(((uint64_t)p->info.new_size + block_size - 1u) / block_size);
    pl->old_blocks = (uint32_t)(((uint64_t)p->info.old_size + block_size - 1u) / block_size);
    if (pl->old_blocks > QP_PATCH_SLOTS_MAX) {
        return QP_ERR_NOTSUP;
    }
    pl->last_use = qp_patch_alloc(p, (size_t)pl->old_blocks * 4u + 4u);
    pl->slot = qp_patch_alloc(p, (size_t)pl->old_blocks * 2u + 2u);
    if (!pl->last_use || !pl->slot) {
        return QP_ERR_NOMEM;
    }
    return qp_patch_plan_compute(p, pl);
}

static void plan_free(qp_patch_t *p, qp_patch_plan_t *pl) {
    qp_patch_free(p, pl->slot);
    qp_patch_free(p, pl->last_use);
    pl->slot = NULL;
    pl->last_use = NULL;
}

int qp_patch_backup_needed(qp_patch_t *p, uint32_t sector_size, uint32_t *needed) {
    if (!p || !p->open || !needed || sector_size == 0 ||
        p->info.block_size % sector_size) {
        return QP_ERR_INVAL;
    }
    qp_patch_plan_t pl;
    int err = plan_alloc(p, &pl, p->info.block_size);
    if (err == 0) {
        uint64_t n = (uint64_t)qp_patch_journal_size(pl.steps, sector_size) +
                     (uint64_t)pl.slots * p->info.block_size;
        if (n > UINT32_MAX) {
            err = QP_ERR_NOSPC;
        } else {
            *needed = (uint32_t)n;
        }
    }
    plan_free(p, &pl);
    return err;
}

// ---------------------------------------------------------------------------------------
// The apply
// ---------------------------------------------------------------------------------------

typedef struct inplace {
    const qp_patch_inplace_config_t *cfg;
    qp_patch_plan_t plan;
    uint32_t journal;   // bytes of journal; slots follow
    uint32_t step;      // the step being produced
    int dry;            // 1: every old read goes to the target (nothing written yet)
} inplace_t;

// Old data as step `step` sees it: blocks already rewritten (and this step's own block)
// come from their backup slot, the others from the target (§6.2).
static int old_read(void *ctx, uint32_t off, void *buf, uint32_t len) {
    inplace_t *ip = ctx;
    const qp_patch_flash_t *t = &ip->cfg->target, *bk = &ip->cfg->backup;
    uint32_t B = ip->plan.block_size;
    uint8_t *out = buf;
    while (len) {
        uint32_t blk = off / B, in = off % B;
        uint32_t k = B - in < len ? B - in : len;
        int err;
        if (!ip->dry && blk <= ip->step && blk < ip->plan.old_blocks &&
            ip->plan.slot[blk] != QP_PATCH_NO_SLOT) {
            err = bk->read(bk->ctx, ip->journal + ip->plan.slot[blk] * B + in, out, k);
        } else if (!ip->dry && blk < ip->step) {
            err = QP_ERR_CORRUPT; // the plan says no step reads it any more
        } else {
            err = t->read(t->ctx, off, out, k);
        }
        if (err < 0) {
            return err;
        }
        out += k;
        off += k;
        len -= k;
    }
    return 0;
}

static uint32_t crc32_ieee(const uint8_t *b, uint32_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (uint32_t i = 0; i < n; i++) {
        c ^= b[i];
        for (int j = 0; j < 8; j++) {
            c = (c >> 1) ^ (0xEDB88320u & -(c & 1u));
        }
    }
    return ~c;
}

static void journal_header(const qp_patch_t *p, const qp_patch_plan_t *pl, uint8_t *h) {
    memset(h, 0xFF, J_HDR);
    memcpy(h, J_MAGIC, 8);
    qp_put32(h + 8, J_VERSION);
    qp_put32(h + 12, pl->steps);
    qp_put32(h + 16, pl->block_size);
    qp_put32(h + 20, pl->slots);
    memcpy(h + 24, p->info.package_sha256, 32);
    qp_put32(h + 56, crc32_ieee(h, 56));
}

// 1: the mark byte at `off` has been (at least partly) programmed. A torn mark program only
// happens after the operation it marks completed, so any cleared bit counts (§6.3).
static int mark_set(const qp_patch_flash_t *bk, uint32_t off, int *set) {
    uint8_t b;
    int err = bk->read(bk->ctx, off, &b, 1);
    if (err == 0) {
        *set = b != 0xFFu;
    }
    return err;
}

static int mark(const qp_patch_flash_t *bk, uint32_t off) {
    static const uint8_t zero = 0;
    return bk->prog(bk->ctx, off, &zero, 1);
}

// Hashes target [0, new_size) and compares with the package's new image hash.
static int check_new(qp_patch_t *p, const qp_patch_flash_t *t, uint8_t *buf, uint32_t bsz) {
    mbedtls_sha256_context c;
    mbedtls_sha256_init(&c);
    qp_sha256_starts(&c);
    int err = 0;
    for (uint32_t off = 0; off < p->info.new_size && err == 0;) {
        uint32_t k = p->info.new_size - off < bsz ? p->info.new_size - off : bsz;
        err = t->read(t->ctx, off, buf, k);
        qp_sha256_update(&c, buf, k);
        off += k;
    }
    uint8_t md[32];
    qp_sha256_finish(&c, md);
    mbedtls_sha256_free(&c);
    if (err == 0 && memcmp(md, p->info.new_sha256, 32) != 0) {
        err = QP_ERR_CORRUPT;
    }
    return err;
}

// Produces the whole new image once, reading only the untouched target: checks every
// section hash and the new image hash before anything is written (§6.1).
static int dry_run(qp_patch_t *p, uint8_t *buf, uint32_t bsz) {
    int n;
    do {
        n = qp_patch_read(p, buf, bsz);
    } while (n > 0);
    int err = qp_patch_rewind(p);
    return n < 0 ? n : err;
}

// Positions the patch output at `pos` (a block start) from wherever it is (`*at`): skips to
// 4 bytes before and re-produces those, so a branch instruction straddling the block start
// is inverted correctly (§6.2).
static int seek_output(qp_patch_t *p, uint32_t *at, uint32_t pos, uint8_t *tmp) {
    if (*at == pos) {
        return 0;
    }
    uint32_t back = pos >= 4u ? 4u : pos;
    if (*at > pos - back) {
        return QP_ERR_INVAL; // never happens: steps go forward
    }
    int n = qp_patch_skip(p, pos - back - *at);
    if (n >= 0 && back) {
        n = qp_patch_read(p, tmp, back);
    }
    if (n < 0) {
        return n;
    }
    *at = pos;
    return 0;
}

int qp_patch_inplace_apply(const qp_patch_inplace_config_t *cfg,
                           qp_patch_inplace_stats_t *stats) {
    if (!cfg || !cfg->target.read || !cfg->target.prog || !cfg->target.erase ||
        !cfg->backup.read || !cfg->backup.prog || !cfg->backup.erase ||
        !cfg->target.sector_size || !cfg->backup.sector_size) {
        return QP_ERR_INVAL;
    }
    qp_patch_inplace_stats_t s = {0};
    inplace_t ip = {.cfg = cfg, .dry = 1};
    const qp_patch_flash_t *t = &cfg->target, *bk = &cfg->backup;
    qp_patch_config_t pc = cfg->patch;
    pc.old_read = old_read;
    pc.old_ctx = &ip;
    qp_patch_t p;
    uint8_t *buf = NULL;
    int err = qp_patch_open(&p, &pc);
    if (err < 0) {
        return err;
    }
    const qp_patch_info_t *in = &p.info;
    uint32_t B = in->block_size;
    if (in->flags & QP_PATCH_F_IMAGE) {
        err = QP_ERR_NOTSUP;
        goto out;
    }
    if (B % t->sector_size || B % bk->sector_size || t->size % B) {
        err = QP_ERR_INVAL;
        goto out;
    }
    if (in->new_size > t->size) {
        err = QP_ERR_NOSPC;
        goto out;
    }
    if (in->old_size > t->size) {
        err = QP_ERR_NOENT;
        goto out;
    }
    // The package must be intact on every run: it is the only copy of the new data.
    err = qp_patch_verify(&p);
    if (err < 0) {
        goto out;
    }
    err = plan_alloc(&p, &ip.plan, B);
    if (err < 0) {
        goto out;
    }
    buf = qp_patch_alloc(&p, B);
    if (!buf) {
        err = QP_ERR_NOMEM;
        goto out;
    }
    const qp_patch_plan_t *pl = &ip.plan;
    ip.journal = qp_patch_journal_size(pl->steps, bk->sector_size);
    s.steps = pl->steps;
    uint64_t need = (uint64_t)ip.journal + (uint64_t)pl->slots * B;
    s.backup_needed = need > UINT32_MAX ? UINT32_MAX : (uint32_t)need;
    if (need > bk->size) {
        err = QP_ERR_NOSPC;
        goto out;
    }
    uint8_t want[J_HDR], have[J_HDR];
    journal_header(&p, pl, want);
    err = bk->read(bk->ctx, 0, have, J_HDR);
    if (err < 0) {
        goto out;
    }
    if (memcmp(want, have, J_HDR) == 0) {
        s.resumed = 1;
    } else {
        // A fresh start: nothing is written until the old image and the whole result check.
        err = qp_patch_check_old(&p);
        if (err == 0) {
            err = dry_run(&p, buf, B);
        }
        if (err == 0) {
            err = bk->erase(bk->ctx, 0, ip.journal);
        }
        if (err == 0) {
            err = bk->prog(bk->ctx, 0, want, J_HDR);
        }
        if (err < 0) {
            goto out;
        }
    }
    ip.dry = 0;
    uint32_t at = 0; // patch output position
    for (uint32_t k = 0; k < pl->steps; k++) {
        int done = 0; // a callback returning > 0 (a contract breach) leaves it unset
        ip.step = k;
        err = mark_set(bk, MARK_WRITE(k), &done);
        if (err < 0) {
            goto out;
        }
        if (done) {
            continue;
        }
        if (k < pl->old_blocks && pl->slot[k] != QP_PATCH_NO_SLOT) {
            int backed = 0;
            err = mark_set(bk, MARK_BACKUP(k), &backed);
            if (err == 0 && !backed) {
                uint32_t slot_off = ip.journal + pl->slot[k] * B;
                uint32_t n = in->old_size - k * B < B ? in->old_size - k * B : B;
                memset(buf, 0xFF, B);
                err = t->read(t->ctx, k * B, buf, n);
                if (err == 0) {
                    err = bk->erase(bk->ctx, slot_off, B);
                }
                if (err == 0) {
                    err = bk->prog(bk->ctx, slot_off, buf, B);
                }
                if (err == 0) {
                    err = mark(bk, MARK_BACKUP(k));
                }
                s.backups++;
            }
            if (err < 0) {
                goto out;
            }
        }
        err = seek_output(&p, &at, k * B, buf);
        if (err < 0) {
            goto out;
        }
        uint32_t n = in->new_size - k * B < B ? in->new_size - k * B : B;
        memset(buf, 0xFF, B);
        int got = qp_patch_read(&p, buf, n);
        if (got >= 0 && (uint32_t)got != n) {
            got = QP_ERR_CORRUPT;
        }
        if (got < 0) {
            err = got;
            goto out;
        }
        at += n;
        err = t->erase(t->ctx, k * B, B);
        if (err == 0) {
            err = t->prog(t->ctx, k * B, buf, B);
        }
        if (err == 0) {
            err = mark(bk, MARK_WRITE(k));
        }
        if (err < 0) {
            goto out;
        }
        s.steps_done++;
    }
    // Old blocks beyond the new image are erased so the area holds nothing stale (§6.4).
    int tail_done;
    err = mark_set(bk, MARK_BACKUP(pl->steps), &tail_done);
    if (err == 0 && !tail_done && pl->old_blocks > pl->steps) {
        err = t->erase(t->ctx, pl->steps * B, (pl->old_blocks - pl->steps) * B);
    }
    if (err == 0 && !tail_done) {
        err = mark(bk, MARK_BACKUP(pl->steps));
    }
    if (err == 0) {
        err = check_new(&p, t, buf, B);
    }
    int complete = 0;
    if (err == 0) {
        err = mark_set(bk, MARK_WRITE(pl->steps), &complete);
    }
    if (err == 0 && !complete) {
        err = mark(bk, MARK_WRITE(pl->steps));
    }
out:
    s.ram_peak = p.ram_peak;
    qp_patch_free(&p, buf);
    plan_free(&p, &ip.plan);
    qp_patch_close(&p);
    if (stats) {
        *stats = s;
    }
    return err;
}
