// qp_image_parse.c - reading a firmware image (SPEC-image §3): the header and section table
// from a buffer or a read callback, whole-image verification, and streaming extraction of
// one section.
//
// Every field comes from flash or a download, so each is checked before use and a failed
// check returns QP_ERR_CORRUPT with a diagnosis (what, which section, which offset); the
// header CRC is checked only after the sizes that bound it. Arithmetic on sizes is done in
// 64 bits after each operand has been bounded, so it cannot wrap.
#include "image_internal.h"

#include <string.h>

#include "qp/qp_err.h"

// Largest table entry accepted: a later minor version may grow entries (§2), but not
// without bound, since the device allocates the table.
#define ENTRY_SIZE_MAX 1024u
#define HEADER_MAX (QP_IMAGE_HEADER_SIZE + QP_IMAGE_MAX_SECTIONS * ENTRY_SIZE_MAX)
// Read buffer of qp_image_verify() and the default of qp_image_extract().
#define IO_BUF 16384u

static int fail(qp_image_diag_t *diag, int err, const char *what, int section,
                uint64_t offset) {
    if (diag) {
        diag->what = what;
        diag->section = section;
        diag->offset = offset;
    }
    return err;
}

// Copies a NUL-padded string field of `size` bytes; it must hold 1..size-1 printable
// characters, then NULs to the end (§3: one spelling per value, so that re-serialising a
// parsed header reproduces it).
static int get_str(char *dst, const uint8_t *src, size_t size) {
    const uint8_t *nul = memchr(src, 0, size);
    if (!nul) {
        return 0;
    }
    for (const uint8_t *p = nul; p < src + size; p++) {
        if (*p) {
            return 0;
        }
    }
    memcpy(dst, src, (size_t)(nul - src) + 1);
    return qp_image_str_valid(dst, size - 1);
}

// The fixed header's own fields (§3.1), enough to know header_size. `len` >= 128.
static int parse_fixed(qp_image_info_t *info, const uint8_t *b, qp_image_diag_t *diag) {
    if (memcmp(b + IMG_OFF_MAGIC, QP_IMAGE_MAGIC, 8) != 0) {
        return fail(diag, QP_ERR_CORRUPT, "bad magic (not a firmware image)", -1, 0);
    }
    info->version_major = qp_image_get_le16(b + IMG_OFF_MAJOR);
    info->version_minor = qp_image_get_le16(b + IMG_OFF_MINOR);
    if (info->version_major != QP_IMAGE_VERSION_MAJOR) {
        return fail(diag, QP_ERR_NOTSUP, "unsupported format version", -1, IMG_OFF_MAJOR);
    }
    info->entry_size = qp_image_get_le32(b + IMG_OFF_ESIZE);
    if (info->entry_size < QP_IMAGE_ENTRY_SIZE || info->entry_size > ENTRY_SIZE_MAX) {
        return fail(diag, QP_ERR_CORRUPT, "bad section table entry size", -1, IMG_OFF_ESIZE);
    }
    info->section_count = qp_image_get_le32(b + IMG_OFF_COUNT);
    if (info->section_count == 0 || info->section_count > QP_IMAGE_MAX_SECTIONS) {
        return fail(diag, QP_ERR_CORRUPT, "bad section count", -1, IMG_OFF_COUNT);
    }
    info->header_size = qp_image_get_le32(b + IMG_OFF_HSIZE);
    if (info->header_size != QP_IMAGE_HEADER_SIZE + info->section_count * info->entry_size) {
        return fail(diag, QP_ERR_CORRUPT, "header size does not match the section table", -1,
                    IMG_OFF_HSIZE);
    }
    return 0;
}

int qp_image_parse_header(qp_image_info_t *out, const void *buf, size_t len,
                          qp_image_diag_t *diag) {
    const uint8_t *b = buf;
    qp_image_info_t info;
    memset(&info, 0, sizeof info);
    if (len < QP_IMAGE_HEADER_SIZE) {
        return fail(diag, QP_ERR_CORRUPT, "truncated header", -1, len);
    }
    int err = parse_fixed(&info, b, diag);
    if (err < 0) {
        return err;
    }
    if (len < info.header_size) {
        return fail(diag, QP_ERR_CORRUPT, "truncated section table", -1, len);
    }
    if (qp_image_get_le32(b + IMG_OFF_HCRC) !=
        qp_image_crc32(b + 12, info.header_size - 12, 0)) {
        return fail(diag, QP_ERR_CORRUPT, "header CRC mismatch", -1, IMG_OFF_HCRC);
    }
    info.image_size = qp_image_get_le64(b + IMG_OFF_ISIZE);
    if (!get_str(info.model, b + IMG_OFF_MODEL, QP_IMAGE_MODEL_MAX + 1)) {
        return fail(diag, QP_ERR_CORRUPT, "bad model string", -1, IMG_OFF_MODEL);
    }
    if (!get_str(info.version, b + IMG_OFF_VERSION, QP_IMAGE_VERSION_STR_MAX + 1)) {
        return fail(diag, QP_ERR_CORRUPT, "bad version string", -1, IMG_OFF_VERSION);
    }
    // Sections follow the table back to back in table order (§3.3).
    uint64_t expect = info.header_size;
    for (uint32_t i = 0; i < info.section_count; i++) {
        uint64_t eo = QP_IMAGE_HEADER_SIZE + (uint64_t)i * info.entry_size;
        const uint8_t *e = b + eo;
        qp_image_section_t *s = &info.sections[i];
        int si = (int)i;
        if (!get_str(s->name, e + ENT_OFF_NAME, QP_IMAGE_NAME_MAX + 1) ||
            !qp_image_name_valid(s->name)) {
            return fail(diag, QP_ERR_CORRUPT, "bad section name", si, eo + ENT_OFF_NAME);
        }
        for (uint32_t j = 0; j < i; j++) {
            if (strcmp(info.sections[j].name, s->name) == 0) {
                return fail(diag, QP_ERR_CORRUPT, "duplicate section name", si,
                            eo + ENT_OFF_NAME);
            }
        }
        uint8_t codec = e[ENT_OFF_CODEC];
        if (codec != QP_IMAGE_CODEC_LZMA && codec != QP_IMAGE_CODEC_LZO) {
            return fail(diag, QP_ERR_CORRUPT, "unknown codec", si, eo + ENT_OFF_CODEC);
        }
        s->content = e[ENT_OFF_CONTENT];
        if (s->content > QP_IMAGE_CONTENT_ARCHIVE) {
            return fail(diag, QP_ERR_CORRUPT, "unknown content type", si,
                        eo + ENT_OFF_CONTENT);
        }
        qp_image_params_decode(codec, e + ENT_OFF_PARAMS, &s->params);
        if (qp_image_params_check(&s->params) < 0) {
            return fail(diag, QP_ERR_CORRUPT, "bad codec settings", si, eo + ENT_OFF_PARAMS);
        }
        s->usize = qp_image_get_le64(e + ENT_OFF_USIZE);
        if (s->usize > QP_IMAGE_SECTION_MAX) {
            return fail(diag, QP_ERR_CORRUPT, "uncompressed size too large", si,
                        eo + ENT_OFF_USIZE);
        }
        s->csize = qp_image_get_le64(e + ENT_OFF_CSIZE);
        if (s->csize > qp_image_compress_bound(&s->params, s->usize)) {
            return fail(diag, QP_ERR_CORRUPT,
                        "compressed size larger than the codec can produce", si,
                        eo + ENT_OFF_CSIZE);
        }
        s->offset = qp_image_get_le64(e + ENT_OFF_OFFSET);
        if (s->offset != expect) {
            return fail(diag, QP_ERR_CORRUPT, "section data not where the table says", si,
                        eo + ENT_OFF_OFFSET);
        }
        expect += s->csize;
        memcpy(s->usha256, e + ENT_OFF_USHA, 32);
        memcpy(s->csha256, e + ENT_OFF_CSHA, 32);
    }
    if (info.image_size != expect + QP_IMAGE_TRAILER_SIZE) {
        return fail(diag, QP_ERR_CORRUPT, "image size does not match the sections", -1,
                    IMG_OFF_ISIZE);
    }
    *out = info;
    return 0;
}

int qp_image_read_header(qp_image_info_t *out, qp_image_read_fn read, void *ctx,
                         uint64_t avail, const qp_image_config_t *cfg,
                         qp_image_diag_t *diag) {
    uint8_t fixed[QP_IMAGE_HEADER_SIZE];
    if (avail < QP_IMAGE_HEADER_SIZE) {
        return fail(diag, QP_ERR_CORRUPT, "truncated header", -1, avail);
    }
    int err = read(ctx, 0, fixed, sizeof fixed);
    if (err < 0) {
        return fail(diag, err, "read error", -1, 0);
    }
    qp_image_info_t info;
    memset(&info, 0, sizeof info);
    err = parse_fixed(&info, fixed, diag);
    if (err < 0) {
        return err;
    }
    if (avail < info.header_size) {
        return fail(diag, QP_ERR_CORRUPT, "truncated section table", -1, avail);
    }
    uint8_t *hdr = qp_image_alloc(cfg, info.header_size);
    if (!hdr) {
        return fail(diag, QP_ERR_NOMEM, "out of memory", -1, 0);
    }
    err = read(ctx, 0, hdr, info.header_size);
    if (err < 0) {
        fail(diag, err, "read error", -1, 0);
    } else {
        err = qp_image_parse_header(&info, hdr, info.header_size, diag);
    }
    qp_image_free(cfg, hdr);
    if (err < 0) {
        return err;
    }
    if (info.image_size > avail) {
        return fail(diag, QP_ERR_CORRUPT, "image truncated (shorter than its header says)",
                    -1, avail);
    }
    err = read(ctx, info.image_size - QP_IMAGE_TRAILER_SIZE, info.image_sha256,
               QP_IMAGE_TRAILER_SIZE);
    if (err < 0) {
        return fail(diag, err, "read error", -1, info.image_size - QP_IMAGE_TRAILER_SIZE);
    }
    info.has_trailer = 1;
    *out = info;
    return 0;
}

int qp_image_find_section(const qp_image_info_t *info, const char *name) {
    for (uint32_t i = 0; i < info->section_count && i < QP_IMAGE_MAX_SECTIONS; i++) {
        if (strcmp(info->sections[i].name, name) == 0) {
            return (int)i;
        }
    }
    return QP_ERR_NOENT;
}

static int discard(void *ctx, const void *buf, size_t len) {
    (void)ctx;
    (void)buf;
    (void)len;
    return 0;
}

int qp_image_verify(const qp_image_info_t *info, qp_image_read_fn read, void *ctx,
                    int decompress, const qp_image_config_t *cfg, qp_image_diag_t *diag) {
    if (!info->has_trailer) {
        return fail(diag, QP_ERR_INVAL, "header not read with qp_image_read_header", -1, 0);
    }
    uint8_t *buf = qp_image_alloc(cfg, IO_BUF);
    if (!buf) {
        return fail(diag, QP_ERR_NOMEM, "out of memory", -1, 0);
    }
    // One pass over [0, image_size - 32): the image hash over all of it, and each
    // section's compressed hash over its own range (sections are contiguous, §3.3).
    qp_image_sha256_t whole, sec;
    qp_image_sha256_start(&whole);
    uint64_t end = info->image_size - QP_IMAGE_TRAILER_SIZE;
    uint64_t pos = 0;
    int err = 0;
    // Range 0 is the header and table, range i > 0 section i - 1.
    for (uint32_t i = 0; i <= info->section_count && err >= 0; i++) {
        uint64_t from = i == 0 ? 0 : info->sections[i - 1].offset;
        uint64_t to = i == 0 ? info->header_size : from + info->sections[i - 1].csize;
        if (i > 0) {
            qp_image_sha256_start(&sec);
        }
        for (pos = from; pos < to;) {
            size_t n = (size_t)(to - pos < IO_BUF ? to - pos : IO_BUF);
            err = read(ctx, pos, buf, n);
            if (err < 0) {
                fail(diag, err, "read error", i == 0 ? -1 : (int)i - 1, pos);
                break;
            }
            qp_image_sha256_update(&whole, buf, n);
            if (i > 0) {
                qp_image_sha256_update(&sec, buf, n);
            }
            pos += n;
            if (cfg && cfg->progress) {
                cfg->progress(cfg->progress_ctx, pos, end);
            }
        }
        if (i > 0) {
            uint8_t got[32];
            qp_image_sha256_finish(&sec, got);
            if (err >= 0 && memcmp(got, info->sections[i - 1].csha256, 32) != 0) {
                err = fail(diag, QP_ERR_CORRUPT, "compressed data hash mismatch", (int)i - 1,
                           from);
            }
        }
    }
    uint8_t got[32];
    qp_image_sha256_finish(&whole, got);
    qp_image_free(cfg, buf);
    if (err < 0) {
        return err;
    }
    if (memcmp(got, info->image_sha256, 32) != 0) {
        return fail(diag, QP_ERR_CORRUPT, "image hash mismatch", -1, end);
    }
    for (uint32_t i = 0; decompress && i < info->section_count; i++) {
        err = qp_image_extract(info, i, read, ctx, discard, NULL, 0, cfg, diag);
        if (err < 0) {
            return err;
        }
    }
    return 0;
}

int qp_image_extract(const qp_image_info_t *info, uint32_t index, qp_image_read_fn read,
                     void *rctx, qp_image_write_fn write, void *wctx, size_t bufsize,
                     const qp_image_config_t *cfg, qp_image_diag_t *diag) {
    if (index >= info->section_count || index >= QP_IMAGE_MAX_SECTIONS) {
        return fail(diag, QP_ERR_RANGE, "no such section", -1, 0);
    }
    const qp_image_section_t *s = &info->sections[index];
    int si = (int)index;
    if (bufsize == 0) {
        bufsize = IO_BUF;
    }
    uint8_t *ibuf = qp_image_alloc(cfg, bufsize);
    uint8_t *obuf = qp_image_alloc(cfg, bufsize);
    qp_image_stream_t st;
    qp_image_stream_init(&st);
    int err = 0;
    if (!ibuf || !obuf) {
        err = fail(diag, QP_ERR_NOMEM, "out of memory", si, 0);
        goto cleanup;
    }
    err = qp_image_decoder_open(&st, s, cfg);
    if (err < 0) {
        fail(diag, err, err == QP_ERR_NOMEM ? "out of memory" : "bad codec settings", si, 0);
        goto cleanup;
    }
    uint64_t pos = s->offset, end = s->offset + s->csize;
    const uint8_t *in = ibuf;
    size_t in_len = 0;
    for (;;) {
        if (in_len == 0 && pos < end) {
            size_t n = (size_t)(end - pos < bufsize ? end - pos : bufsize);
            err = read(rctx, pos, ibuf, n);
            if (err < 0) {
                fail(diag, err, "read error", si, pos);
                goto cleanup;
            }
            pos += n;
            in = ibuf;
            in_len = n;
        }
        uint8_t *out = obuf;
        size_t out_len = bufsize;
        int r = qp_image_stream_run(&st, &in, &in_len, &out, &out_len);
        if (r < 0) {
            err = fail(diag, r, r == QP_ERR_NOMEM ? "out of memory" : "compressed data corrupt",
                       si, pos - in_len);
            goto cleanup;
        }
        if (out != obuf) {
            err = write(wctx, obuf, (size_t)(out - obuf));
            if (err < 0) {
                fail(diag, err, "write error", si, 0);
                goto cleanup;
            }
        }
        if (r == 1) {
            break;
        }
        if (in_len == 0 && pos == end && out == obuf) {
            // Everything fed, nothing produced, no end: the stream cannot finish.
            err = fail(diag, QP_ERR_CORRUPT, "compressed data corrupt", si, end);
            goto cleanup;
        }
    }
    err = 0;
cleanup:
    qp_image_stream_close(&st);
    qp_image_free(cfg, ibuf);
    qp_image_free(cfg, obuf);
    return err;
}
