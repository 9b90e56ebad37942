// fs_testutil.c - see fs_testutil.h. Linked into every tests/unit/fs executable.
#include "fs_testutil.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const fs_geom_t fs_geoms[] = {
    {"ec600s 4096/4096/4096", 4096, 4096, 4096, 4096, 16},
    {"16/16/4096 cache 16 lookahead 4", 16, 16, 4096, 16, 4},
    {"16/16/4096 cache 512", 16, 16, 4096, 512, 16},
    {"256/256/4096 cache 256 lookahead 8", 256, 256, 4096, 256, 8},
    {"256/256/4096 cache 4096", 256, 256, 4096, 4096, 32},
};
const size_t fs_ngeoms = sizeof(fs_geoms) / sizeof(fs_geoms[0]);

uint32_t fs_version = QP_FS_DISK_VERSION_LFS1;

int fs_run_tests(const char *name, const struct CMUnitTest *tests, size_t count) {
    // v2.0 differs from 2.1 only in its commits (no forward CRCs); it runs under QP_STRESS.
    static const struct {
        uint32_t version;
        const char *tag;
    } versions[] = {{QP_FS_DISK_VERSION_LFS1, "lfs1"},
                    {QP_FS_DISK_VERSION_LFS2, "lfs2"},
                    {QP_FS_DISK_VERSION_LFS2_0, "lfs2.0"}};
    const char *only = getenv("QP_FS_VERSION"); // "1", "2" or "2.0": one version only
    const char *stress = getenv("QP_STRESS");
    bool all = stress && *stress && strcmp(stress, "0") != 0;
    int failed = 0;
    for (size_t v = 0; v < sizeof(versions) / sizeof(versions[0]); v++) {
        if (only ? strcmp(only, versions[v].tag + 3) != 0 : (v == 2 && !all)) {
            continue;
        }
        char group[160];
        snprintf(group, sizeof(group), "%s [%s]", name, versions[v].tag);
        fs_version = versions[v].version;
        failed += _cmocka_run_group_tests(group, tests, count, NULL, NULL);
    }
    return failed;
}

static int t_read(void *ctx, uint32_t block, uint32_t off, void *buf, uint32_t size) {
    tdev_t *d = ctx;
    return qp_flash_bd_read(&d->bd, block, off, buf, size);
}

static int t_prog(void *ctx, uint32_t block, uint32_t off, const void *buf, uint32_t size) {
    tdev_t *d = ctx;
    return qp_flash_bd_prog(&d->bd, block, off, buf, size);
}

static int t_erase(void *ctx, uint32_t block) {
    tdev_t *d = ctx;
    if (block == d->bad_block) {
        return QP_ERR_CORRUPT;
    }
    return qp_flash_bd_erase(&d->bd, block);
}

static int t_sync(void *ctx) {
    tdev_t *d = ctx;
    return qp_flash_bd_sync(&d->bd);
}

void tdev_open(tdev_t *d, const fs_geom_t *g, uint32_t block_count) {
    memset(d, 0, sizeof(*d));
    d->size = g->block_size * block_count;
    d->mem = malloc(d->size);
    assert_non_null(d->mem);
    memset(d->mem, 0xff, d->size);
    qp_flash_config_t fc = {0};
    fc.size = d->size;
    fc.sector_size = 4096;
    fc.page_size = 256;
    fc.data_buffer = d->mem;
    fc.flags = QP_FLASH_F_KEEP;
    assert_int_equal(qp_flash_open_ram(&d->flash, &fc), 0);
    assert_int_equal(qp_flash_part_init(&d->part, &d->flash, 0, d->size), 0);
    assert_int_equal(qp_flash_bd_init(&d->bd, &d->part, g->block_size), 0);
    d->bad_block = TDEV_NO_BAD;
    d->cfg.context = d;
    d->cfg.read = t_read;
    d->cfg.prog = t_prog;
    d->cfg.erase = t_erase;
    d->cfg.sync = t_sync;
    d->cfg.read_size = g->read_size;
    d->cfg.prog_size = g->prog_size;
    d->cfg.block_size = g->block_size;
    d->cfg.block_count = block_count;
    d->cfg.cache_size = g->cache_size;
    d->cfg.lookahead_size = g->lookahead_size;
    d->cfg.disk_version = fs_version;
}

void tdev_close(tdev_t *d) {
    qp_flash_close(&d->flash);
    free(d->mem);
    d->mem = NULL;
}

void tdev_format_mount(tdev_t *d, qp_fs_t *fs) {
    assert_int_equal(qp_fs_format(fs, &d->cfg), 0);
    assert_int_equal(qp_fs_mount(fs, &d->cfg), 0);
}

void fill_pattern(uint8_t *buf, size_t len, uint32_t seed) {
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[i] = (uint8_t)x;
    }
}

void write_file(qp_fs_t *fs, const char *path, const uint8_t *data, size_t len) {
    qp_fs_file_t f;
    assert_int_equal(qp_fs_file_open(fs, &f, path,
                                     QP_FS_O_WRONLY | QP_FS_O_CREAT | QP_FS_O_TRUNC), 0);
    assert_int_equal(qp_fs_file_write(fs, &f, data, len), (int)len);
    assert_int_equal(qp_fs_file_close(fs, &f), 0);
}

void check_file(qp_fs_t *fs, const char *path, const uint8_t *data, size_t len) {
    qp_fs_file_t f;
    assert_int_equal(qp_fs_file_open(fs, &f, path, QP_FS_O_RDONLY), 0);
    assert_int_equal(qp_fs_file_size(fs, &f), (int32_t)len);
    uint8_t *got = malloc(len + 1);
    assert_non_null(got);
    assert_int_equal(qp_fs_file_read(fs, &f, got, len + 1), (int)len);
    assert_memory_equal(got, data, len);
    free(got);
    assert_int_equal(qp_fs_file_close(fs, &f), 0);
}

void write_pattern(qp_fs_t *fs, const char *path, size_t len, uint32_t seed) {
    uint8_t *buf = malloc(len + 1);
    assert_non_null(buf);
    fill_pattern(buf, len, seed);
    write_file(fs, path, buf, len);
    free(buf);
}

void check_pattern(qp_fs_t *fs, const char *path, size_t len, uint32_t seed) {
    uint8_t *buf = malloc(len + 1);
    assert_non_null(buf);
    fill_pattern(buf, len, seed);
    check_file(fs, path, buf, len);
    free(buf);
}

int count_entries(qp_fs_t *fs, const char *path) {
    qp_fs_dir_t dir;
    int err = qp_fs_dir_open(fs, &dir, path);
    if (err < 0) {
        return err;
    }
    int n = 0;
    qp_fs_info_t info;
    while ((err = qp_fs_dir_read(fs, &dir, &info)) == 1) {
        n++;
    }
    qp_fs_dir_close(fs, &dir);
    return err < 0 ? err : n;
}

// ---- littlefs v2 metadata pairs, decoded here independently of src/fs ----

typedef struct l2pair {
    uint32_t rev;
    uint32_t count;     // ids: one past the highest named, plus creates, minus deletes
    bool superblock;    // id 0 is named "littlefs" with the superblock type
    bool hard;          // the tail is a hard tail
    uint32_t tail[2];
} l2pair_t;

// CRC-32 as littlefs uses it: reflected 0xedb88320, no final inversion.
static uint32_t l2_crc(uint32_t crc, const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++) {
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
        }
    }
    return crc;
}

static uint32_t l2_be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t l2_le32(const uint8_t *p) {
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

// The state after the last commit of `block` whose CRC matches; false when none does.
static bool l2_read_block(const tdev_t *d, uint32_t block, l2pair_t *out) {
    const uint32_t B = d->cfg.block_size;
    const uint8_t *b = d->mem + (size_t)block * B;
    l2pair_t cur = {l2_le32(b), 0, false, false, {QP_FS_BLOCK_NULL, QP_FS_BLOCK_NULL}};
    uint32_t off = 4, ptag = 0xffffffff, crc = l2_crc(0xffffffff, b, 4);
    bool found = false;
    while (off + 4 <= B) {
        uint32_t tag = l2_be32(b + off) ^ ptag;
        uint32_t type = (tag >> 20) & 0x7ff, id = (tag >> 10) & 0x3ff, size = tag & 0x3ff;
        uint32_t dsize = size == 0x3ff ? 0 : size;
        if ((tag >> 31) || off + 4 + dsize > B) {
            break;
        }
        crc = l2_crc(crc, b + off, 4);
        ptag = tag;
        if ((type & 0x780) == 0x500) { // CRC: its lowest type bit flips the next valid bit
            if (dsize < 4 || l2_le32(b + off + 4) != crc) {
                break;
            }
            ptag ^= (type & 1) << 31;
            crc = 0xffffffff;
            *out = cur;
            found = true;
        } else {
            crc = l2_crc(crc, b + off + 4, dsize);
            if ((type & 0x700) == 0 && id != 0x3ff && id >= cur.count) {
                cur.count = id + 1;
            }
            if (type == 0x0ff && id == 0 && dsize == 8 && !memcmp(b + off + 4, "littlefs", 8)) {
                cur.superblock = true;
            }
            cur.count += type == 0x401 ? 1 : type == 0x4ff ? (uint32_t)-1 : 0;
            if ((type & 0x700) == 0x600 && dsize >= 8) {
                cur.hard = type & 1;
                cur.tail[0] = l2_le32(b + off + 4);
                cur.tail[1] = l2_le32(b + off + 8);
            }
        }
        off += 4 + dsize;
    }
    return found;
}

// A pair's state: its newer block (revisions compared as sequence numbers) if that has a
// valid commit, else the other.
static void l2_read_pair(const tdev_t *d, const uint32_t pair[2], l2pair_t *out) {
    assert_true(pair[0] < d->cfg.block_count && pair[1] < d->cfg.block_count);
    l2pair_t s[2];
    bool ok[2] = {l2_read_block(d, pair[0], &s[0]), l2_read_block(d, pair[1], &s[1])};
    int newer = ok[0] && ok[1] ? (int32_t)(s[1].rev - s[0].rev) > 0 : ok[1];
    assert_true(ok[newer]);
    *out = s[newer];
}

int lfs2_superblock_pairs(const tdev_t *d, uint32_t root[2]) {
    // The root is the last pair holding a superblock entry; a split root keeps only that
    // entry too, but the pair after it (the rest of the root directory) holds none.
    uint32_t pair[2] = {0, 1};
    l2pair_t s, next;
    l2_read_pair(d, pair, &s);
    assert_true(s.superblock);
    for (int n = 0; n < (int)d->cfg.block_count / 2; n++) {
        if (s.hard) {
            l2_read_pair(d, s.tail, &next);
        }
        if (!s.hard || !next.superblock) {
            if (root) {
                root[0] = pair[0], root[1] = pair[1];
            }
            return n;
        }
        assert_int_equal(s.count, 1);
        pair[0] = s.tail[0], pair[1] = s.tail[1];
        s = next;
    }
    fail_msg("the superblock chain does not end");
    return -1;
}

int fs_empty_blocks_of(const tdev_t *d) {
    return fs_empty_blocks() + (fs_is_v2() ? 2 * lfs2_superblock_pairs(d, NULL) : 0);
}
