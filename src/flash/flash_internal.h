// flash_internal.h - what the files of src/flash share and nobody else may use.
//
// The model (qp_flash.c) holds the NOR rules, statistics, wear counters and power-cut
// logic; a backend only stores bytes. A backend's write() is given the final value of every
// byte (already ANDed, erased or torn by the model), so a backend cannot get the NOR rules
// wrong and a new backend (e.g. a real SPI chip) needs only these four functions.
#ifndef QP_FLASH_INTERNAL_H
#define QP_FLASH_INTERNAL_H

#include "qp/qp_flash.h"

#include <stddef.h>
#include <stdint.h>

#ifndef QP_INTERNAL
#define QP_INTERNAL __attribute__((visibility("hidden")))
#endif

struct qp_flash_backend {
    // Copies flash bytes [addr, addr + len) into buf. The model has checked the range.
    int (*read)(qp_flash_t *f, uint32_t addr, void *buf, uint32_t len);
    // Stores final byte values at [addr, addr + len).
    int (*write)(qp_flash_t *f, uint32_t addr, const void *buf, uint32_t len);
    // Makes f->wear[sector] durable (the model has already updated the array).
    int (*wear_store)(qp_flash_t *f, uint32_t sector);
    int (*sync)(qp_flash_t *f);
    // Releases backend resources; the model frees the buffers it allocated afterwards.
    int (*close)(qp_flash_t *f);
};

// Checks a geometry, fills the handle's geometry fields (size, sector/page sizes with
// defaults applied, sector_count, flags) and allocator from `cfg`, and attaches the erase
// counters (cfg->wear_buffer, or allocated), zeroed unless QP_FLASH_F_KEEP applies to a
// caller buffer. On failure nothing stays allocated and the handle is closed.
QP_INTERNAL int qp_flash_setup(qp_flash_t *f, const qp_flash_config_t *cfg, uint32_t size,
                               uint32_t sector_size, uint32_t page_size);

// Frees the buffers the library allocated and makes the handle closed again (backends'
// failure paths and qp_flash_close).
QP_INTERNAL void qp_flash_release(qp_flash_t *f);

// Allocation through the handle's allocator (malloc by default unless QP_NO_MALLOC).
QP_INTERNAL void *qp_flash_alloc(qp_flash_t *f, size_t size);
QP_INTERNAL void qp_flash_free(qp_flash_t *f, void *ptr);

// CRC-32 (IEEE 802.3, reflected, as zlib's crc32()) continuing from `crc` (0 to start).
QP_INTERNAL uint32_t qp_flash_crc32(uint32_t crc, const void *buf, size_t len);

// Little-endian field access for the on-flash and on-disk formats (§2).
QP_INTERNAL void qp_flash_put_le32(uint8_t *p, uint32_t v);
QP_INTERNAL uint32_t qp_flash_get_le32(const uint8_t *p);
QP_INTERNAL void qp_flash_put_le16(uint8_t *p, uint16_t v);
QP_INTERNAL uint16_t qp_flash_get_le16(const uint8_t *p);

#endif
