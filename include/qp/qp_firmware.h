// qp_firmware.h - the firmware installed in a device: the system.img in its `firmware`
// partition (docs/SPEC-image.md, docs/SPEC-partitions.md).
//
// The module boots from that partition: the image is checked (header, trailer hash, every
// section's hash), its version is what modem.getDevFwVersion() reports, and its `app`
// section holds the Python-level platform code the runtime runs, so installing another
// image (qpy flash, FOTA) really changes what the module does. Host-only (allocates).
#ifndef QP_FIRMWARE_H
#define QP_FIRMWARE_H

#include <stddef.h>
#include <stdint.h>

#include "qp/qp_flash.h"
#include "qp/qp_image.h"

typedef struct qp_firmware {
    qp_image_info_t info;   // the installed image's header
    uint8_t *app;           // its `app` section, decompressed (an app archive)
    size_t app_len;
} qp_firmware_t;

// Checks the image in the firmware partition and loads its app section.
// @retval QP_ERR_NOENT   the partition holds no image (erased, never installed)
// @retval QP_ERR_CORRUPT the image fails a check, or has no valid `app` archive
// @retval QP_ERR_NOMEM
// `msg` says what failed and where.
int qp_firmware_load(qp_firmware_t *fw, qp_flash_t *flash, const qp_flash_ptable_t *table,
                     char *msg, size_t msglen);

// Releases what qp_firmware_load allocated. Safe on a zeroed or failed one.
void qp_firmware_free(qp_firmware_t *fw);

// The source of `path` (e.g. "log.py") in the loaded app archive.
// @retval QP_ERR_NOENT no such file in the archive
int qp_firmware_app_file(const qp_firmware_t *fw, const char *path, const uint8_t **data,
                         size_t *len);

// Verifies `img` (a complete image: header, hashes, every section decompressed) and
// writes it into the firmware partition (erase, then program).
// @retval QP_ERR_CORRUPT the image fails a check (nothing was written)
// @retval QP_ERR_NOSPC   it is larger than the partition
int qp_firmware_install(qp_flash_t *flash, const qp_flash_ptable_t *table, const void *img,
                        size_t len, char *msg, size_t msglen);

// The platform's own firmware image, built with qpy (firmware/: synthetic CP and DSP
// code and the platform's Python), which `qpy device new` installs.
extern const unsigned char qp_default_firmware[];
extern const size_t qp_default_firmware_size;

#endif
