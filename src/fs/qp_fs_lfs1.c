// qp_fs_lfs1.c - littlefs v1 metadata: metadata pairs, directory entries, path lookup,
// mkdir/remove/rename, the deorphan repair pass, format and mount.
//
// Written from littlefs v1's SPEC.md (docs/SPEC-fs.md says where the spec was silent and
// what we followed). Every metadata change is one commit: the older block of a pair is
// erased and rewritten in full with a higher revision and a CRC, so a power cut leaves the
// previous block valid (SPEC-fs §3.1). Operations that touch two pairs order their commits
// so that any intermediate state is repaired by the deorphan pass (SPEC-fs §4).
//
// Every walk over data read from flash is bounded by the block count, so a corrupt image
// (a tail pointing back into the list) ends in QP_ERR_CORRUPT, never a hang.
#include "lfs1_internal.h"

static const uint32_t superblock_pair[2] = {0, 1};

// ---- Metadata pairs (SPEC-fs §2.2, §3.1) ----

static bool rev_newer(uint32_t a, uint32_t b) {
    return (int32_t)(a - b) > 0; // sequence comparison: revisions may wrap
}

int qp_fs_lfs1_fetch(qp_fs_t *fs, qp_fs_mdir_t *m, const uint32_t pair[2]) {
    const uint32_t p[2] = {pair[0], pair[1]}; // `pair` may alias m->tail
    if (p[0] >= fs->block_count || p[1] >= fs->block_count || p[0] == p[1]) {
        return QP_ERR_CORRUPT;
    }
    bool valid = false;
    for (int i = 0; i < 2; i++) {
        uint8_t hdr[LFS1_DIR_HDR];
        int err = qp_fs_bd_read(fs, &fs->rcache, NULL, p[i], 0, hdr, sizeof(hdr));
        if (err == QP_ERR_CORRUPT) {
            continue;
        }
        if (err < 0) {
            return err;
        }
        uint32_t rev = qp_fs_get32(hdr);
        uint32_t size = qp_fs_get32(hdr + 4);
        if (valid && !rev_newer(rev, m->rev)) {
            continue;
        }
        uint32_t len = size & LFS1_SIZE_MASK;
        if (len < LFS1_DIR_EMPTY || len > fs->cfg->block_size) {
            continue;
        }
        uint32_t crc = qp_fs_bd_crc32(0xffffffff, hdr, sizeof(hdr));
        err = qp_fs_bd_crc(fs, p[i], LFS1_DIR_HDR, len - LFS1_DIR_HDR, &crc);
        if (err == QP_ERR_CORRUPT) {
            continue;
        }
        if (err < 0) {
            return err;
        }
        if (crc != 0) { // the CRC is stored un-inverted, so data + CRC folds to zero
            continue;
        }
        valid = true;
        m->pair[0] = p[i];
        m->pair[1] = p[1 - i];
        m->rev = rev;
        m->size = size;
        m->tail[0] = qp_fs_get32(hdr + 8);
        m->tail[1] = qp_fs_get32(hdr + 12);
    }
    return valid ? 0 : QP_ERR_CORRUPT;
}

// A new, empty, not yet written pair. Its revision continues from what the block we will
// not write holds, so a stale but CRC-valid copy there can never look newer (SPEC-fs §3.2).
static int pair_alloc(qp_fs_t *fs, qp_fs_mdir_t *m) {
    for (int i = 0; i < 2; i++) {
        int err = qp_fs_block_alloc(fs, &m->pair[i]);
        if (err < 0) {
            return err;
        }
    }
    uint8_t raw[4];
    int err = qp_fs_bd_read(fs, &fs->rcache, NULL, m->pair[0], 0, raw, 4);
    if (err < 0 && err != QP_ERR_CORRUPT) {
        return err;
    }
    m->rev = (err == 0 ? qp_fs_get32(raw) : 0) + 1;
    m->size = LFS1_DIR_EMPTY;
    m->tail[0] = m->tail[1] = QP_FS_BLOCK_NULL;
    return 0;
}

// Walks the threaded list from the superblock to the pair whose tail is `pair`.
// 1 found (in *p), 0 not found.
static int find_pred(qp_fs_t *fs, const uint32_t pair[2], qp_fs_mdir_t *p) {
    if (lfs1_pair_null(fs->root)) {
        return 0;
    }
    int err = qp_fs_lfs1_fetch(fs, p, superblock_pair);
    for (uint32_t hops = 0; err == 0; hops++) {
        if (lfs1_pair_null(p->tail)) {
            return 0;
        }
        if (lfs1_pair_overlap(p->tail, pair)) {
            return 1;
        }
        if (hops > fs->block_count) {
            return QP_ERR_CORRUPT; // a cycle in the tail list
        }
        err = qp_fs_lfs1_fetch(fs, p, p->tail);
    }
    return err;
}

// Calls visit(pair, entry) for every entry of every pair in the threaded list, the
// superblock's pair included. visit returns 0 to go on, 1 to stop (found), <0 on error.
typedef int (*visit_fn)(void *ctx, const qp_fs_mdir_t *m, const lfs1_entry_t *e);
typedef int (*visit_pair_fn)(void *ctx, const qp_fs_mdir_t *m);

// The one walk over the threaded list (SPEC-fs §2.2): visit_pair (may be NULL) sees each
// fetched pair, then visit each of its entries. Bounded by the block count.
static int walk_pairs(qp_fs_t *fs, qp_fs_mdir_t *m, lfs1_entry_t *e, visit_pair_fn visit_pair,
                      visit_fn visit, void *ctx) {
    if (lfs1_pair_null(fs->root)) {
        return 0;
    }
    uint32_t next[2] = {0, 1};
    for (uint32_t hops = 0; !lfs1_pair_null(next); hops++) {
        if (hops > fs->block_count) {
            return QP_ERR_CORRUPT;
        }
        int err = qp_fs_lfs1_fetch(fs, m, next);
        if (err < 0) {
            return err;
        }
        if (visit_pair) {
            err = visit_pair(ctx, m);
            if (err != 0) {
                return err;
            }
        }
        uint32_t end = (m->size & LFS1_SIZE_MASK) - 4;
        for (uint32_t off = LFS1_DIR_HDR; off + LFS1_ENTRY_HDR <= end;) {
            err = qp_fs_lfs1_entry_read(fs, m, off, e);
            if (err < 0) {
                return err;
            }
            int res = visit ? visit(ctx, m, e) : 0;
            if (res != 0) {
                return res;
            }
            off += lfs1_entry_size(e);
        }
        next[0] = m->tail[0];
        next[1] = m->tail[1];
    }
    return 0;
}

static int walk_entries(qp_fs_t *fs, qp_fs_mdir_t *m, lfs1_entry_t *e, visit_fn visit,
                        void *ctx) {
    return walk_pairs(fs, m, e, NULL, visit, ctx);
}

static int visit_parent(void *ctx, const qp_fs_mdir_t *m, const lfs1_entry_t *e) {
    (void)m;
    // Upper nibble 2 is the dir-pointer layout; the superblock entry (0x2e) has it too, which
    // makes the superblock the root's parent and lets the root be relocated like any pair.
    return (e->type & 0x70) == 0x20 && lfs1_pair_overlap(e->u, ctx);
}

// Finds the entry pointing at directory `pair`. 1 found (*pm, *e), 0 not.
static int find_parent(qp_fs_t *fs, const uint32_t pair[2], qp_fs_mdir_t *pm, lfs1_entry_t *e) {
    return walk_entries(fs, pm, e, visit_parent, (void *)pair);
}

static int visit_moved(void *ctx, const qp_fs_mdir_t *m, const lfs1_entry_t *e) {
    const uint32_t *u = ctx;
    if (lfs1_pair_same(m->pair, superblock_pair)) {
        return 0; // the superblock entry's root pointer is not a copy of anything
    }
    return !(e->type & LFS1_T_MOVED) && (e->type == LFS1_T_REG || e->type == LFS1_T_DIR) &&
           e->u[0] == u[0] && e->u[1] == u[1];
}

// Whether an entry flagged as moved already exists, unflagged, at its destination: the
// same data (dir pair, or file head and size) elsewhere (SPEC-fs §4.2).
static int is_moved(qp_fs_t *fs, const lfs1_entry_t *moved) {
    qp_fs_mdir_t m;
    lfs1_entry_t e;
    return walk_entries(fs, &m, &e, visit_moved, (void *)moved->u);
}

// After a pair moved to new blocks, point its parent entry (or its predecessor's tail) at
// the new pair (SPEC-fs §3.3). A cut in between leaves a desync the deorphan pass repairs.
static int relocate_refs(qp_fs_t *fs, const uint32_t oldpair[2], const uint32_t newpair[2]) {
    qp_fs_mdir_t pm, pred;
    lfs1_entry_t e;
    int has_pred = find_pred(fs, oldpair, &pred);
    if (has_pred < 0) {
        return has_pred;
    }
    int res = find_parent(fs, oldpair, &pm, &e);
    if (res < 0) {
        return res;
    }
    if (res) {
        e.u[0] = newpair[0];
        e.u[1] = newpair[1];
        // Parent entry and predecessor tail in the same pair (the root under the
        // superblock, a directory right after its parent): one commit updates both, so no
        // cut can leave them disagreeing.
        bool both = has_pred && lfs1_pair_same(pm.pair, pred.pair);
        if (both) {
            pm.tail[0] = newpair[0];
            pm.tail[1] = newpair[1];
        }
        int err = qp_fs_lfs1_entry_update(fs, &pm, &e);
        if (err < 0) {
            return err;
        }
        if (lfs1_pair_overlap(oldpair, fs->root)) {
            fs->root[0] = newpair[0];
            fs->root[1] = newpair[1];
        }
        if (both) {
            return 0;
        }
        has_pred = find_pred(fs, oldpair, &pred); // the parent's commit may have moved it
        if (has_pred < 0) {
            return has_pred;
        }
    }
    if (!has_pred) {
        return 0; // not linked yet (a pair being created), nothing to fix
    }
    pred.tail[0] = newpair[0];
    pred.tail[1] = newpair[1];
    return qp_fs_lfs1_commit(fs, &pred, NULL, 0);
}

// Keeps open handles on a pair in step with a commit: new blocks after a relocation, entry
// offsets shifted by removed or resized entries, and files whose entry went away detached.
static void fix_handles(qp_fs_t *fs, const uint32_t oldpair[2], const qp_fs_mdir_t *m,
                        const lfs1_region_t *r, int count) {
    for (qp_fs_file_t *f = fs->files; f; f = f->next) {
        if (!lfs1_pair_overlap(f->pair, oldpair)) {
            continue;
        }
        int64_t shift = 0;
        bool gone = false;
        for (int i = 0; i < count; i++) {
            if (r[i].oldoff == f->poff && r[i].oldlen > 0 && r[i].newlen == 0) {
                gone = true;
            } else if (r[i].oldoff < f->poff && r[i].oldoff + r[i].oldlen <= f->poff) {
                shift += (int64_t)r[i].newlen - r[i].oldlen;
            }
        }
        if (gone) {
            f->pair[0] = f->pair[1] = QP_FS_BLOCK_NULL;
        } else {
            f->pair[0] = m->pair[0];
            f->pair[1] = m->pair[1];
            f->poff = (uint32_t)(f->poff + shift);
        }
    }
    for (qp_fs_dir_t *d = fs->dirs; d; d = d->next) {
        if (!lfs1_pair_overlap(d->m.pair, oldpair)) {
            continue;
        }
        int64_t shift = 0;
        for (int i = 0; i < count; i++) {
            if (r[i].oldoff < d->off && r[i].oldoff + r[i].oldlen <= d->off) {
                shift += (int64_t)r[i].newlen - r[i].oldlen;
            }
        }
        d->m = *m;
        d->off = (uint32_t)(d->off + shift);
        if (lfs1_pair_overlap(d->head, oldpair)) {
            d->head[0] = m->pair[0];
            d->head[1] = m->pair[1];
        }
    }
}

// Writes the whole new image of the pair into its older block: header, the old contents
// with `r` applied (sorted by oldoff), CRC. Bad blocks (QP_ERR_CORRUPT from the device or
// from verification) and block_cycles move the written half to a fresh block.
static int commit_once(qp_fs_t *fs, qp_fs_mdir_t *m, const uint32_t src,
                       const lfs1_region_t *r, int count) {
    int err = qp_fs_bd_erase(fs, m->pair[0]);
    if (err < 0) {
        return err;
    }
    uint8_t hdr[LFS1_DIR_HDR];
    qp_fs_put32(hdr, m->rev);
    qp_fs_put32(hdr + 4, m->size);
    qp_fs_put32(hdr + 8, m->tail[0]);
    qp_fs_put32(hdr + 12, m->tail[1]);
    uint32_t crc = qp_fs_bd_crc32(0xffffffff, hdr, sizeof(hdr));
    err = qp_fs_bd_prog(fs, &fs->pcache, m->pair[0], 0, hdr, sizeof(hdr));
    if (err < 0) {
        return err;
    }
    uint32_t end = (m->size & LFS1_SIZE_MASK) - 4;
    uint32_t oldoff = LFS1_DIR_HDR, newoff = LFS1_DIR_HDR;
    int i = 0;
    while (newoff < end) {
        if (i < count && r[i].oldoff == oldoff) {
            if (r[i].newlen) {
                crc = qp_fs_bd_crc32(crc, r[i].newdata, r[i].newlen);
                err = qp_fs_bd_prog(fs, &fs->pcache, m->pair[0], newoff, r[i].newdata,
                                    r[i].newlen);
                if (err < 0) {
                    return err;
                }
            }
            oldoff += r[i].oldlen;
            newoff += r[i].newlen;
            i++;
            continue;
        }
        uint8_t chunk[32];
        uint32_t n = qp_fs_min(sizeof(chunk), end - newoff);
        if (i < count) {
            n = qp_fs_min(n, r[i].oldoff - oldoff);
        }
        err = qp_fs_bd_read(fs, &fs->rcache, NULL, src, oldoff, chunk, n);
        if (err < 0) {
            return err;
        }
        crc = qp_fs_bd_crc32(crc, chunk, n);
        err = qp_fs_bd_prog(fs, &fs->pcache, m->pair[0], newoff, chunk, n);
        if (err < 0) {
            return err;
        }
        oldoff += n;
        newoff += n;
    }
    uint8_t crcb[4];
    qp_fs_put32(crcb, crc);
    err = qp_fs_bd_prog(fs, &fs->pcache, m->pair[0], newoff, crcb, 4);
    if (err < 0) {
        return err;
    }
    return qp_fs_bd_sync(fs);
}

int qp_fs_lfs1_commit(qp_fs_t *fs, qp_fs_mdir_t *m, const lfs1_region_t *r, int count) {
    const uint32_t oldpair[2] = {m->pair[0], m->pair[1]};
    m->rev += 1;
    // Write into the older block; the newer one (pair[0]) is the source of the old bytes.
    uint32_t src = m->pair[0];
    m->pair[0] = oldpair[1];
    m->pair[1] = oldpair[0];
    for (int i = 0; i < count; i++) {
        m->size += r[i].newlen - r[i].oldlen;
    }
    QP_ASSERT((m->size & LFS1_SIZE_MASK) <= fs->cfg->block_size);
    bool is_super = lfs1_pair_same(oldpair, superblock_pair);
    bool relocated = false;
    // Wear: every block_cycles-th revision moves the half being written to a fresh block
    // (SPEC-fs §3.4). Revisions alternate between the halves, so an odd period is used to
    // move both in turn. The superblock stays at blocks 0/1, where a reader looks for it.
    uint32_t period = (uint32_t)fs->cfg->block_cycles | 1;
    bool wear = fs->cfg->block_cycles > 0 && !is_super && !lfs1_pair_null(fs->root) &&
                m->rev % period == 0;
    if (wear) {
        // A full flash just skips the move: wear levelling must never cause ENOSPC.
        uint32_t nb;
        int err = qp_fs_block_alloc(fs, &nb);
        if (err < 0 && err != QP_ERR_NOSPC) {
            return err;
        }
        if (err == 0) {
            m->pair[0] = nb;
            relocated = true;
        }
    }
    for (uint32_t tries = 0;; tries++) {
        int err = commit_once(fs, m, src, r, count);
        if (err == 0) {
            break;
        }
        qp_fs_bd_zero(fs, &fs->pcache);
        if (err != QP_ERR_CORRUPT) {
            return err;
        }
        if (is_super || tries > fs->block_count) {
            return QP_ERR_CORRUPT; // nowhere else to put it: the file system is frozen
        }
        relocated = true;
        err = qp_fs_block_alloc(fs, &m->pair[0]);
        if (err < 0) {
            return err;
        }
    }
    if (relocated) {
        int err = relocate_refs(fs, oldpair, m->pair);
        if (err < 0) {
            return err;
        }
    }
    fix_handles(fs, oldpair, m, r, count);
    return 0;
}

// ---- Entries (SPEC-fs §2.4) ----

int qp_fs_lfs1_entry_read(qp_fs_t *fs, const qp_fs_mdir_t *m, uint32_t off, lfs1_entry_t *e) {
    uint32_t end = (m->size & LFS1_SIZE_MASK) - 4;
    uint8_t b[LFS1_ENTRY_FIXED];
    if (off + LFS1_ENTRY_HDR > end) {
        return QP_ERR_CORRUPT;
    }
    int err = qp_fs_bd_read(fs, &fs->rcache, NULL, m->pair[0], off, b, LFS1_ENTRY_HDR);
    if (err < 0) {
        return err;
    }
    e->off = off;
    e->type = b[0];
    e->elen = b[1];
    e->alen = b[2];
    e->nlen = b[3];
    e->u[0] = e->u[1] = QP_FS_BLOCK_NULL;
    if (off + lfs1_entry_size(e) > end) {
        return QP_ERR_CORRUPT;
    }
    uint8_t kind = e->type & 0x7f;
    if (kind == LFS1_T_REG || kind == LFS1_T_DIR || kind == LFS1_T_SUPER) {
        if (e->elen < 8) {
            return QP_ERR_CORRUPT;
        }
        err = qp_fs_bd_read(fs, &fs->rcache, NULL, m->pair[0], off + 4, b + 4, 8);
        if (err < 0) {
            return err;
        }
        e->u[0] = qp_fs_get32(b + 4);
        e->u[1] = qp_fs_get32(b + 8);
    }
    return 0;
}

static void entry_encode(const lfs1_entry_t *e, uint8_t b[LFS1_ENTRY_FIXED]) {
    b[0] = e->type;
    b[1] = e->elen;
    b[2] = e->alen;
    b[3] = e->nlen;
    qp_fs_put32(b + 4, e->u[0]);
    qp_fs_put32(b + 8, e->u[1]);
}

int qp_fs_lfs1_entry_update(qp_fs_t *fs, qp_fs_mdir_t *m, const lfs1_entry_t *e) {
    uint8_t b[LFS1_ENTRY_FIXED];
    entry_encode(e, b);
    lfs1_region_t r = {e->off, LFS1_ENTRY_FIXED, b, LFS1_ENTRY_FIXED};
    return qp_fs_lfs1_commit(fs, m, &r, 1);
}

int qp_fs_lfs1_append(qp_fs_t *fs, qp_fs_mdir_t *m, lfs1_entry_t *e, const char *name) {
    uint8_t b[LFS1_ENTRY_FIXED];
    uint32_t esize = lfs1_entry_size(e);
    for (uint32_t hops = 0; hops <= fs->block_count; hops++) {
        if (!(m->size & LFS1_SIZE_CONT) && m->size + esize <= fs->cfg->block_size) {
            e->off = m->size - 4;
            entry_encode(e, b);
            lfs1_region_t r[2] = {{e->off, 0, b, LFS1_ENTRY_FIXED},
                                  {e->off, 0, name, e->nlen}};
            return qp_fs_lfs1_commit(fs, m, r, 2);
        }
        if (!(m->size & LFS1_SIZE_CONT)) {
            // Last pair is full: start a new one holding the entry, then link it in as the
            // continuation. Until the link is committed the new pair is unreachable, so a
            // cut leaves only free blocks behind.
            qp_fs_mdir_t old = *m;
            int err = pair_alloc(fs, m);
            if (err < 0) {
                return err;
            }
            m->tail[0] = old.tail[0];
            m->tail[1] = old.tail[1];
            e->off = m->size - 4;
            entry_encode(e, b);
            lfs1_region_t r[2] = {{e->off, 0, b, LFS1_ENTRY_FIXED},
                                  {e->off, 0, name, e->nlen}};
            err = qp_fs_lfs1_commit(fs, m, r, 2);
            if (err < 0) {
                return err;
            }
            old.size |= LFS1_SIZE_CONT;
            old.tail[0] = m->pair[0];
            old.tail[1] = m->pair[1];
            return qp_fs_lfs1_commit(fs, &old, NULL, 0);
        }
        int err = qp_fs_lfs1_fetch(fs, m, m->tail);
        if (err < 0) {
            return err;
        }
    }
    return QP_ERR_CORRUPT;
}

// Removes entry e from pair *m. A pair of a multi-pair directory left empty is unlinked
// instead (its predecessor takes over its tail), as littlefs v1 does.
static int entry_remove(qp_fs_t *fs, qp_fs_mdir_t *m, const lfs1_entry_t *e) {
    uint32_t esize = lfs1_entry_size(e);
    if ((m->size & LFS1_SIZE_MASK) == LFS1_DIR_EMPTY + esize) {
        qp_fs_mdir_t p;
        int res = find_pred(fs, m->pair, &p);
        if (res < 0) {
            return res;
        }
        if (res && (p.size & LFS1_SIZE_CONT)) {
            p.size = (p.size & LFS1_SIZE_MASK) | (m->size & LFS1_SIZE_CONT);
            p.tail[0] = m->tail[0];
            p.tail[1] = m->tail[1];
            int err = qp_fs_lfs1_commit(fs, &p, NULL, 0);
            if (err < 0) {
                return err;
            }
            lfs1_region_t gone = {e->off, esize, NULL, 0};
            fix_handles(fs, m->pair, m, &gone, 1);
            return 0;
        }
    }
    lfs1_region_t r = {e->off, esize, NULL, 0};
    return qp_fs_lfs1_commit(fs, m, &r, 1);
}

// Next entry of a directory, following continuation pairs. QP_ERR_NOENT at the end.
static int dir_next(qp_fs_t *fs, qp_fs_mdir_t *m, uint32_t *off, uint32_t *hops,
                    lfs1_entry_t *e) {
    while (*off + LFS1_ENTRY_HDR > (m->size & LFS1_SIZE_MASK) - 4) {
        if (!(m->size & LFS1_SIZE_CONT)) {
            return QP_ERR_NOENT;
        }
        if (++*hops > fs->block_count) {
            return QP_ERR_CORRUPT;
        }
        int err = qp_fs_lfs1_fetch(fs, m, m->tail);
        if (err < 0) {
            return err;
        }
        *off = LFS1_DIR_HDR;
    }
    int err = qp_fs_lfs1_entry_read(fs, m, *off, e);
    if (err < 0) {
        return err;
    }
    *off += lfs1_entry_size(e);
    return 0;
}

// ---- Paths ----

static void root_entry(qp_fs_t *fs, lfs1_entry_t *e) {
    memset(e, 0, sizeof(*e));
    e->type = LFS1_T_DIR;
    e->elen = 8;
    e->u[0] = fs->root[0];
    e->u[1] = fs->root[1];
}

int qp_fs_lfs1_find(qp_fs_t *fs, const char *path, lfs1_lookup_t *l, const uint32_t *forbid,
                    bool *parent_found) {
    const char *p = path;
    uint32_t len = 0;
    *parent_found = false;
    root_entry(fs, &l->e);
    l->is_root = true;
    l->name = NULL;
    l->nlen = 0;
    const char *name = qp_fs_path_next(&p, &len);
    while (name) {
        if (l->e.type != LFS1_T_DIR) {
            return QP_ERR_NOTDIR;
        }
        if (forbid && lfs1_pair_overlap(l->e.u, forbid)) {
            return QP_ERR_INVAL; // e.g. moving a directory into itself
        }
        l->name = name;
        l->nlen = len;
        uint32_t dirpair[2] = {l->e.u[0], l->e.u[1]};
        int err = qp_fs_lfs1_fetch(fs, &l->cwd, dirpair);
        if (err < 0) {
            return err;
        }
        const char *rest = p;
        uint32_t restlen;
        bool last = qp_fs_path_next(&rest, &restlen) == NULL;
        if (len > fs->name_max) {
            return QP_ERR_NAMETOOLONG;
        }
        uint32_t off = LFS1_DIR_HDR, hops = 0;
        for (;;) {
            err = dir_next(fs, &l->cwd, &off, &hops, &l->e);
            if (err == QP_ERR_NOENT) {
                *parent_found = last;
                return QP_ERR_NOENT;
            }
            if (err < 0) {
                return err;
            }
            uint8_t kind = l->e.type & 0x7f;
            if ((kind != LFS1_T_REG && kind != LFS1_T_DIR) || l->e.nlen != len) {
                continue;
            }
            int res = qp_fs_bd_cmp(fs, l->cwd.pair[0],
                                   l->e.off + LFS1_ENTRY_HDR + l->e.elen + l->e.alen, name,
                                   len);
            if (res < 0) {
                return res;
            }
            if (!res) {
                continue;
            }
            if ((l->e.type & LFS1_T_MOVED) && !fs->moving) {
                res = is_moved(fs, &l->e);
                if (res < 0) {
                    return res;
                }
                if (res) {
                    continue; // its new copy is the live one
                }
            }
            l->e.type = kind;
            break;
        }
        l->is_root = false;
        name = qp_fs_path_next(&p, &len);
    }
    return 0;
}

// ---- Deorphan (SPEC-fs §4) ----

// One repair pass. Returns 1 when it changed something (the caller restarts the walk,
// because offsets and pairs it held may have moved), 0 when the list is clean.
static int deorphan_pass(qp_fs_t *fs) {
    qp_fs_mdir_t prev, cwd;
    bool have_prev = false;
    uint32_t next[2] = {0, 1};
    for (uint32_t hops = 0; !lfs1_pair_null(next); hops++) {
        if (hops > fs->block_count) {
            return QP_ERR_CORRUPT;
        }
        int err = qp_fs_lfs1_fetch(fs, &cwd, next);
        if (err < 0) {
            return err;
        }
        if (have_prev && !(prev.size & LFS1_SIZE_CONT)) {
            // cwd starts a directory: it needs a parent entry pointing at it.
            qp_fs_mdir_t pm;
            lfs1_entry_t pe;
            int res = find_parent(fs, cwd.pair, &pm, &pe);
            if (res < 0) {
                return res;
            }
            if (!res) {
                // Orphan: its entry was removed but the cut came before the unlink.
                prev.tail[0] = cwd.tail[0];
                prev.tail[1] = cwd.tail[1];
                err = qp_fs_lfs1_commit(fs, &prev, NULL, 0);
                return err < 0 ? err : 1;
            }
            if (!lfs1_pair_same(pe.u, prev.tail)) {
                // Desync: the parent was updated to a relocated pair, the tail was not.
                prev.tail[0] = pe.u[0];
                prev.tail[1] = pe.u[1];
                err = qp_fs_lfs1_commit(fs, &prev, NULL, 0);
                return err < 0 ? err : 1;
            }
        }
        uint32_t end = (cwd.size & LFS1_SIZE_MASK) - 4;
        for (uint32_t off = LFS1_DIR_HDR; off + LFS1_ENTRY_HDR <= end;) {
            lfs1_entry_t e;
            err = qp_fs_lfs1_entry_read(fs, &cwd, off, &e);
            if (err < 0) {
                return err;
            }
            off += lfs1_entry_size(&e);
            if (!(e.type & LFS1_T_MOVED)) {
                continue;
            }
            int res = is_moved(fs, &e);
            if (res < 0) {
                return res;
            }
            if (res) {
                err = entry_remove(fs, &cwd, &e); // the move completed: drop the source
            } else {
                e.type &= (uint8_t)~LFS1_T_MOVED; // it never arrived: keep the source
                err = qp_fs_lfs1_entry_update(fs, &cwd, &e);
            }
            return err < 0 ? err : 1;
        }
        prev = cwd;
        have_prev = true;
        next[0] = cwd.tail[0];
        next[1] = cwd.tail[1];
    }
    return 0;
}

int qp_fs_lfs1_deorphan(qp_fs_t *fs) {
    fs->deorphaned = 1;
    for (uint32_t i = 0; i <= fs->block_count; i++) {
        int res = deorphan_pass(fs);
        if (res <= 0) {
            return res;
        }
    }
    return QP_ERR_CORRUPT;
}

static int ensure_deorphaned(qp_fs_t *fs) {
    return fs->deorphaned ? 0 : qp_fs_lfs1_deorphan(fs);
}

// ---- Operations ----

static int lfs1_stat(qp_fs_t *fs, const char *path, qp_fs_info_t *info) {
    lfs1_lookup_t l;
    bool pf;
    int err = qp_fs_lfs1_find(fs, path, &l, NULL, &pf);
    if (err < 0) {
        return err;
    }
    memset(info, 0, sizeof(*info));
    if (l.is_root) {
        info->type = QP_FS_TYPE_DIR;
        info->name[0] = '/';
        return 0;
    }
    info->type = l.e.type == LFS1_T_DIR ? QP_FS_TYPE_DIR : QP_FS_TYPE_REG;
    info->size = l.e.type == LFS1_T_REG ? l.e.u[1] : 0;
    memcpy(info->name, l.name, l.nlen);
    return 0;
}

static int lfs1_mkdir(qp_fs_t *fs, const char *path) {
    int err = ensure_deorphaned(fs);
    if (err < 0) {
        return err;
    }
    lfs1_lookup_t l;
    bool parent_found;
    err = qp_fs_lfs1_find(fs, path, &l, NULL, &parent_found);
    if (err == 0) {
        return QP_ERR_EXIST;
    }
    if (err != QP_ERR_NOENT || !parent_found) {
        return err;
    }
    qp_fs_block_ack(fs);
    // The new pair goes into the threaded list right after the parent's last pair, which
    // keeps "a directory's pairs are followed by its children" true for the deorphan pass.
    qp_fs_mdir_t d;
    err = pair_alloc(fs, &d);
    if (err < 0) {
        return err;
    }
    d.tail[0] = l.cwd.tail[0];
    d.tail[1] = l.cwd.tail[1];
    err = qp_fs_lfs1_commit(fs, &d, NULL, 0);
    if (err < 0) {
        return err;
    }
    lfs1_entry_t e = {.type = LFS1_T_DIR, .elen = 8, .nlen = (uint8_t)l.nlen,
                      .u = {d.pair[0], d.pair[1]}};
    l.cwd.tail[0] = d.pair[0];
    l.cwd.tail[1] = d.pair[1];
    err = qp_fs_lfs1_append(fs, &l.cwd, &e, l.name);
    if (err < 0) {
        return err;
    }
    qp_fs_block_ack(fs);
    return 0;
}

// Unlinks the (empty) directory pair `d` from the threaded list after its entry is gone.
static int unlink_dir(qp_fs_t *fs, const qp_fs_mdir_t *d) {
    qp_fs_mdir_t p;
    int res = find_pred(fs, d->pair, &p);
    if (res <= 0) {
        return res < 0 ? res : QP_ERR_CORRUPT;
    }
    p.tail[0] = d->tail[0];
    p.tail[1] = d->tail[1];
    return qp_fs_lfs1_commit(fs, &p, NULL, 0);
}

static int lfs1_remove(qp_fs_t *fs, const char *path) {
    int err = ensure_deorphaned(fs);
    if (err < 0) {
        return err;
    }
    lfs1_lookup_t l;
    bool pf;
    err = qp_fs_lfs1_find(fs, path, &l, NULL, &pf);
    if (err < 0) {
        return err;
    }
    if (l.is_root) {
        return QP_ERR_INVAL;
    }
    qp_fs_mdir_t d;
    if (l.e.type == LFS1_T_DIR) {
        err = qp_fs_lfs1_fetch(fs, &d, l.e.u);
        if (err < 0) {
            return err;
        }
        // Raw compare: a continued head pair is never empty.
        if (d.size != LFS1_DIR_EMPTY) {
            return QP_ERR_NOTEMPTY;
        }
    }
    err = entry_remove(fs, &l.cwd, &l.e);
    if (err < 0) {
        return err;
    }
    if (l.e.type == LFS1_T_DIR) {
        // A cut before this commit leaves an orphan the deorphan pass unlinks.
        err = unlink_dir(fs, &d);
    }
    return err;
}

struct empty_head {
    uint32_t next;        // the head to use: past every other empty file's head
    const uint32_t *pair; // the entry being renamed, which does not count
    uint32_t off;
};

static int visit_empty_head(void *ctx, const qp_fs_mdir_t *m, const lfs1_entry_t *e) {
    struct empty_head *h = ctx;
    if ((e->type & 0x7f) == LFS1_T_REG && e->u[1] == 0 && e->u[0] != QP_FS_BLOCK_NULL
        && e->u[0] >= h->next && !(lfs1_pair_same(m->pair, h->pair) && e->off == h->off)) {
        h->next = e->u[0] + 1;
    }
    return 0;
}

// A head for the empty file at `l` that no other empty file has: past every block and past
// every other such head on the disk (so at most block_count + the number of empty files).
static int unique_empty_head(qp_fs_t *fs, const lfs1_lookup_t *l, uint32_t *head) {
    qp_fs_mdir_t m;
    lfs1_entry_t e;
    struct empty_head h = {fs->block_count, l->cwd.pair, l->e.off};
    int err = walk_entries(fs, &m, &e, visit_empty_head, &h);
    if (err < 0) {
        return err;
    }
    if (h.next == QP_FS_BLOCK_NULL) {
        return QP_ERR_CORRUPT; // empty files cannot have taken every head: a forged image
    }
    *head = h.next;
    return 0;
}

static int lfs1_rename(qp_fs_t *fs, const char *oldpath, const char *newpath) {
    int err = ensure_deorphaned(fs);
    if (err < 0) {
        return err;
    }
    lfs1_lookup_t o, n;
    bool pf;
    err = qp_fs_lfs1_find(fs, oldpath, &o, NULL, &pf);
    if (err < 0) {
        return err;
    }
    if (o.is_root) {
        return QP_ERR_INVAL;
    }
    const uint32_t *forbid = o.e.type == LFS1_T_DIR ? o.e.u : NULL;
    bool parent_found;
    err = qp_fs_lfs1_find(fs, newpath, &n, forbid, &parent_found);
    if (err < 0 && (err != QP_ERR_NOENT || !parent_found)) {
        return err;
    }
    bool exists = err == 0;
    if (exists && n.is_root) {
        return QP_ERR_INVAL;
    }
    if (forbid && exists && n.e.type == LFS1_T_DIR && lfs1_pair_overlap(n.e.u, forbid)) {
        return 0; // renaming a directory onto itself
    }
    qp_fs_mdir_t prevdir;
    if (exists) {
        if (lfs1_pair_same(n.cwd.pair, o.cwd.pair) && n.e.off == o.e.off) {
            return 0; // same entry: nothing to do (v1 would delete it, SPEC-fs §5)
        }
        if (n.e.type != o.e.type) {
            return n.e.type == LFS1_T_DIR ? QP_ERR_ISDIR : QP_ERR_NOTDIR;
        }
        if (n.e.type == LFS1_T_DIR) {
            err = qp_fs_lfs1_fetch(fs, &prevdir, n.e.u);
            if (err < 0) {
                return err;
            }
            if (prevdir.size != LFS1_DIR_EMPTY) {
                return QP_ERR_NOTEMPTY;
            }
        }
    }

    if (o.e.type == LFS1_T_REG && o.e.u[1] == 0) {
        // Every empty file's entry holds the same data (no head, size 0), so is_moved() would
        // take any other empty file for this one's destination and a cut after step 1 would
        // lose it. The head of an empty file is never read (by littlefs v1 either), so this
        // move gets a head of its own that the source and destination share (2026-11-25,
        // found by the power-cut campaign; SPEC-fs §4.2).
        err = unique_empty_head(fs, &o, &o.e.u[0]);
        if (err < 0) {
            return err;
        }
    }

    // 1. Flag the source as moved. From here a cut is resolved by deorphan: the flag is
    //    cleared if the destination was never written, else the source is dropped.
    lfs1_entry_t moved = o.e;
    moved.type |= LFS1_T_MOVED;
    err = qp_fs_lfs1_entry_update(fs, &o.cwd, &moved);
    if (err < 0) {
        return err;
    }
    // The destination's pair may be the one just rewritten; fetch it again.
    err = qp_fs_lfs1_fetch(fs, &n.cwd, n.cwd.pair);
    if (err < 0) {
        return err;
    }

    // 2. Write the destination entry (same data, no attributes, the new name).
    lfs1_entry_t ne = {.type = o.e.type, .elen = 8, .nlen = (uint8_t)n.nlen,
                       .u = {o.e.u[0], o.e.u[1]}};
    if (exists) {
        // Open handles on the replaced file must not later write their state over the
        // entry that now holds the moved data: detach them first.
        for (qp_fs_file_t *f = fs->files; f; f = f->next) {
            if (lfs1_pair_overlap(f->pair, n.cwd.pair) && f->poff == n.e.off) {
                f->pair[0] = f->pair[1] = QP_FS_BLOCK_NULL;
            }
        }
        uint8_t b[LFS1_ENTRY_FIXED];
        entry_encode(&ne, b);
        ne.off = n.e.off;
        lfs1_region_t r[2] = {{n.e.off, LFS1_ENTRY_FIXED, b, LFS1_ENTRY_FIXED},
                              {n.e.off + LFS1_ENTRY_FIXED, lfs1_entry_size(&n.e) -
                                                               LFS1_ENTRY_FIXED,
                               n.name, n.nlen}};
        err = qp_fs_lfs1_commit(fs, &n.cwd, r, 2);
    } else {
        err = qp_fs_lfs1_append(fs, &n.cwd, &ne, n.name);
    }
    if (err < 0) {
        return err;
    }

    // 3. Find the source again (the commits above may have moved it) and remove it.
    fs->moving = 1;
    err = qp_fs_lfs1_find(fs, oldpath, &o, NULL, &pf);
    fs->moving = 0;
    if (err < 0) {
        return err;
    }
    // Open handles on the source follow it to the destination.
    for (qp_fs_file_t *f = fs->files; f; f = f->next) {
        if (lfs1_pair_overlap(f->pair, o.cwd.pair) && f->poff == o.e.off) {
            f->pair[0] = n.cwd.pair[0];
            f->pair[1] = n.cwd.pair[1];
            f->poff = ne.off;
        }
    }
    if (lfs1_pair_same(o.cwd.pair, n.cwd.pair)) {
        o.cwd = n.cwd; // same pair: use the freshest copy
    }
    err = entry_remove(fs, &o.cwd, &o.e);
    if (err < 0) {
        return err;
    }

    // 4. A replaced directory leaves the threaded list.
    if (exists && n.e.type == LFS1_T_DIR) {
        err = unlink_dir(fs, &prevdir);
    }
    return err;
}

static int lfs1_dir_open(qp_fs_t *fs, qp_fs_dir_t *dir, const char *path) {
    lfs1_lookup_t l;
    bool pf;
    int err = qp_fs_lfs1_find(fs, path, &l, NULL, &pf);
    if (err < 0) {
        return err;
    }
    if (l.e.type != LFS1_T_DIR) {
        return QP_ERR_NOTDIR;
    }
    err = qp_fs_lfs1_fetch(fs, &dir->m, l.e.u);
    if (err < 0) {
        return err;
    }
    dir->head[0] = dir->m.pair[0];
    dir->head[1] = dir->m.pair[1];
    dir->off = LFS1_DIR_HDR;
    dir->hops = 0;
    return 0;
}

static int lfs1_dir_rewind(qp_fs_t *fs, qp_fs_dir_t *dir) {
    int err = qp_fs_lfs1_fetch(fs, &dir->m, dir->head);
    if (err < 0) {
        return err;
    }
    dir->off = LFS1_DIR_HDR;
    dir->hops = 0;
    return 0;
}

static int lfs1_dir_read(qp_fs_t *fs, qp_fs_dir_t *dir, qp_fs_info_t *info) {
    lfs1_entry_t e;
    for (;;) {
        int err = dir_next(fs, &dir->m, &dir->off, &dir->hops, &e);
        if (err == QP_ERR_NOENT) {
            return 0;
        }
        if (err < 0) {
            return err;
        }
        uint8_t kind = e.type & 0x7f;
        if (kind != LFS1_T_REG && kind != LFS1_T_DIR) {
            continue;
        }
        if (e.type & LFS1_T_MOVED) {
            int res = is_moved(fs, &e);
            if (res < 0) {
                return res;
            }
            if (res) {
                continue;
            }
        }
        memset(info, 0, sizeof(*info));
        info->type = kind == LFS1_T_DIR ? QP_FS_TYPE_DIR : QP_FS_TYPE_REG;
        info->size = kind == LFS1_T_REG ? e.u[1] : 0;
        uint32_t n = qp_fs_min(e.nlen, QP_FS_NAME_MAX);
        err = qp_fs_bd_read(fs, &fs->rcache, NULL, dir->m.pair[0],
                            e.off + LFS1_ENTRY_HDR + e.elen + e.alen, info->name, n);
        return err < 0 ? err : 1;
    }
}

struct traverse_ctx {
    qp_fs_t *fs;
    int (*cb)(void *data, uint32_t block);
    void *data;
};

static int traverse_pair(void *ctx, const qp_fs_mdir_t *m) {
    struct traverse_ctx *t = ctx;
    int err = t->cb(t->data, m->pair[0]);
    return err < 0 ? err : t->cb(t->data, m->pair[1]);
}

static int traverse_entry(void *ctx, const qp_fs_mdir_t *m, const lfs1_entry_t *e) {
    struct traverse_ctx *t = ctx;
    (void)m;
    if ((e->type & 0x70) != (LFS1_T_REG & 0x70)) {
        return 0;
    }
    int err = qp_fs_lfs1_ctz_traverse(t->fs, NULL, e->u[0], e->u[1], t->cb, t->data);
    return err < 0 ? err : 0;
}

static int lfs1_traverse(qp_fs_t *fs, int (*cb)(void *data, uint32_t block), void *data) {
    struct traverse_ctx t = {fs, cb, data};
    qp_fs_mdir_t m;
    lfs1_entry_t e;
    int err = walk_pairs(fs, &m, &e, traverse_pair, traverse_entry, &t);
    if (err < 0) {
        return err;
    }
    for (qp_fs_file_t *f = fs->files; f; f = f->next) {
        if (f->flags & QP_FS_F_DIRTY) {
            err = qp_fs_lfs1_ctz_traverse(fs, &f->cache, f->head, f->size, cb, data);
            if (err < 0) {
                return err;
            }
        }
        if (f->flags & QP_FS_F_WRITING) {
            err = qp_fs_lfs1_ctz_traverse(fs, &f->cache, f->block, f->pos, cb, data);
            if (err < 0) {
                return err;
            }
        }
    }
    return 0;
}

// ---- Format and mount (SPEC-fs §2.5) ----

#define SB_ELEN 20u // root pair, block size, block count, version
#define SB_SIZE (LFS1_ENTRY_HDR + SB_ELEN + 8u)

static int lfs1_format(qp_fs_t *fs) {
    fs->root[0] = fs->root[1] = QP_FS_BLOCK_NULL;
    qp_fs_block_reset(fs, 0);
    // Nothing is in use yet, so the first window needs no traversal: blocks 0 and 1 become
    // the superblock pair and 2, 3 the root, as littlefs lays them out.
    fs->free.size = qp_fs_min(fs->lookahead_size * 8, fs->block_count);
    memset(fs->free.map, 0, fs->lookahead_size);
    qp_fs_mdir_t super, root;
    int err = pair_alloc(fs, &super);
    if (err < 0) {
        return err;
    }
    err = pair_alloc(fs, &root);
    if (err < 0) {
        return err;
    }
    err = qp_fs_lfs1_commit(fs, &root, NULL, 0);
    if (err < 0) {
        return err;
    }
    fs->root[0] = root.pair[0];
    fs->root[1] = root.pair[1];

    uint8_t sb[SB_SIZE];
    sb[0] = LFS1_T_SUPER;
    sb[1] = SB_ELEN;
    sb[2] = 0;
    sb[3] = 8;
    qp_fs_put32(sb + 4, root.pair[0]);
    qp_fs_put32(sb + 8, root.pair[1]);
    qp_fs_put32(sb + 12, fs->cfg->block_size);
    qp_fs_put32(sb + 16, fs->block_count);
    qp_fs_put32(sb + 20, QP_FS_DISK_VERSION_LFS1);
    memcpy(sb + 24, "littlefs", 8);
    super.tail[0] = root.pair[0];
    super.tail[1] = root.pair[1];
    super.size = LFS1_DIR_HDR + SB_SIZE + 4;
    // Write both halves, so either alone is a valid superblock.
    bool valid = false;
    for (int i = 0; i < 2; i++) {
        lfs1_region_t r = {LFS1_DIR_HDR, SB_SIZE, sb, SB_SIZE};
        err = qp_fs_lfs1_commit(fs, &super, &r, 1);
        if (err < 0 && err != QP_ERR_CORRUPT) {
            return err;
        }
        valid = valid || err == 0;
    }
    if (!valid) {
        return QP_ERR_CORRUPT;
    }
    err = qp_fs_lfs1_fetch(fs, &super, superblock_pair);
    qp_fs_block_ack(fs);
    return err;
}

static int seed_pair(void *ctx, const qp_fs_mdir_t *m) {
    uint32_t *seed = ctx;
    *seed = *seed * 31 + m->rev;
    return 0;
}

static int lfs1_mount(qp_fs_t *fs) {
    qp_fs_mdir_t m;
    int err = qp_fs_lfs1_fetch(fs, &m, superblock_pair);
    if (err < 0) {
        return err;
    }
    uint8_t sb[SB_SIZE];
    if ((m.size & LFS1_SIZE_MASK) < LFS1_DIR_EMPTY + SB_SIZE) {
        return QP_ERR_CORRUPT;
    }
    err = qp_fs_bd_read(fs, &fs->rcache, NULL, m.pair[0], LFS1_DIR_HDR, sb, 4 + SB_ELEN);
    if (err < 0) {
        return err;
    }
    lfs1_entry_t e = {.off = LFS1_DIR_HDR, .type = sb[0], .elen = sb[1], .alen = sb[2],
                      .nlen = sb[3]};
    if (e.type != LFS1_T_SUPER || e.elen < SB_ELEN || e.nlen != 8 ||
        LFS1_DIR_HDR + lfs1_entry_size(&e) > (m.size & LFS1_SIZE_MASK) - 4) {
        return QP_ERR_CORRUPT;
    }
    int res = qp_fs_bd_cmp(fs, m.pair[0], LFS1_DIR_HDR + 4 + e.elen + e.alen, "littlefs", 8);
    if (res <= 0) {
        return res < 0 ? res : QP_ERR_CORRUPT;
    }
    uint32_t version = qp_fs_get32(sb + 20);
    if ((version >> 16) != (QP_FS_DISK_VERSION_LFS1 >> 16) ||
        (version & 0xffff) > (QP_FS_DISK_VERSION_LFS1 & 0xffff)) {
        return QP_ERR_NOTSUP;
    }
    uint32_t block_size = qp_fs_get32(sb + 12);
    uint32_t block_count = qp_fs_get32(sb + 16);
    if (block_size != fs->cfg->block_size || block_count < 4 ||
        (fs->cfg->block_count && block_count != fs->cfg->block_count)) {
        return QP_ERR_INVAL;
    }
    fs->block_count = block_count;
    fs->root[0] = qp_fs_get32(sb + 4);
    fs->root[1] = qp_fs_get32(sb + 8);

    // Walk and check every pair once, so corruption shows at mount rather than halfway
    // through an operation. The revisions seed the allocator: a different start after each
    // mount spreads writes over the partition (SPEC-fs §6).
    uint32_t seed = 0;
    err = walk_pairs(fs, &m, &e, seed_pair, NULL, &seed);
    if (err < 0) {
        return err;
    }
    err = qp_fs_lfs1_fetch(fs, &m, fs->root);
    if (err < 0) {
        return err;
    }
    qp_fs_block_reset(fs, seed % fs->block_count);
    // Repair what a cut may have left (an orphan, a relocation desync, a half-done rename)
    // now rather than at the first write, so readers never see the threaded list and the
    // tree disagree (SPEC-fs §4.3). It only writes when something needs repairing.
    return qp_fs_lfs1_deorphan(fs);
}

const struct qp_fs_ops qp_fs_lfs1_ops = {
    .disk_version = QP_FS_DISK_VERSION_LFS1,
    .format = lfs1_format,
    .mount = lfs1_mount,
    .traverse = lfs1_traverse,
    .stat = lfs1_stat,
    .remove = lfs1_remove,
    .rename = lfs1_rename,
    .mkdir = lfs1_mkdir,
    .dir_open = lfs1_dir_open,
    .dir_read = lfs1_dir_read,
    .dir_rewind = lfs1_dir_rewind,
    .file_open = qp_fs_lfs1_file_open,
    .file_sync = qp_fs_lfs1_file_sync,
    .file_read = qp_fs_lfs1_file_read,
    .file_write = qp_fs_lfs1_file_write,
    .file_seek = qp_fs_lfs1_file_seek,
    .file_size = qp_fs_lfs1_file_size,
    .file_truncate = qp_fs_lfs1_file_truncate,
};
