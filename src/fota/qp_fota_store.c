// qp_fota_store.c - the package store of the `fota` module and the boot-time upgrade
// (SPEC-patch §8.6). The package is streamed into the fota_pkg partition after a one-sector
// store record; verify() checks it against the installed firmware (and, when the device has
// a public key, its signature, §3.5) and marks it pending; at boot a pending package is
// applied in place (qp_fota_apply, backup area = what the package leaves of fota_pkg, the
// signature checked again), then the record is erased. Host and device; flash through
// qp_flash. The device's flash and key are process-wide, set by the runtime at boot.
#include <stdio.h>
#include <string.h>

#include <lzma.h>

#include "fota_internal.h"
#include "qp/qp_err.h"
#include "qp/qp_fota_store.h"

#define REC_MAGIC "QPFOTAPK"
#define REC_PENDING 64u

static qp_flash_t *dev_flash;
static const qp_flash_ptable_t *dev_table;
static qp_patch_sig_key_t dev_key;
static int dev_key_state; // 0 none, 1 set for this boot, 2 pinned (the device profile's)

void qp_fota_device_set(qp_flash_t *flash, const qp_flash_ptable_t *table) {
    dev_flash = flash;
    dev_table = table;
}

int qp_fota_device_get(qp_flash_t **flash, const qp_flash_ptable_t **table) {
    if (!dev_flash) {
        return QP_ERR_NOENT;
    }
    *flash = dev_flash;
    *table = dev_table;
    return 0;
}

static void say(char *msg, size_t len, const char *text) {
    if (msg && len) {
        snprintf(msg, len, "%s", text);
    }
}

int qp_fota_device_key_set(const void *text, size_t len, int pinned, char *msg,
                           size_t msglen) {
    if (dev_key_state == 2 && !pinned) {
        say(msg, msglen, "the device profile sets the key (fota_public_key); it cannot be "
                         "replaced at run time");
        return QP_ERR_PERM;
    }
    qp_patch_sig_key_t k;
    int err = qp_patch_sig_key_parse(&k, text, len);
    if (err == 0) {
        dev_key = k;
        dev_key_state = pinned ? 2 : 1;
    } else {
        say(msg, msglen, err == QP_ERR_NOTSUP ? "not an ECDSA P-256 key"
                         : err == QP_ERR_INVAL ? "not a public key in PEM or DER (adiff --pubkey "
                                                 "writes one)"
                                               : qp_strerror(err));
    }
    return err;
}

const qp_patch_sig_key_t *qp_fota_device_key(void) {
    return dev_key_state ? &dev_key : NULL;
}

int qp_fota_store_open(qp_fota_store_t *s, qp_flash_t *flash, const qp_flash_ptable_t *t) {
    memset(s, 0, sizeof *s);
    int err = qp_flash_part_open(&s->pkg, flash, t, QP_FLASH_PART_FOTA_PKG);
    if (err == 0) {
        err = qp_flash_part_open(&s->fw, flash, t, QP_FLASH_PART_FIRMWARE);
    }
    s->sector = flash->sector_size;
    return err;
}

int qp_fota_store_write(qp_fota_store_t *s, const void *data, uint32_t len, int64_t file_size,
                        char *msg, size_t msglen) {
    if (file_size <= 0) {
        say(msg, msglen, "file_size missing or not positive");
        return QP_ERR_INVAL;
    }
    if (s->written == 0 && !s->started) {
        if ((uint64_t)file_size + s->sector > s->pkg.size) {
            say(msg, msglen, "the package is larger than the fota_pkg store");
            return QP_ERR_NOSPC;
        }
        // A new download: forget any pending package first.
        int err = qp_flash_part_erase(&s->pkg, 0, s->sector);
        if (err < 0) {
            say(msg, msglen, "flash error");
            return err;
        }
        s->declared = (uint32_t)file_size;
        s->erased_to = s->sector;
        s->started = 1;
    }
    if ((uint64_t)file_size != s->declared) {
        say(msg, msglen, "file_size differs from the size given with the first write");
        return QP_ERR_INVAL;
    }
    if (len > s->declared - s->written) {
        say(msg, msglen, "write past the declared file_size");
        return QP_ERR_FBIG;
    }
    uint32_t off = s->sector + s->written;
    while (off + len > s->erased_to) {
        int err = qp_flash_part_erase(&s->pkg, s->erased_to, s->sector);
        if (err < 0) {
            say(msg, msglen, "flash error");
            return err;
        }
        s->erased_to += s->sector;
    }
    int err = len ? qp_flash_part_program(&s->pkg, off, data, len) : 0;
    if (err < 0) {
        say(msg, msglen, "flash error");
        return err;
    }
    s->written += len;
    return 0;
}

static int part_read(void *ctx, uint32_t off, void *buf, uint32_t len) {
    return qp_flash_part_read(ctx, off, buf, len);
}
static int part_prog(void *ctx, uint32_t off, const void *buf, uint32_t len) {
    return qp_flash_part_program(ctx, off, buf, len);
}
static int part_erase(void *ctx, uint32_t off, uint32_t len) {
    return qp_flash_part_erase(ctx, off, len);
}

qp_patch_flash_t qp_fota_part_flash(qp_flash_part_t *part) {
    qp_patch_flash_t f = {part_read, part_prog, part_erase, part, part->size,
                          part->flash->sector_size};
    return f;
}

typedef struct pkgview {
    qp_flash_part_t *part;
    uint32_t base;
} pkgview_t;

static int pkg_read(void *ctx, uint32_t off, void *buf, uint32_t len) {
    pkgview_t *v = ctx;
    return qp_flash_part_read(v->part, v->base + off, buf, len);
}

// The apply configuration for a package of `size` bytes in the store (SPEC-patch §8.6).
static void apply_config(qp_fota_store_t *s, uint32_t size, pkgview_t *v,
                         qp_flash_part_t *bk, qp_fota_apply_config_t *c) {
    v->part = &s->pkg;
    v->base = s->sector;
    uint32_t start = s->sector + (size + s->sector - 1u) / s->sector * s->sector;
    start = start < s->pkg.size ? start : s->pkg.size;
    *bk = s->pkg;
    bk->offset += start;
    bk->size -= start;
    memset(c, 0, sizeof *c);
    c->pkg_read = pkg_read;
    c->pkg_ctx = v;
    c->pkg_size = size;
    c->target = qp_fota_part_flash(&s->fw);
    c->backup = qp_fota_part_flash(bk);
    c->ram_limit = QP_FOTA_RAM_LIMIT;
    c->key = s->key;
}

int qp_fota_store_verify(qp_fota_store_t *s, char *msg, size_t msglen) {
    if (!s->started || s->written != s->declared) {
        say(msg, msglen, "the package is incomplete");
        return QP_ERR_CORRUPT;
    }
    pkgview_t v;
    qp_flash_part_t bk;
    qp_fota_apply_config_t c;
    apply_config(s, s->declared, &v, &bk, &c);
    // The checks and the dry run now, while the script waits for verify(); the journal
    // they leave lets the boot-time apply decode the old firmware once (SPEC-patch §8.6).
    int err = qp_fota_prepare(&c, NULL, msg, msglen);
    if (err < 0) {
        return err;
    }
    uint8_t rec[16];
    memcpy(rec, REC_MAGIC, 8);
    fota_put32(rec + 8, s->declared);
    fota_put32(rec + 12, lzma_crc32(rec, 12, 0));
    static const uint8_t zero = 0;
    err = qp_flash_part_program(&s->pkg, 0, rec, sizeof rec);
    if (err == 0) {
        err = qp_flash_part_program(&s->pkg, REC_PENDING, &zero, 1);
    }
    return err;
}

int qp_fota_boot(qp_flash_t *flash, const qp_flash_ptable_t *t, char *msg, size_t msglen) {
    qp_fota_store_t s;
    int err = qp_fota_store_open(&s, flash, t);
    if (err < 0) {
        return 0; // no fota_pkg partition: nothing to do
    }
    s.key = qp_fota_device_key();
    uint8_t rec[REC_PENDING + 1];
    err = qp_flash_part_read(&s.pkg, 0, rec, sizeof rec);
    if (err < 0) {
        return err;
    }
    if (memcmp(rec, REC_MAGIC, 8) != 0 || fota_le32(rec + 12) != lzma_crc32(rec, 12, 0) ||
        rec[REC_PENDING] == 0xFFu) {
        return 0;
    }
    uint32_t size = fota_le32(rec + 8);
    if ((uint64_t)size + s.sector > s.pkg.size) {
        return qp_flash_part_erase(&s.pkg, 0, s.sector);
    }
    pkgview_t v;
    qp_flash_part_t bk;
    qp_fota_apply_config_t c;
    apply_config(&s, size, &v, &bk, &c);
    err = qp_fota_apply(&c, NULL, msg, msglen);
    if (err == QP_ERR_IO || err == QP_ERR_NOMEM) {
        return err; // interrupted: the next boot resumes
    }
    // Done, or a package that can never apply (the firmware is untouched): either way
    // the store is cleared so the module boots normally. The record goes first: with the
    // journal erased first, a cut between the two left a pending package whose journal
    // was gone, and the next boot refused it as "for another firmware" (the firmware was
    // already new). A stale journal is harmless: another package's is never resumed.
    int e2 = qp_flash_part_erase(&s.pkg, 0, s.sector);
    if (e2 == 0) {
        e2 = qp_fota_journal_clear(&c.backup);
    }
    if (err < 0) {
        return err;
    }
    return e2 < 0 ? e2 : 1;
}
