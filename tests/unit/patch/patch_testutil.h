// patch_testutil.h - helpers shared by the patch unit tests: a deterministic generator of
// firmware-like old/new pairs (Thumb-2 code with BL calls that move when functions grow, as
// a relink does), packages built in memory, a counting/failing allocator, and a RAM flash
// from qp_flash with its partitions as qp_patch_flash_t callbacks.
#ifndef PATCH_TESTUTIL_H
#define PATCH_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "qp/qp_diff.h"
#include "qp/qp_flash.h"
#include "qp/qp_patch.h"

// A generated pair. `old`/`new_` are malloc'ed.
typedef struct tu_pair {
    uint8_t *old;
    uint32_t old_size;
    uint8_t *new_;
    uint32_t new_size;
} tu_pair_t;

// Firmware-like pair of about `size` bytes: `funcs` functions of Thumb code calling each
// other with BL, a string table and a pointer table; the new version edits `edits`
// functions (insertions, deletions, changed constants) and adds one.
void tu_make_pair(tu_pair_t *p, uint32_t seed, uint32_t size, uint32_t edits);
// Plain random bytes with some repeats (no structure).
void tu_make_random(uint8_t *buf, uint32_t size, uint32_t seed);
void tu_free_pair(tu_pair_t *p);

// Memory source for qp_patch read callbacks.
typedef struct tu_mem {
    const uint8_t *p;
    uint32_t size;
    uint32_t reads;
} tu_mem_t;
int tu_mem_read(void *ctx, uint32_t off, void *buf, uint32_t len);

// Opens `h` (qp_patch_init first) on the whole package held in `m`, with no old data and
// default settings; `m` must outlive the handle. Returns qp_patch_open's result.
int tu_open_mem(qp_patch_t *h, tu_mem_t *m);

// Streams the whole new space of `pkg` over `old` into a malloc'ed *out.
int tu_apply_stream(const uint8_t *pkg, uint32_t pkg_size, const uint8_t *old,
                    uint32_t old_size, uint8_t **out, uint32_t *out_size,
                    const qp_patch_config_t *extra);

// Counting allocator: fails once `used` would pass `limit` (0: no limit) or at the
// `fail_at`-th call (0: never).
typedef struct tu_alloc {
    size_t used, peak, limit;
    unsigned calls, fail_at, live;
} tu_alloc_t;
void *tu_alloc(void *ctx, size_t size);
void tu_free(void *ctx, void *ptr);

// Device flash for in-place tests: a RAM qp_flash with a "firmware" and a "backup"
// partition of the given sizes (multiples of 4096).
typedef struct tu_dev {
    qp_flash_t flash;
    qp_flash_part_t fw, bk;
} tu_dev_t;
void tu_dev_open(tu_dev_t *d, uint32_t fw_size, uint32_t bk_size);
void tu_dev_close(tu_dev_t *d);
// The partitions as qp_patch_flash_t.
qp_patch_flash_t tu_dev_flash(qp_flash_part_t *part);
// An in-place config over `d` reading `pkg`.
void tu_inplace_config(qp_patch_inplace_config_t *c, tu_dev_t *d, tu_mem_t *pkg);

#endif
