// qp_fs_lfs1_file.c - littlefs v1 file data: CTZ skip-lists and the file operations.
//
// A file is a backwards skip-list of blocks (SPEC-fs §2.6): block n (n > 0) starts with
// ctz(n)+1 pointers, pointer k leading to block n - 2^k; data fills the rest. Blocks are
// never modified in place: writing copies the block holding the write position into a new
// block and carries on from there (copy-on-write), and the entry in the directory pair is
// only switched to the new head by a sync, so a cut always leaves the old or the new file.
#include "lfs1_internal.h"

// Pointer count stored at the start of block n.
static uint32_t ptr_count(uint32_t n) {
    return n == 0 ? 0 : (uint32_t)__builtin_ctz(n) + 1;
}

// File position of the first data byte of block n: blocks 0..n-1 hold n*B bytes minus
// their pointers, and sum(ctz(k)+1, k = 1..n-1) = 2(n-1) - popcount(n-1).
static uint64_t block_start(uint32_t B, uint32_t n) {
    if (n == 0) {
        return 0;
    }
    return (uint64_t)n * (B - 8) + 8 + 4 * (uint64_t)__builtin_popcount(n - 1);
}

// Index of the block holding file position `pos`, and the offset of pos in that block.
static uint32_t ctz_index(uint32_t B, uint32_t pos, uint32_t *off) {
    // block_start(n) > n(B-8), so pos/(B-8) is an upper bound; it overshoots by at most
    // (8 + 4*32) bytes' worth, i.e. two steps for any legal block size.
    uint32_t n = pos / (B - 8);
    while (n > 0 && block_start(B, n) > pos) {
        n--;
    }
    *off = (uint32_t)(pos - block_start(B, n)) + 4 * ptr_count(n);
    return n;
}

static int check_block(qp_fs_t *fs, uint32_t block) {
    return block < fs->block_count ? 0 : QP_ERR_CORRUPT;
}

// Finds the block holding `pos` in the list of `size` bytes ending at `head`.
static int ctz_find(qp_fs_t *fs, qp_fs_cache_t *rcache, const qp_fs_cache_t *pcache,
                    uint32_t head, uint32_t size, uint32_t pos, uint32_t *block,
                    uint32_t *off) {
    uint32_t B = fs->cfg->block_size;
    if (size == 0) {
        *block = QP_FS_BLOCK_NULL;
        *off = 0;
        return 0;
    }
    uint32_t dummy;
    uint32_t current = ctz_index(B, size - 1, &dummy);
    uint32_t target = ctz_index(B, pos, off);
    while (current > target) {
        int err = check_block(fs, head);
        if (err < 0) {
            return err;
        }
        // Largest jump that neither overshoots nor exceeds the pointers stored here.
        uint32_t skip = 31 - (uint32_t)__builtin_clz(current - target);
        skip = qp_fs_min(skip, (uint32_t)__builtin_ctz(current));
        uint8_t b[4];
        err = qp_fs_bd_read(fs, rcache, pcache, head, 4 * skip, b, 4);
        if (err < 0) {
            return err;
        }
        head = qp_fs_get32(b);
        current -= 1u << skip;
    }
    int err = check_block(fs, head);
    if (err < 0) {
        return err;
    }
    *block = head;
    return 0;
}

int qp_fs_lfs1_ctz_traverse(qp_fs_t *fs, const qp_fs_cache_t *pcache, uint32_t head,
                            uint32_t size, int (*cb)(void *data, uint32_t block),
                            void *data) {
    if (size == 0) {
        return 0;
    }
    uint32_t off;
    uint32_t index = ctz_index(fs->cfg->block_size, size - 1, &off);
    // Every step visits one or two blocks and lowers index, so this ends; the index
    // bound keeps a corrupt pointer from walking anywhere but into check_block.
    for (;;) {
        int err = check_block(fs, head);
        if (err < 0) {
            return err;
        }
        err = cb(data, head);
        if (err < 0) {
            return err;
        }
        if (index == 0) {
            return 0;
        }
        // Odd blocks hold one pointer; even ones at least two: take pointers 0 and 1 to
        // visit two blocks per read.
        uint32_t count = (index & 1) ? 1 : 2;
        uint8_t b[8];
        err = qp_fs_bd_read(fs, &fs->rcache, pcache, head, 0, b, 4 * count);
        if (err < 0) {
            return err;
        }
        if (count == 2) {
            uint32_t prev = qp_fs_get32(b);
            err = check_block(fs, prev);
            if (err < 0) {
                return err;
            }
            err = cb(data, prev);
            if (err < 0) {
                return err;
            }
        }
        head = qp_fs_get32(b + 4 * (count - 1));
        index -= count;
    }
}

// Starts a new block to continue a file of `size` bytes whose last block is `head`: either
// a copy of the partly filled last block, or a fresh block with its skip pointers.
static int ctz_extend(qp_fs_t *fs, qp_fs_cache_t *pcache, uint32_t head, uint32_t size,
                      uint32_t *block, uint32_t *off) {
    uint32_t B = fs->cfg->block_size;
    for (uint32_t tries = 0; tries <= fs->block_count; tries++) {
        uint32_t nb;
        int err = qp_fs_block_alloc(fs, &nb);
        if (err < 0) {
            return err;
        }
        err = qp_fs_bd_erase(fs, nb);
        if (err == QP_ERR_CORRUPT) {
            continue; // bad block: take another
        }
        if (err < 0) {
            return err;
        }
        if (size == 0) {
            *block = nb;
            *off = 0;
            return 0;
        }
        uint32_t last_off;
        uint32_t index = ctz_index(B, size - 1, &last_off);
        uint32_t used = last_off + 1;
        if (used != B) {
            // Copy what the last block holds (its pointers too, which stay valid).
            bool bad = false;
            for (uint32_t i = 0; i < used && !bad;) {
                uint8_t chunk[32];
                uint32_t n = qp_fs_min(sizeof(chunk), used - i);
                err = qp_fs_bd_read(fs, &fs->rcache, NULL, head, i, chunk, n);
                if (err < 0) {
                    return err;
                }
                err = qp_fs_bd_prog(fs, pcache, nb, i, chunk, n);
                if (err < 0 && err != QP_ERR_CORRUPT) {
                    return err;
                }
                bad = err == QP_ERR_CORRUPT;
                i += n;
            }
            if (bad) {
                qp_fs_bd_zero(fs, pcache); // the new block is bad: take another
                continue;
            }
            *block = nb;
            *off = used;
            return 0;
        }
        index += 1;
        uint32_t skips = ptr_count(index);
        bool bad = false;
        for (uint32_t k = 0; k < skips && !bad; k++) {
            uint8_t b[4];
            qp_fs_put32(b, head);
            err = qp_fs_bd_prog(fs, pcache, nb, 4 * k, b, 4);
            if (err < 0 && err != QP_ERR_CORRUPT) {
                return err;
            }
            bad = err == QP_ERR_CORRUPT;
            if (!bad && k + 1 < skips) {
                // Pointer k+1 of the new block is pointer k of the block 2^k back.
                err = qp_fs_bd_read(fs, &fs->rcache, NULL, head, 4 * k, b, 4);
                if (err < 0) {
                    return err;
                }
                head = qp_fs_get32(b);
                err = check_block(fs, head);
                if (err < 0) {
                    return err;
                }
            }
        }
        if (bad) {
            qp_fs_bd_zero(fs, pcache);
            continue;
        }
        *block = nb;
        *off = 4 * skips;
        return 0;
    }
    return QP_ERR_NOSPC;
}

// The block being written went bad: copy what it holds so far (flash plus the file cache)
// to a fresh block and continue there.
static int file_relocate(qp_fs_t *fs, qp_fs_file_t *f) {
    for (uint32_t tries = 0; tries <= fs->block_count; tries++) {
        uint32_t nb;
        int err = qp_fs_block_alloc(fs, &nb);
        if (err < 0) {
            return err;
        }
        err = qp_fs_bd_erase(fs, nb);
        for (uint32_t i = 0; i < f->off && err == 0;) {
            uint8_t chunk[32];
            uint32_t n = qp_fs_min(sizeof(chunk), f->off - i);
            err = qp_fs_bd_read(fs, &fs->rcache, &f->cache, f->block, i, chunk, n);
            if (err == 0) {
                err = qp_fs_bd_prog(fs, &fs->pcache, nb, i, chunk, n);
            }
            i += n;
        }
        if (err == QP_ERR_CORRUPT) {
            qp_fs_bd_zero(fs, &fs->pcache);
            continue;
        }
        if (err < 0) {
            return err;
        }
        // The unfinished program unit moves over to the file's own cache.
        memcpy(f->cache.buffer, fs->pcache.buffer, fs->cache_size);
        f->cache.block = fs->pcache.block;
        f->cache.off = fs->pcache.off;
        f->cache.size = fs->pcache.size;
        qp_fs_bd_zero(fs, &fs->pcache);
        f->block = nb;
        return 0;
    }
    return QP_ERR_NOSPC;
}

// Appends at f->pos into the file's new blocks (no mode checks, no flushing).
static int write_raw(qp_fs_t *fs, qp_fs_file_t *f, const uint8_t *data, uint32_t size) {
    uint32_t B = fs->cfg->block_size;
    while (size > 0) {
        if (!(f->flags & QP_FS_F_WRITING) || f->off == B) {
            if (!(f->flags & QP_FS_F_WRITING) && f->pos > 0) {
                // Find the block we continue from; the cache may hold read data.
                uint32_t off;
                int err = ctz_find(fs, &f->cache, NULL, f->head, f->size, f->pos - 1,
                                   &f->block, &off);
                if (err < 0) {
                    return err;
                }
                qp_fs_bd_zero(fs, &f->cache);
            }
            qp_fs_block_ack(fs);
            int err = ctz_extend(fs, &f->cache, f->block, f->pos, &f->block, &f->off);
            if (err < 0) {
                return err;
            }
            f->flags |= QP_FS_F_WRITING;
        }
        uint32_t diff = qp_fs_min(size, B - f->off);
        int err = qp_fs_bd_prog(fs, &f->cache, f->block, f->off, data, diff);
        for (uint32_t tries = 0; err == QP_ERR_CORRUPT && tries <= fs->block_count; tries++) {
            err = file_relocate(fs, f);
            if (err == 0) {
                err = qp_fs_bd_prog(fs, &f->cache, f->block, f->off, data, diff);
            }
        }
        if (err < 0) {
            return err;
        }
        f->pos += diff;
        f->off += diff;
        data += diff;
        size -= diff;
        qp_fs_block_ack(fs);
    }
    return 0;
}

// Ends a write sequence: copies the rest of the old file after pos into the new blocks,
// writes out the cache and makes the new list the file's (not yet committed) state.
int qp_fs_lfs1_file_flush(qp_fs_t *fs, qp_fs_file_t *f) {
    uint32_t B = fs->cfg->block_size;
    if (f->flags & QP_FS_F_READING) {
        qp_fs_bd_drop(&f->cache);
        f->flags &= ~QP_FS_F_READING;
    }
    if (!(f->flags & QP_FS_F_WRITING)) {
        return 0;
    }
    uint32_t pos = f->pos;
    uint32_t oblock = QP_FS_BLOCK_NULL, ooff = B;
    while (f->pos < f->size) {
        if (ooff == B) {
            int err = ctz_find(fs, &fs->rcache, NULL, f->head, f->size, f->pos, &oblock, &ooff);
            if (err < 0) {
                return err;
            }
        }
        uint8_t chunk[32];
        uint32_t n = qp_fs_min(sizeof(chunk), qp_fs_min(B - ooff, f->size - f->pos));
        int err = qp_fs_bd_read(fs, &fs->rcache, NULL, oblock, ooff, chunk, n);
        if (err < 0) {
            return err;
        }
        err = write_raw(fs, f, chunk, n);
        if (err < 0) {
            return err;
        }
        ooff += n;
    }
    int err = qp_fs_bd_flush(fs, &f->cache);
    for (uint32_t tries = 0; err == QP_ERR_CORRUPT && tries <= fs->block_count; tries++) {
        err = file_relocate(fs, f);
        if (err == 0) {
            err = qp_fs_bd_flush(fs, &f->cache);
        }
    }
    if (err < 0) {
        return err;
    }
    f->head = f->block;
    f->size = f->pos;
    f->flags &= ~QP_FS_F_WRITING;
    f->flags |= QP_FS_F_DIRTY;
    f->pos = pos;
    return 0;
}

int qp_fs_lfs1_file_open(qp_fs_t *fs, qp_fs_file_t *file, const char *path, int flags) {
    bool writable = (flags & QP_FS_O_WRONLY) != 0;
    if ((writable || (flags & QP_FS_O_CREAT)) && !fs->deorphaned) {
        int err = qp_fs_lfs1_deorphan(fs);
        if (err < 0) {
            return err;
        }
    }
    lfs1_lookup_t l;
    bool parent_found;
    int err = qp_fs_lfs1_find(fs, path, &l, NULL, &parent_found);
    if (err < 0 && (err != QP_ERR_NOENT || !parent_found)) {
        return err;
    }
    if (err == QP_ERR_NOENT) {
        if (!(flags & QP_FS_O_CREAT)) {
            return QP_ERR_NOENT;
        }
        l.e = (lfs1_entry_t){.type = LFS1_T_REG, .elen = 8, .nlen = (uint8_t)l.nlen,
                             .u = {QP_FS_BLOCK_NULL, 0}};
        err = qp_fs_lfs1_append(fs, &l.cwd, &l.e, l.name);
        if (err < 0) {
            return err;
        }
    } else if (l.e.type == LFS1_T_DIR) {
        return QP_ERR_ISDIR;
    } else if ((flags & QP_FS_O_CREAT) && (flags & QP_FS_O_EXCL)) {
        return QP_ERR_EXIST;
    }
    file->flags = (uint32_t)flags;
    file->pair[0] = l.cwd.pair[0];
    file->pair[1] = l.cwd.pair[1];
    file->poff = l.e.off;
    file->head = l.e.u[0];
    file->size = l.e.u[1];
    file->pos = 0;
    file->block = QP_FS_BLOCK_NULL;
    file->off = 0;
    if (file->size > QP_FS_FILE_MAX) {
        return QP_ERR_CORRUPT;
    }
    if ((flags & QP_FS_O_TRUNC) && writable) {
        if (file->size != 0) {
            file->flags |= QP_FS_F_DIRTY;
        }
        file->head = QP_FS_BLOCK_NULL;
        file->size = 0;
    }
    qp_fs_bd_zero(fs, &file->cache);
    return 0;
}

int qp_fs_lfs1_file_sync(qp_fs_t *fs, qp_fs_file_t *f) {
    int err = qp_fs_lfs1_file_flush(fs, f);
    if (err < 0) {
        f->flags |= QP_FS_F_ERRED;
        return err;
    }
    if (!(f->flags & QP_FS_F_DIRTY) || (f->flags & QP_FS_F_ERRED) || lfs1_pair_null(f->pair)) {
        return 0;
    }
    qp_fs_mdir_t m;
    err = qp_fs_lfs1_fetch(fs, &m, f->pair);
    if (err < 0) {
        return err;
    }
    lfs1_entry_t e;
    err = qp_fs_lfs1_entry_read(fs, &m, f->poff, &e);
    if (err < 0) {
        return err;
    }
    if ((e.type & 0x7f) != LFS1_T_REG) {
        return QP_ERR_CORRUPT;
    }
    e.u[0] = f->size ? f->head : QP_FS_BLOCK_NULL;
    e.u[1] = f->size;
    err = qp_fs_lfs1_entry_update(fs, &m, &e);
    if (err < 0) {
        return err;
    }
    f->flags &= ~QP_FS_F_DIRTY;
    return 0;
}

int qp_fs_lfs1_file_read(qp_fs_t *fs, qp_fs_file_t *f, void *buf, uint32_t size) {
    uint32_t B = fs->cfg->block_size;
    uint8_t *data = buf;
    if (f->flags & QP_FS_F_WRITING) {
        int err = qp_fs_lfs1_file_flush(fs, f);
        if (err < 0) {
            return err;
        }
    }
    if (f->pos >= f->size) {
        return 0;
    }
    size = qp_fs_min(size, f->size - f->pos);
    uint32_t left = size;
    while (left > 0) {
        if (!(f->flags & QP_FS_F_READING) || f->off == B) {
            int err = ctz_find(fs, &f->cache, NULL, f->head, f->size, f->pos, &f->block,
                               &f->off);
            if (err < 0) {
                return err;
            }
            f->flags |= QP_FS_F_READING;
        }
        uint32_t diff = qp_fs_min(left, B - f->off);
        int err = qp_fs_bd_read(fs, &f->cache, NULL, f->block, f->off, data, diff);
        if (err < 0) {
            return err;
        }
        f->pos += diff;
        f->off += diff;
        data += diff;
        left -= diff;
    }
    return (int)size;
}

int qp_fs_lfs1_file_write(qp_fs_t *fs, qp_fs_file_t *f, const void *buf, uint32_t size) {
    if (f->flags & QP_FS_F_READING) {
        int err = qp_fs_lfs1_file_flush(fs, f);
        if (err < 0) {
            return err;
        }
    }
    if ((f->flags & QP_FS_O_APPEND) && f->pos < (uint32_t)qp_fs_lfs1_file_size(fs, f)) {
        int32_t end = qp_fs_lfs1_file_seek(fs, f, 0, QP_FS_SEEK_END);
        if (end < 0) {
            return end;
        }
    }
    if ((uint64_t)f->pos + size > QP_FS_FILE_MAX) {
        return QP_ERR_FBIG;
    }
    if (!(f->flags & QP_FS_F_WRITING) && f->pos > f->size) {
        // A seek past the end leaves a hole: fill it with zeros first.
        uint32_t target = f->pos;
        static const uint8_t zeros[32];
        f->pos = f->size;
        while (f->pos < target) {
            int err = write_raw(fs, f, zeros, qp_fs_min(sizeof(zeros), target - f->pos));
            if (err < 0) {
                f->flags |= QP_FS_F_ERRED;
                return err;
            }
        }
    }
    int err = write_raw(fs, f, buf, size);
    if (err < 0) {
        f->flags |= QP_FS_F_ERRED;
        return err;
    }
    f->flags &= ~QP_FS_F_ERRED;
    return (int)size;
}

int32_t qp_fs_lfs1_file_seek(qp_fs_t *fs, qp_fs_file_t *f, int32_t off, int whence) {
    int64_t npos;
    if (whence == QP_FS_SEEK_SET) {
        npos = off;
    } else if (whence == QP_FS_SEEK_CUR) {
        npos = (int64_t)f->pos + off;
    } else if (whence == QP_FS_SEEK_END) {
        npos = (int64_t)qp_fs_lfs1_file_size(fs, f) + off;
    } else {
        return QP_ERR_INVAL;
    }
    if (npos < 0 || npos > QP_FS_FILE_MAX) {
        return QP_ERR_INVAL;
    }
    if ((f->flags & QP_FS_F_WRITING) && (uint32_t)npos == f->pos) {
        return (int32_t)npos; // no move: keep writing into the same block
    }
    int err = qp_fs_lfs1_file_flush(fs, f);
    if (err < 0) {
        return err;
    }
    f->pos = (uint32_t)npos;
    return (int32_t)npos;
}

int32_t qp_fs_lfs1_file_size(qp_fs_t *fs, qp_fs_file_t *f) {
    (void)fs;
    if (f->flags & QP_FS_F_WRITING) {
        return (int32_t)qp_fs_max(f->pos, f->size);
    }
    return (int32_t)f->size;
}

int qp_fs_lfs1_file_truncate(qp_fs_t *fs, qp_fs_file_t *f, uint32_t size) {
    uint32_t old = (uint32_t)qp_fs_lfs1_file_size(fs, f);
    if (size > QP_FS_FILE_MAX) {
        return QP_ERR_INVAL;
    }
    if (size < old) {
        int err = qp_fs_lfs1_file_flush(fs, f);
        if (err < 0) {
            return err;
        }
        // The new last block is the one holding byte size-1 (littlefs v1.7.2 looks up byte
        // `size`, which picks the wrong block at an exact block boundary: SPEC-fs §5).
        uint32_t head = QP_FS_BLOCK_NULL, off;
        if (size > 0) {
            err = ctz_find(fs, &f->cache, NULL, f->head, f->size, size - 1, &head, &off);
            if (err < 0) {
                return err;
            }
        }
        qp_fs_bd_drop(&f->cache);
        f->flags &= ~QP_FS_F_READING;
        f->head = head;
        f->size = size;
        f->flags |= QP_FS_F_DIRTY;
    } else if (size > old) {
        uint32_t pos = f->pos;
        int32_t res = qp_fs_lfs1_file_seek(fs, f, (int32_t)size, QP_FS_SEEK_SET);
        if (res < 0) {
            return res;
        }
        // Writing nothing at `size` fills the hole up to it.
        res = qp_fs_lfs1_file_write(fs, f, NULL, 0);
        if (res < 0) {
            return res;
        }
        res = qp_fs_lfs1_file_seek(fs, f, (int32_t)pos, QP_FS_SEEK_SET);
        if (res < 0) {
            return res;
        }
    }
    return 0;
}
