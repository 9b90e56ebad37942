// Unit tests for the app archive (SPEC-image §5): build and iterate, path rules, order,
// and every truncation or lying length detected.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "qp/qp_err.h"
#include "qp/qp_image.h"

static qp_image_archive_entry_t entry(const char *path, const char *text) {
    qp_image_archive_entry_t e;
    e.path = path;
    e.path_len = (uint32_t)strlen(path);
    e.data = (const uint8_t *)text;
    e.size = (uint32_t)strlen(text);
    return e;
}

static uint8_t *build(const qp_image_archive_entry_t *e, uint32_t n, size_t *len) {
    assert_int_equal(qp_image_archive_build(e, n, NULL, 0, len), 0);
    uint8_t *buf = malloc(*len);
    assert_int_equal(qp_image_archive_build(e, n, buf, *len, len), 0);
    return buf;
}

static void test_round_trip(void **state) {
    (void)state;
    qp_image_archive_entry_t e[] = {entry("a.py", "x = 1\n"), entry("a/b.py", ""),
                                    entry("ab.py", "print('ab')\n"),
                                    entry("lib/Z-z_9.py", "#\n")};
    size_t len;
    uint8_t *buf = build(e, 4, &len);
    uint32_t n;
    assert_int_equal(qp_image_archive_check(buf, len, &n), 0);
    assert_int_equal(n, 4);
    size_t pos = 0;
    qp_image_archive_entry_t got;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(qp_image_archive_next(buf, len, &pos, &got), 1);
        assert_int_equal(got.path_len, e[i].path_len);
        assert_memory_equal(got.path, e[i].path, got.path_len);
        assert_int_equal(got.size, e[i].size);
        if (got.size) {
            assert_memory_equal(got.data, e[i].data, got.size);
        }
    }
    assert_int_equal(qp_image_archive_next(buf, len, &pos, &got), 0);
    size_t small;
    assert_int_equal(qp_image_archive_build(e, 4, buf, len - 1, &small), QP_ERR_NOSPC);
    free(buf);
    // The empty archive is valid.
    buf = build(NULL, 0, &len);
    assert_int_equal(len, 16);
    assert_int_equal(qp_image_archive_check(buf, len, &n), 0);
    assert_int_equal(n, 0);
    free(buf);
}

static void test_paths(void **state) {
    (void)state;
    static const char *good[] = {"a", "a.py", "A/b/c.py", "x-y_z.9", "..a", "a/.b"};
    static const char *bad[] = {"", "/a", "a/", "a//b", ".", "..", "a/./b", "a/../b",
                                "a b", "a\\b", "\xc3\xa9.py"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_true(qp_image_archive_path_valid(good[i], strlen(good[i])));
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_false(qp_image_archive_path_valid(bad[i], strlen(bad[i])));
    }
    char longp[300];
    memset(longp, 'a', sizeof longp);
    assert_true(qp_image_archive_path_valid(longp, QP_IMAGE_ARCHIVE_PATH_MAX));
    assert_false(qp_image_archive_path_valid(longp, QP_IMAGE_ARCHIVE_PATH_MAX + 1));
    // Order: strictly increasing, no duplicates.
    qp_image_archive_entry_t e[] = {entry("b.py", ""), entry("a.py", "")};
    size_t len;
    assert_int_equal(qp_image_archive_build(e, 2, NULL, 0, &len), QP_ERR_INVAL);
    e[1] = entry("b.py", "");
    assert_int_equal(qp_image_archive_build(e, 2, NULL, 0, &len), QP_ERR_INVAL);
    e[0] = entry("bad path", "");
    assert_int_equal(qp_image_archive_build(e, 1, NULL, 0, &len), QP_ERR_INVAL);
}

static void test_damage(void **state) {
    (void)state;
    qp_image_archive_entry_t e[] = {entry("a.py", "x = 1\n"), entry("b.py", "y = 2\n")};
    size_t len;
    uint8_t *buf = build(e, 2, &len);
    for (size_t n = 0; n < len; n++) {
        assert_int_equal(qp_image_archive_check(buf, n, NULL), QP_ERR_CORRUPT);
    }
    // Trailing bytes, a lying count, lying lengths, a reserved field, out of order.
    uint8_t *big = calloc(1, len + 1);
    memcpy(big, buf, len);
    assert_int_equal(qp_image_archive_check(big, len + 1, NULL), QP_ERR_CORRUPT);
    free(big);
    static const struct {
        size_t off;
        uint8_t value;
    } pokes[] = {{0, 'X'}, {4, 2}, {8, 3}, {8, 1}, {12, 1}, {16, 200}, {18, 1},
                 {20, 0xFF}, {23, 0x80}, {24, '/'}, {16 + 8 + 4 + 6 + 8, 'a'}};
    for (size_t i = 0; i < sizeof pokes / sizeof pokes[0]; i++) {
        uint8_t save = buf[pokes[i].off];
        buf[pokes[i].off] = pokes[i].value;
        assert_int_equal(qp_image_archive_check(buf, len, NULL), QP_ERR_CORRUPT);
        buf[pokes[i].off] = save;
    }
    assert_int_equal(qp_image_archive_check(buf, len, NULL), 0);
    size_t pos = len + 1;
    qp_image_archive_entry_t got;
    assert_int_equal(qp_image_archive_next(buf, len, &pos, &got), QP_ERR_CORRUPT);
    free(buf);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_damage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
