// qp_image_identity.c - gives an existing image another model and version string.
//
// `qpy device new --model M --fw-version V` installs the platform's default firmware with
// the device's identity. Rebuilding the image would recompress every section; the
// identity is only header fields, so we rewrite those and the two checksums that cover
// them (header CRC, trailer SHA-256) instead. The image is verified first, so a damaged
// image is never re-blessed with fresh checksums.
#include "image_internal.h"
#include "qp/qp_err.h"

#include <string.h>

int qp_image_set_identity(void *img, size_t len, const char *model, const char *version,
                          qp_image_diag_t *diag) {
    if (!qp_image_model_valid(model) || !qp_image_str_valid(version, QP_IMAGE_VERSION_STR_MAX)) {
        return QP_ERR_INVAL;
    }
    qp_image_info_t info;
    int err = qp_image_parse_header(&info, img, len, diag);
    if (err < 0) {
        return err;
    }
    uint8_t *p = img;
    uint8_t sha[QP_IMAGE_SHA256_SIZE];
    if (info.image_size != len) {
        if (diag) {
            diag->what = "image size differs from the buffer";
            diag->section = -1;
            diag->offset = IMG_OFF_ISIZE;
        }
        return QP_ERR_CORRUPT;
    }
    qp_image_sha256(p, len - QP_IMAGE_TRAILER_SIZE, sha);
    if (memcmp(sha, p + len - QP_IMAGE_TRAILER_SIZE, sizeof sha) != 0) {
        if (diag) {
            diag->what = "image hash (trailer) mismatch";
            diag->section = -1;
            diag->offset = len - QP_IMAGE_TRAILER_SIZE;
        }
        return QP_ERR_CORRUPT;
    }
    memset(p + IMG_OFF_MODEL, 0, IMG_OFF_VERSION - IMG_OFF_MODEL);
    memcpy(p + IMG_OFF_MODEL, model, strlen(model));
    memset(p + IMG_OFF_VERSION, 0, IMG_OFF_RESERVED - IMG_OFF_VERSION);
    memcpy(p + IMG_OFF_VERSION, version, strlen(version));
    qp_image_put_le32(p + IMG_OFF_HCRC, qp_image_crc32(p + 12, info.header_size - 12, 0));
    qp_image_sha256(p, len - QP_IMAGE_TRAILER_SIZE, p + len - QP_IMAGE_TRAILER_SIZE);
    return 0;
}
