// qp_image_archive.c - the app archive (SPEC-image §5): the container that packs a tree of
// Python files into the `app` section, for the runtime's frozen importer.
//
// Deliberately simpler than tar or zip: no time stamps, owners or modes (they would make
// images irreproducible and the importer has no use for them), paths in strictly increasing
// byte order (so one tree has exactly one archive, and the importer can binary-search it),
// and every length checked against the buffer before use.
#include "image_internal.h"

#include <string.h>

#include "qp/qp_err.h"

#define AR_HEADER 16u
#define AR_ENTRY 8u
#define AR_VERSION 1u

int qp_image_archive_path_valid(const char *path, size_t len) {
    if (len == 0 || len > QP_IMAGE_ARCHIVE_PATH_MAX || path[0] == '/' ||
        path[len - 1] == '/') {
        return 0;
    }
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || path[i] == '/') {
            size_t n = i - start;
            if (n == 0 || (n == 1 && path[start] == '.') ||
                (n == 2 && path[start] == '.' && path[start + 1] == '.')) {
                return 0;
            }
            start = i + 1;
            continue;
        }
        char c = path[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-')) {
            return 0;
        }
    }
    return 1;
}

// Bytewise order, a proper prefix first: "a" < "a/b" < "ab".
static int path_cmp(const char *a, size_t alen, const char *b, size_t blen) {
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c) {
        return c;
    }
    return alen < blen ? -1 : alen > blen;
}

// Reads the entry at *pos (bounds-checked), without checking path order.
static int read_entry(const uint8_t *b, size_t len, size_t *pos,
                      qp_image_archive_entry_t *e) {
    if (len - *pos < AR_ENTRY) {
        return QP_ERR_CORRUPT;
    }
    const uint8_t *p = b + *pos;
    uint32_t plen = qp_image_get_le16(p);
    uint32_t size = qp_image_get_le32(p + 4);
    if (qp_image_get_le16(p + 2) != 0 || len - *pos - AR_ENTRY < plen ||
        len - *pos - AR_ENTRY - plen < size) {
        return QP_ERR_CORRUPT;
    }
    e->path = (const char *)p + AR_ENTRY;
    e->path_len = plen;
    e->data = p + AR_ENTRY + plen;
    e->size = size;
    if (!qp_image_archive_path_valid(e->path, plen)) {
        return QP_ERR_CORRUPT;
    }
    *pos += AR_ENTRY + plen + (size_t)size;
    return 0;
}

int qp_image_archive_check(const void *buf, size_t len, uint32_t *count) {
    const uint8_t *b = buf;
    if (!b || len < AR_HEADER || memcmp(b, QP_IMAGE_ARCHIVE_MAGIC, 4) != 0 ||
        qp_image_get_le32(b + 4) != AR_VERSION || qp_image_get_le32(b + 12) != 0) {
        return QP_ERR_CORRUPT;
    }
    uint32_t n = qp_image_get_le32(b + 8);
    size_t pos = AR_HEADER;
    qp_image_archive_entry_t prev = {0}, e;
    for (uint32_t i = 0; i < n; i++) {
        if (read_entry(b, len, &pos, &e) < 0 ||
            (i > 0 && path_cmp(prev.path, prev.path_len, e.path, e.path_len) >= 0)) {
            return QP_ERR_CORRUPT;
        }
        prev = e;
    }
    if (pos != len) {
        return QP_ERR_CORRUPT; // bytes after the last entry
    }
    if (count) {
        *count = n;
    }
    return 0;
}

int qp_image_archive_next(const void *buf, size_t len, size_t *pos,
                          qp_image_archive_entry_t *e) {
    if (len < AR_HEADER) {
        return QP_ERR_CORRUPT;
    }
    if (*pos == 0) {
        *pos = AR_HEADER;
    }
    if (*pos > len) {
        return QP_ERR_CORRUPT;
    }
    if (*pos == len) {
        return 0;
    }
    int err = read_entry(buf, len, pos, e);
    return err < 0 ? err : 1;
}

int qp_image_archive_build(const qp_image_archive_entry_t *entries, uint32_t n, void *out,
                           size_t cap, size_t *outlen) {
    uint64_t total = AR_HEADER;
    for (uint32_t i = 0; i < n; i++) {
        const qp_image_archive_entry_t *e = &entries[i];
        if (!qp_image_archive_path_valid(e->path, e->path_len) ||
            (i > 0 && path_cmp(entries[i - 1].path, entries[i - 1].path_len, e->path,
                               e->path_len) >= 0)) {
            return QP_ERR_INVAL;
        }
        total += AR_ENTRY + (uint64_t)e->path_len + e->size;
        if (total > UINT32_MAX) {
            return QP_ERR_INVAL;
        }
    }
    *outlen = (size_t)total;
    if (!out) {
        return 0;
    }
    if (cap < total) {
        return QP_ERR_NOSPC;
    }
    uint8_t *p = out;
    memcpy(p, QP_IMAGE_ARCHIVE_MAGIC, 4);
    qp_image_put_le32(p + 4, AR_VERSION);
    qp_image_put_le32(p + 8, n);
    qp_image_put_le32(p + 12, 0);
    p += AR_HEADER;
    for (uint32_t i = 0; i < n; i++) {
        const qp_image_archive_entry_t *e = &entries[i];
        qp_image_put_le16(p, (uint16_t)e->path_len);
        qp_image_put_le16(p + 2, 0);
        qp_image_put_le32(p + 4, e->size);
        memcpy(p + AR_ENTRY, e->path, e->path_len);
        if (e->size) {
            memcpy(p + AR_ENTRY + e->path_len, e->data, e->size);
        }
        p += AR_ENTRY + e->path_len + e->size;
    }
    return 0;
}
