// Unit tests for production bundles (qp_bundle.h, docs/SPEC-bundle.md): CRC-32 against its
// check value, layout and alignment, encode/parse round trip, and every way a damaged or
// foreign header is refused; qp_bundle_check_part's firmware and unknown-partition paths.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "qp/qp_bundle.h"
#include "qp/qp_err.h"
#include "qp/qp_image.h"

static void test_crc32(void **state) {
    (void)state;
    // The CRC-32/ISO-HDLC check value, as zlib's crc32("123456789").
    assert_int_equal(qp_bundle_crc32(0, "123456789", 9), 0xcbf43926u);
    // Incremental equals one shot.
    uint32_t c = qp_bundle_crc32(0, "1234", 4);
    assert_int_equal(qp_bundle_crc32(c, "56789", 5), 0xcbf43926u);
    assert_int_equal(qp_bundle_crc32(0, "", 0), 0);
}

static void three(qp_bundle_info_t *info) {
    memset(info, 0, sizeof *info);
    const char *names[] = {"firmware", "customer_fs", "customer_backup_fs"};
    uint32_t sizes[] = {5000, 8192, 4096};
    for (int i = 0; i < 3; i++) {
        strcpy(info->entries[i].partition, names[i]);
        info->entries[i].size = sizes[i];
        info->entries[i].crc32 = 0x1000u + (uint32_t)i;
    }
    info->count = 3;
}

static void test_layout(void **state) {
    (void)state;
    qp_bundle_info_t info;
    three(&info);
    uint64_t total = 0;
    assert_int_equal(qp_bundle_layout(&info, &total), 0);
    // Images start on 4096-byte boundaries after the header and table.
    assert_int_equal(info.entries[0].offset, 4096);
    assert_int_equal(info.entries[1].offset, 12288);
    assert_int_equal(info.entries[2].offset, 20480);
    assert_int_equal(total, 24576);
    assert_int_equal(qp_bundle_header_size(3), 64 + 3 * 48);
}

static void test_layout_refuses(void **state) {
    (void)state;
    qp_bundle_info_t info;
    uint64_t total;
    three(&info);
    strcpy(info.entries[2].partition, "firmware"); // repeated
    assert_int_equal(qp_bundle_layout(&info, &total), QP_ERR_INVAL);
    three(&info);
    info.entries[1].partition[0] = '\0'; // empty
    assert_int_equal(qp_bundle_layout(&info, &total), QP_ERR_INVAL);
    three(&info);
    info.count = 0;
    assert_int_equal(qp_bundle_layout(&info, &total), QP_ERR_INVAL);
    three(&info);
    info.count = QP_BUNDLE_MAX_ENTRIES + 1;
    assert_int_equal(qp_bundle_layout(&info, &total), QP_ERR_INVAL);
    three(&info);
    info.entries[0].size = UINT32_MAX - 100;
    assert_int_equal(qp_bundle_layout(&info, &total), QP_ERR_FBIG);
}

static uint8_t *encoded(qp_bundle_info_t *info, uint64_t *total) {
    three(info);
    assert_int_equal(qp_bundle_layout(info, total), 0);
    uint8_t *buf = calloc(1, *total);
    assert_non_null(buf);
    assert_int_equal(qp_bundle_encode(info, buf, *total), 0);
    return buf;
}

static void test_round_trip(void **state) {
    (void)state;
    qp_bundle_info_t info, back;
    uint64_t total;
    uint8_t *buf = encoded(&info, &total);
    assert_memory_equal(buf, QP_BUNDLE_MAGIC, 8);
    assert_true(qp_bundle_is_bundle(buf, total));
    assert_int_equal(qp_bundle_parse(&back, buf, total, total), 0);
    assert_int_equal(back.count, 3);
    assert_int_equal(back.version_major, QP_BUNDLE_VERSION_MAJOR);
    for (int i = 0; i < 3; i++) {
        assert_string_equal(back.entries[i].partition, info.entries[i].partition);
        assert_int_equal(back.entries[i].offset, info.entries[i].offset);
        assert_int_equal(back.entries[i].size, info.entries[i].size);
        assert_int_equal(back.entries[i].crc32, info.entries[i].crc32);
    }
    assert_non_null(qp_bundle_find(&back, "customer_fs"));
    assert_null(qp_bundle_find(&back, "fota_pkg"));
    // Only the header and table are needed to parse.
    assert_int_equal(qp_bundle_parse(&back, buf, qp_bundle_header_size(3), total), 0);
    free(buf);
}

static void test_parse_refuses(void **state) {
    (void)state;
    qp_bundle_info_t info, back;
    uint64_t total;
    uint8_t *buf = encoded(&info, &total);
    // Too short, truncated file, wrong magic.
    assert_int_equal(qp_bundle_parse(&back, buf, 10, total), QP_ERR_CORRUPT);
    assert_int_equal(qp_bundle_parse(&back, buf, total, total - 1), QP_ERR_CORRUPT);
    assert_int_equal(qp_bundle_parse(&back, buf, total, 20000), QP_ERR_CORRUPT);
    buf[0] ^= 1;
    assert_false(qp_bundle_is_bundle(buf, total));
    assert_int_equal(qp_bundle_parse(&back, buf, total, total), QP_ERR_CORRUPT);
    buf[0] ^= 1;
    // Any flipped bit in header or table fails the CRC (or an earlier check).
    for (size_t bit = 8 * 8; bit < qp_bundle_header_size(3) * 8; bit++) {
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_int_not_equal(qp_bundle_parse(&back, buf, total, total), 0);
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    // Another major version is not guessed at.
    buf[8] = 2;
    assert_int_equal(qp_bundle_parse(&back, buf, total, total), QP_ERR_NOTSUP);
    free(buf);
}

typedef struct {
    uint8_t *data;
    size_t len;
} sink_t;

static int sink_write(void *ctx, const void *buf, size_t len) {
    sink_t *s = ctx;
    uint8_t *more = realloc(s->data, s->len + len);
    if (!more) {
        return QP_ERR_NOMEM;
    }
    memcpy(more + s->len, buf, len);
    s->data = more;
    s->len += len;
    return 0;
}

static void test_check_part_firmware(void **state) {
    (void)state;
    qp_image_builder_t b;
    qp_image_builder_init(&b);
    assert_int_equal(qp_image_builder_open(&b, NULL, "EC600S", "TEST_FW_1"), 0);
    static uint8_t code[20000];
    for (size_t i = 0; i < sizeof code; i++) {
        code[i] = (uint8_t)(i * 7 + (i >> 5));
    }
    assert_int_equal(qp_image_builder_add(&b, "cp", code, sizeof code, NULL), 0);
    sink_t noapp = {0};
    assert_int_equal(qp_image_builder_write(&b, sink_write, &noapp), 0);
    // The module boots its Python from the app section: an image without one is refused.
    const char *why = NULL;
    assert_int_equal(qp_bundle_check_part("firmware", noapp.data, noapp.len, &why),
                     QP_ERR_CORRUPT);
    assert_non_null(why);
    free(noapp.data);
    assert_int_equal(qp_image_builder_add(&b, "app", code, 1000, NULL), 0);
    sink_t s = {0};
    assert_int_equal(qp_image_builder_write(&b, sink_write, &s), 0);
    qp_image_builder_close(&b);

    why = NULL;
    assert_int_equal(qp_bundle_check_part("firmware", s.data, s.len, &why), 0);
    // Trailing bytes, a flipped byte, a truncation: refused with a reason.
    uint8_t *longer = calloc(1, s.len + 16);
    memcpy(longer, s.data, s.len);
    assert_int_equal(qp_bundle_check_part("firmware", longer, s.len + 16, &why),
                     QP_ERR_CORRUPT);
    assert_non_null(why);
    free(longer);
    s.data[s.len / 2] ^= 0x40;
    why = NULL;
    assert_int_equal(qp_bundle_check_part("firmware", s.data, s.len, &why), QP_ERR_CORRUPT);
    assert_non_null(why);
    s.data[s.len / 2] ^= 0x40;
    assert_int_not_equal(qp_bundle_check_part("firmware", s.data, s.len - 1, &why), 0);
    // A firmware image is not a file system, and the reverse.
    assert_int_not_equal(qp_bundle_check_part("customer_fs", s.data, s.len, &why), 0);
    assert_int_equal(qp_bundle_check_part("fota_pkg", s.data, s.len, &why), QP_ERR_NOTSUP);
    free(s.data);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32),
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_layout_refuses),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_parse_refuses),
        cmocka_unit_test(test_check_part_firmware),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
