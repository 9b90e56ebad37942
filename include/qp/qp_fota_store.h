// qp_fota_store.h - the `fota` module's package store in the fota_pkg partition and the
// boot-time upgrade (docs/SPEC-patch.md §8.6). Layout of fota_pkg: sector 0 holds the store
// record (magic, package size, CRC, pending mark), the package follows from sector 1, and
// the rest of the partition after the package is the backup area of the in-place apply.
#ifndef QP_FOTA_STORE_H
#define QP_FOTA_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "qp/qp_flash.h"
#include "qp/qp_fota.h"

// RAM the module grants the upgrade (the package's apply_ram must not exceed it).
#ifndef QP_FOTA_RAM_LIMIT
#define QP_FOTA_RAM_LIMIT (4u << 20)
#endif

typedef struct qp_fota_store {
    qp_flash_part_t pkg, fw;
    uint32_t sector;
    uint32_t declared, written, erased_to;
    int started;
} qp_fota_store_t;

// A qp_patch flash area over a partition view (partition-relative offsets, the flash's
// sector size): how the apply reaches the firmware and fota_pkg partitions. `part` must
// outlive the returned descriptor.
qp_patch_flash_t qp_fota_part_flash(qp_flash_part_t *part);

// The device whose flash the fota module uses (set by the runtime at boot).
void qp_fota_device_set(qp_flash_t *flash, const qp_flash_ptable_t *table);
// @retval QP_ERR_NOENT none set
int qp_fota_device_get(qp_flash_t **flash, const qp_flash_ptable_t **table);

// Opens the store (nothing is written until the first write).
// @retval QP_ERR_NOENT no fota_pkg or firmware partition
int qp_fota_store_open(qp_fota_store_t *s, qp_flash_t *flash, const qp_flash_ptable_t *t);

// Appends `len` bytes of a package of `file_size` bytes. The first write starts a new
// download (clearing any pending package). `msg` says why on failure.
// @retval QP_ERR_INVAL file_size missing (<= 0) or not the one of the first write
// @retval QP_ERR_FBIG  a write past file_size
// @retval QP_ERR_NOSPC the package is larger than the store
int qp_fota_store_write(qp_fota_store_t *s, const void *data, uint32_t len, int64_t file_size,
                        char *msg, size_t msglen);

// Checks the complete package (qp_fota_check: intact, model, installed firmware, backup
// space, RAM) and marks it pending for the next boot.
// @retval QP_ERR_CORRUPT incomplete or damaged; and the codes of qp_fota_check()
int qp_fota_store_verify(qp_fota_store_t *s, char *msg, size_t msglen);

// At boot: applies a pending package in place and clears the store. Returns 1 when the
// firmware was upgraded, 0 when nothing was pending; QP_ERR_IO/NOMEM: interrupted, still
// pending (the next boot resumes); other negative codes: the package was refused and
// cleared, the firmware untouched.
int qp_fota_boot(qp_flash_t *flash, const qp_flash_ptable_t *t, char *msg, size_t msglen);

#endif
