// fuzz_patch.c - libFuzzer target for the FOTA package reader and apply (src/patch,
// qp_patch.h): open, verify, check_old, the streaming apply in bounded RAM, and, for a
// package that streams to the end, the in-place apply on a RAM flash.
//
// Input: any bytes, taken as an adiff package meant for the fixed old image of
// fuzz_common.c (fz_make_old). Seeds are packages made by qp_diff against that image
// (fuzz/mkcorpus.c). As in fuzz_image.c, a second pass re-seals the mutated package (its
// package_sha256, SPEC-patch §3.2) so the stream decoders and the control-stream checks
// see mutated data behind a valid hash: the hash is integrity, not authentication, and
// the apply must stay memory-safe whatever a hash-valid package says. Section hashes stay
// as mutated and are caught at the end of each section, as on a device. Every package
// that opens also has its signature checked (qp_patch_sig_verify, FZ_PUBKEY_PEM): never
// valid, but the check must return a code on any header.
//
// RAM: ram_limit is 1 MiB and the allocator is capped at the same, so a header that
// claims more gives QP_ERR_NOMEM. Output is capped per input so a package describing a
// 2 GiB new space does not make one input run for minutes.
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "qp/qp_err.h"
#include "qp/qp_flash.h"
#include "qp/qp_patch.h"
#include "qp/qp_patch_sig.h"

#define RAM_CAP (1u << 20)
#define OUT_CAP (256u * 1024u)
#define FLASH_PART (32u * 1024u) // target and backup partitions of the in-place run

static uint8_t old_image[FZ_OLD_SIZE];
static int old_ready;

static int part_read(void *ctx, uint32_t off, void *buf, uint32_t len) {
    return qp_flash_part_read(ctx, off, buf, len);
}
static int part_prog(void *ctx, uint32_t off, const void *buf, uint32_t len) {
    return qp_flash_part_program(ctx, off, buf, len);
}
static int part_erase(void *ctx, uint32_t off, uint32_t len) {
    return qp_flash_part_erase(ctx, off, len);
}

static void set_config(qp_patch_config_t *c, fz_mem_t *pkg, fz_mem_t *old, fz_alloc_t *a) {
    memset(c, 0, sizeof *c);
    c->pkg_read = fz_patch_read;
    c->pkg_ctx = pkg;
    c->pkg_size = (uint32_t)pkg->size;
    c->old_read = fz_patch_read;
    c->old_ctx = old;
    c->ram_limit = RAM_CAP;
    c->alloc = fz_alloc;
    c->free = fz_free;
    c->alloc_ctx = a;
}

// Streams the new space; returns 1 when it was produced to the end without an error.
static int stream(qp_patch_t *p) {
    static uint8_t buf[3001];
    uint32_t total = 0;
    for (;;) {
        int n = qp_patch_read(p, buf, sizeof buf);
        fz_check_code(n);
        if (n < 0) {
            return 0;
        }
        if (n == 0) {
            return 1;
        }
        total += (uint32_t)n;
        if (total > OUT_CAP) {
            return 0;
        }
    }
}

// The in-place apply over a RAM flash holding the old image (target) and an erased
// backup area; afterwards the target must hold what the streaming apply produced... or,
// on failure, still the old image (the apply checks everything before touching it).
static void inplace(const uint8_t *pkg, size_t len, fz_alloc_t *a) {
    qp_flash_t f;
    qp_flash_init(&f);
    qp_flash_config_t fc = {0};
    fc.size = 2 * FLASH_PART;
    if (qp_flash_open_ram(&f, &fc) < 0) {
        abort();
    }
    qp_flash_part_t tp, bp;
    if (qp_flash_part_init(&tp, &f, 0, FLASH_PART) < 0 ||
        qp_flash_part_init(&bp, &f, FLASH_PART, FLASH_PART) < 0 ||
        qp_flash_part_program(&tp, 0, old_image, FZ_OLD_SIZE) < 0) {
        abort();
    }
    fz_mem_t pm = {pkg, len};
    qp_patch_inplace_config_t c;
    memset(&c, 0, sizeof c);
    set_config(&c.patch, &pm, NULL, a);
    c.patch.old_read = NULL;
    c.patch.old_ctx = NULL;
    c.target = (qp_patch_flash_t){part_read, part_prog, part_erase, &tp, tp.size,
                                  f.sector_size};
    c.backup = (qp_patch_flash_t){part_read, part_prog, part_erase, &bp, bp.size,
                                  f.sector_size};
    int rc = qp_patch_inplace_apply(&c, NULL);
    fz_check_code(rc);
    if (rc < 0) {
        // Refused: the target must be untouched.
        static uint8_t back[FZ_OLD_SIZE];
        if (qp_flash_part_read(&tp, 0, back, FZ_OLD_SIZE) < 0 ||
            memcmp(back, old_image, FZ_OLD_SIZE) != 0) {
            abort();
        }
    }
    qp_flash_close(&f);
}

static void run(const uint8_t *pkg, size_t len, fz_alloc_t *a, int may_inplace) {
    fz_mem_t pm = {pkg, len};
    fz_mem_t om = {old_image, FZ_OLD_SIZE};
    qp_patch_config_t c;
    set_config(&c, &pm, &om, a);
    qp_patch_t p;
    qp_patch_init(&p);
    int rc = qp_patch_open(&p, &c);
    fz_check_code(rc);
    if (rc == 0) {
        int verified = qp_patch_verify(&p);
        fz_check_code(verified);
        static qp_patch_sig_key_t key;
        static int key_ready;
        if (!key_ready) {
            if (qp_patch_sig_key_parse(&key, FZ_PUBKEY_PEM, strlen(FZ_PUBKEY_PEM)) < 0) {
                abort();
            }
            key_ready = 1;
        }
        int sig = qp_patch_sig_verify(&p, &key);
        if (sig != QP_ERR_AUTH && sig != QP_ERR_NOMEM) {
            abort(); // the private key is gone: nothing can verify
        }
        fz_check_code(qp_patch_check_old(&p));
        int whole = stream(&p);
        if (whole) {
            // Resume path: rewind, skip half, produce the rest.
            fz_check_code(qp_patch_rewind(&p));
            fz_check_code(qp_patch_skip(&p, p.info.new_space_size / 2));
            (void)stream(&p);
        }
        if (qp_patch_ram_peak(&p) > RAM_CAP) {
            abort();
        }
        qp_patch_close(&p);
        if (whole && verified == 0 && may_inplace) {
            inplace(pkg, len, a);
        }
    }
    qp_patch_close(&p);
    if (a->live != 0) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!old_ready) {
        fz_make_old(old_image);
        old_ready = 1;
    }
    if (size > UINT32_MAX) {
        return 0;
    }
    fz_alloc_t a = {0};
    a.cap = RAM_CAP;
    run(data, size, &a, 1);
    // Re-seal: package_sha256 over the package with its own field as zeros (SPEC-patch §3.2).
    if (size >= QP_PATCH_HEADER_SIZE) {
        uint8_t *copy = malloc(size);
        if (!copy) {
            abort();
        }
        memcpy(copy, data, size);
        memset(copy + 160, 0, 32);
        uint8_t h[32];
        fz_sha256(copy, size, h);
        if (memcmp(h, data + 160, 32) != 0) { // already sealed: nothing new to run
            memcpy(copy + 160, h, 32);
            run(copy, size, &a, 1);
        }
        free(copy);
    }
    return 0;
}
