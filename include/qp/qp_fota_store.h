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
    // If set (by the caller, after open), verify() accepts only packages signed with this
    // key (SPEC-patch §3.5). It must outlive the store.
    const qp_patch_sig_key_t *key;
} qp_fota_store_t;

// A qp_patch flash area over a partition view (partition-relative offsets, the flash's
// sector size): how the apply reaches the firmware and fota_pkg partitions. `part` must
// outlive the returned descriptor.
qp_patch_flash_t qp_fota_part_flash(qp_flash_part_t *part);

// The device whose flash the fota module uses (set by the runtime at boot).
void qp_fota_device_set(qp_flash_t *flash, const qp_flash_ptable_t *table);
// @retval QP_ERR_NOENT none set
int qp_fota_device_get(qp_flash_t **flash, const qp_flash_ptable_t **table);

// The public key the device's packages must be signed with (SPEC-patch §3.5, threat model in
// docs/SECURITY.md), from PEM or DER text (copied). The runtime sets the device profile's
// key at boot with `pinned` = 1; fota.set_public_key() sets one for the rest of this boot
// with `pinned` = 0, which cannot replace a pinned key (a script must not be able to lift
// the device's own requirement).
// `msg` says why on failure.
// @retval QP_ERR_PERM a pinned key is set and this call is not pinned
// and the codes of qp_patch_sig_key_parse() (the key is unchanged then)
int qp_fota_device_key_set(const void *text, size_t len, int pinned, char *msg,
                           size_t msglen);
// The key set, or NULL when packages need no signature.
const qp_patch_sig_key_t *qp_fota_device_key(void);

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

// Checks the complete package (qp_fota_check: intact, signed with s->key if set, model,
// installed firmware, backup space, RAM) and marks it pending for the next boot.
// @retval QP_ERR_CORRUPT incomplete or damaged; and the codes of qp_fota_check()
int qp_fota_store_verify(qp_fota_store_t *s, char *msg, size_t msglen);

// At boot: applies a pending package in place and clears the store. With a device key set
// (qp_fota_device_key_set) the package must be signed with it (checked again, as everything
// else, before the first write). Returns 1 when the firmware was upgraded, 0 when nothing
// was pending; QP_ERR_IO/NOMEM: interrupted, still pending (the next boot resumes); other
// negative codes (QP_ERR_AUTH for a signature): the package was refused and cleared, the
// firmware untouched.
int qp_fota_boot(qp_flash_t *flash, const qp_flash_ptable_t *t, char *msg, size_t msglen);

#endif
