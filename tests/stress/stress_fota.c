// stress_fota.c - power-cut campaign over the whole FOTA path on a RAM flash with the EC600S
// partition layout (make stress, docs/TESTING.md §4): the application writes an image
// package into the store (qp_fota_store_write, 1 KiB pieces as fota_file.py does) and
// verifies it; the module reboots and applies it in place (qp_fota_boot, SPEC-patch §8.6).
// Each run cuts power at a random operation of that whole sequence, torn with a random
// length and bit pattern, then keeps rebooting; up to four more cuts land at random
// operations of what follows (a download again, or a resumed apply). After every boot that
// completes, the firmware partition must hold the OLD or the NEW image exactly (erased
// past it): anything else, a refused package, or a module that has not reached NEW within
// 16 boots counts as bricked. When the module is still on OLD the application downloads
// again, as an application would. Two image pairs: one that grows (and gains a section), one
// that shrinks (and loses one).
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fota_testutil.h"
#include "qp/qp_diff.h"
#include "qp/qp_err.h"
#include "qp/qp_flash.h"
#include "qp/qp_fota.h"
#include "qp/qp_fota_store.h"
#include "stress_util.h"

#define FLASH_SIZE (1u << 20)
#define MAX_BOOTS 16

typedef struct pair {
    img_t old_img, new_img;
    uint8_t *pkg;
    uint32_t pkg_size;
    uint64_t ops; // flash operations of a download, verify and boot without a cut
} pair_t;

typedef struct dev {
    qp_flash_t flash;
    qp_flash_ptable_t table;
    qp_flash_part_t fw;
    uint8_t *mem;
} sdev_t;

static pair_t pairs[2];
static long cuts_download, cuts_boot; // where the cuts landed (coverage)

// A 1 MiB flash: ptable, firmware 256 KiB holding OLD, fota_pkg 256 KiB, small file
// systems (never touched here).
static int dev_open(sdev_t *d, const pair_t *p) {
    memset(d->mem, 0xFF, FLASH_SIZE);
    qp_flash_layout_opts_t o = {.flash_size = FLASH_SIZE, .firmware_size = 256u << 10,
                                .fota_pkg_size = 256u << 10, .customer_fs_size = 64u << 10,
                                .customer_backup_fs_size = 64u << 10};
    qp_flash_config_t c = {.size = FLASH_SIZE, .data_buffer = d->mem, .flags = QP_FLASH_F_KEEP};
    qp_flash_init(&d->flash);
    int err = qp_flash_layout_ec600s(&d->table, &o);
    if (err == 0) {
        err = qp_flash_open_ram(&d->flash, &c);
    }
    if (err == 0) {
        err = qp_flash_ptable_write(&d->flash, &d->table);
    }
    if (err == 0) {
        err = qp_flash_part_open(&d->fw, &d->flash, &d->table, QP_FLASH_PART_FIRMWARE);
    }
    if (err == 0) {
        err = qp_flash_part_program(&d->fw, 0, p->old_img.p, (uint32_t)p->old_img.len);
    }
    return err;
}

// What the application does: the package in 1 KiB pieces, then verify().
static int download(sdev_t *d, const pair_t *p) {
    qp_fota_store_t s;
    char msg[160];
    int err = qp_fota_store_open(&s, &d->flash, &d->table);
    for (uint32_t off = 0; err == 0 && off < p->pkg_size; off += 1024u) {
        uint32_t n = p->pkg_size - off < 1024u ? p->pkg_size - off : 1024u;
        err = qp_fota_store_write(&s, p->pkg + off, n, p->pkg_size, msg, sizeof msg);
    }
    return err == 0 ? qp_fota_store_verify(&s, msg, sizeof msg) : err;
}

static int boot(sdev_t *d) {
    char msg[200];
    return qp_fota_boot(&d->flash, &d->table, msg, sizeof msg);
}

// 0: the firmware partition holds OLD, 1: NEW, -1: neither.
static int firmware_state(sdev_t *d, const pair_t *p) {
    const uint8_t *fw = d->mem + d->fw.offset;
    const img_t *ims[2] = {&p->old_img, &p->new_img};
    for (int i = 0; i < 2; i++) {
        if (memcmp(fw, ims[i]->p, ims[i]->len) != 0) {
            continue;
        }
        size_t k = ims[i]->len;
        while (k < d->fw.size && fw[k] == 0xFF) {
            k++;
        }
        if (k == d->fw.size) {
            return i;
        }
    }
    return -1;
}

static int make_pair(pair_t *p, img_t old_img, img_t new_img, uint8_t *mem) {
    char msg[200];
    qp_fota_diff_stats_t st;
    p->old_img = old_img;
    p->new_img = new_img;
    int err = qp_fota_diff(NULL, old_img.p, old_img.len, new_img.p, new_img.len, &p->pkg,
                           &p->pkg_size, &st, msg, sizeof msg);
    if (err < 0) {
        fprintf(stderr, "qp_fota_diff: %s\n", msg);
        return err;
    }
    sdev_t d = {.mem = mem};
    err = dev_open(&d, p);
    uint64_t ops0 = qp_flash_op_count(&d.flash);
    if (err == 0) {
        err = download(&d, p);
    }
    if (err == 0 && (err = boot(&d)) == 1 && firmware_state(&d, p) == 1) {
        err = 0;
    } else if (err >= 0) {
        err = QP_ERR_IO;
    }
    p->ops = qp_flash_op_count(&d.flash) - ops0;
    qp_flash_close(&d.flash);
    return err;
}

// After a cut: power comes back; the next cut (if this run has one more) is armed at a
// random operation of a whole download-and-boot.
static void power_cycle(sdev_t *d, stress_rng_t *r, const pair_t *p, int *cuts_left,
                        stress_tally_t *t) {
    t->cuts++;
    qp_flash_power_restore(&d->flash);
    if (*cuts_left > 0) {
        (*cuts_left)--;
        qp_flash_powercut_arm(&d->flash, 1 + stress_below(r, (uint32_t)p->ops),
                              stress_next(r));
    }
}

static void one_run(const stress_opts_t *o, long run, stress_tally_t *t, void *mem) {
    stress_rng_t r = {stress_run_seed(o->seed, run)};
    const pair_t *p = &pairs[stress_below(&r, 2)];
    sdev_t d = {.mem = mem};
    int err = dev_open(&d, p);
    if (err < 0) {
        stress_fail(o, run, "device setup: %s", qp_strerror(err));
        t->bricked++;
        qp_flash_close(&d.flash);
        return;
    }
    int cuts_left = (int)stress_below(&r, 5);
    qp_flash_powercut_arm(&d.flash, 1 + stress_below(&r, (uint32_t)p->ops), stress_next(&r));
    const char *why = NULL;
    int boots = 0, state = 0;
    while (!why && boots++ < MAX_BOOTS) {
        int ret = boot(&d);
        if (!qp_flash_is_powered(&d.flash)) {
            cuts_boot++;
            power_cycle(&d, &r, p, &cuts_left, t);
            continue;
        }
        state = firmware_state(&d, p);
        if (ret < 0) {
            why = "the boot refused the package";
        } else if (state < 0) {
            why = "the firmware is neither OLD nor NEW after a boot";
        } else if (state == 1) {
            break;
        } else if ((ret = download(&d, p)) < 0 && qp_flash_is_powered(&d.flash)) {
            why = "the download failed without a cut";
        } else if (!qp_flash_is_powered(&d.flash)) {
            cuts_download++;
            power_cycle(&d, &r, p, &cuts_left, t);
        }
    }
    qp_flash_powercut_arm(&d.flash, 0, 0);
    if (!why && state != 1) {
        why = "not on NEW after 16 boots";
    } else if (!why && (boot(&d) != 0 || firmware_state(&d, p) != 1)) {
        why = "the boot after the upgrade did something";
    }
    if (why) {
        t->bricked++;
        stress_fail(o, run, "%s (pair %d, after %d boots)", why, p == &pairs[1], boots);
    }
    qp_flash_close(&d.flash);
    t->runs++;
}

int main(int argc, char **argv) {
    stress_opts_t o;
    int status = stress_parse(argc, argv, &o, 2000);
    if (status) {
        return status;
    }
    uint8_t *mem = malloc(FLASH_SIZE);
    if (!mem || make_pair(&pairs[0], make_image("V1.0", 16 * 1024, 0, 10, 0),
                          make_image("V2.0-NEW", 18 * 1024, 3, 30, 1), mem) < 0
        || make_pair(&pairs[1], make_image("V3.0", 24 * 1024, 5, 20, 1),
                     make_image("V3.1", 12 * 1024, 6, 8, 0), mem) < 0) {
        fprintf(stderr, "%s: cannot make the image pairs\n", argv[0]);
        return 1;
    }
    stress_tally_t t = {0};
    status = stress_runs(&o, "fota", one_run, mem, &t);
    printf("  cuts: %ld during the download and verify, %ld during the boot-time apply; "
           "%ld runs\n", cuts_download, cuts_boot, t.runs);
    for (int i = 0; i < 2; i++) {
        free(pairs[i].old_img.p);
        free(pairs[i].new_img.p);
        qp_diff_free(pairs[i].pkg);
    }
    free(mem);
    return status;
}
