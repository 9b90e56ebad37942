// qp_patch_format.c - the package header and section table (SPEC-patch §3) and the ARM
// branch filters with their target maps (§5). Portable C11; shared by the device-side apply
// and the host differ so the two can never disagree about the layout.
//
// Every field read from a package is checked here, before any other code uses it: the
// package arrives over the air and a damaged or hostile header must give QP_ERR_CORRUPT,
// never an out-of-bounds access later (house style B3: no asserts on external data).
#include <string.h>

#include "patch_internal.h"
#include "qp/qp_err.h"

// Thumb-2 BL/BLX with J1 = J2 = 1 (offsets within +-4 MiB): first halfword 11110 S imm10,
// second 11111 imm11 (BL) or 11101 imm11 (BLX). The two patterns share no top-five-bit
// value with the first halfword, so two candidates can never overlap: the filter is local,
// and the device can filter any window of old data without parsing from the start.
static void filter_thumb(int encode, uint8_t *b, uint32_t rel, const qp_patch_map_t *map) {
    uint32_t h1 = qp_le16(b), h2 = qp_le16(b + 2);
    uint32_t v = (h1 & 0x7FFu) << 11 | (h2 & 0x7FFu);
    uint32_t pc = (rel + 4u) >> 1;
    v = (encode ? qp_patch_map_apply(map, (v + pc) & 0x3FFFFFu, 0x3FFFFFu) : v - pc) &
        0x3FFFFFu;
    qp_put16(b, (uint16_t)(0xF000u | v >> 11));
    qp_put16(b + 2, (uint16_t)((h2 & 0xF800u) | (v & 0x7FFu)));
}

static int is_thumb(const uint8_t *b) {
    uint32_t h1 = qp_le16(b), h2 = qp_le16(b + 2) & 0xF800u;
    return (h1 & 0xF800u) == 0xF000u && (h2 == 0xF800u || h2 == 0xE800u);
}

// A32 BL (cond AL, 0xEB) and BLX immediate (0xFA/0xFB): a 24-bit word offset.
static void filter_arm(int encode, uint8_t *b, uint32_t rel, const qp_patch_map_t *map) {
    uint32_t v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16;
    uint32_t pc = (rel + 8u) >> 2;
    v = (encode ? qp_patch_map_apply(map, (v + pc) & 0xFFFFFFu, 0xFFFFFFu) : v - pc) &
        0xFFFFFFu;
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
    b[2] = (uint8_t)(v >> 16);
}

uint32_t qp_patch_map_apply(const qp_patch_map_t *map, uint32_t v, uint32_t mask) {
    if (!map || map->count == 0 || v < map->start[0]) {
        return v;
    }
    uint32_t lo = 0, hi = map->count; // the piece is the last start <= v
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (map->start[mid] <= v) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return (v + map->add[lo]) & mask;
}

int64_t qp_patch_branch_field(uint32_t filter, const uint8_t *b) {
    filter = qp_patch_filter_base(filter);
    if (filter == QP_PATCH_FILTER_THUMB && is_thumb(b)) {
        return (int64_t)((qp_le16(b) & 0x7FFu) << 11 | (qp_le16(b + 2) & 0x7FFu));
    }
    if (filter == QP_PATCH_FILTER_ARM && (b[3] == 0xEBu || (b[3] & 0xFEu) == 0xFAu)) {
        return (int64_t)(qp_le32(b) & 0xFFFFFFu);
    }
    return -1;
}

uint32_t qp_patch_filter(uint32_t filter, int encode, uint8_t *buf, uint32_t len,
                         uint32_t buf_pos, uint32_t origin, uint32_t from,
                         const qp_patch_map_t *map) {
    filter = qp_patch_filter_base(filter);
    if (filter == QP_PATCH_FILTER_NONE) {
        return buf_pos + len;
    }
    uint32_t align = filter == QP_PATCH_FILTER_THUMB ? 2u : 4u;
    uint32_t i = from > buf_pos ? from - buf_pos : 0;
    // First aligned position (relative to origin, modulo 2^32, as the spec says).
    uint32_t mis = (buf_pos + i - origin) & (align - 1u);
    if (mis) {
        i += align - mis;
    }
    while (i + 4u <= len) {
        uint8_t *b = buf + i;
        uint32_t rel = buf_pos + i - origin;
        if (filter == QP_PATCH_FILTER_THUMB) {
            if (is_thumb(b)) {
                filter_thumb(encode, b, rel, map);
                i += 4;
                continue;
            }
        } else if (b[3] == 0xEBu || (b[3] & 0xFEu) == 0xFAu) {
            filter_arm(encode, b, rel, map);
        }
        i += align;
    }
    return buf_pos + i;
}

static int nul_terminated_name(const uint8_t *b, uint32_t max, char *out) {
    uint32_t n = 0;
    while (n <= max && b[n]) {
        n++;
    }
    if (n > max) {
        return QP_ERR_CORRUPT;
    }
    memcpy(out, b, n);
    out[n] = '\0';
    return 0;
}

// True when [off, off + size) lies inside [lo, hi) (no overflow).
static int inside(uint32_t off, uint32_t size, uint32_t lo, uint32_t hi) {
    return off >= lo && off <= hi && size <= hi - off;
}

int qp_patch_parse_header(const uint8_t *h, uint32_t avail, qp_patch_info_t *info) {
    if (avail < QP_PATCH_HEADER_SIZE || memcmp(h + PH_MAGIC, QP_PATCH_MAGIC, 8) != 0) {
        return QP_ERR_CORRUPT;
    }
    memset(info, 0, sizeof *info);
    info->version_major = qp_le16(h + PH_MAJOR);
    info->version_minor = qp_le16(h + PH_MINOR);
    if (info->version_major != QP_PATCH_VERSION_MAJOR) {
        return QP_ERR_NOTSUP;
    }
    info->flags = qp_le32(h + PH_FLAGS);
    info->header_size = qp_le32(h + PH_HEADER_SIZE);
    info->package_size = qp_le32(h + PH_PACKAGE_SIZE);
    info->section_count = qp_le32(h + PH_SECTION_COUNT);
    info->apply_ram = qp_le32(h + PH_APPLY_RAM);
    info->backup_size = qp_le32(h + PH_BACKUP_SIZE);
    info->block_size = qp_le32(h + PH_BLOCK_SIZE);
    info->old_size = qp_le32(h + PH_OLD_SIZE);
    info->new_size = qp_le32(h + PH_NEW_SIZE);
    info->old_space_size = qp_le32(h + PH_OLD_SPACE);
    info->new_space_size = qp_le32(h + PH_NEW_SPACE);
    memcpy(info->old_sha256, h + PH_OLD_SHA, 32);
    memcpy(info->new_sha256, h + PH_NEW_SHA, 32);
    memcpy(info->package_sha256, h + PH_PKG_SHA, 32);
    if (info->flags & ~(QP_PATCH_F_IMAGE | QP_PATCH_F_SIGNED)) {
        return QP_ERR_NOTSUP;
    }
    if (nul_terminated_name(h + PH_MODEL, QP_PATCH_MODEL_MAX, info->model) < 0) {
        return QP_ERR_CORRUPT;
    }
    // The signature field is outside the package hash (§3.2); unsigned, it must be zeros,
    // so that damage there is still noticed.
    if (!(info->flags & QP_PATCH_F_SIGNED)) {
        for (uint32_t i = PH_SIG; i < PH_SIG + QP_PATCH_SIG_SIZE; i++) {
            if (h[i]) {
                return QP_ERR_CORRUPT;
            }
        }
    }
    if (info->section_count == 0 || info->section_count > QP_PATCH_SECTIONS_MAX ||
        info->header_size !=
            QP_PATCH_HEADER_SIZE + info->section_count * QP_PATCH_SECTION_DESC_SIZE ||
        info->package_size < info->header_size || info->block_size < 256u ||
        (info->block_size & (info->block_size - 1u)) || info->apply_ram == 0) {
        return QP_ERR_CORRUPT;
    }
    // A raw package's spaces are its images (§1).
    if (!(info->flags & QP_PATCH_F_IMAGE) &&
        (info->old_space_size != info->old_size || info->new_space_size != info->new_size)) {
        return QP_ERR_CORRUPT;
    }
    if (avail < info->header_size) {
        return QP_ERR_AGAIN; // the fixed part is good; the caller reads the table and retries
    }
    uint32_t new_pos = 0;
    for (uint32_t i = 0; i < info->section_count; i++) {
        const uint8_t *d = h + QP_PATCH_HEADER_SIZE + i * QP_PATCH_SECTION_DESC_SIZE;
        qp_patch_section_info_t *s = &info->sections[i];
        if (nul_terminated_name(d + PS_NAME, QP_PATCH_NAME_MAX, s->name) < 0) {
            return QP_ERR_CORRUPT;
        }
        s->filter = qp_le32(d + PS_FILTER);
        s->old_offset = qp_le32(d + PS_OLD_OFFSET);
        s->old_size = qp_le32(d + PS_OLD_SIZE);
        s->new_offset = qp_le32(d + PS_NEW_OFFSET);
        s->new_size = qp_le32(d + PS_NEW_SIZE);
        if (s->filter > QP_PATCH_FILTER_MAX) {
            return QP_ERR_NOTSUP;
        }
        if (!inside(s->old_offset, s->old_size, 0, info->old_space_size) ||
            s->new_offset != new_pos || !inside(s->new_offset, s->new_size, 0,
                                                info->new_space_size)) {
            return QP_ERR_CORRUPT;
        }
        new_pos += s->new_size;
        uint32_t stream_pos = i == 0 ? info->header_size
                                     : info->sections[i - 1].streams[2].offset +
                                           info->sections[i - 1].streams[2].size;
        for (int k = 0; k < QP_PATCH_STREAMS; k++) {
            qp_patch_stream_info_t *st = &s->streams[k];
            const uint8_t *sd = d + PS_STREAMS + 16 * k;
            st->offset = qp_le32(sd);
            st->size = qp_le32(sd + 4);
            st->raw_size = qp_le32(sd + 8);
            st->dict_size = qp_le32(sd + 12);
            // Streams follow each other without gaps, in section then stream order (§4).
            if (st->offset != stream_pos ||
                !inside(st->offset, st->size, info->header_size, info->package_size) ||
                st->dict_size < QP_PATCH_DICT_MIN || st->dict_size > QP_PATCH_DICT_MAX) {
                return QP_ERR_CORRUPT;
            }
            stream_pos += st->size;
        }
        // The diff and extra streams produce exactly the section's bytes (§4.2).
        if ((uint64_t)s->streams[1].raw_size + s->streams[2].raw_size != s->new_size) {
            return QP_ERR_CORRUPT;
        }
        memcpy(s->old_sha256, d + PS_OLD_SHA, 32);
        memcpy(s->new_sha256, d + PS_NEW_SHA, 32);
    }
    const qp_patch_section_info_t *last = &info->sections[info->section_count - 1];
    if (new_pos != info->new_space_size ||
        last->streams[2].offset + last->streams[2].size != info->package_size) {
        return QP_ERR_CORRUPT;
    }
    return 0;
}

void qp_patch_write_header(const qp_patch_info_t *info, uint8_t *h) {
    memset(h, 0, info->header_size);
    memcpy(h + PH_MAGIC, QP_PATCH_MAGIC, 8);
    qp_put16(h + PH_MAJOR, info->version_major);
    qp_put16(h + PH_MINOR, info->version_minor);
    qp_put32(h + PH_FLAGS, info->flags);
    qp_put32(h + PH_HEADER_SIZE, info->header_size);
    qp_put32(h + PH_PACKAGE_SIZE, info->package_size);
    qp_put32(h + PH_SECTION_COUNT, info->section_count);
    qp_put32(h + PH_APPLY_RAM, info->apply_ram);
    qp_put32(h + PH_BACKUP_SIZE, info->backup_size);
    qp_put32(h + PH_BLOCK_SIZE, info->block_size);
    qp_put32(h + PH_OLD_SIZE, info->old_size);
    qp_put32(h + PH_NEW_SIZE, info->new_size);
    qp_put32(h + PH_OLD_SPACE, info->old_space_size);
    qp_put32(h + PH_NEW_SPACE, info->new_space_size);
    memcpy(h + PH_MODEL, info->model, strlen(info->model));
    memcpy(h + PH_OLD_SHA, info->old_sha256, 32);
    memcpy(h + PH_NEW_SHA, info->new_sha256, 32);
    memcpy(h + PH_PKG_SHA, info->package_sha256, 32);
    for (uint32_t i = 0; i < info->section_count; i++) {
        uint8_t *d = h + QP_PATCH_HEADER_SIZE + i * QP_PATCH_SECTION_DESC_SIZE;
        const qp_patch_section_info_t *s = &info->sections[i];
        memcpy(d + PS_NAME, s->name, strlen(s->name));
        qp_put32(d + PS_FILTER, s->filter);
        qp_put32(d + PS_OLD_OFFSET, s->old_offset);
        qp_put32(d + PS_OLD_SIZE, s->old_size);
        qp_put32(d + PS_NEW_OFFSET, s->new_offset);
        qp_put32(d + PS_NEW_SIZE, s->new_size);
        for (int k = 0; k < QP_PATCH_STREAMS; k++) {
            uint8_t *sd = d + PS_STREAMS + 16 * k;
            qp_put32(sd, s->streams[k].offset);
            qp_put32(sd + 4, s->streams[k].size);
            qp_put32(sd + 8, s->streams[k].raw_size);
            qp_put32(sd + 12, s->streams[k].dict_size);
        }
        memcpy(d + PS_OLD_SHA, s->old_sha256, 32);
        memcpy(d + PS_NEW_SHA, s->new_sha256, 32);
    }
}
