// patch_internal.h - what the files of src/patch share and the public headers do not say:
// the package layout offsets (SPEC-patch §3), little-endian helpers, the branch filters
// (§5), the SHA-256 shim over mbedTLS 2.x/3.x, and the in-place plan (§6) that both the
// device (qp_patch_inplace.c) and the differ (qp_diff.c) compute, so that the backup space
// adiff promises is exactly what the device will need.
#ifndef QP_PATCH_INTERNAL_H
#define QP_PATCH_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <mbedtls/sha256.h>
#include <mbedtls/version.h>

#include "qp/qp_patch.h"
#include "qp/qp_patch_sig.h"

#if defined(__GNUC__)
#define QP_INTERNAL __attribute__((visibility("hidden")))
#else
#define QP_INTERNAL
#endif

// mbedTLS 2.x spells the SHA-256 calls with _ret; 3.x dropped the suffix.
#if MBEDTLS_VERSION_MAJOR < 3
#define qp_sha256_starts(c) mbedtls_sha256_starts_ret((c), 0)
#define qp_sha256_update(c, d, n) mbedtls_sha256_update_ret((c), (d), (n))
#define qp_sha256_finish(c, out) mbedtls_sha256_finish_ret((c), (out))
#else
#define qp_sha256_starts(c) mbedtls_sha256_starts((c), 0)
#define qp_sha256_update(c, d, n) mbedtls_sha256_update((c), (d), (n))
#define qp_sha256_finish(c, out) mbedtls_sha256_finish((c), (out))
#endif

// Fixed header offsets (SPEC-patch §3.1).
#define PH_MAGIC 0
#define PH_MAJOR 8
#define PH_MINOR 10
#define PH_FLAGS 12
#define PH_HEADER_SIZE 16
#define PH_PACKAGE_SIZE 20
#define PH_SECTION_COUNT 24
#define PH_APPLY_RAM 28
#define PH_BACKUP_SIZE 32
#define PH_BLOCK_SIZE 36
#define PH_OLD_SIZE 40
#define PH_NEW_SIZE 44
#define PH_OLD_SPACE 48
#define PH_NEW_SPACE 52
#define PH_MODEL 64
#define PH_OLD_SHA 96
#define PH_NEW_SHA 128
#define PH_PKG_SHA 160
#define PH_SIG 192 // signature, QP_PATCH_SIG_SIZE bytes to the end of the fixed header (§3.5)

// Section descriptor offsets (SPEC-patch §3.3).
#define PS_NAME 0
#define PS_FILTER 16
#define PS_OLD_OFFSET 20
#define PS_OLD_SIZE 24
#define PS_NEW_OFFSET 28
#define PS_NEW_SIZE 32
#define PS_STREAMS 40 // 3 x {offset, size, raw_size, dict_size}
#define PS_OLD_SHA 88
#define PS_NEW_SHA 120

// Dictionary sizes a package may ask for (SPEC-patch §4.1).
#define QP_PATCH_DICT_MIN 4096u
#define QP_PATCH_DICT_MAX (64u << 20)

static inline uint32_t qp_le32(const uint8_t *b) {
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}
static inline uint16_t qp_le16(const uint8_t *b) {
    return (uint16_t)(b[0] | b[1] << 8);
}
static inline void qp_put32(uint8_t *b, uint32_t v) {
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
    b[2] = (uint8_t)(v >> 16);
    b[3] = (uint8_t)(v >> 24);
}
static inline void qp_put16(uint8_t *b, uint16_t v) {
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
}

// Sets to 0 the bytes of `buf` (package bytes [off, off + len)) that fall in package range
// [lo, hi): how the hashes of §3.2 and §3.5 leave out the fields that hold them.
static inline void qp_patch_zero_range(uint8_t *buf, uint32_t off, uint32_t len, uint32_t lo,
                                       uint32_t hi) {
    for (uint32_t i = lo > off ? lo - off : 0; i < len && off + i < hi; i++) {
        buf[i] = 0;
    }
}

// The digest a package signature signs (§3.5): SHA-256 of header bytes [0, header_size)
// read through `read`, with the signature field taken as zeros.
QP_INTERNAL int qp_patch_sig_digest(qp_patch_read_fn read, void *ctx, uint32_t header_size,
                                    uint8_t md[32]);

// Key text for mbedTLS's parsers (qp_patch_sig.c and qp_patch_sign.c): copies `len` bytes of
// PEM or DER into `buf` (QP_PATCH_SIG_PEM_MAX + 1 bytes) and sets *n to the length the
// parsers want. QP_ERR_INVAL for NULL, empty or too long.
QP_INTERNAL int qp_patch_sig_key_text(const void *text, size_t len, uint8_t *buf, size_t *n);

// Maps the result of an mbedTLS key parse and checks the key is ECDSA P-256: 0, or
// QP_ERR_INVAL (not a key of the kind parsed), QP_ERR_NOTSUP (another algorithm or curve),
// QP_ERR_NOMEM.
struct mbedtls_pk_context;
QP_INTERNAL int qp_patch_sig_check_p256(int mbed_err, struct mbedtls_pk_context *pk);

// A target map (SPEC-patch §5.1): `count` pieces, `start` strictly increasing absolute
// branch-field values, `add[i]` added (mod the field width) to a field v with
// start[i] <= v < start[i + 1]. Fields below start[0] are left alone.
typedef struct qp_patch_map {
    uint32_t count;
    uint32_t *start;
    uint32_t *add;
} qp_patch_map_t;

// Largest number of pieces a map may have (a bound on the varint count; the RAM is
// 8 bytes per piece and counts against apply_ram).
#define QP_PATCH_MAP_MAX (1u << 20)

// The branch filter of a section filter (1 Thumb-2 or 2 A32; 0 for none), and whether the
// section's control stream starts with a target map (filters 3 and 4, §5.1).
static inline uint32_t qp_patch_filter_base(uint32_t filter) {
    return filter > QP_PATCH_FILTER_ARM ? filter - 2u : filter;
}
static inline int qp_patch_filter_mapped(uint32_t filter) {
    return filter > QP_PATCH_FILTER_ARM;
}

// Width mask of the absolute branch field of a (base) filter: 22 bits for Thumb-2, 24 for
// A32.
static inline uint32_t qp_patch_field_mask(uint32_t filter) {
    return qp_patch_filter_base(filter) == QP_PATCH_FILTER_THUMB ? 0x3FFFFFu : 0xFFFFFFu;
}

// Branch filter (SPEC-patch §5) over `buf`, which holds the bytes at positions
// [buf_pos, buf_pos + len) of a space. Converts every candidate instruction starting at a
// position i >= max(buf_pos, from) that lies wholly in the buffer and sits at an aligned
// distance from `origin`; `encode` makes branch offsets absolute (relative to origin),
// otherwise the inverse. With `map` (encode only: the old side of a mapped section), each
// absolute field then goes through the map. Candidates never overlap, so any cut of a space
// into buffers gives the same result as long as each candidate is converted exactly once.
// Returns the position of the first candidate start not examined (to pass as `from` once
// more bytes follow). `filter` may be a mapped filter id: its base filter is used.
QP_INTERNAL uint32_t qp_patch_filter(uint32_t filter, int encode, uint8_t *buf, uint32_t len,
                                     uint32_t buf_pos, uint32_t origin, uint32_t from,
                                     const qp_patch_map_t *map);

// The absolute branch field of an already filtered candidate at `b` (4 bytes), or -1 when
// `b` is not a candidate of the (base) filter.
QP_INTERNAL int64_t qp_patch_branch_field(uint32_t filter, const uint8_t *b);

// The differ's (host) census of a new section (qp_diff.c, SPEC-patch §7): the base filter
// whose branch candidates in `nw` land inside the section far more often than chance, or
// QP_PATCH_FILTER_NONE.
QP_INTERNAL uint32_t qp_diff_census(const uint8_t *nw, uint32_t n);

// v mapped through `map` (§5.1), within `mask`.
QP_INTERNAL uint32_t qp_patch_map_apply(const qp_patch_map_t *map, uint32_t v, uint32_t mask);

// Decodes a header + section table held in `hdr` (at least QP_PATCH_HEADER_SIZE bytes,
// and header_size bytes once known) into `info`, checking every field (§3.4).
QP_INTERNAL int qp_patch_parse_header(const uint8_t *hdr, uint32_t avail,
                                      qp_patch_info_t *info);

// Encodes `info` (the differ): writes header_size bytes into `hdr`; package_sha256 as is.
QP_INTERNAL void qp_patch_write_header(const qp_patch_info_t *info, uint8_t *hdr);

// Allocation through the handle's counter (all of src/patch allocates this way).
QP_INTERNAL void *qp_patch_alloc(qp_patch_t *p, size_t size);
QP_INTERNAL void qp_patch_free(qp_patch_t *p, void *ptr);

// Visits every add run of every section's control stream in order: old-space range
// [old_pos, old_pos + len) is read to produce new-space range [new_pos, new_pos + len).
// Decodes only the control streams (small); uses the handle's decoders, so it must not
// interleave with qp_patch_read (it rewinds the handle afterwards).
QP_INTERNAL int qp_patch_walk_adds(qp_patch_t *p, qp_patch_run_fn fn, void *ctx);

// The in-place plan (§6.2): per old block, the last step that reads it (or -1), and for
// every backed-up block the slot it is kept in. `last_use` and `slot` hold old_blocks
// entries, allocated by the caller.
typedef struct qp_patch_plan {
    uint32_t block_size;
    uint32_t steps;       // ceil(new_size / block_size)
    uint32_t old_blocks;  // ceil(old_size / block_size)
    int32_t *last_use;
    uint16_t *slot;       // 0xFFFF: never backed up
    uint32_t slots;       // slots needed at most at once
} qp_patch_plan_t;

#define QP_PATCH_NO_SLOT 0xFFFFu
#define QP_PATCH_SLOTS_MAX 0xFFFEu

// Fills `plan` (block_size, steps, old_blocks and both arrays set by the caller).
QP_INTERNAL int qp_patch_plan_compute(qp_patch_t *p, qp_patch_plan_t *plan);

// Bytes of journal for `steps` steps on sectors of `sector_size` (§6.3).
QP_INTERNAL uint32_t qp_patch_journal_size(uint32_t steps, uint32_t sector_size);

// RAM the in-place driver allocates besides the streaming decoder (§6.4).
QP_INTERNAL uint32_t qp_patch_inplace_extra_ram(uint32_t block_size, uint32_t old_size);

#endif
