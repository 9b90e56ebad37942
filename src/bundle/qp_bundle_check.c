// qp_bundle_check.c - is this file an image for that partition? (qp_bundle_check_part)
//
// Shared by `mklfs --bundle` and `qpy flash` so that both refuse the same files: a wrong
// file burnt into a partition bricks the module's file system or its boot, and nothing on
// the module would say why. File systems are mounted from a RAM copy (qp_fsimage), the
// firmware goes through qp_image's header and hash checks without decompressing.
#include "qp/qp_bundle.h"
#include "qp/qp_err.h"
#include "qp/qp_fsimage.h"
#include "qp/qp_image.h"

#include <string.h>

typedef struct {
    const uint8_t *data;
    size_t len;
} memsrc_t;

static int mem_read(void *ctx, uint64_t off, void *buf, size_t len) {
    const memsrc_t *m = ctx;
    if (off > m->len || len > m->len - off) {
        return QP_ERR_CORRUPT; // a short source, as qp_image_read_fn asks
    }
    memcpy(buf, m->data + off, len);
    return 0;
}

int qp_bundle_check_part(const char *partition, const void *data, size_t len,
                         const char **why) {
    const char *reason = NULL;
    int err;
    if (strcmp(partition, "firmware") == 0) {
        memsrc_t src = {data, len};
        qp_image_info_t info;
        qp_image_diag_t diag = {0};
        err = qp_image_read_header(&info, mem_read, &src, len, NULL, &diag);
        if (err == 0) {
            err = qp_image_verify(&info, mem_read, &src, 0, NULL, &diag);
        }
        if (err < 0) {
            reason = diag.what ? diag.what : qp_strerror(err);
        } else if (qp_image_find_section(&info, "app") < 0) {
            // The module boots the platform's Python from this section: without it the
            // burnt module could not start at all.
            reason = "no 'app' section (the platform's Python): the module could not boot";
            err = QP_ERR_CORRUPT;
        } else if (info.image_size != len) {
            // Trailing bytes would be burnt into the partition for nothing, and are a
            // sign of a wrong or damaged file.
            reason = "bytes after the end of the image";
            err = QP_ERR_CORRUPT;
        }
    } else if (strcmp(partition, "customer_fs") == 0
               || strcmp(partition, "customer_backup_fs") == 0) {
        err = qp_fsimage_check(data, len, QP_FSIMAGE_BLOCK_SIZE, &reason);
    } else {
        reason = "no such partition in a bundle";
        err = QP_ERR_NOTSUP;
    }
    if (err < 0 && why) {
        *why = reason;
    }
    return err;
}
