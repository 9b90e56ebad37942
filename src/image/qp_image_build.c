// qp_image_build.c - building and serialising a firmware image (SPEC-image §3) on the host:
// each section is compressed when added, and qp_image_builder_write() emits header, table,
// section data and trailer in one pass.
//
// Reproducibility is a format property, not a tool option: nothing here records time,
// host or input paths, every unused byte is written as zero, and sections stay in the
// order added, so the same inputs give the same image byte for byte.
#include "image_internal.h"

#include <string.h>

#include "qp/qp_err.h"

void qp_image_builder_init(qp_image_builder_t *b) {
    memset(b, 0, sizeof *b);
}

int qp_image_builder_open(qp_image_builder_t *b, const qp_image_config_t *cfg,
                          const char *model, const char *version) {
    qp_image_builder_init(b);
    if (!model || !version || !qp_image_model_valid(model) ||
        !qp_image_str_valid(version, QP_IMAGE_VERSION_STR_MAX)) {
        return QP_ERR_INVAL;
    }
    if (cfg) {
        b->cfg = *cfg;
    }
    strcpy(b->model, model);
    strcpy(b->version, version);
    b->open = 1;
    return 0;
}

int qp_image_builder_add(qp_image_builder_t *b, const char *name, const void *data,
                         size_t len, const qp_image_section_opts_t *opts) {
    if (!b->open || !qp_image_name_valid(name) || (len && !data)) {
        return QP_ERR_INVAL;
    }
    for (uint32_t i = 0; i < b->count; i++) {
        if (strcmp(b->sections[i].name, name) == 0) {
            return QP_ERR_EXIST;
        }
    }
    if (b->count >= QP_IMAGE_MAX_SECTIONS) {
        return QP_ERR_NOSPC;
    }
    if (len > QP_IMAGE_SECTION_MAX) {
        return QP_ERR_FBIG;
    }
    qp_image_section_t *s = &b->sections[b->count];
    memset(s, 0, sizeof *s);
    int err = qp_image_params_resolve(&s->params, opts, len);
    if (err < 0) {
        return err;
    }
    s->content = opts ? opts->content : QP_IMAGE_CONTENT_RAW;
    if (s->content == QP_IMAGE_CONTENT_ARCHIVE && qp_image_archive_check(data, len, NULL) < 0) {
        return QP_ERR_INVAL;
    }
    uint64_t bound = qp_image_compress_bound(&s->params, len);
    if (bound >= SIZE_MAX) {
        return QP_ERR_FBIG;
    }
    // +1: an empty LZO section has a bound of 0, and alloc(0) may return NULL.
    uint8_t *buf = qp_image_alloc(&b->cfg, (size_t)bound + 1);
    if (!buf) {
        return QP_ERR_NOMEM;
    }
    size_t clen = 0;
    err = qp_image_compress_buf(&s->params, data, len, buf, (size_t)bound, &clen, s->usha256,
                                s->csha256, &b->cfg);
    if (err < 0) {
        qp_image_free(&b->cfg, buf);
        return err == QP_ERR_NOSPC ? QP_ERR_FBIG : err;
    }
    strcpy(s->name, name);
    s->usize = len;
    s->csize = clen;
    b->cdata[b->count] = buf;
    b->count++;
    return 0;
}

const qp_image_section_t *qp_image_builder_section(const qp_image_builder_t *b,
                                                   uint32_t index) {
    return b->open && index < b->count ? &b->sections[index] : NULL;
}

static uint32_t header_size(uint32_t count) {
    return QP_IMAGE_HEADER_SIZE + count * QP_IMAGE_ENTRY_SIZE;
}

int qp_image_builder_size(const qp_image_builder_t *b, uint64_t *size) {
    if (!b->open || b->count == 0) {
        return QP_ERR_INVAL;
    }
    uint64_t n = header_size(b->count) + QP_IMAGE_TRAILER_SIZE;
    for (uint32_t i = 0; i < b->count; i++) {
        n += b->sections[i].csize;
    }
    *size = n;
    return 0;
}

// Writes through the caller's callback while hashing everything written (§3.4).
static int emit(qp_image_sha256_t *h, qp_image_write_fn write, void *ctx, const void *buf,
                size_t len) {
    qp_image_sha256_update(h, buf, len);
    return len ? write(ctx, buf, len) : 0;
}

int qp_image_builder_write(qp_image_builder_t *b, qp_image_write_fn write, void *ctx) {
    uint64_t image_size;
    int err = qp_image_builder_size(b, &image_size);
    if (err < 0) {
        return err;
    }
    uint8_t hdr[QP_IMAGE_HEADER_SIZE + QP_IMAGE_MAX_SECTIONS * QP_IMAGE_ENTRY_SIZE];
    uint32_t hsize = header_size(b->count);
    memset(hdr, 0, sizeof hdr);
    memcpy(hdr + IMG_OFF_MAGIC, QP_IMAGE_MAGIC, 8);
    qp_image_put_le16(hdr + IMG_OFF_MAJOR, QP_IMAGE_VERSION_MAJOR);
    qp_image_put_le16(hdr + IMG_OFF_MINOR, QP_IMAGE_VERSION_MINOR);
    qp_image_put_le32(hdr + IMG_OFF_HSIZE, hsize);
    qp_image_put_le32(hdr + IMG_OFF_COUNT, b->count);
    qp_image_put_le64(hdr + IMG_OFF_ISIZE, image_size);
    qp_image_put_le32(hdr + IMG_OFF_ESIZE, QP_IMAGE_ENTRY_SIZE);
    memcpy(hdr + IMG_OFF_MODEL, b->model, strlen(b->model));
    memcpy(hdr + IMG_OFF_VERSION, b->version, strlen(b->version));
    uint64_t off = hsize;
    for (uint32_t i = 0; i < b->count; i++) {
        qp_image_section_t *s = &b->sections[i];
        uint8_t *e = hdr + QP_IMAGE_HEADER_SIZE + i * QP_IMAGE_ENTRY_SIZE;
        s->offset = off;
        memcpy(e + ENT_OFF_NAME, s->name, strlen(s->name));
        e[ENT_OFF_CODEC] = s->params.codec;
        e[ENT_OFF_CONTENT] = s->content;
        qp_image_put_le64(e + ENT_OFF_OFFSET, s->offset);
        qp_image_put_le64(e + ENT_OFF_CSIZE, s->csize);
        qp_image_put_le64(e + ENT_OFF_USIZE, s->usize);
        qp_image_params_encode(&s->params, e + ENT_OFF_PARAMS);
        memcpy(e + ENT_OFF_USHA, s->usha256, 32);
        memcpy(e + ENT_OFF_CSHA, s->csha256, 32);
        off += s->csize;
    }
    qp_image_put_le32(hdr + IMG_OFF_HCRC, qp_image_crc32(hdr + 12, hsize - 12, 0));

    qp_image_sha256_t h;
    qp_image_sha256_start(&h);
    err = emit(&h, write, ctx, hdr, hsize);
    for (uint32_t i = 0; i < b->count && err >= 0; i++) {
        err = emit(&h, write, ctx, b->cdata[i], (size_t)b->sections[i].csize);
    }
    uint8_t trailer[QP_IMAGE_TRAILER_SIZE];
    qp_image_sha256_finish(&h, trailer);
    if (err >= 0) {
        err = write(ctx, trailer, sizeof trailer);
    }
    return err < 0 ? err : 0;
}

void qp_image_builder_close(qp_image_builder_t *b) {
    if (!b) {
        return;
    }
    if (b->open) {
        for (uint32_t i = 0; i < b->count; i++) {
            qp_image_free(&b->cfg, b->cdata[i]);
        }
    }
    qp_image_builder_init(b);
}
