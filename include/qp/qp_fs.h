// qp_fs.h - a littlefs-compatible, power-loss-safe file system over a block device.
//
// The EC600S firmware keeps its customer_fs and customer_backup_fs partitions as littlefs v1
// (read = prog = block = 4096 bytes). This library reads and writes that on-disk format
// (docs/SPEC-fs.md) so images made by QPYcom's mklfs or dumped from a module mount here, and
// ours mount there. It is plain C11: no malloc required, no OS, no global state, so it builds
// for an MCU as well as for the host tools and the virtual module.
//
// Shape:
//  - The block device is a struct of callbacks plus geometry (struct qp_fs_config), zeroed
//    by the caller, littlefs style. The library keeps the pointer while mounted.
//  - The caller allocates every handle (qp_fs_t, qp_fs_file_t, qp_fs_dir_t), usually on the
//    stack or in a struct; the library keeps pointers to open handles until they are closed.
//  - Every function returns 0 (or a byte count/offset) on success and a negative errno from
//    qp/qp_err.h on failure. Block-device callbacks return the same space and their codes are
//    passed through unchanged.
//  - The API is version-neutral: the on-disk version is picked by the config (disk_version)
//    and every call dispatches to a backend: littlefs v1 (src/fs/qp_fs_lfs1*.c) or littlefs
//    v2.0/v2.1 (src/fs/qp_fs_lfs2*.c). Mount with disk_version 0 detects which one the
//    partition holds (v1 first, then v2); qp_fs_fsinfo reports it.
//
// Thread-safety: none. One qp_fs_t and its handles must be used by one thread at a time.
// Power loss: every operation is atomic on disk. After a cut the next mount sees either the
// state before or after the operation in flight (a file write is only made durable by
// qp_fs_file_sync or qp_fs_file_close).
#ifndef QP_FS_H
#define QP_FS_H

#include <stddef.h>
#include <stdint.h>

#include "qp/qp_err.h"
#include "qp/qp_fs_config.h"

// On-disk versions (the superblock's version field: major << 16 | minor).
#define QP_FS_DISK_VERSION_LFS1   0x00010001u // littlefs v1.1, what the EC600S uses
#define QP_FS_DISK_VERSION_LFS2_0 0x00020000u // littlefs v2.0 (no forward CRCs)
#define QP_FS_DISK_VERSION_LFS2   0x00020001u // littlefs v2.1, what littlefs v2.6+ writes

// Custom attribute types (littlefs v2 only). MicroPython's VfsLfs2 keeps a file's
// modification time in attribute 1 as 8 bytes: little-endian nanoseconds since 1970-01-01.
#define QP_FS_ATTR_MTIME 1

#define QP_FS_BLOCK_NULL 0xffffffffu

// Open flags (values as in littlefs). Exactly one of RDONLY, WRONLY, RDWR.
#define QP_FS_O_RDONLY 0x0001
#define QP_FS_O_WRONLY 0x0002
#define QP_FS_O_RDWR   0x0003
#define QP_FS_O_CREAT  0x0100 // create the file if it does not exist
#define QP_FS_O_EXCL   0x0200 // with CREAT: fail with QP_ERR_EXIST if it exists
#define QP_FS_O_TRUNC  0x0400 // truncate to size 0
#define QP_FS_O_APPEND 0x0800 // every write goes to the end of the file

// Seek origins.
#define QP_FS_SEEK_SET 0
#define QP_FS_SEEK_CUR 1
#define QP_FS_SEEK_END 2

// Entry types reported by stat and dir_read.
#define QP_FS_TYPE_REG 1
#define QP_FS_TYPE_DIR 2

// Largest file size (littlefs v1 keeps sizes as signed 32-bit offsets).
#define QP_FS_FILE_MAX 2147483647

// Optional allocator for buffers the config does not provide (house style B4).
typedef struct qp_fs_alloc {
    void *(*alloc)(void *ctx, size_t size);
    void (*free)(void *ctx, void *ptr);
    void *ctx;
} qp_fs_alloc_t;

// The block device and its geometry. Zero-initialise, then set what you need; zero means
// the default. New fields are only ever added at the end.
struct qp_fs_config {
    void *context; // passed to every callback

    // Read `size` bytes at `off` in `block`. off and size are multiples of read_size.
    int (*read)(void *context, uint32_t block, uint32_t off, void *buffer, uint32_t size);
    // Program (NOR-style: only clears bits) `size` bytes at `off` in an erased `block`.
    // off and size are multiples of prog_size. Return QP_ERR_CORRUPT if the block is bad.
    int (*prog)(void *context, uint32_t block, uint32_t off, const void *buffer,
                uint32_t size);
    // Erase `block` (contents become 0xff). Return QP_ERR_CORRUPT if the block is bad.
    int (*erase)(void *context, uint32_t block);
    // Make every earlier program durable. May be NULL.
    int (*sync)(void *context);

    uint32_t read_size;   // smallest read; a divisor of prog_size
    uint32_t prog_size;   // smallest program; a divisor of block_size
    uint32_t block_size;  // erase unit; littlefs v1 needs at least 104 bytes
    uint32_t block_count; // 0: take the count from the superblock at mount (not for format)

    // Bytes in each of the read cache, program cache and every open file's cache. A
    // multiple of read_size and prog_size dividing block_size; 0 means max(read, prog).
    uint32_t cache_size;
    // Bytes of the allocator's lookahead bitmap (8 blocks per byte); 0 means
    // QP_FS_LOOKAHEAD_DEFAULT. The bitmap never needs to be bigger than block_count / 8.
    uint32_t lookahead_size;
    // Metadata erase cycles before a directory pair is moved to fresh blocks to spread wear
    // (littlefs v2's knob; v1 images stay compatible since moving a pair is the v1 relocation
    // path). 0 or negative: never move a pair for wear, only when a block goes bad.
    int32_t block_cycles;
    // Longest name accepted, at most QP_FS_NAME_MAX; 0 means QP_FS_NAME_MAX.
    uint32_t name_max;
    // On-disk version. Format: 0 means QP_FS_DISK_VERSION_LFS1; QP_FS_DISK_VERSION_LFS2 or
    // _LFS2_0 write littlefs v2.1 or v2.0. Mount: 0 detects (tries v1, then v2); LFS1 accepts
    // only v1; either LFS2 value accepts v2.0 and v2.1 images (which keep their version).
    uint32_t disk_version;

    // Optional caller-provided buffers of cache_size bytes (read, prog) and lookahead_size
    // bytes (lookahead). When NULL they come from `alloc` (or malloc unless
    // QP_FS_NO_MALLOC). They must stay valid while mounted.
    void *read_buffer;
    void *prog_buffer;
    void *lookahead_buffer;
    qp_fs_alloc_t alloc;
};

// Per-file options for qp_fs_file_opencfg. Zero-initialise.
struct qp_fs_file_config {
    void *buffer; // cache_size bytes for the file's cache, or NULL to allocate one
};

typedef struct qp_fs_info {
    uint8_t type;  // QP_FS_TYPE_REG or QP_FS_TYPE_DIR
    uint32_t size; // bytes, for files
    char name[QP_FS_NAME_MAX + 1];
    // Nanoseconds since 1970 from the QP_FS_ATTR_MTIME attribute (littlefs v2), 0 if none.
    uint64_t mtime_ns;
} qp_fs_info_t;

typedef struct qp_fs_fsinfo {
    uint32_t disk_version; // e.g. QP_FS_DISK_VERSION_LFS1
    uint32_t block_size;
    uint32_t block_count;
    uint32_t blocks_used; // as qp_fs_size()
    uint32_t name_max;
    uint32_t file_max;
} qp_fs_fsinfo_t;

// ---- Handle internals: allocated by the caller, touched only by the library. ----

typedef struct qp_fs_cache {
    uint32_t block; // QP_FS_BLOCK_NULL when empty
    uint32_t off;
    uint32_t size;
    uint8_t *buffer;
} qp_fs_cache_t;

// A metadata pair as loaded in RAM (littlefs v1 directory block header, or the state of a
// littlefs v2 metadata log).
typedef struct qp_fs_mdir {
    uint32_t pair[2]; // pair[0] holds the valid (newest) copy
    uint32_t rev;
    uint32_t size; // v1: bit 31: the directory continues in the tail pair
    uint32_t tail[2];
    // v2 only:
    uint32_t off;   // end of the last valid commit in pair[0]
    uint32_t etag;  // last tag of that commit, the XOR chain's seed for the next one
    uint16_t count; // ids in the pair
    uint8_t erased; // the bytes after `off` are known to be erased: commits can append
    uint8_t split;  // the tail is a hard tail: the directory continues there
} qp_fs_mdir_t;

typedef struct qp_fs_file {
    struct qp_fs_file *next;
    uint32_t flags;
    uint32_t pos;
    uint32_t size;
    uint32_t head;
    uint32_t block; // block at pos while reading or writing
    uint32_t off;   // offset of pos in `block`
    uint32_t pair[2]; // directory pair holding the entry (NULL pair: removed)
    uint32_t poff;    // v1: offset of the entry in that pair; v2: its id
    qp_fs_cache_t cache;
    uint8_t owns_buffer;
} qp_fs_file_t;

typedef struct qp_fs_dir {
    struct qp_fs_dir *next;
    qp_fs_mdir_t m;
    uint32_t head[2]; // first pair, for rewind
    uint32_t off;     // v1: offset of the next entry in m.pair[0]; v2: next id
    uint32_t hops;    // pairs visited, bounds the walk on a corrupt chain
} qp_fs_dir_t;

struct qp_fs_ops;

typedef struct qp_fs {
    const struct qp_fs_config *cfg;
    const struct qp_fs_ops *ops;
    uint32_t block_count;
    uint32_t cache_size;
    uint32_t name_max;
    uint32_t lookahead_size;
    qp_fs_cache_t rcache;
    qp_fs_cache_t pcache;
    struct {
        uint32_t off;  // first block of the window
        uint32_t size; // blocks in the window
        uint32_t i;    // next block to look at in the window
        uint32_t ack;  // blocks still to look at before giving up with NOSPC
        uint8_t *map;  // bit set: block in use
    } free;
    uint32_t pending[QP_FS_PENDING_MAX];
    uint32_t npending;
    uint32_t root[2];
    qp_fs_file_t *files;
    qp_fs_dir_t *dirs;
    uint8_t mounted;
    uint8_t deorphaned;
    uint8_t moving;
    uint8_t owned; // bit 0 rcache, 1 pcache, 2 lookahead: buffers we allocated
    // littlefs v2 only:
    uint32_t gstate[3]; // global state wanted (move tag, pair), little-endian words
    uint32_t gdisk[3];  // global state as the XOR of the deltas on disk
    uint32_t disk_version; // of the mounted image (v2.0 and v2.1 differ in their commits)
    uint32_t inline_max;   // largest file kept inline in its metadata pair
    uint32_t attr_max;
    uint32_t depth;        // nesting of reference fix-ups after relocations (bounded)
} qp_fs_t;

// ---- File system ----

// Writes an empty file system over the whole device (block_count must be set).
// Does not mount. Erases only the blocks it writes (superblock and root pairs).
// @retval QP_ERR_INVAL  bad geometry or callbacks
// @retval QP_ERR_NOMEM  no buffers
// @retval QP_ERR_NOTSUP disk_version not supported by this build
// @retval <0            block device errors, passed through
int qp_fs_format(qp_fs_t *fs, const struct qp_fs_config *cfg);

// Mounts: reads the superblock, checks version and geometry, and walks every metadata pair
// once checking its CRC (bounded: a cycle is reported, never followed forever).
// @retval QP_ERR_CORRUPT no valid superblock, or a metadata pair failed its checks
// @retval QP_ERR_INVAL   geometry does not match the superblock, or bad config
// @retval QP_ERR_NOTSUP  on-disk version newer than this library understands
// @retval QP_ERR_NOMEM   no buffers
int qp_fs_mount(qp_fs_t *fs, const struct qp_fs_config *cfg);

// Releases buffers. Open files are not synced (close them first). Safe on a zeroed or
// never-mounted qp_fs_t. Always returns 0.
int qp_fs_unmount(qp_fs_t *fs);

// Blocks in use (metadata pairs count two), or a negative error.
int qp_fs_size(qp_fs_t *fs);

// statvfs-like information. @retval <0 errors from the traversal.
int qp_fs_fsinfo(qp_fs_t *fs, qp_fs_fsinfo_t *info);

// ---- Custom attributes (littlefs v2; a v1 file system returns QP_ERR_NOTSUP) ----

// Reads attribute `type` of a file or directory into buf (at most `size` bytes) and returns
// its full size. @retval QP_ERR_NOENT no such path, or no such attribute on it
int qp_fs_getattr(qp_fs_t *fs, const char *path, uint8_t type, void *buf, uint32_t size);
// Sets (creates or replaces) attribute `type`; size at most 1022 bytes.
// @retval QP_ERR_NOENT, QP_ERR_NOSPC, QP_ERR_RANGE (too large), QP_ERR_NOTSUP (v1)
int qp_fs_setattr(qp_fs_t *fs, const char *path, uint8_t type, const void *buf,
                  uint32_t size);
// Removes attribute `type` (no error when absent).
int qp_fs_removeattr(qp_fs_t *fs, const char *path, uint8_t type);

// ---- Paths: absolute from the root; '/' separated; "." and ".." resolved lexically ----

// @retval QP_ERR_NOENT, QP_ERR_NOTDIR, QP_ERR_NAMETOOLONG, QP_ERR_CORRUPT, QP_ERR_IO
int qp_fs_stat(qp_fs_t *fs, const char *path, qp_fs_info_t *info);

// Removes a file or an empty directory.
// @retval QP_ERR_NOENT, QP_ERR_NOTEMPTY, QP_ERR_INVAL (the root), QP_ERR_NOSPC
int qp_fs_remove(qp_fs_t *fs, const char *path);

// Renames a file or directory, also across directories. An existing destination of the
// same type is replaced (a directory only when empty), as littlefs does.
// @retval QP_ERR_NOENT   old path missing, or new path's parent missing
// @retval QP_ERR_ISDIR   destination is a directory and source a file
// @retval QP_ERR_NOTDIR  destination is a file and source a directory
// @retval QP_ERR_NOTEMPTY destination directory not empty
// @retval QP_ERR_INVAL   moving a directory into itself, or the root
int qp_fs_rename(qp_fs_t *fs, const char *oldpath, const char *newpath);

// @retval QP_ERR_EXIST, QP_ERR_NOENT (parent missing), QP_ERR_NAMETOOLONG, QP_ERR_NOSPC
int qp_fs_mkdir(qp_fs_t *fs, const char *path);

// ---- Directories: iteration does not list "." and ".." ----

// @retval QP_ERR_NOENT, QP_ERR_NOTDIR
int qp_fs_dir_open(qp_fs_t *fs, qp_fs_dir_t *dir, const char *path);
// Safe on a handle that was never opened (zeroed). Returns 0.
int qp_fs_dir_close(qp_fs_t *fs, qp_fs_dir_t *dir);
// 1 with the next entry in *info, 0 at the end, or a negative error.
int qp_fs_dir_read(qp_fs_t *fs, qp_fs_dir_t *dir, qp_fs_info_t *info);
int qp_fs_dir_rewind(qp_fs_t *fs, qp_fs_dir_t *dir);

// ---- Files ----

// Opens a file. The handle's cache (cache_size bytes) comes from cfg->buffer when given,
// else from the allocator.
// @retval QP_ERR_NOENT  missing and no O_CREAT (or parent missing)
// @retval QP_ERR_EXIST  O_CREAT|O_EXCL and it exists
// @retval QP_ERR_ISDIR  path is a directory
// @retval QP_ERR_INVAL  bad flags
// @retval QP_ERR_NOMEM  no cache buffer
int qp_fs_file_open(qp_fs_t *fs, qp_fs_file_t *file, const char *path, int flags);
int qp_fs_file_opencfg(qp_fs_t *fs, qp_fs_file_t *file, const char *path, int flags,
                       const struct qp_fs_file_config *cfg);
// Syncs, then releases the handle (even when the sync fails, whose error is returned).
// Safe on a zeroed handle.
int qp_fs_file_close(qp_fs_t *fs, qp_fs_file_t *file);
// Makes the written data durable: after it returns 0, a power cut keeps the new content.
int qp_fs_file_sync(qp_fs_t *fs, qp_fs_file_t *file);
// Bytes read (0 at end of file). @retval QP_ERR_BADF opened write-only
int qp_fs_file_read(qp_fs_t *fs, qp_fs_file_t *file, void *buf, size_t size);
// Bytes written. @retval QP_ERR_BADF read-only; QP_ERR_NOSPC; QP_ERR_FBIG
int qp_fs_file_write(qp_fs_t *fs, qp_fs_file_t *file, const void *buf, size_t size);
// New position. Seeking past the end is allowed; a later write fills the gap with zeros.
// @retval QP_ERR_INVAL bad whence or resulting position out of range
int32_t qp_fs_file_seek(qp_fs_t *fs, qp_fs_file_t *file, int32_t off, int whence);
int32_t qp_fs_file_tell(qp_fs_t *fs, qp_fs_file_t *file);
int32_t qp_fs_file_size(qp_fs_t *fs, qp_fs_file_t *file);
// Sets the size, zero-filling when growing. The position is unchanged.
// @retval QP_ERR_BADF read-only
int qp_fs_file_truncate(qp_fs_t *fs, qp_fs_file_t *file, uint32_t size);

#endif
