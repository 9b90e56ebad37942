// qp_fs_bd.c - the block-device layer of src/fs: read and program caches over the config's
// callbacks, the littlefs CRC, and read-back verification of programs.
//
// Everything above this file talks in (block, offset, bytes); this file turns that into
// aligned read_size/prog_size calls. Programs are strictly sequential inside a block between
// erases (NOR flash cannot program a unit twice), which is why a partly filled program unit
// is only written out, padded with 0xff, when the caller is done with the block (flush).
#include "fs_internal.h"

uint32_t qp_fs_bd_crc32(uint32_t crc, const void *data, size_t size) {
    // Nibble table for the reflected polynomial 0xedb88320: 64 bytes of table instead of
    // 1 KiB, which matters on the MCU builds and costs little on metadata-sized inputs.
    static const uint32_t table[16] = {
        0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4,
        0x4db26158, 0x5005713c, 0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
        0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
    };
    const uint8_t *p = data;
    for (size_t i = 0; i < size; i++) {
        crc = (crc >> 4) ^ table[(crc ^ p[i]) & 0xf];
        crc = (crc >> 4) ^ table[(crc ^ (uint32_t)(p[i] >> 4)) & 0xf];
    }
    return crc;
}

void qp_fs_bd_drop(qp_fs_cache_t *cache) {
    cache->block = QP_FS_BLOCK_NULL;
    cache->size = 0;
}

void qp_fs_bd_zero(qp_fs_t *fs, qp_fs_cache_t *cache) {
    // 0xff, the erased value: padding programmed from here leaves flash as it was, and no
    // stale bytes of another file can leak into a padded unit.
    memset(cache->buffer, 0xff, fs->cache_size);
    qp_fs_bd_drop(cache);
}

static int checked(int err) {
    // Callbacks share our negative-errno space; a positive value is a port bug, which we
    // report as an I/O error rather than mistake for success or a count.
    return err > 0 ? QP_ERR_IO : err;
}

// Copies what `cache` holds of block:off into out and returns the count (0 on a miss,
// after lowering *diff so a later read stops where the cache starts).
static uint32_t cache_hit(const qp_fs_cache_t *cache, uint32_t block, uint32_t off,
                          uint8_t *out, uint32_t *diff) {
    if (!cache || cache->block != block || off >= cache->off + cache->size) {
        return 0;
    }
    if (off < cache->off) {
        *diff = qp_fs_min(*diff, cache->off - off);
        return 0;
    }
    uint32_t n = qp_fs_min(*diff, cache->off + cache->size - off);
    memcpy(out, &cache->buffer[off - cache->off], n);
    return n;
}

int qp_fs_bd_read(qp_fs_t *fs, qp_fs_cache_t *rcache, const qp_fs_cache_t *pcache,
                  uint32_t block, uint32_t off, void *buf, uint32_t size) {
    const struct qp_fs_config *cfg = fs->cfg;
    uint8_t *out = buf;
    if (block >= fs->block_count || off > cfg->block_size || size > cfg->block_size - off) {
        return QP_ERR_CORRUPT; // only reachable through a bad pointer read from flash
    }
    while (size > 0) {
        uint32_t diff = size;
        // The program cache holds the newest bytes, so it is looked at first.
        uint32_t hit = cache_hit(pcache, block, off, out, &diff);
        if (hit == 0) {
            hit = cache_hit(rcache, block, off, out, &diff);
        }
        if (hit) {
            out += hit, off += hit, size -= hit;
            continue;
        }
        if (off % cfg->read_size == 0 && diff >= fs->cache_size) {
            // Large aligned reads skip the cache rather than copy through it.
            diff -= diff % cfg->read_size;
            int err = checked(cfg->read(cfg->context, block, off, out, diff));
            if (err < 0) {
                return err;
            }
            out += diff, off += diff, size -= diff;
            continue;
        }
        rcache->block = block;
        rcache->off = off - off % fs->cache_size;
        rcache->size = fs->cache_size;
        int err = checked(cfg->read(cfg->context, block, rcache->off, rcache->buffer,
                                    rcache->size));
        if (err < 0) {
            qp_fs_bd_drop(rcache);
            return err;
        }
    }
    return 0;
}

int qp_fs_bd_cmp(qp_fs_t *fs, uint32_t block, uint32_t off, const void *buf, uint32_t size) {
    const uint8_t *p = buf;
    uint8_t chunk[32];
    while (size > 0) {
        uint32_t n = qp_fs_min(size, sizeof(chunk));
        int err = qp_fs_bd_read(fs, &fs->rcache, NULL, block, off, chunk, n);
        if (err < 0) {
            return err;
        }
        if (memcmp(chunk, p, n) != 0) {
            return 0;
        }
        p += n, off += n, size -= n;
    }
    return 1;
}

int qp_fs_bd_crc(qp_fs_t *fs, uint32_t block, uint32_t off, uint32_t size, uint32_t *crc) {
    uint8_t chunk[32];
    while (size > 0) {
        uint32_t n = qp_fs_min(size, sizeof(chunk));
        int err = qp_fs_bd_read(fs, &fs->rcache, NULL, block, off, chunk, n);
        if (err < 0) {
            return err;
        }
        *crc = qp_fs_bd_crc32(*crc, chunk, n);
        off += n, size -= n;
    }
    return 0;
}

int qp_fs_bd_flush(qp_fs_t *fs, qp_fs_cache_t *pcache) {
    const struct qp_fs_config *cfg = fs->cfg;
    if (pcache->block == QP_FS_BLOCK_NULL) {
        return 0;
    }
    uint32_t len = pcache->size + (cfg->prog_size - pcache->size % cfg->prog_size) %
                                      cfg->prog_size;
    uint32_t block = pcache->block;
    if (fs->rcache.block == block) {
        qp_fs_bd_drop(&fs->rcache); // it may hold the erased bytes we are about to program
    }
    int err = checked(cfg->prog(cfg->context, block, pcache->off, pcache->buffer, len));
    if (err < 0) {
        return err;
    }
#if QP_FS_VERIFY_PROG
    int res = qp_fs_bd_cmp(fs, block, pcache->off, pcache->buffer, len);
    if (res < 0) {
        return res;
    }
    if (res == 0) {
        return QP_ERR_CORRUPT; // the block did not take the data: the caller relocates
    }
#endif
    qp_fs_bd_zero(fs, pcache);
    return 0;
}

int qp_fs_bd_prog(qp_fs_t *fs, qp_fs_cache_t *pcache, uint32_t block, uint32_t off,
                  const void *buf, uint32_t size) {
    const struct qp_fs_config *cfg = fs->cfg;
    const uint8_t *in = buf;
    QP_ASSERT(block < fs->block_count && off + size <= cfg->block_size);
    while (size > 0) {
        if (pcache->block == block && off >= pcache->off + pcache->size &&
            off < pcache->off + fs->cache_size) {
            uint32_t end = qp_fs_min(pcache->off + fs->cache_size, cfg->block_size);
            uint32_t diff = qp_fs_min(size, end - off);
            memcpy(&pcache->buffer[off - pcache->off], in, diff);
            in += diff, off += diff, size -= diff;
            pcache->size = off - pcache->off;
            if (off == end) {
                int err = qp_fs_bd_flush(fs, pcache); // full: write out eagerly
                if (err < 0) {
                    return err;
                }
            }
            continue;
        }
        // Moving to another unit: whatever is pending belongs before it in the same block
        // (programs are sequential) or to a block the caller has finished with.
        int err = qp_fs_bd_flush(fs, pcache);
        if (err < 0) {
            return err;
        }
        pcache->block = block;
        pcache->off = off - off % cfg->prog_size;
        pcache->size = off - pcache->off; // leading bytes stay 0xff (erased)
    }
    return 0;
}

int qp_fs_bd_erase(qp_fs_t *fs, uint32_t block) {
    QP_ASSERT(block < fs->block_count);
    if (fs->rcache.block == block) {
        qp_fs_bd_drop(&fs->rcache);
    }
    if (fs->pcache.block == block) {
        qp_fs_bd_zero(fs, &fs->pcache); // unwritten data for a block being erased is moot
    }
    return checked(fs->cfg->erase(fs->cfg->context, block));
}

int qp_fs_bd_sync(qp_fs_t *fs) {
    int err = qp_fs_bd_flush(fs, &fs->pcache);
    if (err < 0) {
        return err;
    }
    if (fs->cfg->sync) {
        return checked(fs->cfg->sync(fs->cfg->context));
    }
    return 0;
}
