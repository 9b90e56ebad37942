// Unit tests for corrupted images: bit flips in every metadata block, a truncated image, a
// cycle in the metadata tail list, a file whose skip-list points at itself, and garbage.
// The FS must mount with an error (QP_ERR_CORRUPT/INVAL) or recover to a consistent
// state; reading and writing afterwards may fail but must never crash or hang (run under
// ASan/UBSan, every walk is bounded).
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs_testutil.h"

// Builds a small tree on a fresh device.
static void populate(tdev_t *d) {
    qp_fs_t fs;
    tdev_format_mount(d, &fs);
    assert_int_equal(qp_fs_mkdir(&fs, "/usr"), 0);
    assert_int_equal(qp_fs_mkdir(&fs, "/usr/lib"), 0);
    write_pattern(&fs, "/usr/main.py", 300, 1);
    write_pattern(&fs, "/usr/lib/big", 20000, 2);
    write_pattern(&fs, "/x", 10, 3);
    qp_fs_unmount(&fs);
}

// Reads everything reachable, ignoring errors; then tries a write. Returns nothing: the
// point is that it returns at all.
static void exercise(qp_fs_t *fs, const char *path, int depth) {
    qp_fs_dir_t dir;
    if (depth > 8 || qp_fs_dir_open(fs, &dir, path) < 0) {
        return;
    }
    qp_fs_info_t info;
    char names[16][64];
    int types[16], n = 0;
    for (int guard = 0; guard < 64 && n < 16; guard++) {
        if (qp_fs_dir_read(fs, &dir, &info) != 1) {
            break;
        }
        if (strlen(info.name) < 40) {
            strcpy(names[n], info.name);
            types[n++] = info.type;
        }
    }
    qp_fs_dir_close(fs, &dir);
    for (int i = 0; i < n; i++) {
        char p[1100];
        snprintf(p, sizeof(p), "%s/%s", strcmp(path, "/") ? path : "", names[i]);
        if (types[i] == QP_FS_TYPE_DIR) {
            exercise(fs, p, depth + 1);
            continue;
        }
        qp_fs_file_t f;
        if (qp_fs_file_open(fs, &f, p, QP_FS_O_RDONLY) == 0) {
            uint8_t buf[512];
            for (int guard = 0; guard < 100 && qp_fs_file_read(fs, &f, buf, sizeof(buf)) > 0;
                 guard++) {
            }
            qp_fs_file_close(fs, &f);
        }
    }
}

static void mount_and_exercise(tdev_t *d) {
    qp_fs_t fs;
    int err = qp_fs_mount(&fs, &d->cfg);
    if (err < 0) {
        // QP_ERR_RANGE is the device's own answer to a read past a truncated image, passed
        // through unchanged.
        assert_true(err == QP_ERR_CORRUPT || err == QP_ERR_INVAL || err == QP_ERR_NOTSUP ||
                    err == QP_ERR_RANGE);
        return;
    }
    exercise(&fs, "/", 0);
    (void)qp_fs_size(&fs);
    qp_fs_file_t f;
    if (qp_fs_file_open(&fs, &f, "/new", QP_FS_O_WRONLY | QP_FS_O_CREAT) == 0) {
        (void)qp_fs_file_write(&fs, &f, "data", 4);
        (void)qp_fs_file_close(&fs, &f);
    }
    (void)qp_fs_mkdir(&fs, "/usr/lib/new");
    (void)qp_fs_rename(&fs, "/x", "/usr/y");
    (void)qp_fs_remove(&fs, "/usr/main.py");
    qp_fs_unmount(&fs);
}

static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

// Blocks holding metadata, found by looking at the image: v1, a valid-looking dir header;
// v2, a revision followed by a valid first tag.
static bool looks_like_metadata(const uint8_t *p) {
    if (fs_is_v2()) {
        uint32_t tag = be32(p + 4) ^ 0xffffffffu;
        return !(p[0] == 0xff && p[1] == 0xff) && !(tag & 0x80000000u) && (tag & 0x3ff) < 1024;
    }
    uint32_t size = ((uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
                     (uint32_t)p[7] << 24) & 0x7fffffff;
    return size >= 20 && size <= 4096;
}

// Bytes of a metadata block worth flipping: v1 its size field, v2 up to the last byte that
// is not erased.
static uint32_t metadata_used(const uint8_t *p) {
    if (fs_is_v2()) {
        uint32_t n = 4096;
        while (n > 0 && p[n - 1] == 0xff) {
            n--;
        }
        return n;
    }
    return (uint32_t)(p[4] | p[5] << 8) & 0x7fff;
}

// v2: walks the commits of a metadata block. Returns the end of the last valid commit and
// the tag chain's state there (*ptag); *ctz_head gets the head of the first CTZ struct.
static uint32_t v2_scan(const uint8_t *blk, uint32_t *ptag_out, uint32_t *ctz_head) {
    uint32_t off = 4, ptag = 0xffffffffu, end = 0, eptag = 0;
    while (off + 4 <= 4096) {
        uint32_t tag = be32(blk + off) ^ ptag;
        if (tag & 0x80000000u) {
            break;
        }
        uint32_t size = tag & 0x3ff, dsize = 4 + (size == 0x3ff ? 0 : size);
        if (off + dsize > 4096) {
            break;
        }
        ptag = tag;
        uint32_t type = (tag >> 20) & 0x7ff;
        if ((type & 0x780) == 0x500) {
            ptag ^= (type & 1u) << 31;
            end = off + dsize;
            eptag = ptag;
        } else if (type == 0x202 && ctz_head && *ctz_head == 0xffffffffu) {
            *ctz_head = blk[off + 4] | blk[off + 5] << 8;
        }
        off += dsize;
    }
    *ptag_out = eptag;
    return end;
}

static void test_bit_flips_in_metadata(void **state) {
    (void)state;
    tdev_t d;
    tdev_open(&d, &fs_geoms[0], 32);
    populate(&d);
    uint8_t *pristine = malloc(d.size);
    memcpy(pristine, d.mem, d.size);
    int flips = 0;
    for (uint32_t b = 0; b < 32; b++) {
        const uint8_t *blk = pristine + b * 4096;
        if (!looks_like_metadata(blk)) {
            continue;
        }
        uint32_t size = metadata_used(blk);
        for (uint32_t off = 0; off < size; off += off < 24 ? 1 : 7) {
            memcpy(d.mem, pristine, d.size);
            d.mem[b * 4096 + off] ^= (uint8_t)(1u << (off % 8));
            mount_and_exercise(&d);
            flips++;
        }
        // Both halves of the pair damaged the same way: no valid copy left.
        memcpy(d.mem, pristine, d.size);
        d.mem[b * 4096 + 5] ^= 0x40;
    }
    assert_true(flips > 100);
    // Damage to both blocks of the superblock pair is reported, not survived.
    memcpy(d.mem, pristine, d.size);
    d.mem[20] ^= 1;
    d.mem[4096 + 20] ^= 1;
    qp_fs_t fs;
    assert_int_equal(qp_fs_mount(&fs, &d.cfg), QP_ERR_CORRUPT);
    // One damaged superblock copy: the other one is used and everything is readable. In v2
    // the superblock pair is also the root, so the damage goes to its older block.
    memcpy(d.mem, pristine, d.size);
    uint32_t older = 1;
    if (fs_is_v2() && (int32_t)(le32(d.mem) - le32(d.mem + 4096)) < 0) {
        older = 0;
    }
    d.mem[older * 4096 + 20] ^= 1;
    assert_int_equal(qp_fs_mount(&fs, &d.cfg), 0);
    check_pattern(&fs, "/usr/lib/big", 20000, 2);
    qp_fs_unmount(&fs);
    free(pristine);
    tdev_close(&d);
}

static void test_truncated_and_garbage(void **state) {
    (void)state;
    tdev_t d;
    tdev_open(&d, &fs_geoms[0], 32);
    populate(&d);
    uint8_t *image = malloc(d.size);
    memcpy(image, d.mem, d.size);
    tdev_close(&d);
    // The image cut short: mounted with its real size (mismatch) or the superblock's.
    for (uint32_t blocks = 1; blocks < 32; blocks += 3) {
        tdev_open(&d, &fs_geoms[0], blocks < 4 ? 4 : blocks);
        memcpy(d.mem, image, (size_t)blocks * 4096);
        mount_and_exercise(&d);
        d.cfg.block_count = 0; // trust the superblock: reads past the end fail
        mount_and_exercise(&d);
        tdev_close(&d);
    }
    // Garbage and all-zero images.
    tdev_open(&d, &fs_geoms[0], 32);
    fill_pattern(d.mem, d.size, 5);
    qp_fs_t fs;
    assert_int_equal(qp_fs_mount(&fs, &d.cfg), QP_ERR_CORRUPT);
    memset(d.mem, 0, d.size);
    assert_int_equal(qp_fs_mount(&fs, &d.cfg), QP_ERR_CORRUPT);
    tdev_close(&d);
    free(image);
}

// Rewrites the header of the valid block of a pair (tail, size) and its CRC.
static uint32_t crc_lfs(const uint8_t *p, size_t n) {
    uint32_t c = 0xffffffff;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) {
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
        }
    }
    return c;
}

static void reseal(uint8_t *blk) {
    uint32_t size = (uint32_t)(blk[4] | blk[5] << 8) & 0x7fff;
    uint32_t c = crc_lfs(blk, size - 4);
    for (int i = 0; i < 4; i++) {
        blk[size - 4 + i] = (uint8_t)(c >> (8 * i));
    }
}

// v2: a commit appended to the newest block of the root pair makes its tail {0, 1}: the
// threaded list becomes a cycle. Then the file's head block points at block 0.
static void cycles_v2(void) {
    tdev_t d;
    tdev_open(&d, &fs_geoms[1], 32); // 16-byte programs: room after the last commit
    qp_fs_t fs;
    tdev_format_mount(&d, &fs);
    write_pattern(&fs, "/f", 30000, 1);
    qp_fs_unmount(&fs);
    uint8_t *blk = d.mem;
    if ((int32_t)(le32(d.mem + 4096) - le32(d.mem)) > 0) {
        blk = d.mem + 4096;
    }
    uint8_t saved[4096];
    memcpy(saved, blk, 4096);
    uint32_t ptag, head = 0xffffffffu;
    uint32_t off = v2_scan(blk, &ptag, &head);
    assert_true(off > 0 && off + 64 < 4096 && head != 0xffffffffu);
    uint32_t tail_tag = 0x60000000u | (0x3ffu << 10) | 8;
    uint32_t crc_tag = 0x50000000u | (0x3ffu << 10) | 4;
    uint8_t c[20] = {0};
    uint32_t t = tail_tag ^ ptag;
    c[0] = (uint8_t)(t >> 24), c[1] = (uint8_t)(t >> 16), c[2] = (uint8_t)(t >> 8);
    c[3] = (uint8_t)t;
    c[8] = 1; // tail {0, 1}
    t = crc_tag ^ tail_tag;
    c[12] = (uint8_t)(t >> 24), c[13] = (uint8_t)(t >> 16), c[14] = (uint8_t)(t >> 8);
    c[15] = (uint8_t)t;
    uint32_t crc = crc_lfs(c, 16);
    for (int i = 0; i < 4; i++) {
        c[16 + i] = (uint8_t)(crc >> (8 * i));
    }
    memcpy(blk + off, c, 20);
    assert_int_equal(qp_fs_mount(&fs, &d.cfg), QP_ERR_CORRUPT);
    memcpy(blk, saved, 4096);
    assert_int_equal(qp_fs_mount(&fs, &d.cfg), 0);
    qp_fs_info_t info;
    assert_int_equal(qp_fs_stat(&fs, "/f", &info), 0);
    qp_fs_unmount(&fs);
    uint8_t *hb = d.mem + head * 4096;
    hb[0] = hb[1] = hb[2] = hb[3] = 0;
    mount_and_exercise(&d);
    tdev_close(&d);
}

static void test_cycles_are_bounded(void **state) {
    (void)state;
    if (fs_is_v2()) {
        cycles_v2();
        return;
    }
    tdev_t d;
    tdev_open(&d, &fs_geoms[0], 32);
    qp_fs_t fs;
    tdev_format_mount(&d, &fs);
    write_pattern(&fs, "/f", 30000, 1);
    qp_fs_unmount(&fs);
    // The root pair {3, 2}: its newest block gets a tail pointing back to the superblock.
    uint32_t rb = 3;
    uint8_t *blk = d.mem + rb * 4096;
    uint32_t rev3 = blk[0], rev2 = d.mem[2 * 4096];
    if ((int8_t)(rev2 - rev3) > 0) {
        rb = 2;
        blk = d.mem + rb * 4096;
    }
    uint8_t saved[4096];
    memcpy(saved, blk, 4096);
    memset(blk + 8, 0, 8); // tail = {0, 0}: an invalid pair
    blk[12] = 1;           // tail = {0, 1}: the superblock again, a cycle
    reseal(blk);
    assert_int_equal(qp_fs_mount(&fs, &d.cfg), QP_ERR_CORRUPT);
    memcpy(blk, saved, 4096);
    // The file's last block points at itself: reads fail or return data, and stop.
    assert_int_equal(qp_fs_mount(&fs, &d.cfg), 0);
    qp_fs_info_t info;
    assert_int_equal(qp_fs_stat(&fs, "/f", &info), 0);
    qp_fs_unmount(&fs);
    // Find the file entry's head block and point its first skip pointer at itself.
    for (uint32_t off = 16; off < 4000; off++) {
        if (blk[off] == 0x11 && blk[off + 1] == 8 && blk[off + 3] == 1 && blk[off + 12] == 'f') {
            uint32_t head = blk[off + 4] | blk[off + 5] << 8;
            uint8_t *hb = d.mem + head * 4096;
            // Only clearing bits is possible on NOR, so clear them all: pointer to block 0.
            hb[0] = hb[1] = hb[2] = hb[3] = 0;
            break;
        }
    }
    mount_and_exercise(&d);
    tdev_close(&d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bit_flips_in_metadata),
        cmocka_unit_test(test_truncated_and_garbage),
        cmocka_unit_test(test_cycles_are_bounded),
    };
    return FS_RUN_TESTS(tests);
}
