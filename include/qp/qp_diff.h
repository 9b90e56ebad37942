// qp_diff.h - the host-side differ: builds an adiff package (docs/SPEC-patch.md) that turns
// an old space into a new one. Host only: it may use malloc and needs libdivsufsort and
// liblzma's encoder; the device never links it (it links qp_patch, qp_patch.h).
//
// How it works (SPEC-patch §7): for each new section, both sides go through an ARM branch
// filter (Thumb-2 or A32 BL/BLX offsets made absolute, chosen per section by a census of
// the branches in the new data),
// the filtered old range gets a suffix array (libdivsufsort), and a bsdiff-style scan over
// the new data picks approximate matches: each control entry says "add N bytes of old data
// to N diff bytes, then copy M extra bytes, then move the old position". The three streams
// are LZMA2-compressed separately. A raw package is then applied in a simulated flash, in
// place, to check it and measure the RAM and backup space the device will need, which go
// into its header; an image package is left for its maker to check and measure on the
// images (qp_fota_diff, with the module's own apply), and asks for unlimited RAM until then.
//
// Errors: negative errno values from qp_err.h. Thread-safety: calls are independent.
#ifndef QP_DIFF_H
#define QP_DIFF_H

#include <stddef.h>
#include <stdint.h>

#include "qp/qp_patch.h"

// Filter choice for qp_diff_config_t.filter.
#define QP_DIFF_FILTER_AUTO 0   // per section, the branch filter a census of the new data
                                // points to (or none), then its mapped variant; keeps the
                                // smaller (ranked at a fast LZMA preset, SPEC-patch §7)
#define QP_DIFF_FILTER_NONE 1
#define QP_DIFF_FILTER_THUMB 2
#define QP_DIFF_FILTER_ARM 3
#define QP_DIFF_FILTER_THUMB_MAP 4 // Thumb, then Thumb with the target map its match voted
#define QP_DIFF_FILTER_ARM_MAP 5   // the same for A32 (SPEC-patch §5.1, §7)

// One new section: its range of the new space and the range of the old space it is diffed
// against (old_size 0: a new section, all extra data).
typedef struct qp_diff_section {
    const char *name;    // at most QP_PATCH_NAME_MAX characters
    uint32_t old_offset;
    uint32_t old_size;
    uint32_t new_offset; // sections tile the new space in order
    uint32_t new_size;
} qp_diff_section_t;

// Progress callback: `done` of `total` new bytes matched so far (per section, then the
// compression and self-check phases report done == total).
typedef void (*qp_diff_progress_fn)(void *ctx, const char *phase, uint64_t done,
                                    uint64_t total);

// Configuration: zero-initialise; zero means default.
typedef struct qp_diff_config {
    const char *model;     // target model; NULL: "EC600S"
    uint32_t flags;        // QP_PATCH_F_IMAGE for an image package (then set the image
                           // sizes and hashes below; not self-checked here); 0: raw
    uint32_t block_size;   // in-place step; 0: 4096
    uint32_t dict_max;     // largest LZMA2 dictionary per stream (the device's apply RAM
                           // is about 3 x this); 0: 1 MiB
    uint32_t filter;       // QP_DIFF_FILTER_*; 0: auto
    uint32_t level;        // LZMA preset 1..9 (always "extreme"); 0: 9
    uint32_t min_match;    // bsdiff's "better than the current alignment by" threshold;
                           // 0: 8
    qp_diff_progress_fn progress;
    void *progress_ctx;
    // Image packages only: the images as stored in flash.
    uint32_t old_image_size;
    uint32_t new_image_size;
    uint8_t old_image_sha256[32];
    uint8_t new_image_sha256[32];
} qp_diff_config_t;

typedef struct qp_diff_stats {
    uint32_t package_size;
    uint32_t apply_ram;        // as recorded in the header
    uint32_t backup_size;      // as recorded in the header (4096-byte sectors)
    uint32_t stream_size[QP_PATCH_STREAMS];  // compressed, all sections
    uint32_t stream_raw[QP_PATCH_STREAMS];
    uint32_t entries;          // control entries
    uint32_t filters[QP_PATCH_FILTER_MAX + 1]; // sections per filter chosen
} qp_diff_stats_t;

// Builds a package turning `old_space` into `new_space`. `sections` may be NULL with
// `count` 0 for a raw package with one section "raw" covering both. On success *out is a
// malloc'ed buffer of *out_size bytes (free with qp_diff_free) and `stats`, if not NULL,
// is filled. The new space is working memory during the call: each section is filtered in
// place while it is diffed and restored before the call returns, success or not (a copy
// would be the differ's second largest buffer after the suffix array); the two spaces must
// not overlap.
// @retval QP_ERR_INVAL  bad sections (not tiling the new space, outside the old space,
//                       too many, names too long), overlapping spaces, bad config
// @retval QP_ERR_NOMEM  out of memory
// @retval QP_ERR_FBIG   a space over 2 GiB, or the package over 4 GiB
// @retval QP_ERR_IO     the self-check of a raw package failed (a bug: please report)
int qp_diff_create(const qp_diff_config_t *cfg, const uint8_t *old_space, uint32_t old_size,
                   uint8_t *new_space, uint32_t new_size,
                   const qp_diff_section_t *sections, uint32_t count, uint8_t **out,
                   uint32_t *out_size, qp_diff_stats_t *stats);

void qp_diff_free(void *buf);

#endif
