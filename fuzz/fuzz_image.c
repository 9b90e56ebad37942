// fuzz_image.c - libFuzzer target for the firmware image parser (src/image, qp_image.h):
// header parse, read + verify (with decompression), the section codecs, and the app
// archive reader.
//
// Input: any bytes, taken as a system.img. Seeds are real images made by qp_image's builder
// (fuzz/mkcorpus.c). Most mutations of a real image break its header CRC or its hashes,
// which the library rightly refuses early; to reach the checks behind them and the LZMA2 /
// LZO decoders, a second pass "re-seals" the mutated image as a mutating attacker with a
// hash calculator would: header CRC, each section's compressed hash and the trailer are
// recomputed, so only the uncompressed hash (known only after decoding) stays wrong.
// Memory goes through a capped allocator (fuzz_common.h): a fuzzed dictionary size must
// give QP_ERR_NOMEM, not a gigabyte.
//
// Invariants checked besides the sanitizers': every negative return is one of qp_err.h's
// codes, and nothing allocated through the library's allocator is left allocated.
#include <stdlib.h>
#include <string.h>

#include <lzma.h>

#include "fuzz_common.h"
#include "qp/qp_err.h"
#include "qp/qp_image.h"

// Memory the library may take per input: the default decoder needs about 100 KiB; 8 MiB
// lets every sane dictionary through and stops the rest.
#define RAM_CAP (8u << 20)
// Decoded bytes per section before the target stops feeding the decoder: LZMA2 turns a few
// bytes into megabytes of repeats, and the fuzzer should spend its time elsewhere.
#define OUT_CAP (1u << 20)


static void le32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

// Feeds section `s` (compressed bytes in img) to the streaming decoder in odd-sized pieces.
static void decode_section(const qp_image_section_t *s, const uint8_t *img, size_t len,
                           const qp_image_config_t *cfg) {
    if (s->offset > len || s->csize > len - s->offset) {
        return;
    }
    qp_image_stream_t st;
    qp_image_stream_init(&st);
    int rc = qp_image_decoder_open(&st, s, cfg);
    fz_check_code(rc);
    if (rc < 0) {
        qp_image_stream_close(&st);
        return;
    }
    static uint8_t out[4093];
    const uint8_t *in = img + s->offset;
    size_t left = (size_t)s->csize;
    size_t produced = 0;
    for (;;) {
        size_t piece = left < 777 ? left : 777;
        const uint8_t *p = in;
        size_t plen = piece;
        uint8_t *o = out;
        size_t olen = sizeof out;
        rc = qp_image_stream_run(&st, &p, &plen, &o, &olen);
        fz_check_code(rc);
        if (rc != 0) {
            break;
        }
        size_t used = piece - plen;
        in += used;
        left -= used;
        produced += sizeof out - olen;
        if (produced > OUT_CAP || (used == 0 && olen == sizeof out && left == 0)) {
            break; // stalled: no input left and no output made
        }
    }
    if (rc == 1) {
        fz_check_code(qp_image_stream_result(&st, NULL, NULL, NULL, NULL));
    }
    qp_image_stream_close(&st);
}

// One image: parse, read, verify with decompression, decode each section on its own,
// and, for small sections, the one-shot decompress plus the archive reader on its output.
static void run(const uint8_t *img, size_t len, fz_alloc_t *a) {
    qp_image_config_t cfg = {0};
    cfg.alloc = fz_alloc;
    cfg.free = fz_free;
    cfg.alloc_ctx = a;
    qp_image_info_t info;
    qp_image_diag_t diag;
    int rc = qp_image_parse_header(&info, img, len, &diag);
    fz_check_code(rc);
    fz_mem_t m = {img, len};
    rc = qp_image_read_header(&info, fz_image_read, &m, len, &cfg, &diag);
    fz_check_code(rc);
    if (rc < 0) {
        return;
    }
    fz_check_code(qp_image_verify(&info, fz_image_read, &m, 1, &cfg, &diag));
    for (uint32_t i = 0; i < info.section_count; i++) {
        const qp_image_section_t *s = &info.sections[i];
        decode_section(s, img, len, &cfg);
        if (s->usize <= 256u * 1024u && s->offset <= len && s->csize <= len - s->offset) {
            size_t usize = (size_t)s->usize;
            uint8_t *dst = malloc(usize ? usize : 1);
            if (!dst) {
                abort();
            }
            rc = qp_image_decompress(s, img + s->offset, (size_t)s->csize, dst, usize, &cfg);
            fz_check_code(rc);
            if (rc == 0) {
                uint32_t count;
                if (qp_image_archive_check(dst, usize, &count) == 0) {
                    size_t pos = 0;
                    qp_image_archive_entry_t e;
                    while ((rc = qp_image_archive_next(dst, usize, &pos, &e)) == 1) {
                    }
                    fz_check_code(rc);
                }
            }
            free(dst);
        }
    }
    fz_check_code(qp_image_find_section(&info, "app"));
}

// Makes a mutated image pass every check a hash calculator can satisfy (see the top).
// Returns 0 if there is something worth running again.
static int reseal(uint8_t *img, size_t len) {
    if (len < QP_IMAGE_HEADER_SIZE + QP_IMAGE_TRAILER_SIZE) {
        return -1;
    }
    uint32_t hsize = (uint32_t)img[16] | (uint32_t)img[17] << 8 | (uint32_t)img[18] << 16 |
                     (uint32_t)img[19] << 24;
    if (hsize < 12 || hsize > len) {
        return -1;
    }
    le32(img + 8, lzma_crc32(img + 12, hsize - 12, 0));
    qp_image_info_t info;
    if (qp_image_parse_header(&info, img, len, NULL) < 0) {
        return -1;
    }
    for (uint32_t i = 0; i < info.section_count; i++) {
        const qp_image_section_t *s = &info.sections[i];
        if (s->offset > len || s->csize > len - s->offset) {
            return -1;
        }
        // csha256 sits at offset 112 of the section's table entry (SPEC-image §3.2).
        fz_sha256(img + s->offset, (size_t)s->csize,
               img + QP_IMAGE_HEADER_SIZE + (size_t)i * info.entry_size + 112);
    }
    le32(img + 8, lzma_crc32(img + 12, hsize - 12, 0));
    if (info.image_size > len) {
        return -1;
    }
    size_t end = (size_t)info.image_size - QP_IMAGE_TRAILER_SIZE;
    fz_sha256(img, end, img + end);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_alloc_t a = {0};
    a.cap = RAM_CAP;
    run(data, size, &a);
    if (a.live != 0) {
        abort(); // a leak through the library's allocator
    }
    fz_check_code(qp_image_archive_check(data, size, NULL));
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) {
        abort();
    }
    memcpy(copy, data, size);
    if (reseal(copy, size) == 0) {
        run(copy, size, &a);
        if (a.live != 0) {
            abort();
        }
    }
    free(copy);
    return 0;
}
