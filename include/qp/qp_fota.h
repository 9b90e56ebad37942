// qp_fota.h - firmware-over-the-air for images: applying an *image package* (SPEC-patch §8)
// in place in the firmware partition, the package store of the `fota` module, and (host
// only) making such a package from two system.img files.
//
// Why a layer over qp_patch: an image package patches the *uncompressed* sections of two
// qp_image images, while the flash holds the *compressed* ones. So the apply decompresses
// old sections on the fly, runs the patch, recompresses each new section with the settings
// recorded in the new image (qp_image streaming encoder) and writes the result over the old
// image, backing up first the old data later sections still read. Progress is journalled in
// the backup area (SPEC-patch §8.4) so that a power cut at any flash operation, or a killed
// process, is followed on the next call by resuming and finishing. RAM: every allocation
// (patch decoders, LZMA encoder and decoder, buffers) goes through one counting allocator
// capped at the package header's apply_ram.
//
// Errors: negative errno values from qp_err.h; callback codes pass through unchanged.
// Thread-safety: none; calls are independent.
#ifndef QP_FOTA_H
#define QP_FOTA_H

#include <stddef.h>
#include <stdint.h>

#include "qp/qp_patch.h"
#include "qp/qp_patch_sig.h"

// Name of package section 0 of an image package: the new image's header and section
// table (SPEC-patch §8.1). A '.' cannot appear in a qp_image section name.
#define QP_FOTA_HEADER_SECTION ".header"

// Bytes of decoded old data kept behind the old-section decoder (SPEC-patch §8.3; at least
// half of it is always there): a read further back restarts the decoder at the nearest
// restart point it has passed (SPEC-image §4.1), else at the start of its section. 32 KiB:
// on libcrypto 3.0.17 -> 3.0.20, 16 KiB left six reads just out of reach, each re-decoding
// about 180 KiB.
#ifndef QP_FOTA_WINDOW
#define QP_FOTA_WINDOW (32u * 1024u)
#endif

typedef struct qp_fota_apply_config {
    qp_patch_read_fn pkg_read;  // the package, pkg_size bytes
    void *pkg_ctx;
    uint32_t pkg_size;
    qp_patch_flash_t target;    // the firmware partition: holds OLD, ends holding NEW
    qp_patch_flash_t backup;    // journal, carries, stage and backups (SPEC-patch §8.4)
    const char *model;          // if set, the package must be for this model
    uint32_t ram_limit;         // 0: the package's apply_ram; else also at most this
    void *(*alloc)(void *ctx, size_t size); // NULL: malloc/free
    void (*free)(void *ctx, void *ptr);
    void *alloc_ctx;
    // Test seam: the apply stops with QP_ERR_IO before the n-th flash write operation
    // (erase or program, 1-based) of this call, as a killed process would. 0: never.
    uint32_t stop_after;
    // If set, the package must carry a good signature by this key (SPEC-patch §3.5),
    // checked after the package hash on every call (fresh start and resume alike).
    const qp_patch_sig_key_t *key;
} qp_fota_apply_config_t;

typedef struct qp_fota_apply_stats {
    uint32_t resumed;        // 1: an interrupted apply of this package was resumed
    uint32_t complete;       // 1: the target already held NEW (journal complete)
    uint32_t units;          // header, sections, trailer
    uint32_t blocks_written; // target blocks written by this call
    uint32_t backups;        // old blocks backed up by this call
    uint32_t backup_needed;  // bytes of backup area this package needs here
    uint32_t ram_needed;     // the package's apply_ram
    uint32_t ram_peak;       // bytes, everything included
    uint32_t old_restarts;   // old-section decoder restarts (backward reads)
    uint32_t flash_ops;      // erases and programs done by this call
} qp_fota_apply_stats_t;

// Checks an image package against the device without writing anything: header, model,
// package hash, signature (if cfg->key), target holds the package's old image (hash), the old and the new image
// headers agree with the package, and the backup area is large enough. `stats` gets
// backup_needed and ram_needed. `msg` (may be NULL) says what failed, in the firmware's
// words where there are some.
// @retval QP_ERR_CORRUPT the package is damaged or truncated
// @retval QP_ERR_NOENT   for another model, or another old firmware than the installed one
// @retval QP_ERR_NOSPC   the backup area is too small
// @retval QP_ERR_NOMEM   needs more RAM than ram_limit
// @retval QP_ERR_NOTSUP  not an image package, or another major version
// @retval QP_ERR_AUTH    cfg->key is set and the package is unsigned or its signature does
//                        not verify with it
int qp_fota_check(const qp_fota_apply_config_t *cfg, qp_fota_apply_stats_t *stats,
                  char *msg, size_t msglen);

// Applies an image package in place (SPEC-patch §8). On a fresh start everything
// qp_fota_check() checks is checked and the whole new uncompressed data is produced once
// (a dry run, section hashes checked) before the first write; then units are produced,
// staged in the backup area, hash-checked and committed to the target. If a journal of the
// same package is found, the apply resumes; if it says complete, only the target's hash is
// checked. Returns 0 when the target holds exactly NEW (hash checked) and, past it up to
// the old image's end, erased bytes.
// @retval QP_ERR_IO      a flash callback failed (power cut) or the test seam stopped it:
//                        call again (resumes)
// and the codes of qp_fota_check().
int qp_fota_apply(const qp_fota_apply_config_t *cfg, qp_fota_apply_stats_t *stats,
                  char *msg, size_t msglen);

// The part of qp_fota_apply() before its first write to the target: the checks, the dry
// run (here also recompressing every section and checking it against the new image's
// hashes, so a module whose LZMA encoder does not reproduce them refuses the package with
// QP_ERR_CORRUPT before anything is written) and the journal header (the backup area is
// written, the target is not). A later
// qp_fota_apply() of the same package resumes from that journal without a second dry
// run, after checking that the target still holds the old image (QP_ERR_NOENT if not).
// The module's fota.verify() does this, so the upgrade at the next boot decodes the old
// firmware once. Codes of qp_fota_apply().
int qp_fota_prepare(const qp_fota_apply_config_t *cfg, qp_fota_apply_stats_t *stats,
                    char *msg, size_t msglen);

// Erases the journal header in the backup area (after a completed apply, so a later
// package starts fresh). Safe on an area without a journal.
int qp_fota_journal_clear(const qp_patch_flash_t *backup);

// ---------------------------------------------------------------------------------------
// Host: making image packages (qp_fota_diff.c, links qp_diff)
// ---------------------------------------------------------------------------------------

typedef struct qp_fota_diff_config {
    uint32_t dict_max;  // patch streams' largest LZMA2 dictionary; 0: qp_diff's default
    uint32_t filter;    // QP_DIFF_FILTER_*; 0: auto
    void (*progress)(void *ctx, const char *phase, uint64_t done, uint64_t total);
    void *progress_ctx;
    // Test seam: 1 returns the package without applying it on the host (no RAM or backup
    // figures: apply_ram is recorded as unlimited, backup_size as 0), so tests can make
    // packages the module must refuse, e.g. for an image its encoder cannot reproduce.
    int no_self_check;
} qp_fota_diff_config_t;

typedef struct qp_fota_diff_stats {
    uint32_t package_size;
    uint32_t apply_ram;      // recorded in the header (measured peak + margin)
    uint32_t backup_size;    // recorded in the header (4096-byte sectors)
    uint32_t old_space, new_space; // uncompressed bytes diffed
    uint32_t old_restarts;   // old-section decoder restarts in the self-check apply
    uint32_t dict_used;      // largest LZMA2 dictionary of the package's streams
} qp_fota_diff_stats_t;

// Makes an image package turning image `old_img` into `new_img` (both complete system.img
// files of the same model): decompresses the sections, diffs them (qp_diff_create), then
// applies the package in place in a simulated flash with the module's qp_fota_apply,
// checking the result is byte-identical to new_img, and records the RAM (peak + 8 KiB) and
// backup that apply used in the header (the cap changes no allocation, so the module,
// under the recorded cap, allocates the same). *out is malloc'ed (free with qp_diff_free).
// @retval QP_ERR_CORRUPT an image fails its checks (msg says which)
// @retval QP_ERR_INVAL   the images are for different models
// @retval QP_ERR_IO      the self-check failed (a bug)
int qp_fota_diff(const qp_fota_diff_config_t *cfg, const uint8_t *old_img, size_t old_len,
                 const uint8_t *new_img, size_t new_len, uint8_t **out, uint32_t *out_size,
                 qp_fota_diff_stats_t *stats, char *msg, size_t msglen);

#endif
