// Allocation-failure sweep of the firmware image library's device-side paths (src/image):
// qp_image_read_header, qp_image_verify with decompression, qp_image_extract,
// qp_image_decompress, qp_image_recompress and the streaming decoder and encoder, each on
// an LZMA (with BCJ) and an LZO section, with the allocator failing at its k-th call for
// every k until the call no longer allocates that often. Each failure must be
// QP_ERR_NOMEM with nothing left allocated, and each success must give the right bytes.
// tests/unit/image/test_format.c already sweeps the builder (host side); this covers the
// paths a module runs while booting and applying FOTA.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault_alloc.h"
#include "fwgen.h"
#include "qp/qp_err.h"
#include "qp/qp_image.h"

#define FW_SIZE 40000u

typedef struct img {
    uint8_t *data;
    size_t len, cap;
} img_t;

static int img_write(void *ctx, const void *buf, size_t len) {
    img_t *m = ctx;
    if (m->len + len > m->cap) {
        m->cap = (m->len + len) * 2;
        m->data = realloc(m->data, m->cap);
        if (!m->data) {
            return QP_ERR_NOMEM;
        }
    }
    memcpy(m->data + m->len, buf, len);
    m->len += len;
    return 0;
}

static int img_read(void *ctx, uint64_t off, void *buf, size_t len) {
    const img_t *m = ctx;
    if (off > m->len || len > m->len - off) {
        return QP_ERR_CORRUPT;
    }
    memcpy(buf, m->data + off, len);
    return 0;
}

// Sink that counts the bytes and compares them with the expected section.
typedef struct sink {
    const uint8_t *want;
    size_t pos;
} sink_t;

static int sink_write(void *ctx, const void *buf, size_t len) {
    sink_t *s = ctx;
    assert_memory_equal(buf, s->want + s->pos, len);
    s->pos += len;
    return 0;
}

static uint8_t *fw;
static img_t image;
static qp_image_info_t info;

static int setup(void **state) {
    (void)state;
    fw = malloc(FW_SIZE);
    assert_non_null(fw);
    assert_int_equal(fwgen_make(fw, FW_SIZE, 7, 0), FW_SIZE);
    qp_image_builder_t b;
    qp_image_builder_init(&b);
    assert_int_equal(qp_image_builder_open(&b, NULL, "EC600S", "V01"), 0);
    qp_image_section_opts_t o = {0};
    o.codec = QP_IMAGE_CODEC_LZMA;
    o.level = 6;
    assert_int_equal(qp_image_builder_add(&b, "cp", fw, FW_SIZE, &o), 0);
    o.codec = QP_IMAGE_CODEC_LZO;
    o.lzo_block = 8192;
    assert_int_equal(qp_image_builder_add(&b, "dsp", fw, FW_SIZE / 2, &o), 0);
    memset(&image, 0, sizeof image);
    assert_int_equal(qp_image_builder_write(&b, img_write, &image), 0);
    qp_image_builder_close(&b);
    assert_int_equal(qp_image_read_header(&info, img_read, &image, image.len, NULL, NULL), 0);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    free(fw);
    free(image.data);
    return 0;
}

// One operation under test: returns its result; `a` is the allocator to use.
typedef int (*op_fn)(const qp_image_config_t *cfg, uint32_t section);

static int op_read_header(const qp_image_config_t *cfg, uint32_t s) {
    (void)s;
    qp_image_info_t i;
    return qp_image_read_header(&i, img_read, &image, image.len, cfg, NULL);
}

static int op_verify(const qp_image_config_t *cfg, uint32_t s) {
    (void)s;
    return qp_image_verify(&info, img_read, &image, 1, cfg, NULL);
}

static int op_extract(const qp_image_config_t *cfg, uint32_t s) {
    sink_t k = {fw, 0};
    int err = qp_image_extract(&info, s, img_read, &image, sink_write, &k, 3000, cfg, NULL);
    if (err == 0) {
        assert_int_equal(k.pos, info.sections[s].usize);
    }
    return err;
}

static int op_decompress(const qp_image_config_t *cfg, uint32_t s) {
    const qp_image_section_t *sec = &info.sections[s];
    uint8_t *out = malloc((size_t)sec->usize);
    assert_non_null(out);
    int err = qp_image_decompress(sec, image.data + sec->offset, (size_t)sec->csize, out,
                                  (size_t)sec->usize, cfg);
    if (err == 0) {
        assert_memory_equal(out, fw, (size_t)sec->usize);
    }
    free(out);
    return err;
}

static int op_recompress(const qp_image_config_t *cfg, uint32_t s) {
    const qp_image_section_t *sec = &info.sections[s];
    size_t cap = (size_t)qp_image_compress_bound(&sec->params, sec->usize);
    uint8_t *out = malloc(cap);
    assert_non_null(out);
    size_t n = 0;
    int err = qp_image_recompress(&sec->params, fw, (size_t)sec->usize, out, cap, &n, cfg);
    if (err == 0) {
        assert_int_equal(n, sec->csize);
        assert_memory_equal(out, image.data + sec->offset, n);
    }
    free(out);
    return err;
}

// The streaming encoder, fed in pieces as the FOTA layer does.
static int op_encoder(const qp_image_config_t *cfg, uint32_t s) {
    const qp_image_section_t *sec = &info.sections[s];
    qp_image_stream_t st;
    qp_image_stream_init(&st);
    int err = qp_image_encoder_open(&st, &sec->params, sec->usize, cfg);
    uint8_t out[2048];
    size_t in_pos = 0, out_pos = 0;
    while (err == 0) {
        const uint8_t *in = fw + in_pos;
        size_t in_len = (size_t)sec->usize - in_pos < 1500 ? (size_t)sec->usize - in_pos : 1500;
        size_t in_len0 = in_len;
        uint8_t *o = out;
        size_t olen = sizeof out;
        err = qp_image_stream_run(&st, &in, &in_len, &o, &olen);
        in_pos += in_len0 - in_len;
        if (err >= 0) {
            assert_memory_equal(out, image.data + sec->offset + out_pos, sizeof out - olen);
            out_pos += sizeof out - olen;
        }
    }
    if (err == 1) {
        assert_int_equal(out_pos, sec->csize);
        err = 0;
    }
    qp_image_stream_close(&st);
    return err;
}

static void sweep(const char *name, op_fn op, uint32_t section) {
    unsigned k;
    for (k = 1; k < FAULT_K_MAX; k++) {
        fault_alloc_t a;
        fault_alloc_arm(&a, k);
        qp_image_config_t cfg = {0};
        cfg.alloc = fault_alloc;
        cfg.free = fault_free;
        cfg.alloc_ctx = &a;
        int err = op(&cfg, section);
        assert_int_equal(a.live, 0);
        if (!a.failed) {
            assert_int_equal(err, 0);
            break;
        }
        if (err != QP_ERR_NOMEM) {
            fail_msg("%s section %u, allocation %u failing: got %d (%s), want NOMEM", name,
                     section, k, err, qp_strerror(err));
        }
    }
    assert_true(k < FAULT_K_MAX);
    printf("# image %s section %u: %u allocation points swept\n", name, section, k - 1);
}

static void test_read_verify(void **state) {
    (void)state;
    sweep("read_header", op_read_header, 0);
    sweep("verify", op_verify, 0);
}

static void test_codecs(void **state) {
    (void)state;
    for (uint32_t s = 0; s < info.section_count; s++) {
        sweep("extract", op_extract, s);
        sweep("decompress", op_decompress, s);
        sweep("recompress", op_recompress, s);
        sweep("encoder", op_encoder, s);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_verify),
        cmocka_unit_test(test_codecs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
