// qp_firmware.c - load, check and install the firmware image of a device's flash
// (qp_firmware.h).
//
// Reads go through the partition view, so an image that runs past the partition or a
// header that lies about sizes is a checked error, never an out-of-bounds read. Only the
// app section is decompressed at boot; the others are checked by their compressed hashes
// (the trailer covers every byte), which is what the real bootloader can afford too.
#include "device_internal.h"
#include "qp/qp_firmware.h"
#include "qp/qp_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail_diag(int err, char *msg, size_t msglen, const qp_image_info_t *info,
                     const qp_image_diag_t *diag) {
    if (diag->what && diag->section >= 0 && (uint32_t)diag->section < info->section_count) {
        return qp_device_fail(err, msg, msglen, "firmware image: section '%s' (offset 0x%llx): %s",
                              info->sections[diag->section].name, (unsigned long long)diag->offset,
                              diag->what);
    }
    return qp_device_fail(err, msg, msglen, "firmware image (offset 0x%llx): %s",
                          (unsigned long long)diag->offset,
                          diag->what ? diag->what : qp_strerror(err));
}

static int part_read(void *ctx, uint64_t off, void *buf, size_t len) {
    const qp_flash_part_t *p = ctx;
    if (off > p->size || len > p->size - off) {
        return QP_ERR_CORRUPT;
    }
    return qp_flash_part_read(p, (uint32_t)off, buf, (uint32_t)len);
}

static int blank(const qp_flash_part_t *p) {
    uint8_t head[16];
    if (qp_flash_part_read(p, 0, head, sizeof head) < 0) {
        return 0;
    }
    for (size_t i = 0; i < sizeof head; i++) {
        if (head[i] != 0xff) {
            return 0;
        }
    }
    return 1;
}

int qp_firmware_load(qp_firmware_t *fw, qp_flash_t *flash, const qp_flash_ptable_t *table,
                     char *msg, size_t msglen) {
    memset(fw, 0, sizeof *fw);
    qp_flash_part_t part;
    int err = qp_flash_part_open(&part, flash, table, QP_FLASH_PART_FIRMWARE);
    if (err < 0) {
        return qp_device_fail(err, msg, msglen, "no firmware partition: %s", qp_strerror(err));
    }
    if (blank(&part)) {
        return qp_device_fail(QP_ERR_NOENT, msg, msglen, "the firmware partition is empty");
    }
    qp_image_diag_t diag = {0};
    err = qp_image_read_header(&fw->info, part_read, &part, part.size, NULL, &diag);
    if (err == 0) {
        err = qp_image_verify(&fw->info, part_read, &part, 0, NULL, &diag);
    }
    if (err < 0) {
        return fail_diag(err, msg, msglen, &fw->info, &diag);
    }
    int idx = qp_image_find_section(&fw->info, "app");
    const qp_image_section_t *app = idx >= 0 ? &fw->info.sections[idx] : NULL;
    if (!app || app->content != QP_IMAGE_CONTENT_ARCHIVE) {
        return qp_device_fail(QP_ERR_CORRUPT, msg, msglen,
                              "firmware image: no 'app' section with the platform's Python");
    }
    uint8_t *src = malloc(app->csize ? app->csize : 1);
    fw->app = malloc(app->usize ? app->usize : 1);
    if (!src || !fw->app) {
        free(src);
        qp_firmware_free(fw);
        return qp_device_fail(QP_ERR_NOMEM, msg, msglen, "out of memory");
    }
    err = part_read(&part, app->offset, src, app->csize);
    if (err == 0) {
        err = qp_image_decompress(app, src, app->csize, fw->app, app->usize, NULL);
    }
    free(src);
    fw->app_len = app->usize;
    if (err == 0) {
        err = qp_image_archive_check(fw->app, fw->app_len, NULL);
    }
    if (err < 0) {
        qp_firmware_free(fw);
        return qp_device_fail(err, msg, msglen, "firmware image: section 'app': %s",
                              qp_strerror(err));
    }
    return 0;
}

void qp_firmware_free(qp_firmware_t *fw) {
    free(fw->app);
    fw->app = NULL;
    fw->app_len = 0;
}

int qp_firmware_app_file(const qp_firmware_t *fw, const char *path, const uint8_t **data,
                         size_t *len) {
    size_t pos = 0, plen = strlen(path);
    qp_image_archive_entry_t e;
    int r;
    while ((r = qp_image_archive_next(fw->app, fw->app_len, &pos, &e)) > 0) {
        if (e.path_len == plen && memcmp(e.path, path, plen) == 0) {
            *data = e.data;
            *len = e.size;
            return 0;
        }
    }
    return r < 0 ? r : QP_ERR_NOENT;
}

typedef struct {
    const uint8_t *buf;
    size_t len;
} mem_source;

static int mem_read(void *ctx, uint64_t off, void *buf, size_t len) {
    const mem_source *m = ctx;
    if (off > m->len || len > m->len - off) {
        return QP_ERR_CORRUPT;
    }
    memcpy(buf, m->buf + off, len);
    return 0;
}

int qp_firmware_install(qp_flash_t *flash, const qp_flash_ptable_t *table, const void *img,
                        size_t len, char *msg, size_t msglen) {
    qp_flash_part_t part;
    int err = qp_flash_part_open(&part, flash, table, QP_FLASH_PART_FIRMWARE);
    if (err < 0) {
        return qp_device_fail(err, msg, msglen, "no firmware partition: %s", qp_strerror(err));
    }
    if (len > part.size) {
        return qp_device_fail(QP_ERR_NOSPC, msg, msglen,
                              "firmware image is %zu bytes, the firmware partition %u", len,
                              part.size);
    }
    mem_source src = {img, len};
    qp_image_info_t info;
    qp_image_diag_t diag = {0};
    err = qp_image_read_header(&info, mem_read, &src, len, NULL, &diag);
    if (err == 0) {
        err = qp_image_verify(&info, mem_read, &src, 1, NULL, &diag);
    }
    if (err == 0 && info.image_size != len) {
        return qp_device_fail(QP_ERR_CORRUPT, msg, msglen,
                              "firmware image: %zu bytes of file, the image says %llu", len,
                              (unsigned long long)info.image_size);
    }
    if (err < 0) {
        return fail_diag(err, msg, msglen, &info, &diag);
    }
    uint32_t sector = flash->sector_size;
    uint32_t span = (uint32_t)((len + sector - 1) / sector * sector);
    err = qp_flash_part_erase(&part, 0, span);
    if (err == 0) {
        err = qp_flash_part_program(&part, 0, img, (uint32_t)len);
    }
    if (err < 0) {
        return qp_device_fail(err, msg, msglen, "writing the firmware partition: %s",
                              qp_strerror(err));
    }
    return 0;
}
