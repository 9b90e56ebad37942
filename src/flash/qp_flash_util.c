// qp_flash_util.c - CRC-32 and little-endian field helpers for the flash formats
// (docs/SPEC-partitions.md §2). Portable.
//
// Bitwise CRC rather than a 1 KiB table: the partition table and image header are checked
// a few times per boot, and the table would cost more flash than it saves time.
#include "flash_internal.h"

uint32_t qp_flash_crc32(uint32_t crc, const void *buf, size_t len) {
    const uint8_t *p = buf;
    crc = ~crc;
    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++) {
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
        }
    }
    return ~crc;
}

void qp_flash_put_le32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

uint32_t qp_flash_get_le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

void qp_flash_put_le16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

uint16_t qp_flash_get_le16(const uint8_t *p) {
    return (uint16_t)(p[0] | p[1] << 8);
}
