// fota_bench.c - the device side of an image package, timed (bench/fota_bench.py): applies
// PKG in place on a RAM flash holding OLD.img with qp_fota_apply (the module's code and its
// counting allocator), checks the result is NEW.img, and times liblzma alone recompressing
// NEW.img's sections at their recorded settings, the floor the apply is measured against
// (issue 6: apply time <= 1.3 x that).
// Usage: fota_bench OLD.img NEW.img PKG.bin
// Prints: apply_seconds apply_ram_peak_bytes recompress_seconds backup_bytes
//         old_decoder_restarts verify_seconds (qp_fota_prepare, before the apply)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lzma.h>

#include "qp/qp_err.h"
#include "qp/qp_fota.h"
#include "qp/qp_image.h"
#include "qp/qp_patch.h"

static uint8_t *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(n > 0 ? (size_t)n : 1u);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

// liblzma itself, no hashing or streaming layer: an LZMA section's uncompressed bytes
// encoded with its recorded settings, one lzma_raw_buffer_encode per restart interval
// (SPEC-image §4.1), and the output checked against the stored bytes after the clock.
static int lzma_alone(const qp_image_section_t *s, const uint8_t *u, uint8_t *c, size_t cap,
                      size_t *out, double *secs) {
    static const lzma_match_finder mf[] = {LZMA_MF_HC4, LZMA_MF_HC3, LZMA_MF_HC4,
                                           LZMA_MF_BT2, LZMA_MF_BT3, LZMA_MF_BT4};
    const qp_image_params_t *p = &s->params;
    lzma_options_lzma o = {.dict_size = p->dict_size, .lc = p->lc, .lp = p->lp, .pb = p->pb,
                           .mode = p->mode == QP_IMAGE_MODE_FAST ? LZMA_MODE_FAST
                                                                 : LZMA_MODE_NORMAL,
                           .nice_len = p->nice_len, .mf = mf[p->mf % 6u], .depth = p->depth};
    lzma_options_bcj bcj = {0};
    lzma_filter f[3] = {{LZMA_FILTER_ARMTHUMB, &bcj}, {LZMA_FILTER_LZMA2, &o},
                        {LZMA_VLI_UNKNOWN, NULL}};
    lzma_filter *chain = f;
    if (p->bcj == QP_IMAGE_BCJ_ARM) {
        f[0].id = LZMA_FILTER_ARM;
    } else if (p->bcj == QP_IMAGE_BCJ_NONE) {
        chain = f + 1;
    }
    uint64_t step = p->restart ? p->restart : s->usize;
    *out = 0;
    double t0 = now();
    for (uint64_t at = 0; at < s->usize || at == 0; at += step) {
        uint64_t n = s->usize - at < step ? s->usize - at : step;
        bcj.start_offset = (uint32_t)at;
        if (lzma_raw_buffer_encode(chain, NULL, u + at, (size_t)n, c, out, cap) != LZMA_OK) {
            return QP_ERR_IO;
        }
        if (s->usize == 0) {
            break;
        }
    }
    *secs += now() - t0;
    return 0;
}

// The floor the apply is measured against: every new section recompressed from its
// uncompressed bytes by liblzma alone (LZO sections through qp_image_recompress).
static int recompress_time(const uint8_t *img, size_t len, double *secs) {
    qp_image_info_t *info = malloc(sizeof *info);
    if (!info || qp_image_parse_header(info, img, len, NULL) < 0) {
        free(info);
        return QP_ERR_CORRUPT;
    }
    int err = 0;
    *secs = 0;
    for (uint32_t i = 0; i < info->section_count && err == 0; i++) {
        const qp_image_section_t *s = &info->sections[i];
        size_t cap = (size_t)qp_image_compress_bound(&s->params, s->usize), out = 0;
        uint8_t *u = malloc(s->usize ? s->usize : 1u), *c = malloc(cap ? cap : 1u);
        if (!u || !c) {
            err = QP_ERR_NOMEM;
        }
        if (err == 0) {
            err = qp_image_decompress(s, img + s->offset, s->csize, u, s->usize, NULL);
        }
        if (err == 0 && s->params.codec == QP_IMAGE_CODEC_LZMA) {
            err = lzma_alone(s, u, c, cap, &out, secs);
        } else if (err == 0) {
            double t0 = now();
            err = qp_image_recompress(&s->params, u, s->usize, c, cap, &out, NULL);
            *secs += now() - t0;
        }
        if (err == 0 && (out != s->csize || memcmp(c, img + s->offset, out) != 0)) {
            err = QP_ERR_IO;
        }
        free(u);
        free(c);
    }
    free(info);
    return err;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: fota_bench OLD.img NEW.img PKG.bin\n");
        return 1;
    }
    size_t ol, nl, pl;
    uint8_t *old = slurp(argv[1], &ol), *nw = slurp(argv[2], &nl), *pkg = slurp(argv[3], &pl);
    if (!old || !nw || !pkg) {
        return 1;
    }
    size_t big = ol > nl ? ol : nl;
    uint32_t tsize = (uint32_t)((big + 4095u) / 4096u * 4096u);
    uint32_t bsize = 2u * tsize + (256u << 10);
    qp_patch_ram_flash_t t = {malloc(tsize), tsize}, b = {malloc(bsize), bsize};
    if (!t.mem || !b.mem) {
        return 1;
    }
    memset(t.mem, 0xFF, tsize);
    memcpy(t.mem, old, ol);
    memset(b.mem, 0xFF, bsize);
    qp_patch_mem_t src = {pkg, (uint32_t)pl};
    qp_fota_apply_config_t c;
    memset(&c, 0, sizeof c);
    c.pkg_read = qp_patch_mem_read;
    c.pkg_ctx = &src;
    c.pkg_size = (uint32_t)pl;
    c.target = qp_patch_ram_flash(&t, 4096);
    c.backup = qp_patch_ram_flash(&b, 4096);
    // As on the module: fota.verify() prepares (checks, dry run, journal), then the
    // boot-time apply resumes from the journal. Both are timed; the apply is the figure
    // the target is about, the verify the one a script waits for.
    qp_fota_apply_stats_t st;
    char msg[200] = "";
    double t0 = now();
    int err = qp_fota_prepare(&c, &st, msg, sizeof msg);
    double verify = now() - t0;
    t0 = now();
    if (err == 0) {
        err = qp_fota_apply(&c, &st, msg, sizeof msg);
    }
    double apply = now() - t0;
    if (err == 0 && memcmp(t.mem, nw, nl) != 0) {
        err = QP_ERR_IO;
        snprintf(msg, sizeof msg, "result differs from NEW.img");
    }
    double rec = 0;
    if (err == 0) {
        err = recompress_time(nw, nl, &rec);
    }
    if (err < 0) {
        fprintf(stderr, "fota_bench: %s (%s)\n", qp_strerror(err), msg);
        return 1;
    }
    printf("%.3f %u %.3f %u %u %.3f\n", apply, st.ram_peak, rec, st.backup_needed,
           st.old_restarts, verify);
    free(t.mem);
    free(b.mem);
    free(old);
    free(nw);
    free(pkg);
    return 0;
}
