// fs_testutil.h - shared fixtures for the src/fs unit tests: the on-disk versions and the
// geometries every test runs over, a test device (qp_flash's RAM NOR model behind its block-device adapter, plus
// optional bad-block injection), and file helpers that fail the cmocka test on error.
#ifndef QP_FS_TESTUTIL_H
#define QP_FS_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "qp/qp_flash.h"
#include "qp/qp_fs.h"

typedef struct fs_geom {
    const char *name;
    uint32_t read_size, prog_size, block_size;
    uint32_t cache_size;
    uint32_t lookahead_size;
} fs_geom_t;

// EC600S 4096/4096/4096, then 16/16 and 256/256 with small and large caches and lookaheads.
extern const fs_geom_t fs_geoms[];
extern const size_t fs_ngeoms;

// The on-disk version the current run formats and mounts (tdev_open puts it in the config).
// fs_run_tests runs a test group once per version: littlefs v1, then v2 (2.1), and with
// QP_STRESS=1 also v2.0. QP_FS_VERSION=1|2|2.0 runs one version only.
extern uint32_t fs_version;
int fs_run_tests(const char *name, const struct CMUnitTest *tests, size_t count);
#define FS_RUN_TESTS(tests) \
    fs_run_tests(__FILE__, tests, sizeof(tests) / sizeof((tests)[0]))
static inline int fs_is_v2(void) { return fs_version != QP_FS_DISK_VERSION_LFS1; }
// Blocks in use on an empty file system: v1 has the superblock pair and the root pair, v2
// keeps the root in the superblock pair.
static inline int fs_empty_blocks(void) { return fs_is_v2() ? 2 : 4; }

#define TDEV_NO_BAD 0xffffffffu

typedef struct tdev {
    qp_flash_t flash;
    qp_flash_part_t part;
    qp_flash_bd_t bd;
    uint8_t *mem; // the flash contents (ours: QP_FLASH_F_KEEP), for corruption tests
    uint32_t size;
    struct qp_fs_config cfg;
    uint32_t bad_block; // erasing it returns QP_ERR_CORRUPT (a worn-out block)
} tdev_t;

// Opens an erased RAM flash of block_count blocks with geometry g and fills d->cfg.
void tdev_open(tdev_t *d, const fs_geom_t *g, uint32_t block_count);
void tdev_close(tdev_t *d);

// Formats and mounts, asserting success.
void tdev_format_mount(tdev_t *d, qp_fs_t *fs);

// Deterministic test data.
void fill_pattern(uint8_t *buf, size_t len, uint32_t seed);

// Writes (creating or truncating) / checks a whole file; fail the test on any error.
void write_file(qp_fs_t *fs, const char *path, const uint8_t *data, size_t len);
void check_file(qp_fs_t *fs, const char *path, const uint8_t *data, size_t len);
// Same with a pattern of `len` bytes from `seed`.
void write_pattern(qp_fs_t *fs, const char *path, size_t len, uint32_t seed);
void check_pattern(qp_fs_t *fs, const char *path, size_t len, uint32_t seed);

// Entries in a directory (not counting "." and ".."), or a negative error.
int count_entries(qp_fs_t *fs, const char *path);

// A littlefs v2 image read straight from d->mem, by a decoder of its own (SPEC-fs §9.2-9.3,
// not src/fs's): follows the threaded list from pair {0, 1} while a pair holds nothing but
// the superblock entry and a hard tail (what a superblock expansion leaves, §9.7) and
// returns how many do; 0 when {0, 1} is still the root. *root (when not NULL) gets the pair
// after them, which must hold a superblock entry at id 0 too. Fails the test otherwise.
int lfs2_superblock_pairs(const tdev_t *d, uint32_t root[2]);
// Blocks in use on an otherwise empty file system: fs_empty_blocks() plus the pairs that
// superblock expansions added (v2 only).
int fs_empty_blocks_of(const tdev_t *d);

#endif
