// qp_patch.h - device-side delta apply: reads an adiff package (docs/SPEC-patch.md), checks
// it, and rebuilds the new data from the old data, streaming, in bounded RAM; plus the
// in-place apply that rewrites a flash area holding OLD into NEW, surviving power cuts.
//
// Why streaming with callbacks: the same code runs on the host (adiff's self-check, reading
// files) and on the module (package in the fota_pkg partition or a file, old data in the
// firmware partition). The package, the old data and the flash are reached only through the
// caller's callbacks; RAM only through the caller's allocator, never more than the package
// header records (apply_ram), which is enforced: an allocation over it fails with
// QP_ERR_NOMEM. Portable C11 plus liblzma and mbedTLS's SHA-256; no OS calls; works with
// QP_NO_MALLOC (qp_patch_config.h).
//
// Vocabulary (SPEC-patch §1): the *old space* and *new space* are flat byte ranges. For a raw
// package they are the old and new images themselves; for an image package (flag
// QP_PATCH_F_IMAGE) they are the concatenated uncompressed sections of the qp_image images,
// and the caller recompresses what qp_patch_read() produces. A package holds one entry per
// new section, each rebuilding its range of the new space from anywhere in the old space.
//
// Errors: negative errno values from qp_err.h. Callback codes pass through unchanged.
// Thread-safety: none; one handle per thread, handles are independent.
#ifndef QP_PATCH_H
#define QP_PATCH_H

#include <stddef.h>
#include <stdint.h>

#include "qp/qp_patch_config.h"

// Version of the package format (SPEC-patch §2). A reader refuses another major version
// (QP_ERR_NOTSUP) and reads every minor version of its own major.
#define QP_PATCH_VERSION_MAJOR 1
#define QP_PATCH_VERSION_MINOR 2

#define QP_PATCH_MAGIC "QPPATCH\x1a"   // 8 bytes at offset 0
#define QP_PATCH_HEADER_SIZE 256u     // fixed header, then the section table
#define QP_PATCH_SECTION_DESC_SIZE 192u
#define QP_PATCH_SECTIONS_MAX 16u
#define QP_PATCH_MODEL_MAX 31u        // characters, without the NUL
#define QP_PATCH_NAME_MAX 15u

// Header flags (SPEC-patch §3).
#define QP_PATCH_F_IMAGE 0x1u  // spaces are uncompressed qp_image sections, not the images
#define QP_PATCH_F_SIGNED 0x2u // header bytes 192..255 hold a signature (1.1, §3.5,
                               // qp_patch_sig.h)

// Branch filters applied to both sides before diffing (SPEC-patch §5).
#define QP_PATCH_FILTER_NONE 0u
#define QP_PATCH_FILTER_THUMB 1u  // Thumb-2 BL/BLX (+-4 MiB), halfword aligned
#define QP_PATCH_FILTER_ARM 2u    // A32 BL/BLX, word aligned
#define QP_PATCH_FILTER_THUMB_MAP 3u // Thumb-2 plus a target map (1.2, SPEC-patch §5.1)
#define QP_PATCH_FILTER_ARM_MAP 4u   // A32 plus a target map (1.2)
#define QP_PATCH_FILTER_MAX 4u

// Streams of a section entry (SPEC-patch §4), in package order.
#define QP_PATCH_STREAM_CTRL 0
#define QP_PATCH_STREAM_DIFF 1
#define QP_PATCH_STREAM_EXTRA 2
#define QP_PATCH_STREAMS 3

typedef struct qp_patch_stream_info {
    uint32_t offset;    // in the package
    uint32_t size;      // compressed bytes (raw LZMA2)
    uint32_t raw_size;  // bytes once decompressed
    uint32_t dict_size; // LZMA2 dictionary the decoder needs
} qp_patch_stream_info_t;

typedef struct qp_patch_section_info {
    char name[QP_PATCH_NAME_MAX + 1];
    uint32_t filter;      // QP_PATCH_FILTER_*
    uint32_t old_offset;  // its main source in the old space (the filter's origin)
    uint32_t old_size;
    uint32_t new_offset;  // its range of the new space; sections tile the new space
    uint32_t new_size;
    qp_patch_stream_info_t streams[QP_PATCH_STREAMS];
    uint8_t old_sha256[32]; // of old space [old_offset, old_offset + old_size)
    uint8_t new_sha256[32]; // of what the section rebuilds
} qp_patch_section_info_t;

// The package header, decoded and checked (SPEC-patch §3).
typedef struct qp_patch_info {
    uint16_t version_major;
    uint16_t version_minor;
    uint32_t flags;          // QP_PATCH_F_*
    uint32_t header_size;    // fixed header + section table
    uint32_t package_size;   // the whole package
    uint32_t apply_ram;      // bytes of RAM qp_patch_inplace_apply needs at most
    uint32_t backup_size;    // bytes of backup area it needs (journal included)
    uint32_t block_size;     // the in-place step (a multiple of the flash sector)
    uint32_t old_size;       // old image bytes
    uint32_t new_size;       // new image bytes
    uint32_t old_space_size; // == old_size for a raw package
    uint32_t new_space_size; // == new_size for a raw package
    char model[QP_PATCH_MODEL_MAX + 1];
    uint8_t old_sha256[32];  // of the old image
    uint8_t new_sha256[32];  // of the new image
    uint8_t package_sha256[32];
    uint32_t section_count;
    qp_patch_section_info_t sections[QP_PATCH_SECTIONS_MAX];
} qp_patch_info_t;

// Callbacks: each returns 0 or a negative errno (passed through to the caller).
typedef int (*qp_patch_read_fn)(void *ctx, uint32_t off, void *buf, uint32_t len);

// Configuration: zero-initialise, zero means default. The handle copies it.
typedef struct qp_patch_config {
    qp_patch_read_fn pkg_read;  // reads package bytes [off, off + len)
    void *pkg_ctx;
    uint32_t pkg_size;          // bytes available; must equal the header's package_size
    qp_patch_read_fn old_read;  // reads old-space bytes (needed by read/check_old)
    void *old_ctx;
    // Largest RAM the caller grants; 0: whatever the package header records. A package
    // needing more is refused with QP_ERR_NOMEM by open, before any other work.
    uint32_t ram_limit;
    // Allocator; NULL alloc: malloc/free (QP_ERR_NOMEM when QP_NO_MALLOC is 1).
    void *(*alloc)(void *ctx, size_t size);
    void (*free)(void *ctx, void *ptr);
    void *alloc_ctx;
    const char *model;          // if set, the package must be for this model
} qp_patch_config_t;

struct qp_patch_state; // internal (src/patch/patch_internal.h)

// A patch handle, allocated by the caller. `info` may be read after a successful open;
// the rest is private.
typedef struct qp_patch {
    qp_patch_info_t info;
    // private
    qp_patch_config_t cfg;
    struct qp_patch_state *st;
    uint32_t ram_used;
    uint32_t ram_peak;
    uint32_t ram_cap;
    uint8_t open;
} qp_patch_t;

// Makes `p` a closed handle (never fails); qp_patch_close() is then a no-op.
void qp_patch_init(qp_patch_t *p);

// Reads and checks the header and section table (not yet the package hash): magic,
// version, sizes and offsets consistent, streams inside the package, sections tiling the
// new space, model, RAM limit. Allocates the decoders.
// @retval QP_ERR_CORRUPT not a package, fields inconsistent / out of bounds, or pkg_size
//                        differs from the header's (truncated, or bytes appended)
// @retval QP_ERR_NOTSUP  another major version, or an unknown filter or flag
// @retval QP_ERR_INVAL   NULL/missing callback
// @retval QP_ERR_NOENT   cfg->model is set and the package is for another model
// @retval QP_ERR_NOMEM   the package needs more RAM than cfg->ram_limit, or the
//                        allocator failed
int qp_patch_open(qp_patch_t *p, const qp_patch_config_t *cfg);

// Hashes the whole package and compares with its package_sha256 (SPEC-patch §3.2). It does
// not check a signature (qp_patch_sig_verify, qp_patch_sig.h).
// @retval QP_ERR_CORRUPT mismatch (truncated or damaged package)
int qp_patch_verify(qp_patch_t *p);

// For a raw package: hashes old-space bytes [0, old_size) through old_read and compares
// with old_sha256. For an image package the caller hashes its old image itself.
// @retval QP_ERR_NOENT   the old data is not the one the package was made for
int qp_patch_check_old(qp_patch_t *p);

// Produces up to `len` (at most INT32_MAX) next bytes of the new space into `buf` (sequentially from 0) and
// returns how many (0 at the end). Each section's result is checked against its SHA-256
// when it completes (unless part of it was skipped).
// @retval QP_ERR_CORRUPT the streams are inconsistent (reads outside the old space, lengths
//                        that disagree, bad LZMA data) or a section hash mismatches
int qp_patch_read(qp_patch_t *p, void *buf, uint32_t len);

// Turns the section hash checks of qp_patch_read off (on = 0) or back on. Off is for a
// caller that has already checked the same package against the same old data in a full
// pass (the FOTA apply's dry run) and checks what it makes of the output otherwise (the
// FOTA apply compares recompressed sections with the new image's hashes): it saves hashing
// the whole new space again. On by default.
void qp_patch_set_hash_checks(qp_patch_t *p, int on);

// Advances the output by `len` bytes without producing them and without reading old data
// (used to resume). Returns the bytes skipped (fewer only at the end).
int qp_patch_skip(qp_patch_t *p, uint32_t len);

// Restarts production from new-space offset 0 (used between a dry run and the real run).
int qp_patch_rewind(qp_patch_t *p);

// Visits every add run of every section's control stream in order (SPEC-patch §4.2): old-
// space range [old_pos, old_pos + len) is read to produce new-space range [new_pos, new_pos +
// len). Decodes only the control streams; rewinds the handle afterwards, so call it before
// or between qp_patch_read runs, never in the middle of one. `fn` returns 0 or a negative
// errno, which stops the walk and is returned.
typedef int (*qp_patch_run_fn)(void *ctx, uint32_t new_pos, uint32_t old_pos, uint32_t len);
int qp_patch_walk(qp_patch_t *p, qp_patch_run_fn fn, void *ctx);

// Peak bytes allocated through the handle since open.
uint32_t qp_patch_ram_peak(const qp_patch_t *p);

// Frees everything; accepts NULL and a closed handle.
void qp_patch_close(qp_patch_t *p);

// ---------------------------------------------------------------------------------------
// In-place apply (SPEC-patch §6)
// ---------------------------------------------------------------------------------------

// A flash area: partition-relative callbacks (e.g. over a qp_flash_part_t). `erase` gets
// sector-aligned ranges.
typedef struct qp_patch_flash {
    qp_patch_read_fn read;
    int (*prog)(void *ctx, uint32_t off, const void *buf, uint32_t len);
    int (*erase)(void *ctx, uint32_t off, uint32_t len);
    void *ctx;
    uint32_t size;
    uint32_t sector_size;
} qp_patch_flash_t;

// Memory-backed helpers (qp_patch_mem.c) for host tools, tests and devices that hold a
// package or a scratch area in RAM. No allocation: the caller owns the memory.
//
// A package or old image in memory: pass a qp_patch_mem_t as the ctx of qp_patch_mem_read.
// A read past `size` is QP_ERR_RANGE.
typedef struct qp_patch_mem {
    const uint8_t *p;
    uint32_t size;
} qp_patch_mem_t;
int qp_patch_mem_read(void *ctx, uint32_t off, void *buf, uint32_t len);

// A flash area over `rf->mem` (`rf->size` bytes) with NOR semantics: programming ANDs bits
// in, erasing sets 0xFF. Any access past `size` is QP_ERR_RANGE. `rf` must outlive the
// returned descriptor.
typedef struct qp_patch_ram_flash {
    uint8_t *mem;
    uint32_t size;
} qp_patch_ram_flash_t;
qp_patch_flash_t qp_patch_ram_flash(qp_patch_ram_flash_t *rf, uint32_t sector_size);

typedef struct qp_patch_inplace_config {
    qp_patch_config_t patch;   // package callbacks, allocator, ram_limit, model (old_read
                               // is ignored: the target is the old data)
    qp_patch_flash_t target;   // holds the OLD raw image; ends holding NEW
    qp_patch_flash_t backup;   // scratch: journal and backups of old blocks
} qp_patch_inplace_config_t;

typedef struct qp_patch_inplace_stats {
    uint32_t resumed;       // 1: an interrupted apply of this package was resumed
    uint32_t steps;         // blocks of the new image
    uint32_t steps_done;    // blocks written by this run
    uint32_t backups;       // blocks backed up by this run
    uint32_t backup_needed; // bytes of backup area this device needs
    uint32_t ram_peak;      // bytes
} qp_patch_inplace_stats_t;

// Bytes of backup area the in-place apply of `info` needs on a backup area with sectors of
// `sector_size`, computed from the package's control streams (needs the opened handle).
// The header's backup_size is this for 4096-byte sectors.
int qp_patch_backup_needed(qp_patch_t *p, uint32_t sector_size, uint32_t *needed);

// Applies a raw package in place: target becomes NEW. Before anything in the target is
// touched, the package is verified (hash, model, sizes, RAM, backup space), the target is
// checked to hold OLD, and the whole result is computed once and checked against the new
// hashes (a dry run). Then it rewrites the target block by block, backing up first every old
// block still needed later, and journals progress in the backup area. If a previous run of
// the same package was interrupted (power cut at any flash operation), it resumes from the
// journal and finishes; if it had finished, it only re-checks the target. Returns 0 when
// the target holds NEW (hash checked). `stats` may be NULL.
// @retval QP_ERR_NOSPC   the target is too small for NEW, or the backup area too small
// @retval QP_ERR_NOENT   the target does not hold the package's old image (untouched)
// @retval QP_ERR_NOTSUP  an image package (the FOTA layer applies those)
// and the codes of qp_patch_open/qp_patch_verify/qp_patch_read and the flash callbacks
// (QP_ERR_IO on a power cut: call again after power returns).
int qp_patch_inplace_apply(const qp_patch_inplace_config_t *cfg,
                           qp_patch_inplace_stats_t *stats);

#endif
