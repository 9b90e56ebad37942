// fuzz_common.h - what the fuzz targets (fuzz/fuzz_*.c), their replay driver and the seed
// corpus generator share: the libFuzzer entry point's prototype, a capped counting
// allocator, a memory source for read callbacks, the fixed old image the patch target
// applies packages to, and the file-system geometries the fs target mounts.
//
// Why the fixed pieces live here: a seed is only useful if the target reads it the way
// the generator meant it, so the generator (fuzz/mkcorpus.c) and the targets take the old
// image, the geometries and the fs input layout from one place.
#ifndef QP_FUZZ_COMMON_H
#define QP_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "qp/qp_flash.h"
#include "qp/qp_fs.h"

// A P-256 public key (SPEC-patch §3.5) whose private half was thrown away when it was made
// (adiff --genkey, --pubkey): the patch target checks every package's signature with it
// (none verifies; the parsing and the check still run on fuzzed headers) and device seeds
// carry it as fota_public_key.
#define FZ_PUBKEY_PEM                                                                      \
    "-----BEGIN PUBLIC KEY-----\n"                                                         \
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEDe2EVRRp+84TwYYRseN6oV/iVeyl\n"                   \
    "b9gcL2acEHCswfaffYPGsyFju0Brv0V8mU6jR+rLHA7Qp3T2X6BqOREP9Q==\n"                       \
    "-----END PUBLIC KEY-----\n"

// libFuzzer's entry point, defined once per target. Declared here because the project
// builds with -Wmissing-prototypes.
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

// Aborts (a finding) unless `rc` is >= 0 or one of the codes of qp_err.h: a library
// must never return -1-and-errno or some other stray negative value.
void fz_check_code(int rc);

// Allocator that fails once `used` would pass `cap` (0: no cap), counts live blocks and
// aborts on a free of a pointer it did not hand out (via ASan). A target gives it to the
// library so a fuzzed size field can make it ask for a gigabyte without the fuzzer
// running out of memory: the library must then fail with QP_ERR_NOMEM, cleanly.
typedef struct fz_alloc {
    size_t used, peak, cap;
    unsigned live;
} fz_alloc_t;
void *fz_alloc(void *ctx, size_t size);
void fz_free(void *ctx, void *ptr);
// Size of a block fz_alloc returned (for a realloc built on it).
size_t fz_alloc_size(const void *ptr);

// A byte range as the source of qp_image/qp_patch read callbacks: reads outside it fail
// with QP_ERR_CORRUPT (a short source, as the callbacks' contract says).
typedef struct fz_mem {
    const uint8_t *p;
    size_t size;
} fz_mem_t;
int fz_image_read(void *ctx, uint64_t off, void *buf, size_t len);
int fz_patch_read(void *ctx, uint32_t off, void *buf, uint32_t len);

// SHA-256 of n bytes (mbedTLS 2.x or 3.x), for the targets that re-seal mutated inputs.
void fz_sha256(const uint8_t *p, size_t n, uint8_t out[32]);

// The old image every patch seed was made against and the patch target applies to:
// FZ_OLD_SIZE bytes of firmware-like data (Thumb-ish code with BL pairs, strings, and a
// pointer table), deterministic. FZ_NEW_SEED_MAX variants of a new image exist for seeds.
#define FZ_OLD_SIZE (16u * 1024u)
void fz_make_old(uint8_t *out);
// A new image made from the old one by edits depending on `variant`; returns its size
// (at most FZ_NEW_MAX).
#define FZ_NEW_MAX (FZ_OLD_SIZE + 8192u)
uint32_t fz_make_new(const uint8_t *old, uint8_t *out, uint32_t variant);

// File-system input layout (fuzz_fs.c): byte 0 picks the geometry (modulo the count),
// then FZ_FS_OPS bytes of operation script, then the flash contents (shorter inputs leave
// the rest erased).
#define FZ_FS_OPS 64u
typedef struct fz_fs_geom {
    uint32_t disk_version;
    uint32_t read_size, prog_size, block_size, block_count;
    uint32_t cache_size, lookahead_size;
} fz_fs_geom_t;
extern const fz_fs_geom_t fz_fs_geoms[];
extern const size_t fz_fs_ngeoms;

// A RAM NOR flash of geometry g over `mem` (block_size * block_count bytes, kept as it is:
// the image to mount) with the fs config pointing at it. Callers fill cfg.alloc if they
// want one. Returns 0 or the flash library's error.
typedef struct fz_fs_dev {
    qp_flash_t flash;
    qp_flash_part_t part;
    qp_flash_bd_t bd;
    struct qp_fs_config cfg;
} fz_fs_dev_t;
int fz_fs_dev_open(fz_fs_dev_t *d, const fz_fs_geom_t *g, uint8_t *mem);
void fz_fs_dev_close(fz_fs_dev_t *d);

#endif
