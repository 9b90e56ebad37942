// lfs1_internal.h - what the two littlefs v1 backend files (qp_fs_lfs1.c, metadata, and
// qp_fs_lfs1_file.c, file data) share. Layout constants follow docs/SPEC-fs.md §2.
#ifndef QP_FS_LFS1_INTERNAL_H
#define QP_FS_LFS1_INTERNAL_H

#include "fs_internal.h"

#define LFS1_DIR_HDR     16u          // revision, size, tail pair (SPEC-fs §2.2)
#define LFS1_DIR_EMPTY   20u          // header + CRC: the size of a pair with no entries
#define LFS1_SIZE_CONT   0x80000000u  // size bit: the directory continues in the tail
#define LFS1_SIZE_MASK   0x7fffffffu
#define LFS1_ENTRY_HDR   4u           // type, elen, alen, nlen (SPEC-fs §2.4)
#define LFS1_ENTRY_FIXED 12u          // header + the 8 bytes of a file or dir entry
#define LFS1_T_REG       0x11u
#define LFS1_T_DIR       0x22u
#define LFS1_T_SUPER     0x2eu
#define LFS1_T_MOVED     0x80u        // entry may also exist elsewhere (rename in flight)

// An entry as read from a metadata block.
typedef struct lfs1_entry {
    uint32_t off; // offset in the block holding it
    uint8_t type, elen, alen, nlen;
    uint32_t u[2]; // dir: pair; file: head, size; superblock: root pair
} lfs1_entry_t;

static inline uint32_t lfs1_entry_size(const lfs1_entry_t *e) {
    return LFS1_ENTRY_HDR + e->elen + e->alen + e->nlen;
}

// One replacement of old bytes by new bytes in a metadata commit (SPEC-fs §3.1).
typedef struct lfs1_region {
    uint32_t oldoff;
    uint32_t oldlen;
    const void *newdata;
    uint32_t newlen;
} lfs1_region_t;

QP_INTERNAL int qp_fs_lfs1_fetch(qp_fs_t *fs, qp_fs_mdir_t *m, const uint32_t pair[2]);
QP_INTERNAL int qp_fs_lfs1_commit(qp_fs_t *fs, qp_fs_mdir_t *m, const lfs1_region_t *r,
                                  int count);
// Rewrites the 12 fixed bytes of an entry (type and the 8 data bytes) in place.
QP_INTERNAL int qp_fs_lfs1_entry_update(qp_fs_t *fs, qp_fs_mdir_t *m, const lfs1_entry_t *e);
QP_INTERNAL int qp_fs_lfs1_entry_read(qp_fs_t *fs, const qp_fs_mdir_t *m, uint32_t off,
                                      lfs1_entry_t *e);
// Appends an entry to the directory whose last pair is *m (splitting it when full); on
// return *m is the pair holding it and e->off its offset.
QP_INTERNAL int qp_fs_lfs1_append(qp_fs_t *fs, qp_fs_mdir_t *m, lfs1_entry_t *e,
                                  const char *name);

// Path lookup result.
typedef struct lfs1_lookup {
    qp_fs_mdir_t cwd;  // pair holding the entry; when missing, last pair of the parent
    lfs1_entry_t e;
    const char *name;  // last path component (not NUL-terminated)
    uint32_t nlen;
    bool is_root;
} lfs1_lookup_t;

// 0 when found; QP_ERR_NOENT with l->name set when only the last component is missing
// (the parent exists), which lets create/mkdir/rename append there; other errors otherwise.
// `forbid`, when not NULL, makes walking through that directory pair QP_ERR_INVAL.
QP_INTERNAL int qp_fs_lfs1_find(qp_fs_t *fs, const char *path, lfs1_lookup_t *l,
                                const uint32_t *forbid, bool *parent_found);
QP_INTERNAL int qp_fs_lfs1_deorphan(qp_fs_t *fs);

// qp_fs_lfs1_file.c
QP_INTERNAL int qp_fs_lfs1_ctz_traverse(qp_fs_t *fs, const qp_fs_cache_t *pcache,
                                        uint32_t head, uint32_t size,
                                        int (*cb)(void *data, uint32_t block), void *data);
QP_INTERNAL int qp_fs_lfs1_file_open(qp_fs_t *fs, qp_fs_file_t *file, const char *path,
                                     int flags);
// Ends a write sequence (the rest of the old list copied, the cache written out) without
// committing; leaves QP_FS_F_DIRTY set when head/size changed. Shared by the v2 backend.
QP_INTERNAL int qp_fs_lfs1_file_flush(qp_fs_t *fs, qp_fs_file_t *file);
QP_INTERNAL int qp_fs_lfs1_file_sync(qp_fs_t *fs, qp_fs_file_t *file);
QP_INTERNAL int qp_fs_lfs1_file_read(qp_fs_t *fs, qp_fs_file_t *file, void *buf,
                                     uint32_t size);
QP_INTERNAL int qp_fs_lfs1_file_write(qp_fs_t *fs, qp_fs_file_t *file, const void *buf,
                                      uint32_t size);
QP_INTERNAL int32_t qp_fs_lfs1_file_seek(qp_fs_t *fs, qp_fs_file_t *file, int32_t off,
                                         int whence);
QP_INTERNAL int32_t qp_fs_lfs1_file_size(qp_fs_t *fs, qp_fs_file_t *file);
QP_INTERNAL int qp_fs_lfs1_file_truncate(qp_fs_t *fs, qp_fs_file_t *file, uint32_t size);

static inline bool lfs1_pair_null(const uint32_t p[2]) {
    return p[0] == QP_FS_BLOCK_NULL || p[1] == QP_FS_BLOCK_NULL;
}

// Pairs share a block: the same directory, possibly half-relocated.
static inline bool lfs1_pair_overlap(const uint32_t a[2], const uint32_t b[2]) {
    return a[0] == b[0] || a[0] == b[1] || a[1] == b[0] || a[1] == b[1];
}

static inline bool lfs1_pair_same(const uint32_t a[2], const uint32_t b[2]) {
    return (a[0] == b[0] && a[1] == b[1]) || (a[0] == b[1] && a[1] == b[0]);
}

#endif
