// qp_bundle.c - production bundle header and table (qp_bundle.h, docs/SPEC-bundle.md).
//
// Everything is little-endian and written byte by byte, so the format does not depend on
// the host's struct layout or endianness. The CRC-32 is liblzma's (through qp_image).
#include "qp/qp_bundle.h"
#include "qp/qp_err.h"

#include <lzma.h>
#include <string.h>

uint32_t qp_bundle_crc32(uint32_t crc, const void *buf, size_t len) {
    // liblzma's, which the firmware image library already links: the same IEEE CRC-32.
    return lzma_crc32(buf, len, crc);
}

static void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

size_t qp_bundle_header_size(uint32_t count) {
    return QP_BUNDLE_HEADER_SIZE + (size_t)count * QP_BUNDLE_ENTRY_SIZE;
}

// Names: non-empty, NUL-terminated within the field, unique (§3).
static int names_valid(const qp_bundle_info_t *info) {
    if (info->count == 0 || info->count > QP_BUNDLE_MAX_ENTRIES) {
        return 0;
    }
    for (uint32_t i = 0; i < info->count; i++) {
        const char *n = info->entries[i].partition;
        size_t len = strnlen(n, sizeof info->entries[i].partition);
        if (len == 0 || len > QP_BUNDLE_NAME_MAX) {
            return 0;
        }
        for (uint32_t j = 0; j < i; j++) {
            if (strcmp(n, info->entries[j].partition) == 0) {
                return 0;
            }
        }
    }
    return 1;
}

int qp_bundle_layout(qp_bundle_info_t *info, uint64_t *total) {
    if (!names_valid(info)) {
        return QP_ERR_INVAL;
    }
    uint64_t at = qp_bundle_header_size(info->count);
    for (uint32_t i = 0; i < info->count; i++) {
        at = (at + QP_BUNDLE_ALIGN - 1) / QP_BUNDLE_ALIGN * QP_BUNDLE_ALIGN;
        if (at + info->entries[i].size > UINT32_MAX) {
            return QP_ERR_FBIG;
        }
        info->entries[i].offset = (uint32_t)at;
        at += info->entries[i].size;
    }
    info->version_major = QP_BUNDLE_VERSION_MAJOR;
    info->version_minor = QP_BUNDLE_VERSION_MINOR;
    *total = at;
    return 0;
}

int qp_bundle_encode(const qp_bundle_info_t *info, void *out, size_t outlen) {
    if (!names_valid(info) || outlen < qp_bundle_header_size(info->count)) {
        return QP_ERR_INVAL;
    }
    size_t hlen = qp_bundle_header_size(info->count);
    uint8_t *p = out;
    memset(p, 0, hlen);
    memcpy(p, QP_BUNDLE_MAGIC, 8);
    p[8] = (uint8_t)QP_BUNDLE_VERSION_MAJOR;
    p[9] = (uint8_t)(QP_BUNDLE_VERSION_MAJOR >> 8);
    p[10] = (uint8_t)QP_BUNDLE_VERSION_MINOR;
    p[11] = (uint8_t)(QP_BUNDLE_VERSION_MINOR >> 8);
    put32(p + 12, (uint32_t)hlen);
    put32(p + 16, info->count);
    for (uint32_t i = 0; i < info->count; i++) {
        uint8_t *e = p + QP_BUNDLE_HEADER_SIZE + (size_t)i * QP_BUNDLE_ENTRY_SIZE;
        const qp_bundle_entry_t *in = &info->entries[i];
        memcpy(e, in->partition, strlen(in->partition));
        put32(e + 32, in->offset);
        put32(e + 36, in->size);
        put32(e + 40, in->crc32);
    }
    // The CRC covers header and table with its own field zero (§2).
    put32(p + 60, qp_bundle_crc32(0, p, hlen));
    return 0;
}

int qp_bundle_is_bundle(const void *buf, size_t len) {
    return len >= 8 && memcmp(buf, QP_BUNDLE_MAGIC, 8) == 0;
}

int qp_bundle_parse(qp_bundle_info_t *info, const void *buf, size_t len, uint64_t file_size) {
    const uint8_t *p = buf;
    if (len < QP_BUNDLE_HEADER_SIZE || file_size < len || !qp_bundle_is_bundle(buf, len)) {
        return QP_ERR_CORRUPT;
    }
    uint16_t major = (uint16_t)(p[8] | p[9] << 8);
    uint16_t minor = (uint16_t)(p[10] | p[11] << 8);
    if (major != QP_BUNDLE_VERSION_MAJOR) {
        return QP_ERR_NOTSUP;
    }
    uint32_t hlen = get32(p + 12), count = get32(p + 16);
    if (count == 0 || count > QP_BUNDLE_MAX_ENTRIES) {
        return QP_ERR_CORRUPT;
    }
    // A later minor version may make the header or entries longer (§2); version 1.0 has
    // exactly these sizes.
    if (hlen != qp_bundle_header_size(count) || len < hlen) {
        return QP_ERR_CORRUPT;
    }
    uint8_t head[QP_BUNDLE_HEADER_SIZE];
    memcpy(head, p, sizeof head);
    put32(head + 60, 0);
    uint32_t crc = qp_bundle_crc32(0, head, sizeof head);
    crc = qp_bundle_crc32(crc, p + QP_BUNDLE_HEADER_SIZE, hlen - QP_BUNDLE_HEADER_SIZE);
    if (crc != get32(p + 60)) {
        return QP_ERR_CORRUPT;
    }
    qp_bundle_info_t out;
    memset(&out, 0, sizeof out);
    out.version_major = major;
    out.version_minor = minor;
    out.count = count;
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *e = p + QP_BUNDLE_HEADER_SIZE + (size_t)i * QP_BUNDLE_ENTRY_SIZE;
        qp_bundle_entry_t *d = &out.entries[i];
        if (memchr(e, 0, 32) == NULL) {
            return QP_ERR_CORRUPT;
        }
        memcpy(d->partition, e, 32);
        d->offset = get32(e + 32);
        d->size = get32(e + 36);
        d->crc32 = get32(e + 40);
        if (d->offset < hlen || (uint64_t)d->offset + d->size > file_size) {
            return QP_ERR_CORRUPT;
        }
    }
    if (!names_valid(&out)) {
        return QP_ERR_CORRUPT;
    }
    *info = out;
    return 0;
}

const qp_bundle_entry_t *qp_bundle_find(const qp_bundle_info_t *info, const char *partition) {
    for (uint32_t i = 0; i < info->count; i++) {
        if (strcmp(info->entries[i].partition, partition) == 0) {
            return &info->entries[i];
        }
    }
    return NULL;
}
