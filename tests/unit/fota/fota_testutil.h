// fota_testutil.h - helpers shared by the tests of src/fota (fota_testutil.c).
#ifndef FOTA_TESTUTIL_H
#define FOTA_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

typedef struct img {
    uint8_t *p; // malloc'ed
    size_t len;
} img_t;

// An EC600S image of version `version`: `cp_size` bytes of pseudo firmware of release
// `variant`, a dsp section, an app section with `app_files` distinct text chunks; `extra`
// adds a section "extra". Fails the test on error.
img_t make_image(const char *version, uint32_t cp_size, uint32_t variant, int app_files,
                 int extra);

// qp_image_builder_write() callback appending to an img_t (ctx).
int img_append(void *ctx, const void *buf, size_t len);

#endif
