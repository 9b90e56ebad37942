// qp_fs.c - the public qp_fs_* API: argument and config checks, buffer ownership, the
// lists of open handles, the block allocator, and dispatch to the on-disk version.
//
// Nothing here knows the on-disk layout; that lives behind struct qp_fs_ops (qp_fs_lfs1_ops,
// qp_fs_lfs2_ops). Mount with disk_version 0 tries v1, then v2 (SPEC-fs §9.8). The
// allocator is shared: it only needs the backend's traversal of the
// blocks in use (littlefs keeps no free list on disk, SPEC-fs §6).
#include <stdlib.h>

#include "fs_internal.h"

// ---- Buffers ----

static void *buf_alloc(const struct qp_fs_config *cfg, size_t size) {
    if (cfg->alloc.alloc) {
        return cfg->alloc.alloc(cfg->alloc.ctx, size);
    }
#if QP_FS_NO_MALLOC
    (void)size;
    return NULL;
#else
    return malloc(size);
#endif
}

static void buf_free(const struct qp_fs_config *cfg, void *p) {
    if (!p) {
        return;
    }
    if (cfg->alloc.alloc) {
        if (cfg->alloc.free) {
            cfg->alloc.free(cfg->alloc.ctx, p);
        }
        return;
    }
#if !QP_FS_NO_MALLOC
    free(p);
#endif
}

// Takes the caller's buffer, or allocates one and records that we own it.
static int buf_take(qp_fs_t *fs, void *given, uint32_t size, uint8_t bit, uint8_t **out) {
    if (given) {
        *out = given;
        return 0;
    }
    *out = buf_alloc(fs->cfg, size);
    if (!*out) {
        return QP_ERR_NOMEM;
    }
    fs->owned |= bit;
    return 0;
}

static void release(qp_fs_t *fs) {
    if (fs->cfg) {
        if (fs->owned & 1) {
            buf_free(fs->cfg, fs->rcache.buffer);
        }
        if (fs->owned & 2) {
            buf_free(fs->cfg, fs->pcache.buffer);
        }
        if (fs->owned & 4) {
            buf_free(fs->cfg, fs->free.map);
        }
    }
    memset(fs, 0, sizeof(*fs));
}

static bool is_pow2_multiple(uint32_t big, uint32_t small) {
    return small != 0 && big % small == 0;
}

static int init(qp_fs_t *fs, const struct qp_fs_config *cfg, uint32_t disk_version) {
    if (!fs || !cfg) {
        return QP_ERR_INVAL;
    }
    memset(fs, 0, sizeof(*fs));
    if (!cfg->read || !cfg->prog || !cfg->erase || !cfg->read_size || !cfg->prog_size ||
        !is_pow2_multiple(cfg->prog_size, cfg->read_size) ||
        !is_pow2_multiple(cfg->block_size, cfg->prog_size)) {
        return QP_ERR_INVAL;
    }
    // littlefs v1: the CTZ pointers of a 2^32-byte file must fit in one block, and the
    // superblock (16 + 32 + 4 bytes) in a metadata block.
    if (cfg->block_size < 128) {
        return QP_ERR_INVAL;
    }
    if (disk_version == QP_FS_DISK_VERSION_LFS1) {
        fs->ops = &qp_fs_lfs1_ops;
    } else if (disk_version == QP_FS_DISK_VERSION_LFS2 ||
               disk_version == QP_FS_DISK_VERSION_LFS2_0) {
        fs->ops = &qp_fs_lfs2_ops;
    } else {
        return QP_ERR_NOTSUP;
    }
    fs->disk_version = disk_version;
    fs->cfg = cfg;
    fs->cache_size = cfg->cache_size ? cfg->cache_size : cfg->prog_size;
    if (fs->cache_size % cfg->prog_size || cfg->block_size % fs->cache_size) {
        fs->cfg = NULL;
        return QP_ERR_INVAL;
    }
    fs->name_max = cfg->name_max ? cfg->name_max : QP_FS_NAME_MAX;
    if (fs->name_max > QP_FS_NAME_MAX) {
        fs->cfg = NULL;
        return QP_ERR_INVAL;
    }
    fs->lookahead_size = cfg->lookahead_size ? cfg->lookahead_size : QP_FS_LOOKAHEAD_DEFAULT;
    fs->block_count = cfg->block_count ? cfg->block_count : UINT32_MAX;
    int err = buf_take(fs, cfg->read_buffer, fs->cache_size, 1, &fs->rcache.buffer);
    if (err == 0) {
        err = buf_take(fs, cfg->prog_buffer, fs->cache_size, 2, &fs->pcache.buffer);
    }
    if (err == 0) {
        err = buf_take(fs, cfg->lookahead_buffer, fs->lookahead_size, 4, &fs->free.map);
    }
    if (err < 0) {
        release(fs);
        return err;
    }
    qp_fs_bd_drop(&fs->rcache);
    qp_fs_bd_zero(fs, &fs->pcache);
    fs->root[0] = fs->root[1] = QP_FS_BLOCK_NULL;
    return 0;
}

int qp_fs_format(qp_fs_t *fs, const struct qp_fs_config *cfg) {
    if (cfg && cfg->block_count < 4) {
        return QP_ERR_INVAL; // the superblock pair and the root pair at least
    }
    int err = init(fs, cfg, cfg && cfg->disk_version ? cfg->disk_version
                                                     : QP_FS_DISK_VERSION_LFS1);
    if (err < 0) {
        return err;
    }
    err = fs->ops->format(fs);
    release(fs);
    return err;
}

static int mount_version(qp_fs_t *fs, const struct qp_fs_config *cfg, uint32_t version) {
    int err = init(fs, cfg, version);
    if (err < 0) {
        return err;
    }
    err = fs->ops->mount(fs);
    if (err < 0) {
        release(fs);
        return err;
    }
    fs->mounted = 1;
    return 0;
}

int qp_fs_mount(qp_fs_t *fs, const struct qp_fs_config *cfg) {
    if (cfg && cfg->disk_version) {
        return mount_version(fs, cfg, cfg->disk_version);
    }
    // Detect: v1 first (what the EC600S formats), then v2. Only "no v1 file system here"
    // (QP_ERR_CORRUPT: no valid v1 superblock) moves on to v2; any other failure of the v1
    // mount (I/O, geometry, buffers) is the answer. The two formats cannot both validate:
    // v1 wants a 0x2e entry and "littlefs" at offset 40 with a whole-block CRC, v2 wants
    // "littlefs" at offset 8 inside a CRC-checked commit.
    int err = mount_version(fs, cfg, QP_FS_DISK_VERSION_LFS1);
    if (err != QP_ERR_CORRUPT) {
        return err;
    }
    int err2 = mount_version(fs, cfg, QP_FS_DISK_VERSION_LFS2);
    return err2 == QP_ERR_CORRUPT ? err : err2;
}

int qp_fs_unmount(qp_fs_t *fs) {
    if (fs) {
        release(fs);
    }
    return 0;
}

// ---- Block allocator (SPEC-fs §6) ----

static int mark_used(void *data, uint32_t block) {
    qp_fs_t *fs = data;
    if (block >= fs->block_count) {
        return QP_ERR_CORRUPT;
    }
    uint32_t off = (block + fs->block_count - fs->free.off) % fs->block_count;
    if (off < fs->free.size) {
        fs->free.map[off / 8] |= (uint8_t)(1u << (off % 8));
    }
    return 0;
}

void qp_fs_block_reset(qp_fs_t *fs, uint32_t off) {
    fs->free.off = off;
    fs->free.size = 0;
    fs->free.i = 0;
    fs->free.ack = fs->block_count;
    fs->npending = 0;
}

void qp_fs_block_ack(qp_fs_t *fs) {
    fs->free.ack = fs->block_count;
    fs->npending = 0;
}

int qp_fs_block_alloc(qp_fs_t *fs, uint32_t *block) {
    for (;;) {
        while (fs->free.i < fs->free.size) {
            uint32_t off = fs->free.i++;
            fs->free.ack--;
            if (!(fs->free.map[off / 8] & (1u << (off % 8)))) {
                *block = (fs->free.off + off) % fs->block_count;
                if (fs->npending < QP_FS_PENDING_MAX) {
                    fs->pending[fs->npending++] = *block;
                }
                return 0;
            }
        }
        // Every block has been looked at since the last ack without finding a free one.
        if (fs->free.ack == 0) {
            return QP_ERR_NOSPC;
        }
        fs->free.off = (fs->free.off + fs->free.size) % fs->block_count;
        fs->free.size = qp_fs_min(qp_fs_min(8 * fs->lookahead_size, fs->block_count),
                                  fs->free.ack);
        fs->free.i = 0;
        memset(fs->free.map, 0, fs->lookahead_size);
        // Blocks allocated in this operation but not yet linked in are in use too.
        for (uint32_t k = 0; k < fs->npending; k++) {
            (void)mark_used(fs, fs->pending[k]);
        }
        int err = fs->ops->traverse(fs, mark_used, fs);
        if (err < 0) {
            fs->free.size = 0; // rescan next time rather than trust a partial map
            return err;
        }
    }
}

static int count_block(void *data, uint32_t block) {
    (void)block;
    (*(uint32_t *)data)++;
    return 0;
}

int qp_fs_size(qp_fs_t *fs) {
    if (!fs || !fs->mounted) {
        return QP_ERR_INVAL;
    }
    uint32_t n = 0;
    int err = fs->ops->traverse(fs, count_block, &n);
    return err < 0 ? err : (int)n;
}

int qp_fs_fsinfo(qp_fs_t *fs, qp_fs_fsinfo_t *info) {
    int used = qp_fs_size(fs);
    if (used < 0) {
        return used;
    }
    memset(info, 0, sizeof(*info));
    info->disk_version = fs->disk_version;
    info->block_size = fs->cfg->block_size;
    info->block_count = fs->block_count;
    info->blocks_used = (uint32_t)used;
    info->name_max = fs->name_max;
    info->file_max = QP_FS_FILE_MAX;
    return 0;
}

// ---- Paths ----

static int check_fs_path(qp_fs_t *fs, const char *path) {
    if (!fs || !fs->mounted || !path) {
        return QP_ERR_INVAL;
    }
    return 0;
}

int qp_fs_stat(qp_fs_t *fs, const char *path, qp_fs_info_t *info) {
    int err = check_fs_path(fs, path);
    if (err == 0 && !info) {
        err = QP_ERR_INVAL;
    }
    if (err < 0) {
        return err;
    }
    info->mtime_ns = 0;
    return fs->ops->stat(fs, path, info);
}

int qp_fs_getattr(qp_fs_t *fs, const char *path, uint8_t type, void *buf, uint32_t size) {
    int err = check_fs_path(fs, path);
    if (err == 0 && !buf && size) {
        err = QP_ERR_INVAL;
    }
    if (err < 0) {
        return err;
    }
    return fs->ops->getattr ? fs->ops->getattr(fs, path, type, buf, size) : QP_ERR_NOTSUP;
}

int qp_fs_setattr(qp_fs_t *fs, const char *path, uint8_t type, const void *buf,
                  uint32_t size) {
    int err = check_fs_path(fs, path);
    if (err == 0 && !buf) {
        err = QP_ERR_INVAL;
    }
    if (err < 0) {
        return err;
    }
    return fs->ops->setattr ? fs->ops->setattr(fs, path, type, buf, size) : QP_ERR_NOTSUP;
}

int qp_fs_removeattr(qp_fs_t *fs, const char *path, uint8_t type) {
    int err = check_fs_path(fs, path);
    if (err < 0) {
        return err;
    }
    return fs->ops->setattr ? fs->ops->setattr(fs, path, type, NULL, 0) : QP_ERR_NOTSUP;
}

// ---- Path components ----

const char *qp_fs_path_next(const char **p, uint32_t *len) {
    const char *s = *p;
    for (;;) {
        s += strspn(s, "/");
        size_t n = strcspn(s, "/");
        if (n == 0) {
            *p = s;
            return NULL;
        }
        if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')) {
            s += n;
            continue;
        }
        // Is this component undone by a '..' further on?
        const char *t = s + n;
        int depth = 1;
        for (;;) {
            t += strspn(t, "/");
            size_t m = strcspn(t, "/");
            if (m == 0) {
                break;
            }
            if (m == 2 && t[0] == '.' && t[1] == '.') {
                if (--depth == 0) {
                    break;
                }
            } else if (!(m == 1 && t[0] == '.')) {
                depth++;
            }
            t += m;
        }
        if (depth == 0) {
            s = t + 2; // skip past the matching '..'
            continue;
        }
        *p = s + n;
        *len = (uint32_t)n;
        return s;
    }
}

int qp_fs_remove(qp_fs_t *fs, const char *path) {
    int err = check_fs_path(fs, path);
    return err < 0 ? err : fs->ops->remove(fs, path);
}

int qp_fs_rename(qp_fs_t *fs, const char *oldpath, const char *newpath) {
    int err = check_fs_path(fs, oldpath);
    if (err == 0 && !newpath) {
        err = QP_ERR_INVAL;
    }
    return err < 0 ? err : fs->ops->rename(fs, oldpath, newpath);
}

int qp_fs_mkdir(qp_fs_t *fs, const char *path) {
    int err = check_fs_path(fs, path);
    return err < 0 ? err : fs->ops->mkdir(fs, path);
}

// ---- Directories ----

int qp_fs_dir_open(qp_fs_t *fs, qp_fs_dir_t *dir, const char *path) {
    int err = check_fs_path(fs, path);
    if (err < 0 || !dir) {
        return err < 0 ? err : QP_ERR_INVAL;
    }
    memset(dir, 0, sizeof(*dir));
    err = fs->ops->dir_open(fs, dir, path);
    if (err < 0) {
        return err;
    }
    dir->next = fs->dirs;
    fs->dirs = dir;
    return 0;
}

// Unlinks a handle from a list; false when it was not open.
static bool unlink_dir_handle(qp_fs_t *fs, qp_fs_dir_t *dir) {
    for (qp_fs_dir_t **p = &fs->dirs; *p; p = &(*p)->next) {
        if (*p == dir) {
            *p = dir->next;
            return true;
        }
    }
    return false;
}

int qp_fs_dir_close(qp_fs_t *fs, qp_fs_dir_t *dir) {
    if (fs && dir) {
        (void)unlink_dir_handle(fs, dir);
    }
    return 0;
}

static bool dir_is_open(qp_fs_t *fs, const qp_fs_dir_t *dir) {
    for (qp_fs_dir_t *d = fs && fs->mounted ? fs->dirs : NULL; d; d = d->next) {
        if (d == dir) {
            return true;
        }
    }
    return false;
}

int qp_fs_dir_read(qp_fs_t *fs, qp_fs_dir_t *dir, qp_fs_info_t *info) {
    if (!dir_is_open(fs, dir) || !info) {
        return QP_ERR_BADF;
    }
    info->mtime_ns = 0;
    return fs->ops->dir_read(fs, dir, info);
}

int qp_fs_dir_rewind(qp_fs_t *fs, qp_fs_dir_t *dir) {
    if (!dir_is_open(fs, dir)) {
        return QP_ERR_BADF;
    }
    return fs->ops->dir_rewind(fs, dir);
}

// ---- Files ----

static bool file_is_open(qp_fs_t *fs, const qp_fs_file_t *file) {
    for (qp_fs_file_t *f = fs && fs->mounted ? fs->files : NULL; f; f = f->next) {
        if (f == file) {
            return true;
        }
    }
    return false;
}

int qp_fs_file_opencfg(qp_fs_t *fs, qp_fs_file_t *file, const char *path, int flags,
                       const struct qp_fs_file_config *cfg) {
    int err = check_fs_path(fs, path);
    if (err < 0 || !file) {
        return err < 0 ? err : QP_ERR_INVAL;
    }
    int known = QP_FS_O_RDWR | QP_FS_O_CREAT | QP_FS_O_EXCL | QP_FS_O_TRUNC | QP_FS_O_APPEND;
    if ((flags & QP_FS_O_RDWR) == 0 || (flags & ~known)) {
        return QP_ERR_INVAL;
    }
    memset(file, 0, sizeof(*file));
    if (cfg && cfg->buffer) {
        file->cache.buffer = cfg->buffer;
    } else {
        file->cache.buffer = buf_alloc(fs->cfg, fs->cache_size);
        if (!file->cache.buffer) {
            return QP_ERR_NOMEM;
        }
        file->owns_buffer = 1;
    }
    err = fs->ops->file_open(fs, file, path, flags);
    if (err < 0) {
        if (file->owns_buffer) {
            buf_free(fs->cfg, file->cache.buffer);
        }
        memset(file, 0, sizeof(*file));
        return err;
    }
    file->next = fs->files;
    fs->files = file;
    return 0;
}

int qp_fs_file_open(qp_fs_t *fs, qp_fs_file_t *file, const char *path, int flags) {
    return qp_fs_file_opencfg(fs, file, path, flags, NULL);
}

int qp_fs_file_close(qp_fs_t *fs, qp_fs_file_t *file) {
    if (!file_is_open(fs, file)) {
        return 0;
    }
    int err = 0;
    if (file->flags & QP_FS_O_WRONLY) {
        err = fs->ops->file_sync(fs, file);
    }
    for (qp_fs_file_t **p = &fs->files; *p; p = &(*p)->next) {
        if (*p == file) {
            *p = file->next;
            break;
        }
    }
    if (file->owns_buffer) {
        buf_free(fs->cfg, file->cache.buffer);
    }
    memset(file, 0, sizeof(*file));
    return err;
}

int qp_fs_file_sync(qp_fs_t *fs, qp_fs_file_t *file) {
    if (!file_is_open(fs, file)) {
        return QP_ERR_BADF;
    }
    if (!(file->flags & QP_FS_O_WRONLY)) {
        return 0;
    }
    return fs->ops->file_sync(fs, file);
}

int qp_fs_file_read(qp_fs_t *fs, qp_fs_file_t *file, void *buf, size_t size) {
    if (!file_is_open(fs, file) || !(file->flags & QP_FS_O_RDONLY)) {
        return QP_ERR_BADF;
    }
    if (size > QP_FS_FILE_MAX) {
        size = QP_FS_FILE_MAX;
    }
    return fs->ops->file_read(fs, file, buf, (uint32_t)size);
}

int qp_fs_file_write(qp_fs_t *fs, qp_fs_file_t *file, const void *buf, size_t size) {
    if (!file_is_open(fs, file) || !(file->flags & QP_FS_O_WRONLY)) {
        return QP_ERR_BADF;
    }
    if (size > QP_FS_FILE_MAX) {
        return QP_ERR_FBIG;
    }
    return fs->ops->file_write(fs, file, buf, (uint32_t)size);
}

int32_t qp_fs_file_seek(qp_fs_t *fs, qp_fs_file_t *file, int32_t off, int whence) {
    if (!file_is_open(fs, file)) {
        return QP_ERR_BADF;
    }
    return fs->ops->file_seek(fs, file, off, whence);
}

int32_t qp_fs_file_tell(qp_fs_t *fs, qp_fs_file_t *file) {
    if (!file_is_open(fs, file)) {
        return QP_ERR_BADF;
    }
    return (int32_t)file->pos;
}

int32_t qp_fs_file_size(qp_fs_t *fs, qp_fs_file_t *file) {
    if (!file_is_open(fs, file)) {
        return QP_ERR_BADF;
    }
    return fs->ops->file_size(fs, file);
}

int qp_fs_file_truncate(qp_fs_t *fs, qp_fs_file_t *file, uint32_t size) {
    if (!file_is_open(fs, file) || !(file->flags & QP_FS_O_WRONLY)) {
        return QP_ERR_BADF;
    }
    return fs->ops->file_truncate(fs, file, size);
}
