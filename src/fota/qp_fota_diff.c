// qp_fota_diff.c - host side of image packages (SPEC-patch §8.1): turns two system.img files
// into the old and new spaces (image header, then each section decompressed), diffs them
// with qp_diff, then applies the package in place on a RAM flash holding the old image with
// the device's own qp_fota_apply: the result must be byte-identical to the new image, and
// the RAM and backup that apply used go into the package header. Host only: allocates
// freely, links qp_diff.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fota_internal.h"
#include "qp/qp_diff.h"
#include "qp/qp_err.h"
#include "qp/qp_fota.h"
#include "qp/qp_image.h"

// Package header fields rewritten after measuring (SPEC-patch §3.1).
#define PKG_SECTIONS 24u
#define PKG_APPLY_RAM 28u
#define PKG_BACKUP_SIZE 32u
#define PKG_SHA 160u
// Added to the measured peak: liblzma builds that allocate a little differently.
#define RAM_MARGIN (8u * 1024u)

typedef struct memimg {
    const uint8_t *p;
    size_t len;
} memimg_t;

static int memimg_read(void *ctx, uint64_t off, void *buf, size_t len) {
    memimg_t *m = ctx;
    if (off > m->len || len > m->len - off) {
        return QP_ERR_CORRUPT;
    }
    memcpy(buf, m->p + off, len);
    return 0;
}

static int memimg_write(void *ctx, const void *buf, size_t len) {
    uint8_t **at = ctx;
    memcpy(*at, buf, len);
    *at += len;
    return 0;
}

// Reads, verifies and decompresses an image into its space (header, then sections).
static int make_space(const uint8_t *img, size_t len, qp_image_info_t *info, uint8_t **space,
                      uint32_t *size, const char *which, char *msg, size_t msglen) {
    memimg_t m = {img, len};
    qp_image_diag_t d = {0};
    int err = qp_image_read_header(info, memimg_read, &m, len, NULL, &d);
    if (err == 0 && info->image_size != len) {
        d.what = "trailing bytes after the image";
        err = QP_ERR_CORRUPT;
    }
    if (err == 0) {
        // Hashes of the whole image and the compressed sections; the extraction below
        // checks each section's size and uncompressed hash as it decompresses.
        err = qp_image_verify(info, memimg_read, &m, 0, NULL, &d);
    }
    uint64_t total = info->header_size;
    for (uint32_t i = 0; err == 0 && i < info->section_count; i++) {
        total += info->sections[i].usize;
    }
    if (err == 0 && total > INT32_MAX) {
        err = QP_ERR_FBIG;
    }
    if (err < 0) {
        snprintf(msg, msglen, "%s image: %s", which,
                 err == QP_ERR_NOMEM ? "out of memory"
                 : d.what            ? d.what
                                     : "not a firmware image");
        return err;
    }
    uint8_t *sp = malloc(total ? total : 1);
    if (!sp) {
        return QP_ERR_NOMEM;
    }
    memcpy(sp, img, info->header_size);
    uint8_t *at = sp + info->header_size;
    for (uint32_t i = 0; err == 0 && i < info->section_count; i++) {
        err = qp_image_extract(info, i, memimg_read, &m, memimg_write, &at, 0, NULL, &d);
    }
    if (err < 0) {
        snprintf(msg, msglen, "%s image: %s", which,
                 err == QP_ERR_NOMEM ? "out of memory" : d.what ? d.what : "section data");
        free(sp);
        return err;
    }
    *space = sp;
    *size = (uint32_t)total;
    return 0;
}

static void sha256(const void *d, size_t n, uint8_t out[32]) {
    mbedtls_sha256_context c;
    mbedtls_sha256_init(&c);
    fota_sha_starts(&c);
    fota_sha_update(&c, d, n);
    fota_sha_finish(&c, out);
    mbedtls_sha256_free(&c);
}

// Rewrites the requirement fields and the package hash (SPEC-patch §3.2).
static void set_requirements(uint8_t *pkg, uint32_t size, uint32_t ram, uint32_t backup) {
    fota_put32(pkg + PKG_APPLY_RAM, ram);
    fota_put32(pkg + PKG_BACKUP_SIZE, backup);
    memset(pkg + PKG_SHA, 0, 32);
    uint8_t md[32];
    sha256(pkg, size, md);
    memcpy(pkg + PKG_SHA, md, 32);
}

// Applies `pkg` in place over a RAM flash holding `old_img`; 0 when the result is new_img.
static int host_apply(const uint8_t *pkg, uint32_t pkg_size, const uint8_t *old_img,
                      size_t old_len, const uint8_t *new_img, size_t new_len,
                      qp_fota_apply_stats_t *st, char *msg, size_t msglen) {
    uint32_t big = (uint32_t)(old_len > new_len ? old_len : new_len);
    uint32_t tsize = (big + 4095u) / 4096u * 4096u;
    uint32_t bsize = 2u * tsize + (256u << 10);
    qp_patch_ram_flash_t t = {malloc(tsize), tsize}, b = {malloc(bsize), bsize};
    int err = 0;
    if (!t.mem || !b.mem) {
        err = QP_ERR_NOMEM;
    } else {
        memset(t.mem, 0xFF, tsize);
        memcpy(t.mem, old_img, old_len);
        memset(b.mem, 0xFF, bsize);
        qp_patch_mem_t src = {pkg, pkg_size};
        qp_fota_apply_config_t c;
        memset(&c, 0, sizeof c);
        c.pkg_read = qp_patch_mem_read;
        c.pkg_ctx = &src;
        c.pkg_size = pkg_size;
        c.target = qp_patch_ram_flash(&t, 4096);
        c.backup = qp_patch_ram_flash(&b, 4096);
        err = qp_fota_apply(&c, st, msg, msglen);
        if (err == 0 && memcmp(t.mem, new_img, new_len) != 0) {
            err = QP_ERR_IO;
        }
    }
    free(t.mem);
    free(b.mem);
    return err;
}

int qp_fota_diff(const qp_fota_diff_config_t *cfg, const uint8_t *old_img, size_t old_len,
                 const uint8_t *new_img, size_t new_len, uint8_t **out, uint32_t *out_size,
                 qp_fota_diff_stats_t *stats, char *msg, size_t msglen) {
    qp_fota_diff_config_t def;
    memset(&def, 0, sizeof def);
    cfg = cfg ? cfg : &def;
    char dummy[8];
    if (!msg || !msglen) {
        msg = dummy;
        msglen = sizeof dummy;
    }
    msg[0] = 0;
    if (!old_img || !new_img || !out || !out_size) {
        return QP_ERR_INVAL;
    }
    qp_image_info_t *oi = malloc(sizeof *oi), *ni = malloc(sizeof *ni);
    uint8_t *os = NULL, *ns = NULL, *pkg = NULL;
    uint32_t osz = 0, nsz = 0, psz = 0;
    int err = oi && ni ? 0 : QP_ERR_NOMEM;
    if (err == 0) {
        err = make_space(old_img, old_len, oi, &os, &osz, "old", msg, msglen);
    }
    if (err == 0) {
        err = make_space(new_img, new_len, ni, &ns, &nsz, "new", msg, msglen);
    }
    if (err == 0 && strcmp(oi->model, ni->model) != 0) {
        snprintf(msg, msglen, "the images are for different models (%s, %s)", oi->model,
                 ni->model);
        err = QP_ERR_INVAL;
    }
    if (err == 0 && (old_len > UINT32_MAX / 2 || new_len > UINT32_MAX / 2)) {
        err = QP_ERR_FBIG;
    }
    qp_diff_section_t secs[QP_PATCH_SECTIONS_MAX];
    uint32_t count = 0;
    if (err == 0 && ni->section_count + 1u > QP_PATCH_SECTIONS_MAX) {
        snprintf(msg, msglen, "the new image has more than %u sections",
                 QP_PATCH_SECTIONS_MAX - 1u);
        err = QP_ERR_NOTSUP;
    }
    if (err == 0) {
        secs[count++] = (qp_diff_section_t){QP_FOTA_HEADER_SECTION, 0, oi->header_size, 0,
                                            ni->header_size};
        uint32_t npos = ni->header_size;
        for (uint32_t i = 0; i < ni->section_count; i++) {
            qp_diff_section_t s = {ni->sections[i].name, 0, 0, npos,
                                   (uint32_t)ni->sections[i].usize};
            uint64_t opos = oi->header_size;
            for (uint32_t j = 0; j < oi->section_count; j++) {
                if (strcmp(oi->sections[j].name, ni->sections[i].name) == 0) {
                    s.old_offset = (uint32_t)opos;
                    s.old_size = (uint32_t)oi->sections[j].usize;
                }
                opos += oi->sections[j].usize;
            }
            npos += s.new_size;
            secs[count++] = s;
        }
    }
    if (err == 0) {
        qp_diff_config_t dc;
        memset(&dc, 0, sizeof dc);
        dc.model = ni->model;
        dc.flags = QP_PATCH_F_IMAGE;
        dc.dict_max = cfg->dict_max;
        dc.filter = cfg->filter;
        dc.progress = cfg->progress;
        dc.progress_ctx = cfg->progress_ctx;
        dc.old_image_size = (uint32_t)old_len;
        dc.new_image_size = (uint32_t)new_len;
        sha256(old_img, old_len, dc.old_image_sha256);
        sha256(new_img, new_len, dc.new_image_sha256);
        err = qp_diff_create(&dc, os, osz, ns, nsz, secs, count, &pkg, &psz, NULL);
        // The spaces are not needed past the diff: the self-check works on the images.
        free(os);
        free(ns);
        os = ns = NULL;
        if (err < 0) {
            snprintf(msg, msglen, err == QP_ERR_NOMEM ? "out of memory while diffing"
                                                      : "diff failed");
        }
    }
    qp_fota_apply_stats_t st;
    memset(&st, 0, sizeof st);
    if (err == 0 && cfg->no_self_check) {
        set_requirements(pkg, psz, UINT32_MAX, 0);
    } else if (err == 0) {
        // One apply both checks and measures. Its allocations do not depend on the
        // recorded cap, which only refuses past it (test_apply's round trip checks the
        // peaks agree), so the module, under the recorded peak plus the margin, allocates
        // exactly what this apply did; the fields rewritten afterwards are that cap and
        // the backup figure, which no step of the apply reads otherwise.
        if (cfg->progress) {
            cfg->progress(cfg->progress_ctx, "self-check", 0, 1);
        }
        set_requirements(pkg, psz, UINT32_MAX, 0);
        err = host_apply(pkg, psz, old_img, old_len, new_img, new_len, &st, msg, msglen);
        if (err == 0) {
            set_requirements(pkg, psz, st.ram_peak + RAM_MARGIN, st.backup_needed);
        }
        if (err == QP_ERR_NOMEM) {
            snprintf(msg, msglen, "out of memory while applying the package on the host");
        } else if (err < 0) {
            if (!msg[0]) {
                snprintf(msg, msglen, "self-check: applying the package did not give the "
                                      "new image");
            }
            err = QP_ERR_IO;
        }
    }
    if (err == 0) {
        if (stats) {
            memset(stats, 0, sizeof *stats);
            stats->package_size = psz;
            stats->apply_ram = fota_le32(pkg + PKG_APPLY_RAM);
            stats->backup_size = fota_le32(pkg + PKG_BACKUP_SIZE);
            stats->old_space = osz;
            stats->new_space = nsz;
            stats->old_restarts = st.old_restarts;
            // Stream records (SPEC-patch §3.3): {offset, size, raw_size, dict_size} x 3 at
            // byte 40 of each 192-byte descriptor from byte 256.
            uint32_t n = fota_le32(pkg + PKG_SECTIONS);
            for (uint32_t i = 0; i < n; i++) {
                for (uint32_t j = 0; j < 3u; j++) {
                    uint32_t d = fota_le32(pkg + 256u + 192u * i + 40u + 16u * j + 12u);
                    stats->dict_used = d > stats->dict_used ? d : stats->dict_used;
                }
            }
        }
        *out = pkg;
        *out_size = psz;
        pkg = NULL;
    }
    qp_diff_free(pkg);
    free(os);
    free(ns);
    free(oi);
    free(ni);
    return err;
}
