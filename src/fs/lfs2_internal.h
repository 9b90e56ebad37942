// lfs2_internal.h - what the two littlefs v2 backend files share: tag encoding (SPEC-fs §9.2),
// the metadata-log operations of qp_fs_lfs2.c used by the file layer in qp_fs_lfs2_file.c.
//
// The v2 backend reuses the v1 file layer for CTZ skip-lists (the list format is the same in
// both versions), so this header builds on lfs1_internal.h.
#ifndef QP_FS_LFS2_INTERNAL_H
#define QP_FS_LFS2_INTERNAL_H

#include "lfs1_internal.h"

// A tag: valid bit, 11-bit type, 10-bit id, 10-bit size; stored big-endian, XOR-ed with the
// previous tag of the log (SPEC-fs §9.2).
#define L2_TAG(type, id, size) \
    (((uint32_t)(type) << 20) | ((uint32_t)(id) << 10) | (uint32_t)(size))
#define L2_ID_NONE 0x3ffu
#define L2_SIZE_DELETED 0x3ffu

enum {
    L2_T_NAME = 0x000,
    L2_T_REG = 0x001,
    L2_T_DIR = 0x002,
    L2_T_SUPERBLOCK = 0x0ff,
    L2_T_STRUCT = 0x200,
    L2_T_DIRSTRUCT = 0x200,
    L2_T_INLINE = 0x201,
    L2_T_CTZ = 0x202,
    L2_T_USERATTR = 0x300,
    L2_T_SPLICE = 0x400,
    L2_T_CREATE = 0x401,
    L2_T_DELETE = 0x4ff,
    L2_T_CRC = 0x500,
    L2_T_FCRC = 0x5ff,
    L2_T_TAIL = 0x600,
    L2_T_SOFTTAIL = 0x600,
    L2_T_HARDTAIL = 0x601,
    L2_T_GSTATE = 0x700,
    L2_T_MOVESTATE = 0x7ff,
    L2_T_FROM = 0x7fe, // not on disk: "copy every tag of another entry" in a commit list
};

static inline uint32_t l2_type1(uint32_t t) { return (t >> 20) & 0x700; }
static inline uint32_t l2_type3(uint32_t t) { return (t >> 20) & 0x7ff; }
static inline uint32_t l2_chunk(uint32_t t) { return (t >> 20) & 0xff; }
static inline uint32_t l2_id(uint32_t t) { return (t >> 10) & 0x3ff; }
static inline uint32_t l2_size(uint32_t t) { return t & 0x3ff; }
static inline bool l2_isdelete(uint32_t t) { return (t & 0x3ff) == L2_SIZE_DELETED; }
static inline uint32_t l2_dsize(uint32_t t) { return 4 + (l2_isdelete(t) ? 0 : l2_size(t)); }
static inline uint32_t l2_setid(uint32_t t, uint32_t id) {
    return (t & ~L2_TAG(0, 0x3ff, 0)) | L2_TAG(0, id, 0);
}

// One element of a commit. FROM copies entry `src->poff` of the pair `src->pair` (every tag
// but its name), read at the moment the commit is written.
typedef struct l2_attr {
    uint32_t tag;
    const void *buf;
    const qp_fs_file_t *src;
} l2_attr_t;

#define L2_ATTRS_MAX 6

QP_INTERNAL int qp_fs_lfs2_fetch(qp_fs_t *fs, qp_fs_mdir_t *m, const uint32_t pair[2]);
// Newest tag matching gtag under gmask (ids followed across creates and deletes), with up to
// `size` bytes of its data from offset goff. Returns the tag, or QP_ERR_NOENT.
QP_INTERNAL int32_t qp_fs_lfs2_get(qp_fs_t *fs, const qp_fs_mdir_t *m, uint32_t gmask,
                                   uint32_t gtag, uint32_t goff, void *buf, uint32_t size);
// Commits attrs (about one id, or one tail) to the pair *m, splitting, compacting and
// relocating as needed; on return *m is the pair that took them and *id (when not NULL) the
// final id of their entry. Open handles follow their entries.
QP_INTERNAL int qp_fs_lfs2_commit(qp_fs_t *fs, qp_fs_mdir_t *m, const l2_attr_t *attrs, int n,
                                  uint32_t *id);

typedef struct l2_lookup {
    qp_fs_mdir_t m;   // pair holding the entry; when missing, last pair of the parent dir
    uint32_t id;      // the entry's id, or where a new entry goes
    uint32_t type;    // L2_T_REG or L2_T_DIR
    uint32_t dpair[2]; // directories: their first pair
    const char *name; // last path component (not NUL-terminated)
    uint32_t nlen;
    bool is_root;
} l2_lookup_t;

QP_INTERNAL int qp_fs_lfs2_find(qp_fs_t *fs, const char *path, l2_lookup_t *l,
                                const uint32_t *forbid, bool *parent_found);

// qp_fs_lfs2_file.c
QP_INTERNAL int qp_fs_lfs2_file_open(qp_fs_t *fs, qp_fs_file_t *file, const char *path,
                                     int flags);
QP_INTERNAL int qp_fs_lfs2_file_sync(qp_fs_t *fs, qp_fs_file_t *file);
QP_INTERNAL int qp_fs_lfs2_file_read(qp_fs_t *fs, qp_fs_file_t *file, void *buf,
                                     uint32_t size);
QP_INTERNAL int qp_fs_lfs2_file_write(qp_fs_t *fs, qp_fs_file_t *file, const void *buf,
                                      uint32_t size);
QP_INTERNAL int32_t qp_fs_lfs2_file_seek(qp_fs_t *fs, qp_fs_file_t *file, int32_t off,
                                         int whence);
QP_INTERNAL int32_t qp_fs_lfs2_file_size(qp_fs_t *fs, qp_fs_file_t *file);
QP_INTERNAL int qp_fs_lfs2_file_truncate(qp_fs_t *fs, qp_fs_file_t *file, uint32_t size);

#endif
