// qp_fs_lfs2_file.c - littlefs v2 files: inline files kept in their metadata pair, and CTZ
// skip-list files through the v1 file layer (the list format did not change between v1 and v2,
// SPEC-fs §9.9), committed as v2 struct tags.
//
// An inline file (struct tag 0x201) is held whole in the handle's cache while it is open for
// writing, so writes are memory copies and a sync is one commit. When it grows past
// inline_max (min(cache_size, attr_max, block_size/8), littlefs's rule) it is written out to
// a CTZ list and carries on there; a file shrunk to nothing becomes inline again.
#include "lfs2_internal.h"

// Inline files this handle can hold in its cache.
static uint32_t inline_limit(const qp_fs_t *fs) {
    return qp_fs_min(fs->inline_max, fs->cache_size);
}

static int fetch_file(qp_fs_t *fs, const qp_fs_file_t *f, qp_fs_mdir_t *m) {
    if (lfs1_pair_null(f->pair)) {
        return QP_ERR_NOENT;
    }
    return qp_fs_lfs2_fetch(fs, m, f->pair);
}

// Reads inline bytes [pos, pos+size) from the cache or from the metadata pair.
static int inline_read(qp_fs_t *fs, qp_fs_file_t *f, uint32_t pos, void *buf, uint32_t size) {
    if (f->flags & QP_FS_F_CACHED) {
        memcpy(buf, f->cache.buffer + pos, size);
        return 0;
    }
    qp_fs_mdir_t m;
    int err = fetch_file(fs, f, &m);
    if (err < 0) {
        return err;
    }
    int32_t tag = qp_fs_lfs2_get(fs, &m, L2_TAG(0x700, 0x3ff, 0),
                                 L2_TAG(L2_T_STRUCT, f->poff, 0), pos, buf, size);
    if (tag < 0) {
        return tag;
    }
    if (l2_type3((uint32_t)tag) != L2_T_INLINE || l2_size((uint32_t)tag) < pos + size) {
        return QP_ERR_CORRUPT;
    }
    return 0;
}

// Moves an inline file out to a CTZ list (it outgrew inline_max). The handle's cache turns
// into the program cache of the first block; copying byte i of the file to offset i of that
// block leaves each cached byte where it was, so the copy can read from the cache it fills.
static int outline(qp_fs_t *fs, qp_fs_file_t *f) {
    uint32_t size = f->size, pos = f->pos;
    if (f->flags & QP_FS_F_CACHED) {
        memset(f->cache.buffer + size, 0xff, fs->cache_size - size);
    }
    bool cached = (f->flags & QP_FS_F_CACHED) != 0;
    uint32_t keep = f->flags & ~(QP_FS_F_INLINE | QP_FS_F_CACHED | QP_FS_F_READING);
    f->flags = keep & ~(uint32_t)QP_FS_O_APPEND;
    f->head = QP_FS_BLOCK_NULL;
    f->size = 0;
    f->pos = 0;
    f->block = QP_FS_BLOCK_NULL;
    f->off = 0;
    qp_fs_bd_drop(&f->cache);
    for (uint32_t i = 0; i < size;) {
        uint8_t b[32];
        uint32_t n = qp_fs_min(sizeof(b), size - i);
        int err;
        if (cached) {
            memcpy(b, f->cache.buffer + i, n);
            err = 0;
        } else {
            // Not cached: larger than our cache, written by a littlefs with a bigger one.
            f->flags |= QP_FS_F_INLINE;
            err = inline_read(fs, f, i, b, n);
            f->flags &= ~QP_FS_F_INLINE;
        }
        if (err == 0) {
            err = qp_fs_lfs1_file_write(fs, f, b, n);
        }
        if (err < 0) {
            f->flags |= QP_FS_F_ERRED | (keep & QP_FS_O_APPEND);
            return err;
        }
        i += n;
    }
    int err = qp_fs_lfs1_file_flush(fs, f);
    f->flags |= QP_FS_F_DIRTY | (keep & QP_FS_O_APPEND);
    f->pos = pos;
    return err;
}

int qp_fs_lfs2_file_open(qp_fs_t *fs, qp_fs_file_t *file, const char *path, int flags) {
    bool writable = (flags & QP_FS_O_WRONLY) != 0;
    l2_lookup_t l;
    bool parent_found;
    qp_fs_block_ack(fs);
    int err = qp_fs_lfs2_find(fs, path, &l, NULL, &parent_found);
    if (err < 0 && (err != QP_ERR_NOENT || !parent_found)) {
        return err;
    }
    if (err == QP_ERR_NOENT) {
        if (!(flags & QP_FS_O_CREAT)) {
            return QP_ERR_NOENT;
        }
        l2_attr_t a[3] = {
            {L2_TAG(L2_T_CREATE, l.id, 0), NULL, NULL},
            {L2_TAG(L2_T_REG, l.id, l.nlen), l.name, NULL},
            {L2_TAG(L2_T_INLINE, l.id, 0), NULL, NULL},
        };
        err = qp_fs_lfs2_commit(fs, &l.m, a, 3, &l.id);
        if (err < 0) {
            return err;
        }
    } else if (l.type == L2_T_DIR) {
        return QP_ERR_ISDIR;
    } else if ((flags & QP_FS_O_CREAT) && (flags & QP_FS_O_EXCL)) {
        return QP_ERR_EXIST;
    }
    file->flags = (uint32_t)flags;
    file->pair[0] = l.m.pair[0];
    file->pair[1] = l.m.pair[1];
    file->poff = l.id;
    file->pos = 0;
    file->block = QP_FS_BLOCK_NULL;
    file->off = 0;
    qp_fs_bd_zero(fs, &file->cache);
    uint8_t b[8];
    int32_t tag = qp_fs_lfs2_get(fs, &l.m, L2_TAG(0x700, 0x3ff, 0),
                                 L2_TAG(L2_T_STRUCT, l.id, 0), 0, b, 8);
    if (tag < 0) {
        return tag == QP_ERR_NOENT ? QP_ERR_CORRUPT : tag;
    }
    if (l2_type3((uint32_t)tag) == L2_T_CTZ && l2_size((uint32_t)tag) >= 8) {
        file->head = qp_fs_get32(b);
        file->size = qp_fs_get32(b + 4);
        if (file->size > QP_FS_FILE_MAX) {
            return QP_ERR_CORRUPT;
        }
        if (file->size == 0) {
            file->head = QP_FS_BLOCK_NULL;
        }
    } else if (l2_type3((uint32_t)tag) == L2_T_INLINE) {
        file->flags |= QP_FS_F_INLINE;
        file->head = QP_FS_BLOCK_NULL;
        file->size = l2_size((uint32_t)tag);
        if (file->size <= fs->cache_size) {
            err = inline_read(fs, file, 0, file->cache.buffer, file->size);
            if (err < 0) {
                return err;
            }
            file->flags |= QP_FS_F_CACHED;
        }
    } else {
        return QP_ERR_CORRUPT;
    }
    if ((flags & QP_FS_O_TRUNC) && writable) {
        if (file->size != 0 || !(file->flags & QP_FS_F_INLINE)) {
            file->flags |= QP_FS_F_DIRTY;
        }
        file->flags |= QP_FS_F_INLINE | QP_FS_F_CACHED;
        file->head = QP_FS_BLOCK_NULL;
        file->size = 0;
    }
    return 0;
}

int qp_fs_lfs2_file_sync(qp_fs_t *fs, qp_fs_file_t *f) {
    if (!(f->flags & QP_FS_F_INLINE)) {
        int err = qp_fs_lfs1_file_flush(fs, f);
        if (err < 0) {
            f->flags |= QP_FS_F_ERRED;
            return err;
        }
    }
    if (!(f->flags & QP_FS_F_DIRTY) || (f->flags & QP_FS_F_ERRED) || lfs1_pair_null(f->pair)) {
        return 0;
    }
    qp_fs_block_ack(fs);
    qp_fs_mdir_t m;
    int err = fetch_file(fs, f, &m);
    if (err < 0) {
        return err;
    }
    uint8_t b[8];
    l2_attr_t a;
    if (f->size == 0 && !(f->flags & QP_FS_F_WRITING)) {
        f->flags |= QP_FS_F_INLINE | QP_FS_F_CACHED; // an empty file is inline again
        f->head = QP_FS_BLOCK_NULL;
    }
    if (f->flags & QP_FS_F_INLINE) {
        QP_ASSERT(f->flags & QP_FS_F_CACHED); // only a cached inline file becomes dirty
        a = (l2_attr_t){L2_TAG(L2_T_INLINE, f->poff, f->size), f->cache.buffer, NULL};
    } else {
        qp_fs_put32(b, f->head);
        qp_fs_put32(b + 4, f->size);
        a = (l2_attr_t){L2_TAG(L2_T_CTZ, f->poff, 8), b, NULL};
    }
    err = qp_fs_lfs2_commit(fs, &m, &a, 1, NULL);
    if (err < 0) {
        return err;
    }
    f->flags &= ~QP_FS_F_DIRTY;
    return 0;
}

int qp_fs_lfs2_file_read(qp_fs_t *fs, qp_fs_file_t *f, void *buf, uint32_t size) {
    if (!(f->flags & QP_FS_F_INLINE)) {
        return qp_fs_lfs1_file_read(fs, f, buf, size);
    }
    if (f->pos >= f->size) {
        return 0;
    }
    size = qp_fs_min(size, f->size - f->pos);
    int err = inline_read(fs, f, f->pos, buf, size);
    if (err < 0) {
        return err;
    }
    f->pos += size;
    return (int)size;
}

int qp_fs_lfs2_file_write(qp_fs_t *fs, qp_fs_file_t *f, const void *buf, uint32_t size) {
    if (f->flags & QP_FS_F_INLINE) {
        if (f->flags & QP_FS_O_APPEND) {
            f->pos = f->size;
        }
        if ((uint64_t)f->pos + size > QP_FS_FILE_MAX) {
            return QP_ERR_FBIG;
        }
        uint32_t end = qp_fs_max(f->size, f->pos + size);
        if (end <= inline_limit(fs) && (f->flags & QP_FS_F_CACHED)) {
            if (f->pos > f->size) {
                memset(f->cache.buffer + f->size, 0, f->pos - f->size); // a hole
            }
            if (size) {
                memcpy(f->cache.buffer + f->pos, buf, size);
            }
            f->pos += size;
            f->size = end;
            f->flags |= QP_FS_F_DIRTY;
            return (int)size;
        }
        int err = outline(fs, f);
        if (err < 0) {
            return err;
        }
    }
    return qp_fs_lfs1_file_write(fs, f, buf, size);
}

int32_t qp_fs_lfs2_file_seek(qp_fs_t *fs, qp_fs_file_t *f, int32_t off, int whence) {
    if (!(f->flags & QP_FS_F_INLINE)) {
        return qp_fs_lfs1_file_seek(fs, f, off, whence);
    }
    int64_t npos = whence == QP_FS_SEEK_SET   ? off
                   : whence == QP_FS_SEEK_CUR ? (int64_t)f->pos + off
                   : whence == QP_FS_SEEK_END ? (int64_t)f->size + off
                                              : -1;
    if (npos < 0 || npos > QP_FS_FILE_MAX) {
        return QP_ERR_INVAL;
    }
    f->pos = (uint32_t)npos;
    return (int32_t)npos;
}

int32_t qp_fs_lfs2_file_size(qp_fs_t *fs, qp_fs_file_t *f) {
    if (!(f->flags & QP_FS_F_INLINE)) {
        return qp_fs_lfs1_file_size(fs, f);
    }
    return (int32_t)f->size;
}

int qp_fs_lfs2_file_truncate(qp_fs_t *fs, qp_fs_file_t *f, uint32_t size) {
    if (size > QP_FS_FILE_MAX) {
        return QP_ERR_INVAL;
    }
    if (f->flags & QP_FS_F_INLINE) {
        if (size <= f->size || (size <= inline_limit(fs) && (f->flags & QP_FS_F_CACHED))) {
            if (size > f->size) {
                memset(f->cache.buffer + f->size, 0, size - f->size);
            }
            if (size != f->size) {
                f->flags |= QP_FS_F_DIRTY;
            }
            f->size = size;
            if (!(f->flags & QP_FS_F_CACHED) && size <= fs->cache_size) {
                // Shrunk into the cache: load it so a sync can write it.
                f->flags &= ~QP_FS_F_DIRTY;
                int err = inline_read(fs, f, 0, f->cache.buffer, size);
                if (err < 0) {
                    return err;
                }
                f->flags |= QP_FS_F_CACHED | QP_FS_F_DIRTY;
            } else if (!(f->flags & QP_FS_F_CACHED)) {
                int err = outline(fs, f);
                if (err < 0) {
                    return err;
                }
                return qp_fs_lfs1_file_truncate(fs, f, size);
            }
            return 0;
        }
        int err = outline(fs, f);
        if (err < 0) {
            return err;
        }
    }
    return qp_fs_lfs1_file_truncate(fs, f, size);
}
