// qp_flash.c - the NOR flash model: the rules every backend shares (see qp_flash.h).
//
// A program becomes old AND new, after a check that refuses to turn a 0 bit into 1; an
// erase sets whole sectors to 0xFF and counts their wear; each accepted program or erase is
// one numbered operation, and the armed one is torn (SPEC-partitions §5). The backend under
// the model only stores final byte values (flash_internal.h). Plain C11: no OS calls; the
// only library calls are memset/memcpy and, unless QP_NO_MALLOC, malloc/free.
#include "flash_internal.h"
#include "qp/qp_err.h"

#include <string.h>
#if !QP_NO_MALLOC
#include <stdlib.h>
#endif

#if QP_FLASH_CHUNK_SIZE < 16
#error "QP_FLASH_CHUNK_SIZE must be at least 16"
#endif

static int is_pow2(uint32_t v) {
    return v && (v & (v - 1)) == 0;
}

void qp_flash_init(qp_flash_t *f) {
    memset(f, 0, sizeof *f);
    f->fd = -1;
}

void *qp_flash_alloc(qp_flash_t *f, size_t size) {
    if (f->alloc) {
        return f->alloc(f->alloc_ctx, size);
    }
#if QP_NO_MALLOC
    (void)size;
    return NULL;
#else
    return malloc(size);
#endif
}

void qp_flash_free(qp_flash_t *f, void *ptr) {
    if (!ptr) {
        return;
    }
    if (f->free) {
        f->free(f->alloc_ctx, ptr);
        return;
    }
#if !QP_NO_MALLOC
    free(ptr);
#endif
}

void qp_flash_release(qp_flash_t *f) {
    if (f->owns_wear) {
        qp_flash_free(f, f->wear);
    }
    if (f->owns_mem) {
        qp_flash_free(f, f->mem);
    }
    qp_flash_init(f);
}

int qp_flash_setup(qp_flash_t *f, const qp_flash_config_t *cfg, uint32_t size,
                   uint32_t sector_size, uint32_t page_size) {
    qp_flash_init(f);
    if (!sector_size) {
        sector_size = QP_FLASH_DEFAULT_SECTOR_SIZE;
    }
    if (!page_size) {
        page_size = QP_FLASH_DEFAULT_PAGE_SIZE < sector_size ? QP_FLASH_DEFAULT_PAGE_SIZE
                                                              : sector_size;
    }
    if (!is_pow2(sector_size) || !is_pow2(page_size) || page_size > sector_size ||
        size == 0 || size % sector_size != 0) {
        return QP_ERR_INVAL;
    }
    // An allocator is both functions or neither: a free-less alloc would leak.
    if (!cfg->alloc != !cfg->free) {
        return QP_ERR_INVAL;
    }
    f->size = size;
    f->sector_size = sector_size;
    f->page_size = page_size;
    f->sector_count = size / sector_size;
    f->flags = cfg->flags;
    f->alloc = cfg->alloc;
    f->free = cfg->free;
    f->alloc_ctx = cfg->alloc_ctx;

    if (cfg->wear_buffer) {
        f->wear = cfg->wear_buffer;
        if (!(cfg->flags & QP_FLASH_F_KEEP)) {
            memset(f->wear, 0, (size_t)f->sector_count * sizeof *f->wear);
        }
    } else {
        f->wear = qp_flash_alloc(f, (size_t)f->sector_count * sizeof *f->wear);
        if (!f->wear) {
            qp_flash_init(f);
            return QP_ERR_NOMEM;
        }
        f->owns_wear = 1;
        memset(f->wear, 0, (size_t)f->sector_count * sizeof *f->wear);
    }
    return 0;
}

int qp_flash_close(qp_flash_t *f) {
    if (!f || !f->be) {
        return 0;
    }
    int err = f->be->close(f);
    qp_flash_release(f);
    return err;
}

// Common entry checks: an open, powered handle and a range inside the flash.
static int check_access(const qp_flash_t *f, uint32_t addr, uint32_t len) {
    if (!f || !f->be) {
        return QP_ERR_INVAL;
    }
    if (f->powered_off) {
        return QP_ERR_IO;
    }
    if (addr > f->size || len > f->size - addr) {
        return QP_ERR_RANGE;
    }
    return 0;
}

int qp_flash_read(qp_flash_t *f, uint32_t addr, void *buf, uint32_t len) {
    int err = check_access(f, addr, len);
    if (err < 0) {
        return err;
    }
    if (!buf && len) {
        return QP_ERR_INVAL;
    }
    if (len == 0) {
        return 0;
    }
    err = f->be->read(f, addr, buf, len);
    if (err < 0) {
        return err;
    }
    f->stats.read_ops++;
    f->stats.read_bytes += len;
    return 0;
}

// ---------------------------------------------------------------------------------------
// Power cut (SPEC-partitions §5)
// ---------------------------------------------------------------------------------------

// splitmix64's finaliser: a cheap, well-mixed hash, so that consecutive operation numbers
// under one seed give unrelated tear points.
static uint64_t mix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

// What the current operation (number f->ops, of `len` bytes) gets to apply: the first
// `keep` bytes fully and, when `partial`, byte `keep` only in the bits of `mask`.
typedef struct tear {
    uint32_t keep;
    uint8_t mask;
    uint8_t torn;
    uint8_t partial;
} tear_t;

static tear_t plan_tear(const qp_flash_t *f, uint32_t len) {
    tear_t t = {len, 0, 0, 0};
    if (f->cut_at == 0 || f->ops != f->cut_at) {
        return t;
    }
    uint64_t r = mix64(f->cut_seed ^ mix64(f->ops));
    // keep is uniform over 0..len: nothing applied and everything applied (power lost
    // before the chip reported completion) are both possible outcomes. Half the time the
    // cut also lands inside the next byte, leaving the bits of a random mask changed.
    uint64_t r2 = mix64(r);
    t.keep = (uint32_t)(r % ((uint64_t)len + 1));
    t.mask = (uint8_t)(r2 >> 8);
    t.torn = 1;
    t.partial = t.keep < len && (r2 & 1);
    return t;
}

uint64_t qp_flash_op_count(const qp_flash_t *f) {
    return f->ops;
}

void qp_flash_powercut_arm(qp_flash_t *f, uint64_t n, uint64_t seed) {
    f->cut_at = n ? f->ops + n : 0;
    f->cut_seed = seed;
}

int qp_flash_is_powered(const qp_flash_t *f) {
    return !f->powered_off;
}

void qp_flash_power_restore(qp_flash_t *f) {
    f->powered_off = 0;
    f->cut_at = 0;
}

// The end of every program and erase: a torn operation reports the cut; a complete one is
// made durable at once if the caller asked for QP_FLASH_F_SYNC.
static int finish_op(qp_flash_t *f, tear_t t) {
    if (t.torn) {
        f->powered_off = 1;
        return QP_ERR_IO;
    }
    return (f->flags & QP_FLASH_F_SYNC) ? f->be->sync(f) : 0;
}

// ---------------------------------------------------------------------------------------
// Program
// ---------------------------------------------------------------------------------------

// Checks that programming src over [addr, addr + len) clears bits only. On return
// *bad_addr is the first byte that would need a 0 -> 1 change (when the result is 1).
// When the whole range fits in `old`, it is left holding the current contents.
static int find_violation(qp_flash_t *f, uint32_t addr, const uint8_t *src, uint32_t len,
                          uint8_t *old, uint32_t *bad_addr) {
    for (uint32_t done = 0; done < len;) {
        uint32_t n = len - done < QP_FLASH_CHUNK_SIZE ? len - done : QP_FLASH_CHUNK_SIZE;
        int err = f->be->read(f, addr + done, old, n);
        if (err < 0) {
            return err;
        }
        for (uint32_t i = 0; i < n; i++) {
            if (src[done + i] & (uint8_t)~old[i]) {
                *bad_addr = addr + done + i;
                return 1;
            }
        }
        done += n;
    }
    return 0;
}

int qp_flash_program(qp_flash_t *f, uint32_t addr, const void *buf, uint32_t len) {
    int err = check_access(f, addr, len);
    if (err < 0) {
        return err;
    }
    if (!buf && len) {
        return QP_ERR_INVAL;
    }
    if (f->flags & QP_FLASH_F_RDONLY) {
        return QP_ERR_ROFS;
    }
    if (len == 0) {
        return 0;
    }
    if ((f->flags & QP_FLASH_F_STRICT_PAGES) && addr % f->page_size + len > f->page_size) {
        return QP_ERR_INVAL;
    }
    const uint8_t *src = buf;
    uint8_t old[QP_FLASH_CHUNK_SIZE];
    uint32_t bad = 0;
    // The whole range is checked before any byte changes, so a refused program leaves the
    // flash as it was.
    err = find_violation(f, addr, src, len, old, &bad);
    if (err < 0) {
        return err;
    }
    if (err > 0) {
        f->stats.prog_violations++;
        f->stats.last_violation_addr = bad;
        if (!(f->flags & QP_FLASH_F_PROG_AND)) {
            return QP_ERR_INVAL;
        }
    }

    f->ops++;
    tear_t t = plan_tear(f, len);
    uint32_t todo = t.keep + t.partial;
    int reuse = len <= QP_FLASH_CHUNK_SIZE; // `old` still holds the range from the check
    for (uint32_t done = 0; done < todo;) {
        uint32_t n = todo - done < QP_FLASH_CHUNK_SIZE ? todo - done : QP_FLASH_CHUNK_SIZE;
        if (!reuse) {
            err = f->be->read(f, addr + done, old, n);
            if (err < 0) {
                return err;
            }
        }
        for (uint32_t i = 0; i < n; i++) {
            uint8_t v = src[done + i];
            if (t.partial && done + i == t.keep) {
                v |= t.mask; // only the bits in mask got programmed before the cut
            }
            old[i] &= v;
        }
        err = f->be->write(f, addr + done, old, n);
        if (err < 0) {
            return err;
        }
        done += n;
    }

    f->stats.prog_ops++;
    f->stats.prog_bytes += t.keep;
    if (todo) {
        f->stats.prog_pages += (addr + todo - 1) / f->page_size - addr / f->page_size + 1;
    }
    return finish_op(f, t);
}

// ---------------------------------------------------------------------------------------
// Erase
// ---------------------------------------------------------------------------------------

static int write_ff(qp_flash_t *f, uint32_t addr, uint32_t len) {
    uint8_t ff[QP_FLASH_CHUNK_SIZE];
    memset(ff, 0xFF, sizeof ff);
    for (uint32_t done = 0; done < len;) {
        uint32_t n = len - done < sizeof ff ? len - done : (uint32_t)sizeof ff;
        int err = f->be->write(f, addr + done, ff, n);
        if (err < 0) {
            return err;
        }
        done += n;
    }
    return 0;
}

int qp_flash_erase(qp_flash_t *f, uint32_t addr, uint32_t len) {
    int err = check_access(f, addr, len);
    if (err < 0) {
        return err;
    }
    if (f->flags & QP_FLASH_F_RDONLY) {
        return QP_ERR_ROFS;
    }
    if (addr % f->sector_size || len % f->sector_size) {
        return QP_ERR_INVAL;
    }
    if (len == 0) {
        return 0;
    }

    f->ops++;
    tear_t t = plan_tear(f, len);
    uint32_t todo = t.keep + t.partial;
    uint32_t sectors = 0;
    for (uint32_t start = 0; start < todo; start += f->sector_size, sectors++) {
        uint32_t s = (addr + start) / f->sector_size;
        // The counter is stored before the sector changes, so a process killed between the
        // two over-counts wear by one rather than losing an erase (SPEC §4.3).
        if (f->wear[s] != UINT32_MAX) {
            f->wear[s]++;
        }
        err = f->be->wear_store(f, s);
        if (err < 0) {
            return err;
        }
        uint32_t end = start + f->sector_size;
        uint32_t ff_end = t.keep < end ? t.keep : end;
        err = write_ff(f, addr + start, ff_end - start);
        if (err < 0) {
            return err;
        }
        if (t.partial && t.keep < end) {
            // The byte the cut landed on has some of its bits erased back to 1.
            uint8_t b;
            err = f->be->read(f, addr + t.keep, &b, 1);
            if (err < 0) {
                return err;
            }
            b |= t.mask;
            err = f->be->write(f, addr + t.keep, &b, 1);
            if (err < 0) {
                return err;
            }
        }
    }

    f->stats.erase_ops++;
    f->stats.erase_sectors += sectors;
    return finish_op(f, t);
}

int qp_flash_sync(qp_flash_t *f) {
    int err = check_access(f, 0, 0);
    if (err < 0) {
        return err;
    }
    return f->be->sync(f);
}

// ---------------------------------------------------------------------------------------
// Wear and statistics
// ---------------------------------------------------------------------------------------

int qp_flash_wear(const qp_flash_t *f, uint32_t sector, uint32_t *count) {
    if (!f || !f->be || !count) {
        return QP_ERR_INVAL;
    }
    if (sector >= f->sector_count) {
        return QP_ERR_RANGE;
    }
    *count = f->wear[sector];
    return 0;
}

void qp_flash_wear_summary(const qp_flash_t *f, uint32_t *min, uint32_t *max,
                           uint64_t *total) {
    uint32_t lo = UINT32_MAX, hi = 0;
    uint64_t sum = 0;
    for (uint32_t s = 0; f->be && s < f->sector_count; s++) {
        uint32_t w = f->wear[s];
        lo = w < lo ? w : lo;
        hi = w > hi ? w : hi;
        sum += w;
    }
    if (!f->be) {
        lo = 0;
    }
    if (min) {
        *min = lo;
    }
    if (max) {
        *max = hi;
    }
    if (total) {
        *total = sum;
    }
}

void qp_flash_stats_get(const qp_flash_t *f, qp_flash_stats_t *stats) {
    *stats = f->stats;
}

void qp_flash_stats_reset(qp_flash_t *f) {
    memset(&f->stats, 0, sizeof f->stats);
}
