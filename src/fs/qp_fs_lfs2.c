// qp_fs_lfs2.c - littlefs v2 (disk versions 2.0 and 2.1) metadata: logs of tagged commits in
// metadata pairs, the global state (pending move, orphans), paths, directories, custom
// attributes, format and mount (docs/SPEC-fs.md §9, from littlefs's public SPEC.md).
//
// A metadata block is a revision count followed by commits; each commit is tags (XOR-chained,
// big-endian) ending in a CRC tag. Reads walk the log backwards from its last commit, which
// finds the newest tag for an entry and follows ids across creates and deletes. Writes append
// a commit when the block is known to be erased after the last one; otherwise (or when full)
// the pair is compacted into its other block, split in two when over half full, and moved to
// a fresh block when that block is bad or has taken block_cycles erases (wear levelling; the
// superblock pair {0, 1}, which cannot move, expands into a chain instead).
// File data (CTZ lists) is the v1 file layer's; inline files are in qp_fs_lfs2_file.c.
#include "lfs2_internal.h"

static const uint32_t sb_pair[2] = {0, 1};

#define L2_SB_SIZE 24u // version, block size, block count, name max, file max, attr max
#define L2_ATTR_MAX 1022u
#define L2_DEPTH_MAX 8u

static uint32_t get_be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static bool is_v20(const qp_fs_t *fs) {
    return fs->disk_version == QP_FS_DISK_VERSION_LFS2_0;
}

// ---- Global state (SPEC-fs §9.5) ----
// gstate[0] is the move tag (type DELETE + id of the entry to drop) with the orphan count in
// its size bits and bit 31 set while there are orphans; gstate[1..2] the pair of the move.

static uint32_t g_orphans(const uint32_t g[3]) { return g[0] & 0x1ff; }
static bool g_hasmove(const uint32_t g[3]) { return l2_type1(g[0]) != 0; }

static void g_orphans_add(qp_fs_t *fs, int delta) {
    uint32_t n = (uint32_t)((int)g_orphans(fs->gstate) + delta) & 0x1ff;
    fs->gstate[0] = (fs->gstate[0] & ~(0x1ffu | 0x80000000u)) | n | (n ? 0x80000000u : 0);
}

static void g_setmove(qp_fs_t *fs, uint32_t id, const uint32_t pair[2]) {
    fs->gstate[0] = (fs->gstate[0] & (0x80000000u | 0x3ffu)) |
                    (id == L2_ID_NONE ? 0 : L2_TAG(L2_T_DELETE, id, 0));
    fs->gstate[1] = pair ? pair[0] : 0;
    fs->gstate[2] = pair ? pair[1] : 0;
}

// ---- Fetch (SPEC-fs §9.3) ----

int qp_fs_lfs2_fetch(qp_fs_t *fs, qp_fs_mdir_t *m, const uint32_t pair[2]) {
    const uint32_t B = fs->cfg->block_size;
    if (pair[0] >= fs->block_count || pair[1] >= fs->block_count) {
        return QP_ERR_CORRUPT;
    }
    uint32_t revs[2];
    for (int i = 0; i < 2; i++) {
        uint8_t b[4];
        int err = qp_fs_bd_read(fs, &fs->rcache, NULL, pair[i], 0, b, 4);
        if (err < 0) {
            return err;
        }
        revs[i] = qp_fs_get32(b);
    }
    int r = (int32_t)(revs[1] - revs[0]) > 0 ? 1 : 0;
    for (int i = 0; i < 2; i++) {
        uint32_t block = pair[(r + i) % 2];
        uint32_t rev = revs[(r + i) % 2];
        uint8_t b[8];
        qp_fs_put32(b, rev);
        uint32_t crc = qp_fs_bd_crc32(0xffffffff, b, 4);
        uint32_t off = 4, ptag = 0xffffffff, tcount = 0, ttail[2] = {QP_FS_BLOCK_NULL,
                                                                       QP_FS_BLOCK_NULL};
        bool tsplit = false, found = false, maybe_erased = false;
        bool pend_fcrc = false, has_fcrc = false;
        uint32_t pend_fc[2] = {0, 0}, fc[2] = {0, 0};
        // Every step moves off forward by at least 4 bytes, so this ends within the block.
        while (off + 4 <= B) {
            int err = qp_fs_bd_read(fs, &fs->rcache, NULL, block, off, b, 4);
            if (err < 0) {
                return err;
            }
            uint32_t ncrc = qp_fs_bd_crc32(crc, b, 4);
            uint32_t tag = get_be32(b) ^ ptag;
            if (tag & 0x80000000u) {
                // Not programmed (or half-programmed): only erased if a commit just ended.
                maybe_erased = (l2_type3(ptag) & 0x780) == L2_T_CRC;
                break;
            }
            if (off + l2_dsize(tag) > B) {
                break;
            }
            ptag = tag;
            crc = ncrc;
            if ((l2_type3(tag) & 0x780) == L2_T_CRC) {
                if (l2_size(tag) < 4) {
                    break;
                }
                err = qp_fs_bd_read(fs, &fs->rcache, NULL, block, off + 4, b, 4);
                if (err < 0) {
                    return err;
                }
                if (qp_fs_get32(b) != crc) {
                    break;
                }
                // The CRC tag's chunk bit says which valid bit the next commit must carry.
                ptag ^= (l2_chunk(tag) & 1u) << 31;
                found = true;
                m->pair[0] = block;
                m->pair[1] = pair[(r + i + 1) % 2];
                m->rev = rev;
                m->off = off + l2_dsize(tag);
                m->etag = ptag;
                m->count = (uint16_t)tcount;
                m->tail[0] = ttail[0];
                m->tail[1] = ttail[1];
                m->split = tsplit;
                m->size = 0;
                has_fcrc = pend_fcrc;
                fc[0] = pend_fc[0];
                fc[1] = pend_fc[1];
                pend_fcrc = false;
                crc = 0xffffffff;
                off += l2_dsize(tag);
                continue;
            }
            err = qp_fs_bd_crc(fs, block, off + 4, l2_dsize(tag) - 4, &crc);
            if (err < 0) {
                return err;
            }
            uint32_t t1 = l2_type1(tag);
            if (t1 == L2_T_NAME) {
                if (l2_id(tag) != L2_ID_NONE && l2_id(tag) >= tcount) {
                    tcount = l2_id(tag) + 1;
                }
            } else if (t1 == L2_T_SPLICE) {
                if (l2_type3(tag) == L2_T_CREATE) {
                    tcount++;
                } else if (l2_type3(tag) == L2_T_DELETE) {
                    if (tcount == 0) {
                        break; // deleting from an empty pair: not a log we wrote
                    }
                    tcount--;
                }
            } else if (t1 == L2_T_TAIL) {
                if (l2_size(tag) < 8) {
                    break;
                }
                err = qp_fs_bd_read(fs, &fs->rcache, NULL, block, off + 4, b, 8);
                if (err < 0) {
                    return err;
                }
                tsplit = l2_chunk(tag) & 1;
                ttail[0] = qp_fs_get32(b);
                ttail[1] = qp_fs_get32(b + 4);
            } else if (l2_type3(tag) == L2_T_FCRC && l2_size(tag) >= 8) {
                err = qp_fs_bd_read(fs, &fs->rcache, NULL, block, off + 4, b, 8);
                if (err < 0) {
                    return err;
                }
                pend_fcrc = true;
                pend_fc[0] = qp_fs_get32(b);
                pend_fc[1] = qp_fs_get32(b + 4);
            }
            off += l2_dsize(tag);
        }
        if (!found) {
            continue; // no valid commit here: try the other block
        }
        if (m->count > 0x3fe) {
            return QP_ERR_CORRUPT;
        }
        // Can the next commit be appended? v2.1 proves the bytes after the commit erased
        // with its forward CRC. v2.0 has none; littlefs trusts an ending commit, we also
        // check that the next program unit reads erased, which catches a torn program there
        // as the forward CRC would (SPEC-fs §9.3, §9.10).
        m->erased = false;
        if (maybe_erased && m->off % fs->cfg->prog_size == 0) {
            if (is_v20(fs)) {
                uint32_t P = fs->cfg->prog_size;
                bool clean = m->off + P <= B;
                for (uint32_t u = 0; clean && u < P; u += sizeof(b)) {
                    uint32_t k = qp_fs_min(sizeof(b), P - u);
                    int err = qp_fs_bd_read(fs, &fs->rcache, NULL, m->pair[0], m->off + u, b, k);
                    if (err < 0) {
                        return err;
                    }
                    for (uint32_t j = 0; j < k; j++) {
                        clean = clean && b[j] == 0xff;
                    }
                }
                m->erased = clean;
            } else if (has_fcrc && fc[0] <= B - m->off) {
                uint32_t c = 0xffffffff;
                int err = qp_fs_bd_crc(fs, m->pair[0], m->off, fc[0], &c);
                if (err < 0) {
                    return err;
                }
                m->erased = c == fc[1];
            }
        }
        return 0;
    }
    return QP_ERR_CORRUPT;
}

// ---- Lookups: backwards over the log ----

// A walk from the newest tag of a log to the oldest (the XOR chain read backwards).
typedef struct walk {
    uint32_t off;  // start of the current tag
    uint32_t ntag; // the tag before it, once read
} walk_t;

static void walk_init(walk_t *w, const qp_fs_mdir_t *m) {
    w->off = m->off;
    w->ntag = m->etag;
}

// Steps to the previous tag: 1 with *tag (data at w->off + 4), 0 at the start of the block.
// off only decreases, by at least 4 bytes a step, so a walk ends.
static int walk_prev(qp_fs_t *fs, const qp_fs_mdir_t *m, walk_t *w, uint32_t *tag) {
    if (w->off < 4 + l2_dsize(w->ntag)) {
        return 0;
    }
    w->off -= l2_dsize(w->ntag);
    *tag = w->ntag & 0x7fffffff;
    uint8_t b[4];
    int err = qp_fs_bd_read(fs, &fs->rcache, NULL, m->pair[0], w->off, b, 4);
    if (err < 0) {
        return err;
    }
    w->ntag = (get_be32(b) ^ *tag) & 0x7fffffff;
    return 1;
}

// Follows entry *gid back across a create or delete tag: 1 when the tag created it (older
// tags belong to other entries), 0 otherwise.
static int follow_id(uint32_t tag, uint32_t *gid) {
    if (l2_type1(tag) != L2_T_SPLICE || l2_id(tag) > *gid) {
        return 0;
    }
    if (tag == L2_TAG(L2_T_CREATE, *gid, 0)) {
        return 1;
    }
    // Before this create (delete) our entry sat one id lower (higher).
    *gid = l2_type3(tag) == L2_T_CREATE ? *gid - 1 : *gid + 1;
    return *gid > 0x3fe ? QP_ERR_CORRUPT : 0;
}

// Finds the newest tag matching gtag under gmask; *doff gets its data's offset in pair[0].
static int32_t find_tag(qp_fs_t *fs, const qp_fs_mdir_t *m, uint32_t gmask, uint32_t gtag,
                        uint32_t *doff) {
    walk_t w;
    walk_init(&w, m);
    uint32_t gid = l2_id(gtag), tag;
    bool byid = l2_id(gmask) != 0 && gid != L2_ID_NONE; // id 0x3ff never moves
    int res;
    while ((res = walk_prev(fs, m, &w, &tag)) == 1) {
        if (byid) {
            res = follow_id(tag, &gid);
            if (res != 0) {
                return res < 0 ? res : QP_ERR_NOENT;
            }
        }
        if ((gmask & tag) == (gmask & l2_setid(gtag, gid))) {
            if (l2_isdelete(tag)) {
                return QP_ERR_NOENT;
            }
            *doff = w.off + 4;
            return (int32_t)l2_setid(tag, l2_id(gtag));
        }
    }
    return res < 0 ? res : QP_ERR_NOENT;
}

int32_t qp_fs_lfs2_get(qp_fs_t *fs, const qp_fs_mdir_t *m, uint32_t gmask, uint32_t gtag,
                       uint32_t goff, void *buf, uint32_t size) {
    uint32_t doff;
    int32_t tag = find_tag(fs, m, gmask, gtag, &doff);
    if (tag < 0) {
        return tag;
    }
    uint32_t len = l2_size((uint32_t)tag);
    if (size > 0 && goff < len) {
        int err = qp_fs_bd_read(fs, &fs->rcache, NULL, m->pair[0], doff + goff, buf,
                                qp_fs_min(size, len - goff));
        if (err < 0) {
            return err;
        }
    }
    return tag;
}

static int get_pair(qp_fs_t *fs, const qp_fs_mdir_t *m, uint32_t mask, uint32_t tag,
                    uint32_t out[2]) {
    uint8_t b[8];
    int32_t t = qp_fs_lfs2_get(fs, m, mask, tag, 0, b, 8);
    if (t < 0) {
        return t;
    }
    if (l2_size((uint32_t)t) < 8) {
        return QP_ERR_CORRUPT;
    }
    out[0] = qp_fs_get32(b);
    out[1] = qp_fs_get32(b + 4);
    return 0;
}

static int get_gdelta(qp_fs_t *fs, const qp_fs_mdir_t *m, uint32_t g[3]) {
    uint8_t b[12];
    memset(g, 0, 12);
    int32_t t = qp_fs_lfs2_get(fs, m, L2_TAG(0x7ff, 0x3ff, 0),
                               L2_TAG(L2_T_MOVESTATE, L2_ID_NONE, 0), 0, b, 12);
    if (t == QP_ERR_NOENT) {
        return 0;
    }
    if (t < 0) {
        return t;
    }
    if (l2_size((uint32_t)t) < 12) {
        return QP_ERR_CORRUPT;
    }
    for (int i = 0; i < 3; i++) {
        g[i] = qp_fs_get32(b + 4 * i);
    }
    return 0;
}

// ---- Commit writer (SPEC-fs §9.4) ----

typedef struct commit {
    uint32_t block, off, ptag, crc, end;
    bool dry; // only measure
} commit_t;

static int cprog(qp_fs_t *fs, commit_t *c, const void *buf, uint32_t size) {
    if (!c->dry) {
        int err = qp_fs_bd_prog(fs, &fs->pcache, c->block, c->off, buf, size);
        if (err < 0) {
            return err;
        }
        c->crc = qp_fs_bd_crc32(c->crc, buf, size);
    }
    c->off += size;
    return 0;
}

// Appends one tag; its data comes from buf, or from sblock:soff when buf is NULL.
static int cattr(qp_fs_t *fs, commit_t *c, uint32_t tag, const void *buf, uint32_t sblock,
                 uint32_t soff) {
    uint32_t dsize = l2_dsize(tag);
    if (c->off + dsize > c->end) {
        return QP_ERR_NOSPC;
    }
    uint8_t b[32];
    put_be32(b, (tag & 0x7fffffff) ^ c->ptag);
    int err = cprog(fs, c, b, 4);
    if (err < 0) {
        return err;
    }
    c->ptag = tag & 0x7fffffff;
    if (buf || c->dry) {
        return cprog(fs, c, buf, dsize - 4);
    }
    for (uint32_t i = 0; i < dsize - 4;) {
        uint32_t n = qp_fs_min(sizeof(b), dsize - 4 - i);
        err = qp_fs_bd_read(fs, &fs->rcache, NULL, sblock, soff + i, b, n);
        if (err < 0) {
            return err;
        }
        err = cprog(fs, c, b, n);
        if (err < 0) {
            return err;
        }
        i += n;
    }
    return 0;
}

// Ends a commit: an optional forward CRC (v2.1) over the next program unit as it is now,
// then CRC tags padding to the program unit; the padding is left unprogrammed.
static int ccrc(qp_fs_t *fs, commit_t *c) {
    const uint32_t B = fs->cfg->block_size, P = fs->cfg->prog_size;
    uint32_t end = qp_fs_min(c->off + 20, B);
    end = (end + P - 1) / P * P;
    while (c->off < end) {
        uint32_t noff = qp_fs_min(end - (c->off + 4), 0x3fe) + c->off + 4;
        if (noff < end) {
            noff = qp_fs_min(noff, end - 20);
        }
        uint8_t eperturb = 0xff;
        if (noff >= end && noff <= B - P) {
            // The valid bit of the next commit is chosen against what is there now, so a
            // half-programmed next commit can never pass as valid.
            int err = qp_fs_bd_read(fs, &fs->rcache, NULL, c->block, noff, &eperturb, 1);
            if (err < 0) {
                return err;
            }
            if (!is_v20(fs)) {
                uint32_t fcrc = 0xffffffff;
                err = qp_fs_bd_crc(fs, c->block, noff, P, &fcrc);
                if (err < 0) {
                    return err;
                }
                uint8_t fb[8];
                qp_fs_put32(fb, P);
                qp_fs_put32(fb + 4, fcrc);
                uint32_t save = c->end;
                c->end = B;
                err = cattr(fs, c, L2_TAG(L2_T_FCRC, L2_ID_NONE, 8), fb, 0, 0);
                c->end = save;
                if (err < 0) {
                    return err;
                }
            }
        }
        uint32_t vbit = (uint32_t)((uint8_t)~eperturb >> 7);
        uint32_t ntag = L2_TAG(L2_T_CRC + vbit, L2_ID_NONE, noff - (c->off + 4));
        uint8_t b[8];
        put_be32(b, ntag ^ c->ptag);
        c->crc = qp_fs_bd_crc32(c->crc, b, 4);
        qp_fs_put32(b + 4, c->crc);
        int err = qp_fs_bd_prog(fs, &fs->pcache, c->block, c->off, b, 8);
        if (err < 0) {
            return err;
        }
        c->off = noff;
        c->ptag = ntag ^ (vbit << 31);
        c->crc = 0xffffffff;
    }
    return qp_fs_bd_sync(fs);
}

// Writes entry sid of src as entry did: its name (unless !with_name), struct and newest user
// attributes. An id without a name (never written by littlefs) is skipped. One walk back
// over the log finds them all (a compaction makes one per id); more than ATTRS_KEPT
// attributes on one entry take a second walk.
#define ATTRS_KEPT 8
static int copy_entry(qp_fs_t *fs, commit_t *c, const qp_fs_mdir_t *src, uint32_t sid,
                      uint32_t did, bool with_name) {
    uint32_t name = 0, name_off = 0, st = 0, st_off = 0, gid = sid, tag;
    uint32_t at[ATTRS_KEPT], at_off[ATTRS_KEPT], nat = 0;
    uint8_t seen[32] = {0}, kept[32] = {0}; // attribute types met / copied (32 bytes each)
    bool more = false;
    walk_t w;
    walk_init(&w, src);
    int res;
    while ((res = walk_prev(fs, src, &w, &tag)) == 1) {
        res = follow_id(tag, &gid);
        if (res != 0 || l2_id(tag) != gid) {
            if (res != 0) {
                break;
            }
            continue;
        }
        uint32_t t1 = l2_type1(tag), type = l2_chunk(tag);
        if (t1 == L2_T_NAME && !name) {
            name = tag, name_off = w.off + 4;
        } else if (t1 == L2_T_STRUCT && !st) {
            st = tag, st_off = w.off + 4;
        } else if (t1 == L2_T_USERATTR && !(seen[type / 8] & (1u << (type % 8)))) {
            seen[type / 8] |= (uint8_t)(1u << (type % 8));
            if (l2_isdelete(tag)) {
                continue;
            }
            if (nat < ATTRS_KEPT) {
                kept[type / 8] |= (uint8_t)(1u << (type % 8));
                at[nat] = tag, at_off[nat++] = w.off + 4;
            } else {
                more = true;
            }
        }
    }
    if (res < 0) {
        return res;
    }
    if (!name) {
        return 0;
    }
    int err = 0;
    if (with_name) {
        err = cattr(fs, c, l2_setid(name, did), NULL, src->pair[0], name_off);
    }
    if (err == 0 && st && !l2_isdelete(st)) {
        err = cattr(fs, c, l2_setid(st, did), NULL, src->pair[0], st_off);
    }
    for (uint32_t i = 0; i < nat && err == 0; i++) {
        err = cattr(fs, c, l2_setid(at[i], did), NULL, src->pair[0], at_off[i]);
    }
    if (err < 0 || !more) {
        return err;
    }
    // Rare: the attributes that did not fit, newest of each type not copied yet.
    memset(seen, 0, sizeof(seen));
    gid = sid;
    walk_init(&w, src);
    while ((res = walk_prev(fs, src, &w, &tag)) == 1) {
        res = follow_id(tag, &gid);
        if (res != 0) {
            break;
        }
        uint32_t type = l2_chunk(tag);
        if (l2_type1(tag) != L2_T_USERATTR || l2_id(tag) != gid ||
            (seen[type / 8] & (1u << (type % 8)))) {
            continue;
        }
        seen[type / 8] |= (uint8_t)(1u << (type % 8));
        if (!l2_isdelete(tag) && !(kept[type / 8] & (1u << (type % 8)))) {
            err = cattr(fs, c, l2_setid(tag, did), NULL, src->pair[0], w.off + 4);
            if (err < 0) {
                return err;
            }
        }
    }
    return res < 0 ? res : 0;
}

static int cattrs(qp_fs_t *fs, commit_t *c, const l2_attr_t *a, int n) {
    for (int i = 0; i < n; i++) {
        int err;
        if (l2_type3(a[i].tag) == L2_T_FROM) {
            qp_fs_mdir_t src;
            err = qp_fs_lfs2_fetch(fs, &src, a[i].src->pair);
            if (err == 0) {
                err = copy_entry(fs, c, &src, a[i].src->poff, l2_id(a[i].tag), false);
            }
        } else {
            err = cattr(fs, c, a[i].tag, a[i].buf, 0, 0);
        }
        if (err < 0) {
            return err;
        }
    }
    return 0;
}

// Writes entries [begin, end) of src (NULL: none) as a fresh log in `block`, then tail,
// gstate delta and the attrs of the commit being made, all in one commit: with
// prog_size == block_size (the EC600S) a block holds a single commit, so the new attrs
// cannot wait for a second one. dry: only measures (c->off is the size).
static int compact_into(qp_fs_t *fs, const qp_fs_mdir_t *src, uint32_t block, uint32_t rev,
                        uint32_t begin, uint32_t end, const uint32_t tail[2], bool split,
                        const uint32_t gd[3], const l2_attr_t *a, int n, bool dry,
                        commit_t *out) {
    commit_t c = {block, 0, 0xffffffff, 0xffffffff, fs->cfg->block_size - 8, dry};
    if (!dry) {
        int err = qp_fs_bd_erase(fs, block);
        if (err < 0) {
            return err;
        }
    }
    uint8_t b[12];
    qp_fs_put32(b, rev);
    int err = cprog(fs, &c, b, 4);
    for (uint32_t id = begin; id < end && err == 0; id++) {
        err = copy_entry(fs, &c, src, id, id - begin, true);
    }
    if (err == 0 && !lfs1_pair_null(tail)) {
        qp_fs_put32(b, tail[0]);
        qp_fs_put32(b + 4, tail[1]);
        err = cattr(fs, &c, L2_TAG(L2_T_TAIL + (split ? 1 : 0), L2_ID_NONE, 8), b, 0, 0);
    }
    if (err == 0 && gd && (gd[0] | gd[1] | gd[2])) {
        for (int i = 0; i < 3; i++) {
            qp_fs_put32(b + 4 * i, gd[i]);
        }
        err = cattr(fs, &c, L2_TAG(L2_T_MOVESTATE, L2_ID_NONE, 12), b, 0, 0);
    }
    if (err == 0 && n > 0) {
        err = cattrs(fs, &c, a, n);
    }
    if (err == 0 && !dry) {
        err = ccrc(fs, &c);
    }
    *out = c;
    return err;
}

// ---- Open handles follow their entries ----

enum { FIX_CREATE, FIX_DELETE, FIX_SPLIT, FIX_MOVE };

static void fix_handles(qp_fs_t *fs, int kind, const uint32_t pair[2], uint32_t id,
                        const uint32_t npair[2]) {
    for (qp_fs_file_t *f = fs->files; f; f = f->next) {
        if (!lfs1_pair_same(f->pair, pair)) {
            continue;
        }
        if (kind == FIX_CREATE && f->poff >= id) {
            f->poff++;
        } else if (kind == FIX_DELETE && f->poff == id) {
            f->pair[0] = f->pair[1] = QP_FS_BLOCK_NULL;
        } else if (kind == FIX_DELETE && f->poff > id) {
            f->poff--;
        } else if (kind == FIX_SPLIT && f->poff >= id) {
            f->pair[0] = npair[0], f->pair[1] = npair[1], f->poff -= id;
        } else if (kind == FIX_MOVE) {
            f->pair[0] = npair[0], f->pair[1] = npair[1];
        }
    }
    for (qp_fs_dir_t *d = fs->dirs; d; d = d->next) {
        if (kind == FIX_MOVE && lfs1_pair_same(d->head, pair)) {
            d->head[0] = npair[0], d->head[1] = npair[1];
        }
        if (!lfs1_pair_same(d->m.pair, pair)) {
            continue;
        }
        if (kind == FIX_CREATE && d->off > id) {
            d->off++;
        } else if (kind == FIX_DELETE && d->off > id) {
            d->off--;
        } else if (kind == FIX_SPLIT && d->off >= id) {
            d->m.pair[0] = npair[0], d->m.pair[1] = npair[1], d->off -= id;
        } else if (kind == FIX_MOVE) {
            d->m.pair[0] = npair[0], d->m.pair[1] = npair[1];
        }
    }
    if (kind == FIX_MOVE && lfs1_pair_same(fs->root, pair)) {
        fs->root[0] = npair[0], fs->root[1] = npair[1];
    }
}

// ---- The threaded list: parents and predecessors ----

typedef int (*pair_fn)(qp_fs_t *fs, void *ctx, const qp_fs_mdir_t *m);

// Calls fn for every pair of the threaded list (1 from fn stops the walk, returned).
static int walk_list(qp_fs_t *fs, qp_fs_mdir_t *m, pair_fn fn, void *ctx) {
    uint32_t next[2] = {0, 1};
    for (uint32_t hops = 0; !lfs1_pair_null(next); hops++) {
        if (hops > fs->block_count / 2) {
            return QP_ERR_CORRUPT; // a cycle in the tails
        }
        int err = qp_fs_lfs2_fetch(fs, m, next);
        if (err < 0) {
            return err;
        }
        err = fn(fs, ctx, m);
        if (err != 0) {
            return err;
        }
        next[0] = m->tail[0], next[1] = m->tail[1];
    }
    return 0;
}

struct parent_ctx {
    const uint32_t *pair;
    uint32_t id;
    uint32_t dpair[2];
};

static int is_parent(qp_fs_t *fs, void *ctx, const qp_fs_mdir_t *m) {
    struct parent_ctx *p = ctx;
    for (uint32_t id = 0; id < m->count; id++) {
        int err = get_pair(fs, m, L2_TAG(0x7ff, 0x3ff, 0), L2_TAG(L2_T_DIRSTRUCT, id, 0),
                           p->dpair);
        if (err == QP_ERR_NOENT) {
            continue;
        }
        if (err < 0) {
            return err;
        }
        if (lfs1_pair_overlap(p->dpair, p->pair)) {
            p->id = id;
            return 1;
        }
    }
    return 0;
}

// Finds the entry pointing at (a pair sharing a block with) `pair`: 1 found, 0 not.
static int find_parent(qp_fs_t *fs, const uint32_t pair[2], qp_fs_mdir_t *parent,
                       uint32_t *id, uint32_t dpair[2]) {
    struct parent_ctx p = {pair, 0, {0, 0}};
    int res = walk_list(fs, parent, is_parent, &p);
    if (res == 1) {
        *id = p.id;
        if (dpair) {
            dpair[0] = p.dpair[0], dpair[1] = p.dpair[1];
        }
    }
    return res;
}

static int is_pred(qp_fs_t *fs, void *ctx, const qp_fs_mdir_t *m) {
    (void)fs;
    return lfs1_pair_overlap(m->tail, ctx) ? 1 : 0;
}

static int find_pred(qp_fs_t *fs, const uint32_t pair[2], qp_fs_mdir_t *pred) {
    return walk_list(fs, pred, is_pred, (void *)pair);
}

static int commit_tail(qp_fs_t *fs, qp_fs_mdir_t *m, const uint32_t tail[2], bool split) {
    uint8_t b[8];
    qp_fs_put32(b, tail[0]);
    qp_fs_put32(b + 4, tail[1]);
    l2_attr_t a = {L2_TAG(L2_T_TAIL + (split ? 1 : 0), L2_ID_NONE, 8), b, NULL};
    return qp_fs_lfs2_commit(fs, m, &a, 1, NULL);
}

// A pair moved from `old` to `npair` (bad block or wear): point its parent entry and its
// predecessor's tail at the new blocks. Two commits when they are different pairs, with the
// orphan count raised in between so a cut is repaired at mount (SPEC-fs §9.6).
static int relocate_refs(qp_fs_t *fs, const uint32_t old[2], const uint32_t npair[2]) {
    fix_handles(fs, FIX_MOVE, old, 0, npair);
    if (fs->depth >= L2_DEPTH_MAX) {
        return QP_ERR_NOSPC;
    }
    fs->depth++;
    // Relocation fix-ups must not carry the caller's pending gstate (say, a rename's move
    // flag) to disk before the caller's own commit: park it.
    uint32_t want[3];
    memcpy(want, fs->gstate, sizeof(want));
    memcpy(fs->gstate, fs->gdisk, sizeof(want));
    qp_fs_mdir_t parent, pred;
    uint32_t pid = 0;
    int has_parent = find_parent(fs, old, &parent, &pid, NULL);
    int err = has_parent < 0 ? has_parent : 0;
    if (err == 0 && has_parent) {
        g_orphans_add(fs, +1);
        uint8_t b[8];
        qp_fs_put32(b, npair[0]);
        qp_fs_put32(b + 4, npair[1]);
        l2_attr_t a = {L2_TAG(L2_T_DIRSTRUCT, pid, 8), b, NULL};
        err = qp_fs_lfs2_commit(fs, &parent, &a, 1, NULL);
        g_orphans_add(fs, -1);
    }
    if (err == 0) {
        int has_pred = find_pred(fs, old, &pred);
        err = has_pred < 0 ? has_pred : 0;
        if (has_pred == 1 && !lfs1_pair_same(pred.tail, npair)) {
            err = commit_tail(fs, &pred, npair, pred.split);
        }
    }
    // Restore what the caller wanted (the fix-ups' orphan changes net to zero).
    memcpy(fs->gstate, want, sizeof(want));
    fs->depth--;
    return err;
}

// ---- Compaction, splitting, relocation ----

static int drop_pair(qp_fs_t *fs, const qp_fs_mdir_t *d);

// The compaction about to be made is the one block_cycles asks to move to fresh blocks.
static bool wear_due(qp_fs_t *fs, const qp_fs_mdir_t *m) {
    int32_t bc = fs->cfg->block_cycles;
    return bc > 0 && (m->rev + 1) % (((uint32_t)bc + 1) | 1) == 0;
}

static bool needs_wear_move(qp_fs_t *fs, const qp_fs_mdir_t *m) {
    return wear_due(fs, m) && !lfs1_pair_overlap(m->pair, sb_pair);
}

// A FROM (rename) records its source in the gstate in the same commit, at the id the source
// will have once this commit's create/delete are applied.
static void prep_move(qp_fs_t *fs, const qp_fs_mdir_t *m, const l2_attr_t *a, int n) {
    for (int i = 0; i < n; i++) {
        if (l2_type3(a[i].tag) != L2_T_FROM) {
            continue;
        }
        uint32_t sid = a[i].src->poff;
        for (int j = 0; j < n && lfs1_pair_same(a[i].src->pair, m->pair); j++) {
            if (l2_type3(a[j].tag) == L2_T_DELETE && l2_id(a[j].tag) < sid) {
                sid--;
            } else if (l2_type3(a[j].tag) == L2_T_CREATE && l2_id(a[j].tag) <= sid) {
                sid++;
            }
        }
        g_setmove(fs, sid, a[i].src->pair);
    }
}

// After a commit of attrs to *m: its id count, tail, and the open handles.
static void apply_attrs(qp_fs_t *fs, qp_fs_mdir_t *m, const l2_attr_t *a, int n) {
    memcpy(fs->gdisk, fs->gstate, sizeof(fs->gdisk));
    for (int i = 0; i < n; i++) {
        uint32_t t = a[i].tag, t3 = l2_type3(t);
        if (t3 == L2_T_CREATE) {
            m->count++;
            fix_handles(fs, FIX_CREATE, m->pair, l2_id(t), NULL);
        } else if (t3 == L2_T_DELETE) {
            m->count--;
            fix_handles(fs, FIX_DELETE, m->pair, l2_id(t), NULL);
        } else if (l2_type1(t) == L2_T_NAME && l2_id(t) >= m->count) {
            m->count = (uint16_t)(l2_id(t) + 1);
        } else if (l2_type1(t) == L2_T_TAIL) {
            m->tail[0] = qp_fs_get32(a[i].buf);
            m->tail[1] = qp_fs_get32((const uint8_t *)a[i].buf + 4);
            m->split = l2_chunk(t) & 1;
        }
    }
}

// Rewrites ids [0, end) of *m into its other block (or a fresh one), with the given tail
// and, when with_attrs, the attrs and pending gstate of the commit being made.
static int compact(qp_fs_t *fs, qp_fs_mdir_t *m, uint32_t end, const uint32_t tail[2],
                   bool split, const l2_attr_t *a, int n, bool with_attrs) {
    uint32_t gd[3];
    int err = get_gdelta(fs, m, gd);
    if (err < 0) {
        return err;
    }
    if (with_attrs) {
        for (int i = 0; i < 3; i++) {
            gd[i] ^= fs->gdisk[i] ^ fs->gstate[i];
        }
    }
    bool reloc = needs_wear_move(fs, m);
    uint32_t old[2] = {m->pair[0], m->pair[1]};
    for (uint32_t tries = 0; tries <= fs->block_count; tries++) {
        uint32_t target = m->pair[1];
        if (reloc) {
            err = qp_fs_block_alloc(fs, &target);
            if (err == QP_ERR_NOSPC && tries == 0) {
                reloc = false; // full: skip the wear move rather than fail
                target = m->pair[1];
            } else if (err < 0) {
                return err;
            }
        }
        commit_t c;
        err = compact_into(fs, m, target, m->rev + 1, 0, end, tail, split, gd, a,
                           with_attrs ? n : 0, false, &c);
        if (err == QP_ERR_CORRUPT) {
            qp_fs_bd_zero(fs, &fs->pcache);
            if (lfs1_pair_overlap(m->pair, sb_pair)) {
                return QP_ERR_CORRUPT; // the superblock cannot move
            }
            reloc = true; // bad block: take another
            continue;
        }
        if (err < 0) {
            if (fs->pcache.block == target) {
                qp_fs_bd_zero(fs, &fs->pcache);
            }
            return err;
        }
        m->pair[1] = m->pair[0];
        m->pair[0] = target;
        m->rev++;
        m->off = c.off;
        m->etag = c.ptag;
        m->count = (uint16_t)end;
        m->tail[0] = tail[0], m->tail[1] = tail[1];
        m->split = split;
        m->erased = true;
        bool moved = target != old[1];
        if (moved) {
            fix_handles(fs, FIX_MOVE, old, 0, m->pair);
        }
        if (with_attrs) {
            apply_attrs(fs, m, a, n);
        }
        return moved ? relocate_refs(fs, old, m->pair) : 0;
    }
    return QP_ERR_NOSPC;
}

// Allocates a new pair whose first log will be written into pair[0] with a revision newer
// than whatever the other block holds (a stale log there must never win).
static int pair_alloc(qp_fs_t *fs, uint32_t pair[2], uint32_t *rev) {
    for (int i = 0; i < 2; i++) {
        int err = qp_fs_block_alloc(fs, &pair[i]);
        if (err < 0) {
            return err;
        }
    }
    uint8_t b[4];
    int err = qp_fs_bd_read(fs, &fs->rcache, NULL, pair[1], 0, b, 4);
    if (err < 0) {
        return err;
    }
    *rev = qp_fs_get32(b) + 1;
    return 0;
}

// Writes a new pair holding ids [begin, end) of src (NULL: empty) with the given tail.
static int pair_create(qp_fs_t *fs, const qp_fs_mdir_t *src, uint32_t begin, uint32_t end,
                       const uint32_t tail[2], bool split, uint32_t out[2]) {
    for (uint32_t tries = 0; tries <= fs->block_count; tries++) {
        uint32_t rev;
        int err = pair_alloc(fs, out, &rev);
        if (err < 0) {
            return err;
        }
        commit_t c;
        err = compact_into(fs, src, out[0], rev, begin, end, tail, split, NULL, NULL, 0,
                           false, &c);
        if (err == QP_ERR_CORRUPT) {
            qp_fs_bd_zero(fs, &fs->pcache);
            continue;
        }
        return err;
    }
    return QP_ERR_NOSPC;
}

// Copies ids [begin, count) of *m into a new pair np that continues the list (hard tail),
// *m keeping ids [0, keep): keep = begin splits a directory; begin 0, keep 1 expands the
// superblock (the superblock entry is in both pairs).
static int split(qp_fs_t *fs, qp_fs_mdir_t *m, uint32_t begin, uint32_t keep,
                 uint32_t np[2]) {
    int err = pair_create(fs, m, begin, m->count, m->tail, m->split, np);
    if (err < 0) {
        return err;
    }
    err = compact(fs, m, keep, np, true, NULL, 0, false);
    if (err < 0) {
        return err;
    }
    fix_handles(fs, FIX_SPLIT, m->pair, begin, np); // relocated handles are at m->pair now
    return 0;
}

static int count_used(void *data, uint32_t block) {
    (void)block;
    (*(uint32_t *)data)++;
    return 0;
}

static int lfs2_traverse(qp_fs_t *fs, int (*cb)(void *data, uint32_t block), void *data);

// Superblock expansion (SPEC-fs §9.7): {0, 1} cannot move, so when its wear is due and the
// device is under half full (the blocks it takes never come back) its entries go to a new
// pair and {0, 1} keeps only the superblock entry, with a hard tail to that pair, which is
// now the root when {0, 1} was. Returns 1 with *m the new pair, 0 when not expanded.
static int expand(qp_fs_t *fs, qp_fs_mdir_t *m) {
    uint32_t used = 0, np[2];
    int err = lfs2_traverse(fs, count_used, &used);
    if (err < 0 || used >= fs->block_count / 2) {
        return err;
    }
    uint32_t old[2] = {m->pair[0], m->pair[1]};
    err = split(fs, m, 0, 1, np);
    if (err == QP_ERR_NOSPC) {
        return 0; // no room after all: compact in place
    }
    if (err < 0) {
        return err;
    }
    if (lfs1_pair_overlap(fs->root, old)) {
        fs->root[0] = np[0], fs->root[1] = np[1];
        for (qp_fs_dir_t *d = fs->dirs; d; d = d->next) {
            if (lfs1_pair_overlap(d->head, old)) {
                d->head[0] = np[0], d->head[1] = np[1];
            }
        }
    }
    err = qp_fs_lfs2_fetch(fs, m, np);
    return err < 0 ? err : 1;
}

// Appends attrs to the erased end of *m as one commit (with the gstate delta if it changed).
static int append(qp_fs_t *fs, qp_fs_mdir_t *m, const l2_attr_t *a, int n) {
    commit_t c = {m->pair[0], m->off, m->etag, 0xffffffff, fs->cfg->block_size - 8, false};
    int err = cattrs(fs, &c, a, n);
    if (err == 0 && memcmp(fs->gstate, fs->gdisk, sizeof(fs->gstate)) != 0) {
        uint32_t gd[3];
        err = get_gdelta(fs, m, gd);
        if (err == 0) {
            uint8_t b[12];
            for (int i = 0; i < 3; i++) {
                qp_fs_put32(b + 4 * i, gd[i] ^ fs->gdisk[i] ^ fs->gstate[i]);
            }
            err = cattr(fs, &c, L2_TAG(L2_T_MOVESTATE, L2_ID_NONE, 12), b, 0, 0);
        }
    }
    if (err == 0) {
        err = ccrc(fs, &c);
    }
    if (err < 0) {
        if (fs->pcache.block == m->pair[0]) {
            qp_fs_bd_zero(fs, &fs->pcache);
        }
        m->erased = false; // whatever was programmed is garbage now
        return err;
    }
    m->off = c.off;
    m->etag = c.ptag;
    m->erased = true;
    apply_attrs(fs, m, a, n);
    return 0;
}

int qp_fs_lfs2_commit(qp_fs_t *fs, qp_fs_mdir_t *m, const l2_attr_t *attrs, int n,
                      uint32_t *outid) {
    QP_ASSERT(n <= L2_ATTRS_MAX);
    const uint32_t B = fs->cfg->block_size, P = fs->cfg->prog_size;
    l2_attr_t a[L2_ATTRS_MAX];
    if (n > 0) {
        memcpy(a, attrs, sizeof(*a) * (size_t)n);
    }
    uint32_t target = L2_ID_NONE;
    bool tail_only = true;
    for (int i = 0; i < n; i++) {
        if (l2_id(a[i].tag) != L2_ID_NONE) {
            target = l2_id(a[i].tag);
            tail_only = false;
        }
    }
    bool force_split = false, done = false;
    for (int round = 0; round < 6 && !done; round++) {
        int err;
        if (m->erased && !force_split) {
            prep_move(fs, m, a, n);
            err = append(fs, m, a, n);
            if (err == 0) {
                done = true;
                break;
            }
            if (err != QP_ERR_NOSPC && err != QP_ERR_CORRUPT) {
                return err;
            }
        }
        if (lfs1_pair_overlap(m->pair, sb_pair) && wear_due(fs, m)) {
            // The ids stay the same in the new pair: retry the commit there.
            err = expand(fs, m);
            if (err < 0) {
                return err;
            }
            if (err == 1) {
                continue;
            }
        }
        // Compact; first split when the result would be over half a block (littlefs's rule,
        // which leaves room to append) or hold too many ids.
        prep_move(fs, m, a, n);
        commit_t dc;
        err = compact_into(fs, m, 0, 0, 0, m->count, m->tail, m->split, NULL, a, n, true, &dc);
        if (err < 0 && err != QP_ERR_NOSPC) {
            return err;
        }
        uint32_t half = qp_fs_min(B - 40, (B / 2 + P - 1) / P * P);
        if ((force_split || err == QP_ERR_NOSPC || dc.off + 40 > half || m->count >= 0xfe) &&
            m->count >= 2) {
            force_split = false;
            uint32_t sid = m->count / 2, np[2];
            err = split(fs, m, sid, sid, np);
            if (err == 0) {
                if (tail_only || target >= sid) {
                    // The attrs belong to the new pair: the end of the directory for a
                    // tail, the upper half for an id.
                    err = qp_fs_lfs2_fetch(fs, m, np);
                    if (err < 0) {
                        return err;
                    }
                    if (!tail_only) {
                        target -= sid;
                        for (int i = 0; i < n; i++) {
                            a[i].tag = l2_setid(a[i].tag, l2_id(a[i].tag) - sid);
                        }
                    }
                }
                continue;
            }
            if (err != QP_ERR_NOSPC) {
                return err;
            }
            // No room for a new pair: compact in place and hope it fits.
        }
        uint32_t tail[2] = {m->tail[0], m->tail[1]};
        prep_move(fs, m, a, n);
        err = compact(fs, m, m->count, tail, m->split, a, n, true);
        if (err == 0) {
            done = true;
            break;
        }
        if (err != QP_ERR_NOSPC || m->count < 2) {
            return err;
        }
        force_split = true;
    }
    if (!done) {
        return QP_ERR_NOSPC;
    }
    if (outid) {
        *outid = target;
    }
    if (m->count == 0 && !tail_only) {
        // An emptied pair in the middle of a directory leaves the list (littlefs does the
        // same), so an emptied directory is empty again and its space comes back.
        qp_fs_mdir_t pred;
        int res = find_pred(fs, m->pair, &pred);
        if (res < 0) {
            return res;
        }
        if (res == 1 && pred.split) {
            return drop_pair(fs, m);
        }
    }
    return 0;
}

// ---- Paths ----

static int name_cmp(qp_fs_t *fs, const qp_fs_mdir_t *m, uint32_t tag, uint32_t doff,
                    const char *name, uint32_t len, int *cmp) {
    uint32_t tlen = l2_size(tag);
    uint32_t n = qp_fs_min(tlen, len);
    for (uint32_t i = 0; i < n;) {
        uint8_t b[32];
        uint32_t k = qp_fs_min(sizeof(b), n - i);
        int err = qp_fs_bd_read(fs, &fs->rcache, NULL, m->pair[0], doff + i, b, k);
        if (err < 0) {
            return err;
        }
        int r = memcmp(b, name + i, k);
        if (r != 0) {
            *cmp = r;
            return 0;
        }
        i += k;
    }
    *cmp = tlen < len ? -1 : tlen > len ? 1 : 0;
    return 0;
}

// Looks for `name` in the directory whose first pair is dpair. Found: *m holds it, *id.
// Not found: *m is the directory's last pair and *id where the name sorts in it.
static int dir_lookup(qp_fs_t *fs, const uint32_t dpair[2], const char *name, uint32_t len,
                      qp_fs_mdir_t *m, uint32_t *id, uint32_t *type) {
    int err = qp_fs_lfs2_fetch(fs, m, dpair);
    for (uint32_t hops = 0; err == 0; hops++) {
        uint32_t ins = m->count;
        for (uint32_t i = 0; i < m->count; i++) {
            uint32_t doff;
            int32_t tag = find_tag(fs, m, L2_TAG(0x700, 0x3ff, 0), L2_TAG(L2_T_NAME, i, 0),
                                   &doff);
            if (tag == QP_ERR_NOENT) {
                continue;
            }
            if (tag < 0) {
                return tag;
            }
            uint32_t t3 = l2_type3((uint32_t)tag);
            if (t3 != L2_T_REG && t3 != L2_T_DIR) {
                continue;
            }
            int cmp;
            err = name_cmp(fs, m, (uint32_t)tag, doff, name, len, &cmp);
            if (err < 0) {
                return err;
            }
            if (cmp == 0) {
                *id = i;
                *type = t3;
                return 0;
            }
            if (cmp > 0 && ins == m->count) {
                ins = i;
            }
        }
        if (!m->split) {
            *id = ins;
            return QP_ERR_NOENT;
        }
        if (hops > fs->block_count / 2) {
            return QP_ERR_CORRUPT;
        }
        uint32_t next[2] = {m->tail[0], m->tail[1]};
        err = qp_fs_lfs2_fetch(fs, m, next);
    }
    return err;
}

int qp_fs_lfs2_find(qp_fs_t *fs, const char *path, l2_lookup_t *l, const uint32_t *forbid,
                    bool *parent_found) {
    const char *p = path;
    uint32_t len = 0;
    *parent_found = false;
    l->is_root = true;
    l->type = L2_T_DIR;
    l->dpair[0] = fs->root[0], l->dpair[1] = fs->root[1];
    l->name = NULL;
    l->nlen = 0;
    l->id = L2_ID_NONE;
    const char *name = qp_fs_path_next(&p, &len);
    while (name) {
        if (l->type != L2_T_DIR) {
            return QP_ERR_NOTDIR;
        }
        if (forbid && lfs1_pair_overlap(l->dpair, forbid)) {
            return QP_ERR_INVAL; // e.g. moving a directory into itself
        }
        if (len > fs->name_max) {
            return QP_ERR_NAMETOOLONG;
        }
        l->name = name;
        l->nlen = len;
        const char *rest = p;
        uint32_t restlen;
        bool last = qp_fs_path_next(&rest, &restlen) == NULL;
        int err = dir_lookup(fs, l->dpair, name, len, &l->m, &l->id, &l->type);
        if (err == QP_ERR_NOENT) {
            *parent_found = last;
            return err;
        }
        if (err < 0) {
            return err;
        }
        l->is_root = false;
        if (l->type == L2_T_DIR) {
            err = get_pair(fs, &l->m, L2_TAG(0x700, 0x3ff, 0),
                           L2_TAG(L2_T_STRUCT, l->id, 0), l->dpair);
            if (err < 0) {
                return err == QP_ERR_NOENT ? QP_ERR_CORRUPT : err;
            }
        }
        name = qp_fs_path_next(&p, &len);
    }
    if (l->is_root) {
        int err = qp_fs_lfs2_fetch(fs, &l->m, fs->root);
        if (err < 0) {
            return err;
        }
    }
    return 0;
}

// ---- Entry information ----

static int entry_info(qp_fs_t *fs, const qp_fs_mdir_t *m, uint32_t id, qp_fs_info_t *info) {
    uint32_t doff;
    int32_t tag = find_tag(fs, m, L2_TAG(0x700, 0x3ff, 0), L2_TAG(L2_T_NAME, id, 0), &doff);
    if (tag < 0) {
        return tag;
    }
    uint32_t t3 = l2_type3((uint32_t)tag);
    if (t3 != L2_T_REG && t3 != L2_T_DIR) {
        return QP_ERR_NOENT;
    }
    uint32_t nlen = l2_size((uint32_t)tag);
    if (nlen > QP_FS_NAME_MAX) {
        return QP_ERR_CORRUPT;
    }
    int err = qp_fs_bd_read(fs, &fs->rcache, NULL, m->pair[0], doff, info->name, nlen);
    if (err < 0) {
        return err;
    }
    info->name[nlen] = '\0';
    info->type = t3 == L2_T_REG ? QP_FS_TYPE_REG : QP_FS_TYPE_DIR;
    info->size = 0;
    if (t3 == L2_T_REG) {
        uint8_t b[8];
        int32_t st = qp_fs_lfs2_get(fs, m, L2_TAG(0x700, 0x3ff, 0),
                                    L2_TAG(L2_T_STRUCT, id, 0), 0, b, 8);
        if (st >= 0 && l2_type3((uint32_t)st) == L2_T_CTZ) {
            if (l2_size((uint32_t)st) < 8) {
                return QP_ERR_CORRUPT;
            }
            info->size = qp_fs_get32(b + 4);
        } else if (st >= 0 && l2_type3((uint32_t)st) == L2_T_INLINE) {
            info->size = l2_size((uint32_t)st);
        } else if (st < 0 && st != QP_ERR_NOENT) {
            return st;
        }
    }
    uint8_t t[8];
    int32_t at = qp_fs_lfs2_get(fs, m, L2_TAG(0x7ff, 0x3ff, 0),
                                L2_TAG(L2_T_USERATTR + QP_FS_ATTR_MTIME, id, 0), 0, t, 8);
    info->mtime_ns = 0;
    if (at >= 0 && l2_size((uint32_t)at) == 8) {
        info->mtime_ns = (uint64_t)qp_fs_get32(t + 4) << 32 | qp_fs_get32(t);
    } else if (at < 0 && at != QP_ERR_NOENT) {
        return at;
    }
    return 0;
}

static int lfs2_stat(qp_fs_t *fs, const char *path, qp_fs_info_t *info) {
    l2_lookup_t l;
    bool pf;
    int err = qp_fs_lfs2_find(fs, path, &l, NULL, &pf);
    if (err < 0) {
        return err;
    }
    if (l.is_root) {
        memset(info, 0, sizeof(*info));
        info->type = QP_FS_TYPE_DIR;
        strcpy(info->name, "/");
        return 0;
    }
    return entry_info(fs, &l.m, l.id, info);
}

// ---- Directories ----

static int lfs2_mkdir(qp_fs_t *fs, const char *path) {
    l2_lookup_t l;
    bool pf;
    qp_fs_block_ack(fs);
    int err = qp_fs_lfs2_find(fs, path, &l, NULL, &pf);
    if (err == 0) {
        return QP_ERR_EXIST;
    }
    if (err != QP_ERR_NOENT || !pf) {
        return err;
    }
    // 1. the new, empty pair continues the threaded list where the parent's last pair did
    uint32_t np[2];
    err = pair_create(fs, NULL, 0, 0, l.m.tail, false, np);
    if (err < 0) {
        return err;
    }
    // 2. link it in (an orphan until step 3: flagged in the gstate, SPEC-fs §9.6)
    g_orphans_add(fs, +1);
    err = commit_tail(fs, &l.m, np, false);
    if (err < 0) {
        g_orphans_add(fs, -1);
        return err;
    }
    // 3. the entry, in the parent's last pair: looked up again from the root, since step 2
    // may have split the parent or moved any pair on the way (relocation)
    err = qp_fs_lfs2_find(fs, path, &l, NULL, &pf);
    if (err != QP_ERR_NOENT || !pf) {
        g_orphans_add(fs, -1);
        return err == 0 ? QP_ERR_EXIST : err;
    }
    g_orphans_add(fs, -1);
    uint8_t b[8];
    qp_fs_put32(b, np[0]);
    qp_fs_put32(b + 4, np[1]);
    l2_attr_t a[3] = {
        {L2_TAG(L2_T_CREATE, l.id, 0), NULL, NULL},
        {L2_TAG(L2_T_DIR, l.id, l.nlen), l.name, NULL},
        {L2_TAG(L2_T_DIRSTRUCT, l.id, 8), b, NULL},
    };
    return qp_fs_lfs2_commit(fs, &l.m, a, 3, NULL);
}

// Unlinks the (empty, entry already removed) directory pair d from the threaded list; its
// gstate delta is folded into the predecessor's commit so the global XOR is unchanged.
static int drop_pair(qp_fs_t *fs, const qp_fs_mdir_t *d) {
    qp_fs_mdir_t pred;
    int res = find_pred(fs, d->pair, &pred);
    if (res <= 0) {
        return res;
    }
    uint32_t gd[3];
    int err = get_gdelta(fs, d, gd);
    if (err < 0) {
        return err;
    }
    for (int i = 0; i < 3; i++) {
        fs->gdisk[i] ^= gd[i];
    }
    return commit_tail(fs, &pred, d->tail, d->split);
}

static int lfs2_remove(qp_fs_t *fs, const char *path) {
    l2_lookup_t l;
    bool pf;
    qp_fs_block_ack(fs);
    int err = qp_fs_lfs2_find(fs, path, &l, NULL, &pf);
    if (err < 0) {
        return err;
    }
    if (l.is_root) {
        return QP_ERR_INVAL;
    }
    qp_fs_mdir_t d;
    if (l.type == L2_T_DIR) {
        err = qp_fs_lfs2_fetch(fs, &d, l.dpair);
        if (err < 0) {
            return err;
        }
        if (d.count > 0 || d.split) {
            return QP_ERR_NOTEMPTY;
        }
        g_orphans_add(fs, +1);
    }
    l2_attr_t a = {L2_TAG(L2_T_DELETE, l.id, 0), NULL, NULL};
    err = qp_fs_lfs2_commit(fs, &l.m, &a, 1, NULL);
    if (l.type == L2_T_DIR) {
        g_orphans_add(fs, -1);
        if (err == 0) {
            err = qp_fs_lfs2_fetch(fs, &d, l.dpair);
        }
        if (err == 0) {
            err = drop_pair(fs, &d);
        }
    }
    return err;
}

static int lfs2_rename(qp_fs_t *fs, const char *oldpath, const char *newpath) {
    l2_lookup_t o, n;
    bool pf;
    qp_fs_block_ack(fs);
    int err = qp_fs_lfs2_find(fs, oldpath, &o, NULL, &pf);
    if (err < 0) {
        return err;
    }
    if (o.is_root) {
        return QP_ERR_INVAL;
    }
    err = qp_fs_lfs2_find(fs, newpath, &n, o.type == L2_T_DIR ? o.dpair : NULL, &pf);
    bool exists = err == 0;
    if (err < 0 && (err != QP_ERR_NOENT || !pf)) {
        return err;
    }
    if (exists && n.is_root) {
        return QP_ERR_INVAL;
    }
    if (exists && lfs1_pair_same(n.m.pair, o.m.pair) && n.id == o.id) {
        return 0; // onto itself
    }
    qp_fs_mdir_t victim;
    if (exists) {
        if (n.type != o.type) {
            return n.type == L2_T_DIR ? QP_ERR_ISDIR : QP_ERR_NOTDIR;
        }
        if (n.type == L2_T_DIR) {
            err = qp_fs_lfs2_fetch(fs, &victim, n.dpair);
            if (err < 0) {
                return err;
            }
            if (victim.count > 0 || victim.split) {
                return QP_ERR_NOTEMPTY;
            }
            g_orphans_add(fs, +1); // its pair leaves the tree before the list
        }
    }
    // The source is tracked like an open file so every commit below keeps its (pair, id)
    // right, splits and relocations included.
    qp_fs_file_t src;
    memset(&src, 0, sizeof(src));
    src.pair[0] = o.m.pair[0], src.pair[1] = o.m.pair[1];
    src.poff = o.id;
    src.next = fs->files;
    fs->files = &src;
    // 1. the new entry, with the move recorded in the gstate in the same commit
    uint32_t nid = n.id;
    l2_attr_t a[5];
    int k = 0;
    if (exists) {
        a[k++] = (l2_attr_t){L2_TAG(L2_T_DELETE, nid, 0), NULL, NULL};
    }
    a[k++] = (l2_attr_t){L2_TAG(L2_T_CREATE, nid, 0), NULL, NULL};
    a[k++] = (l2_attr_t){L2_TAG(o.type, nid, n.nlen), n.name, NULL};
    a[k++] = (l2_attr_t){L2_TAG(L2_T_FROM, nid, 0), NULL, &src};
    err = qp_fs_lfs2_commit(fs, &n.m, a, k, &nid);
    // 2. the old entry goes, clearing the move
    if (err == 0) {
        // Handles on the old entry follow it to the new one (not the tracker itself).
        for (qp_fs_file_t *f = fs->files; f; f = f->next) {
            if (f != &src && lfs1_pair_same(f->pair, src.pair) && f->poff == src.poff) {
                f->pair[0] = n.m.pair[0], f->pair[1] = n.m.pair[1], f->poff = nid;
            }
        }
        qp_fs_mdir_t sm;
        err = qp_fs_lfs2_fetch(fs, &sm, src.pair);
        if (err == 0) {
            g_setmove(fs, L2_ID_NONE, NULL);
            l2_attr_t del = {L2_TAG(L2_T_DELETE, src.poff, 0), NULL, NULL};
            err = qp_fs_lfs2_commit(fs, &sm, &del, 1, NULL);
        }
    } else {
        g_setmove(fs, L2_ID_NONE, NULL);
    }
    for (qp_fs_file_t **p = &fs->files; *p; p = &(*p)->next) {
        if (*p == &src) {
            *p = src.next;
            break;
        }
    }
    // 3. a replaced directory leaves the threaded list
    if (exists && n.type == L2_T_DIR) {
        g_orphans_add(fs, -1);
        if (err == 0) {
            err = qp_fs_lfs2_fetch(fs, &victim, n.dpair);
        }
        if (err == 0) {
            err = drop_pair(fs, &victim);
        }
    }
    return err;
}

static int lfs2_dir_open(qp_fs_t *fs, qp_fs_dir_t *dir, const char *path) {
    l2_lookup_t l;
    bool pf;
    int err = qp_fs_lfs2_find(fs, path, &l, NULL, &pf);
    if (err < 0) {
        return err;
    }
    if (l.type != L2_T_DIR) {
        return QP_ERR_NOTDIR;
    }
    dir->head[0] = l.dpair[0], dir->head[1] = l.dpair[1];
    err = qp_fs_lfs2_fetch(fs, &dir->m, dir->head);
    dir->off = 0;
    dir->hops = 0;
    return err;
}

static int lfs2_dir_rewind(qp_fs_t *fs, qp_fs_dir_t *dir) {
    dir->off = 0;
    dir->hops = 0;
    return qp_fs_lfs2_fetch(fs, &dir->m, dir->head);
}

static int lfs2_dir_read(qp_fs_t *fs, qp_fs_dir_t *dir, qp_fs_info_t *info) {
    uint32_t pair[2] = {dir->m.pair[0], dir->m.pair[1]};
    int err = qp_fs_lfs2_fetch(fs, &dir->m, pair); // commits since may have moved on
    while (err == 0) {
        if (dir->off >= dir->m.count) {
            if (!dir->m.split) {
                return 0;
            }
            if (++dir->hops > fs->block_count / 2) {
                return QP_ERR_CORRUPT;
            }
            uint32_t next[2] = {dir->m.tail[0], dir->m.tail[1]};
            err = qp_fs_lfs2_fetch(fs, &dir->m, next);
            dir->off = 0;
            continue;
        }
        err = entry_info(fs, &dir->m, dir->off, info);
        dir->off++;
        if (err == 0) {
            return 1;
        }
        if (err == QP_ERR_NOENT) {
            err = 0; // the superblock entry, or a deleted id
        }
    }
    return err;
}

// ---- Attributes ----

static int lfs2_getattr(qp_fs_t *fs, const char *path, uint8_t type, void *buf,
                        uint32_t size) {
    l2_lookup_t l;
    bool pf;
    int err = qp_fs_lfs2_find(fs, path, &l, NULL, &pf);
    if (err < 0) {
        return err;
    }
    if (l.is_root) {
        return QP_ERR_NOENT; // the root has no entry to hold attributes
    }
    uint32_t id = l.id;
    int32_t tag = qp_fs_lfs2_get(fs, &l.m, L2_TAG(0x7ff, 0x3ff, 0),
                                 L2_TAG(L2_T_USERATTR + type, id, 0), 0, buf, size);
    return tag < 0 ? tag : (int)l2_size((uint32_t)tag);
}

static int lfs2_setattr(qp_fs_t *fs, const char *path, uint8_t type, const void *buf,
                        uint32_t size) {
    if (buf && size > fs->attr_max) {
        return QP_ERR_RANGE;
    }
    l2_lookup_t l;
    bool pf;
    qp_fs_block_ack(fs);
    int err = qp_fs_lfs2_find(fs, path, &l, NULL, &pf);
    if (err < 0) {
        return err;
    }
    if (l.is_root) {
        return QP_ERR_NOTSUP;
    }
    uint32_t id = l.id;
    l2_attr_t a = {L2_TAG(L2_T_USERATTR + type, id, buf ? size : L2_SIZE_DELETED), buf, NULL};
    return qp_fs_lfs2_commit(fs, &l.m, &a, 1, NULL);
}

// ---- Traversal (for the allocator and qp_fs_size) ----

struct trav_ctx {
    int (*cb)(void *data, uint32_t block);
    void *data;
};

static int trav_pair(qp_fs_t *fs, void *ctx, const qp_fs_mdir_t *m) {
    struct trav_ctx *t = ctx;
    int err = t->cb(t->data, m->pair[0]);
    if (err == 0) {
        err = t->cb(t->data, m->pair[1]);
    }
    for (uint32_t id = 0; id < m->count && err == 0; id++) {
        uint8_t b[8];
        int32_t tag = qp_fs_lfs2_get(fs, m, L2_TAG(0x700, 0x3ff, 0),
                                     L2_TAG(L2_T_STRUCT, id, 0), 0, b, 8);
        if (tag == QP_ERR_NOENT || (tag >= 0 && l2_type3((uint32_t)tag) != L2_T_CTZ)) {
            continue;
        }
        if (tag < 0) {
            return tag;
        }
        if (l2_size((uint32_t)tag) < 8) {
            return QP_ERR_CORRUPT;
        }
        err = qp_fs_lfs1_ctz_traverse(fs, NULL, qp_fs_get32(b), qp_fs_get32(b + 4), t->cb,
                                      t->data);
    }
    return err;
}

static int lfs2_traverse(qp_fs_t *fs, int (*cb)(void *data, uint32_t block), void *data) {
    struct trav_ctx t = {cb, data};
    qp_fs_mdir_t m;
    int err = walk_list(fs, &m, trav_pair, &t);
    for (qp_fs_file_t *f = fs->files; f && err == 0; f = f->next) {
        if ((f->flags & QP_FS_F_DIRTY) && !(f->flags & QP_FS_F_INLINE)) {
            err = qp_fs_lfs1_ctz_traverse(fs, &f->cache, f->head, f->size, cb, data);
        }
        if (err == 0 && (f->flags & QP_FS_F_WRITING)) {
            err = qp_fs_lfs1_ctz_traverse(fs, &f->cache, f->block, f->pos, cb, data);
        }
    }
    return err;
}

// ---- Format, mount, repairs ----

static int lfs2_format(qp_fs_t *fs) {
    const struct qp_fs_config *cfg = fs->cfg;
    fs->block_count = cfg->block_count;
    uint8_t sb[L2_SB_SIZE];
    qp_fs_put32(sb, fs->disk_version);
    qp_fs_put32(sb + 4, cfg->block_size);
    qp_fs_put32(sb + 8, cfg->block_count);
    qp_fs_put32(sb + 12, fs->name_max);
    qp_fs_put32(sb + 16, QP_FS_FILE_MAX);
    qp_fs_put32(sb + 20, L2_ATTR_MAX);
    // Block 1 is erased so no older log there (v1 or v2) can look newer than ours; block 0
    // gets one commit with the superblock entry first (the magic at offset 8, SPEC-fs §9.7).
    int err = qp_fs_bd_erase(fs, 1);
    if (err == 0) {
        err = qp_fs_bd_erase(fs, 0);
    }
    if (err < 0) {
        return err;
    }
    commit_t w = {0, 0, 0xffffffff, 0xffffffff, cfg->block_size - 8, false};
    uint8_t rev[4];
    qp_fs_put32(rev, 1);
    err = cprog(fs, &w, rev, 4);
    if (err == 0) {
        err = cattr(fs, &w, L2_TAG(L2_T_SUPERBLOCK, 0, 8), "littlefs", 0, 0);
    }
    if (err == 0) {
        err = cattr(fs, &w, L2_TAG(L2_T_INLINE, 0, L2_SB_SIZE), sb, 0, 0);
    }
    if (err == 0) {
        err = ccrc(fs, &w);
    }
    return err;
}

struct mount_ctx {
    uint32_t seed;
    uint32_t hops;
    int found;
};

static int mount_pair(qp_fs_t *fs, void *ctx, const qp_fs_mdir_t *m) {
    struct mount_ctx *mc = ctx;
    mc->seed = mc->seed * 31 + m->rev;
    uint8_t b[L2_SB_SIZE];
    int32_t tag = qp_fs_lfs2_get(fs, m, L2_TAG(0x7ff, 0x3ff, 0),
                                 L2_TAG(L2_T_SUPERBLOCK, 0, 0), 0, b, 8);
    if (tag >= 0 && l2_size((uint32_t)tag) == 8 && memcmp(b, "littlefs", 8) == 0) {
        // The last pair holding a superblock entry is the root (SPEC-fs §9.7).
        tag = qp_fs_lfs2_get(fs, m, L2_TAG(0x7ff, 0x3ff, 0), L2_TAG(L2_T_INLINE, 0, 0), 0,
                             b, L2_SB_SIZE);
        if (tag < 0 || l2_size((uint32_t)tag) < L2_SB_SIZE) {
            return QP_ERR_CORRUPT;
        }
        uint32_t version = qp_fs_get32(b);
        if ((version >> 16) != 2 || (version & 0xffff) > 1) {
            return QP_ERR_NOTSUP;
        }
        uint32_t bs = qp_fs_get32(b + 4), bc = qp_fs_get32(b + 8);
        uint32_t name_max = qp_fs_get32(b + 12), attr_max = qp_fs_get32(b + 20);
        if (bs != fs->cfg->block_size || bc < 2 ||
            (fs->cfg->block_count && bc != fs->cfg->block_count)) {
            return QP_ERR_INVAL;
        }
        fs->block_count = bc;
        fs->disk_version = version;
        fs->root[0] = m->pair[0], fs->root[1] = m->pair[1];
        if (name_max && name_max < fs->name_max) {
            fs->name_max = name_max;
        }
        if (attr_max && attr_max < fs->attr_max) {
            fs->attr_max = attr_max;
        }
        mc->found = 1;
    } else if (tag < 0 && tag != QP_ERR_NOENT) {
        return tag;
    } else if (!mc->found) {
        return QP_ERR_CORRUPT; // blocks 0 and 1 must hold a superblock
    }
    uint32_t gd[3];
    int err = get_gdelta(fs, m, gd);
    if (err < 0) {
        return err;
    }
    for (int i = 0; i < 3; i++) {
        fs->gdisk[i] ^= gd[i];
    }
    return 0;
}

// One deorphan pass: drops pairs with no parent entry, re-points tails at relocated pairs.
// Returns 1 when it changed something (walk again), 0 when clean.
static int deorphan_pass(qp_fs_t *fs) {
    qp_fs_mdir_t pdir, dir;
    int err = qp_fs_lfs2_fetch(fs, &pdir, sb_pair);
    for (uint32_t hops = 0; err == 0 && !lfs1_pair_null(pdir.tail); hops++) {
        if (hops > fs->block_count / 2) {
            return QP_ERR_CORRUPT;
        }
        uint32_t next[2] = {pdir.tail[0], pdir.tail[1]};
        err = qp_fs_lfs2_fetch(fs, &dir, next);
        if (err < 0) {
            return err;
        }
        if (!pdir.split && !lfs1_pair_same(dir.pair, fs->root)) {
            qp_fs_mdir_t parent;
            uint32_t pid = 0, dpair[2] = {0, 0};
            int res = find_parent(fs, next, &parent, &pid, dpair);
            if (res < 0) {
                return res;
            }
            if (res == 0) {
                err = drop_pair(fs, &dir); // an orphan
                return err < 0 ? err : 1;
            }
            if (!lfs1_pair_same(dpair, next)) {
                err = commit_tail(fs, &pdir, dpair, pdir.split); // a half-done relocation
                return err < 0 ? err : 1;
            }
        }
        pdir = dir;
    }
    return err;
}

static int lfs2_mount(qp_fs_t *fs) {
    fs->attr_max = L2_ATTR_MAX;
    memset(fs->gdisk, 0, sizeof(fs->gdisk));
    struct mount_ctx mc = {0, 0, 0};
    qp_fs_mdir_t m;
    // Walk (and CRC-check) every pair: finds the superblock, the root and the gstate.
    int err = walk_list(fs, &m, mount_pair, &mc);
    if (err < 0) {
        return err;
    }
    if (!mc.found) {
        return QP_ERR_CORRUPT;
    }
    memcpy(fs->gstate, fs->gdisk, sizeof(fs->gstate));
    fs->inline_max = qp_fs_min(qp_fs_min(fs->cache_size, fs->attr_max),
                               fs->cfg->block_size / 8);
    qp_fs_block_reset(fs, mc.seed % fs->block_count);
    // Finish what a cut interrupted, now rather than at the first write, so readers never
    // see a file twice or an orphan (SPEC-fs §9.6).
    if (g_hasmove(fs->gstate)) {
        uint32_t mp[2] = {fs->gstate[1], fs->gstate[2]};
        uint32_t id = l2_id(fs->gstate[0]);
        err = qp_fs_lfs2_fetch(fs, &m, mp);
        if (err < 0) {
            return err;
        }
        g_setmove(fs, L2_ID_NONE, NULL);
        if (id >= m.count) {
            return QP_ERR_CORRUPT;
        }
        l2_attr_t del = {L2_TAG(L2_T_DELETE, id, 0), NULL, NULL};
        err = qp_fs_lfs2_commit(fs, &m, &del, 1, NULL);
        if (err < 0) {
            return err;
        }
    }
    if (g_orphans(fs->gstate) > 0) {
        for (uint32_t pass = 0;; pass++) {
            if (pass > fs->block_count) {
                return QP_ERR_CORRUPT;
            }
            int res = deorphan_pass(fs);
            if (res < 0) {
                return res;
            }
            if (res == 0) {
                break;
            }
        }
        g_orphans_add(fs, -(int)g_orphans(fs->gstate));
        err = qp_fs_lfs2_fetch(fs, &m, fs->root);
        if (err == 0) {
            err = qp_fs_lfs2_commit(fs, &m, NULL, 0, NULL);
        }
    }
    return err;
}

const struct qp_fs_ops qp_fs_lfs2_ops = {
    .disk_version = QP_FS_DISK_VERSION_LFS2,
    .format = lfs2_format,
    .mount = lfs2_mount,
    .traverse = lfs2_traverse,
    .stat = lfs2_stat,
    .remove = lfs2_remove,
    .rename = lfs2_rename,
    .mkdir = lfs2_mkdir,
    .dir_open = lfs2_dir_open,
    .dir_read = lfs2_dir_read,
    .dir_rewind = lfs2_dir_rewind,
    .file_open = qp_fs_lfs2_file_open,
    .file_sync = qp_fs_lfs2_file_sync,
    .file_read = qp_fs_lfs2_file_read,
    .file_write = qp_fs_lfs2_file_write,
    .file_seek = qp_fs_lfs2_file_seek,
    .file_size = qp_fs_lfs2_file_size,
    .file_truncate = qp_fs_lfs2_file_truncate,
    .getattr = lfs2_getattr,
    .setattr = lfs2_setattr,
};
