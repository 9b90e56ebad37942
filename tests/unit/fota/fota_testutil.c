// fota_testutil.c - what the tests of src/fota share: generated firmware images (pseudo ARM
// code from fwgen, a dsp section and an app section of Python text).
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fota_testutil.h"
#include "fwgen.h"
#include "qp/qp_err.h"
#include "qp/qp_image.h"

int img_append(void *ctx, const void *buf, size_t len) {
    img_t *m = ctx;
    uint8_t *n = realloc(m->p, m->len + len);
    if (!n) {
        return QP_ERR_NOMEM;
    }
    memcpy(n + m->len, buf, len);
    m->p = n;
    m->len += len;
    return 0;
}

img_t make_image(const char *version, uint32_t cp_size, uint32_t variant, int app_files,
                 int extra) {
    qp_image_builder_t b;
    qp_image_builder_init(&b);
    assert_int_equal(qp_image_builder_open(&b, NULL, "EC600S", version), 0);
    uint8_t *cp = malloc(cp_size);
    assert_non_null(cp);
    assert_int_equal(fwgen_make(cp, cp_size, 1, variant), cp_size);
    assert_int_equal(qp_image_builder_add(&b, "cp", cp, cp_size, NULL), 0);
    uint32_t dsp_size = cp_size / 4;
    assert_int_equal(fwgen_make(cp, dsp_size, 2, variant ? 1 : 0), dsp_size);
    assert_int_equal(qp_image_builder_add(&b, "dsp", cp, dsp_size, NULL), 0);
    char text[8192];
    size_t n = 0;
    for (int i = 0; i < app_files && n + 100 < sizeof text; i++) {
        n += (size_t)snprintf(text + n, sizeof text - n, "def f%d(x):\n    return x * %d\n", i,
                              i + 7);
    }
    qp_image_section_opts_t o = {0};
    o.bcj = QP_IMAGE_BCJ_NONE;
    assert_int_equal(qp_image_builder_add(&b, "app", text, n, &o), 0);
    if (extra) {
        assert_int_equal(fwgen_make(cp, 5000, 9, 0), 5000);
        assert_int_equal(qp_image_builder_add(&b, "extra", cp, 5000, NULL), 0);
    }
    free(cp);
    img_t m = {NULL, 0};
    assert_int_equal(qp_image_builder_write(&b, img_append, &m), 0);
    qp_image_builder_close(&b);
    return m;
}

