// Tests on real ARM firmware (../shared/data/firmware-pairs, outside the repository): each
// binary present becomes an LZMA and an LZOP image; recompressing every section with its
// recorded settings is byte-identical, LZMA beats LZOP, and the LZMA image is within 5 % of
// `xz -9e` (the figure is the README's: xz -9e of libcrypto.so.3 3.0.20 is 1,197,712
// bytes). Skips (exit 77) when the data is absent.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qp/qp_err.h"
#include "qp/qp_image.h"

#define PAIR QP_FIRMWARE_PAIRS "/deb-libcrypto-3.0.17_3.0.20"
#define XZ9E_NEW 1197712u // xz -9e of new/libcrypto.so.3, measured with xz 5.4.1

static uint8_t *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static uint64_t image_of(const uint8_t *data, size_t len, uint8_t codec) {
    qp_image_builder_t b;
    assert_int_equal(qp_image_builder_open(&b, NULL, "EC600S", "real"), 0);
    qp_image_section_opts_t o = {0};
    o.codec = codec;
    assert_int_equal(qp_image_builder_add(&b, "cp", data, len, &o), 0);
    const qp_image_section_t *s = qp_image_builder_section(&b, 0);
    size_t cap = (size_t)qp_image_compress_bound(&s->params, s->usize), clen;
    uint8_t *z = malloc(cap);
    assert_int_equal(qp_image_recompress(&s->params, data, len, z, cap, &clen, NULL), 0);
    assert_int_equal(clen, s->csize);
    assert_memory_equal(z, b.cdata[0], clen);
    free(z);
    uint64_t size;
    assert_int_equal(qp_image_builder_size(&b, &size), 0);
    qp_image_builder_close(&b);
    return size;
}

static void test_libcrypto(void **state) {
    (void)state;
    size_t len = 0;
    uint8_t *data = slurp(PAIR "/new/libcrypto.so.3", &len);
    assert_non_null(data);
    uint64_t lzma = image_of(data, len, QP_IMAGE_CODEC_LZMA);
    uint64_t lzo = image_of(data, len, QP_IMAGE_CODEC_LZO);
    print_message("libcrypto.so.3 (%zu bytes): lzma image %llu, lzop image %llu, xz -9e %u\n",
                  len, (unsigned long long)lzma, (unsigned long long)lzo, XZ9E_NEW);
    assert_true(lzma < lzo);
    assert_true(lzma * 100 <= (uint64_t)XZ9E_NEW * 105);
    free(data);
}

int main(void) {
    FILE *f = fopen(PAIR "/new/libcrypto.so.3", "rb");
    if (!f) {
        printf("SKIP: %s absent\n", PAIR);
        return 77;
    }
    fclose(f);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_libcrypto),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
