// qp_bundle.h - production bundles: one file holding the images a module is burnt with
// (firmware, customer_fs, customer_backup_fs), as QPYcom's "merge the files into the
// firmware" step makes one package. `mklfs --bundle` writes them, `qpy flash BUNDLE`
// burns one in a single step. The format is docs/SPEC-bundle.md; §n below refers to it.
//
// This library only encodes and checks the header and table (and the CRC-32 they use);
// reading and writing the file is the caller's. Plain C11, no allocation, no OS.
// Errors: negative errno values from qp_err.h. Thread-safe (no state).
#ifndef QP_BUNDLE_H
#define QP_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#define QP_BUNDLE_VERSION_MAJOR 1
#define QP_BUNDLE_VERSION_MINOR 0

#define QP_BUNDLE_MAGIC "QPBUNDL\x1a"   // 8 bytes at offset 0 (§2)
#define QP_BUNDLE_HEADER_SIZE 64u       // fixed header (§2)
#define QP_BUNDLE_ENTRY_SIZE 48u        // one table entry (§3)
#define QP_BUNDLE_MAX_ENTRIES 8u
#define QP_BUNDLE_NAME_MAX 31u          // partition name, bytes without the NUL
#define QP_BUNDLE_ALIGN 4096u           // each image starts on a multiple of this (§4)

typedef struct qp_bundle_entry {
    char partition[QP_BUNDLE_NAME_MAX + 1]; // "firmware", "customer_fs", ...
    uint32_t offset;                        // from the start of the file
    uint32_t size;                          // bytes
    uint32_t crc32;                         // of those bytes (qp_bundle_crc32)
} qp_bundle_entry_t;

typedef struct qp_bundle_info {
    uint16_t version_major, version_minor;
    uint32_t count; // entries used
    qp_bundle_entry_t entries[QP_BUNDLE_MAX_ENTRIES];
} qp_bundle_info_t;

// CRC-32 (IEEE 802.3, as zlib's crc32): pass 0 to start, the previous result to go on.
uint32_t qp_bundle_crc32(uint32_t crc, const void *buf, size_t len);

// Bytes of header and table for `count` entries.
size_t qp_bundle_header_size(uint32_t count);

// Places `info`'s entries (partition, size and crc32 filled in by the caller, in the order
// they will be written) one after another after the header, each aligned (§4), setting
// their offsets; *total gets the whole file's size.
// @retval QP_ERR_INVAL no entries, too many, an empty or over-long or repeated name
// @retval QP_ERR_FBIG  the file would be 4 GiB or more
int qp_bundle_layout(qp_bundle_info_t *info, uint64_t *total);

// Encodes the header and table of a laid-out `info` into `out` (qp_bundle_header_size()
// bytes). The gaps between images are zero bytes (§4).
// @retval QP_ERR_INVAL outlen too small, or `info` not valid (as qp_bundle_layout)
int qp_bundle_encode(const qp_bundle_info_t *info, void *out, size_t outlen);

// 1 when `buf` starts with the bundle magic (at least 8 bytes), else 0.
int qp_bundle_is_bundle(const void *buf, size_t len);

// Parses the header and table at the start of a bundle of `file_size` bytes; `buf` holds
// at least the first min(file_size, header and table) bytes, `len` of them. Checks the
// magic, version, header CRC, names and that every image lies inside the file.
// @retval QP_ERR_CORRUPT a check failed (too short, bad CRC, image outside the file, ...)
// @retval QP_ERR_NOTSUP  another major version
int qp_bundle_parse(qp_bundle_info_t *info, const void *buf, size_t len, uint64_t file_size);

// The entry for `partition`, or NULL.
const qp_bundle_entry_t *qp_bundle_find(const qp_bundle_info_t *info, const char *partition);

// Checks that `len` bytes are a plausible image for `partition` before anything is
// written: "firmware" must be a system.img that passes qp_image's header and hash checks
// (docs/SPEC-image.md) and has the `app` section the module boots from; "customer_fs" and
// "customer_backup_fs" must be littlefs images, v1 or v2, that mount (qp_fsimage_check,
// on a copy). Partition sizes are the caller's to check.
// Allocates (a copy of a file system image, qp_image's table). `why` says what is wrong.
// @retval QP_ERR_CORRUPT not such an image
// @retval QP_ERR_INVAL   a file-system image whose size is not a whole number of blocks
// @retval QP_ERR_NOTSUP  a partition nothing is known about
// @retval QP_ERR_NOMEM
int qp_bundle_check_part(const char *partition, const void *data, size_t len,
                         const char **why);

#endif
