// Unit tests for qp_strerror: every code of qp_err.h has its own text.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "qp/qp_err.h"

static void test_known_codes_have_distinct_text(void **state) {
    (void)state;
    const int codes[] = {QP_ERR_OK, QP_ERR_IO, QP_ERR_NOENT, QP_ERR_EXIST, QP_ERR_NOTDIR,
                         QP_ERR_ISDIR, QP_ERR_NOTEMPTY, QP_ERR_BADF, QP_ERR_FBIG,
                         QP_ERR_NOSPC, QP_ERR_NOMEM, QP_ERR_INVAL, QP_ERR_NAMETOOLONG,
                         QP_ERR_ROFS, QP_ERR_AGAIN, QP_ERR_ACCES, QP_ERR_BUSY,
                         QP_ERR_CORRUPT, QP_ERR_NOTSUP, QP_ERR_RANGE, QP_ERR_PERM};
    const size_t n = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < n; i++) {
        assert_true(codes[i] <= 0);
        assert_string_not_equal(qp_strerror(codes[i]), "unknown error");
        for (size_t j = i + 1; j < n; j++) {
            assert_string_not_equal(qp_strerror(codes[i]), qp_strerror(codes[j]));
        }
    }
}

static void test_errno_names(void **state) {
    (void)state;
    assert_string_equal(qp_errname(QP_ERR_NOENT), "ENOENT");
    assert_string_equal(qp_errname(ENOENT), "ENOENT");
    assert_string_equal(qp_errname(QP_ERR_ROFS), "EROFS");
    assert_string_equal(qp_errname(QP_ERR_NOTEMPTY), "ENOTEMPTY");
    assert_null(qp_errname(-9999));
}

static void test_unknown_code(void **state) {
    (void)state;
    assert_string_equal(qp_strerror(-99999), "unknown error");
    assert_string_equal(qp_strerror(5), "unknown error");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_codes_have_distinct_text),
        cmocka_unit_test(test_errno_names),
        cmocka_unit_test(test_unknown_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
