// fs_internal.h - declarations shared by the files of src/fs, never installed.
//
// Layers, bottom up:
//   qp_fs_bd.c         caches over the block-device callbacks, CRC, program verification
//   qp_fs.c            public API: argument checks, buffers, open-handle lists, the block
//                      allocator, and dispatch to an on-disk version through qp_fs_ops
//   qp_fs_lfs1.c       littlefs v1 metadata: pairs, entries, paths, deorphan, format/mount
//   qp_fs_lfs1_file.c  littlefs v1 files: CTZ skip-lists, read/write/seek/truncate/sync
//   qp_fs_lfs2.c       littlefs v2 metadata: logs of tagged commits, gstate, paths, mount
//   qp_fs_lfs2_file.c  littlefs v2 files: inline files over the v1 CTZ layer (same lists)
#ifndef QP_FS_INTERNAL_H
#define QP_FS_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "qp/qp_fs.h"

#define QP_INTERNAL __attribute__((visibility("hidden")))

// Proven invariants only (house style B3); data read from flash is checked explicitly and
// reported as QP_ERR_CORRUPT instead.
#if defined(NDEBUG)
#define QP_ASSERT(x) ((void)0)
#else
#include <assert.h>
#define QP_ASSERT(x) assert(x)
#endif

// File handle state bits above the public open flags.
#define QP_FS_F_DIRTY   0x010000u // head/size differ from the entry on disk
#define QP_FS_F_WRITING 0x020000u // `block` is a new block being written (copy-on-write)
#define QP_FS_F_READING 0x040000u // the file cache holds data read from `block`
#define QP_FS_F_ERRED   0x080000u // a write failed; do not commit a half-written state
#define QP_FS_F_INLINE  0x100000u // v2: the file lives in its metadata pair (inline struct)
#define QP_FS_F_CACHED  0x200000u // v2 inline: the cache holds the whole file

static inline uint32_t qp_fs_min(uint32_t a, uint32_t b) { return a < b ? a : b; }
static inline uint32_t qp_fs_max(uint32_t a, uint32_t b) { return a > b ? a : b; }

static inline uint32_t qp_fs_get32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void qp_fs_put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

// One on-disk version. Everything path- or layout-specific goes through here.
struct qp_fs_ops {
    uint32_t disk_version;
    int (*format)(qp_fs_t *fs);
    int (*mount)(qp_fs_t *fs);
    // Calls cb for every block in use (metadata, file data, open files' new blocks).
    int (*traverse)(qp_fs_t *fs, int (*cb)(void *data, uint32_t block), void *data);
    int (*stat)(qp_fs_t *fs, const char *path, qp_fs_info_t *info);
    int (*remove)(qp_fs_t *fs, const char *path);
    int (*rename)(qp_fs_t *fs, const char *oldpath, const char *newpath);
    int (*mkdir)(qp_fs_t *fs, const char *path);
    int (*dir_open)(qp_fs_t *fs, qp_fs_dir_t *dir, const char *path);
    int (*dir_read)(qp_fs_t *fs, qp_fs_dir_t *dir, qp_fs_info_t *info);
    int (*dir_rewind)(qp_fs_t *fs, qp_fs_dir_t *dir);
    // Finds or creates the entry and fills the handle; the cache is already set up.
    int (*file_open)(qp_fs_t *fs, qp_fs_file_t *file, const char *path, int flags);
    int (*file_sync)(qp_fs_t *fs, qp_fs_file_t *file);
    int (*file_read)(qp_fs_t *fs, qp_fs_file_t *file, void *buf, uint32_t size);
    int (*file_write)(qp_fs_t *fs, qp_fs_file_t *file, const void *buf, uint32_t size);
    int32_t (*file_seek)(qp_fs_t *fs, qp_fs_file_t *file, int32_t off, int whence);
    int32_t (*file_size)(qp_fs_t *fs, qp_fs_file_t *file);
    int (*file_truncate)(qp_fs_t *fs, qp_fs_file_t *file, uint32_t size);
    // Custom attributes; NULL when the format has none (v1).
    int (*getattr)(qp_fs_t *fs, const char *path, uint8_t type, void *buf, uint32_t size);
    // buf NULL: remove the attribute.
    int (*setattr)(qp_fs_t *fs, const char *path, uint8_t type, const void *buf,
                   uint32_t size);
};

QP_INTERNAL extern const struct qp_fs_ops qp_fs_lfs1_ops;
QP_INTERNAL extern const struct qp_fs_ops qp_fs_lfs2_ops;

// Next path component after *p (its length in *len), skipping '.' and components cancelled
// by a later '..' (resolved lexically, as littlefs does); NULL at the end of the path.
QP_INTERNAL const char *qp_fs_path_next(const char **p, uint32_t *len);

// ---- qp_fs_bd.c ----

// littlefs's CRC-32: reflected polynomial 0xedb88320 (0x04c11db7), initial value
// 0xffffffff, no final inversion (SPEC-fs.md §2.3).
QP_INTERNAL uint32_t qp_fs_bd_crc32(uint32_t crc, const void *data, size_t size);
QP_INTERNAL void qp_fs_bd_drop(qp_fs_cache_t *cache);
QP_INTERNAL void qp_fs_bd_zero(qp_fs_t *fs, qp_fs_cache_t *cache);
// Reads through `rcache`, seeing not-yet-flushed bytes of `pcache` (may be NULL).
QP_INTERNAL int qp_fs_bd_read(qp_fs_t *fs, qp_fs_cache_t *rcache, const qp_fs_cache_t *pcache,
                              uint32_t block, uint32_t off, void *buf, uint32_t size);
// Programs sequentially through `pcache`; full prog units are written out eagerly.
QP_INTERNAL int qp_fs_bd_prog(qp_fs_t *fs, qp_fs_cache_t *pcache, uint32_t block, uint32_t off,
                              const void *buf, uint32_t size);
// Writes out `pcache` (padding the last prog unit with 0xff) and verifies it.
QP_INTERNAL int qp_fs_bd_flush(qp_fs_t *fs, qp_fs_cache_t *pcache);
QP_INTERNAL int qp_fs_bd_erase(qp_fs_t *fs, uint32_t block);
// Flushes the shared program cache and calls the device's sync.
QP_INTERNAL int qp_fs_bd_sync(qp_fs_t *fs);
// CRC of `size` bytes at block:off through the read cache, folded into *crc.
QP_INTERNAL int qp_fs_bd_crc(qp_fs_t *fs, uint32_t block, uint32_t off, uint32_t size,
                             uint32_t *crc);
// 1 when the bytes at block:off equal buf, 0 when not, <0 on error.
QP_INTERNAL int qp_fs_bd_cmp(qp_fs_t *fs, uint32_t block, uint32_t off, const void *buf,
                             uint32_t size);

// ---- qp_fs.c ----

// Allocates a free block (not erased). @retval QP_ERR_NOSPC nothing free since the last ack
QP_INTERNAL int qp_fs_block_alloc(qp_fs_t *fs, uint32_t *block);
// Declares every block allocated so far reachable from the metadata or an open file.
QP_INTERNAL void qp_fs_block_ack(qp_fs_t *fs);
// Forgets the lookahead window so the next allocation rescans from `off`.
QP_INTERNAL void qp_fs_block_reset(qp_fs_t *fs, uint32_t off);

#endif
