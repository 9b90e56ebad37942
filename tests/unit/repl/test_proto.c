// test_proto.c - unit tests of the REPL protocol state machine (src/repl/qp_repl_proto.c):
// the exact bytes a MicroPython board answers in friendly, paste, raw and raw-paste mode,
// the raw-paste flow-control window, and error paths (write failure, oversized code).
#include "qp/qp_err.h"
#include "qp/qp_repl_proto.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

typedef struct {
    uint8_t data[8192];
    size_t len;
    int fail; // write returns this when non-zero
} sink_t;

static int sink_write(void *ctx, const uint8_t *data, size_t len) {
    sink_t *s = ctx;
    if (s->fail) {
        return s->fail;
    }
    assert_true(s->len + len <= sizeof s->data);
    memcpy(s->data + s->len, data, len);
    s->len += len;
    return 0;
}

typedef struct {
    qp_repl_proto_t p;
    sink_t out;
} fixture_t;

static fixture_t *make(uint16_t window) {
    static fixture_t f;
    qp_repl_proto_deinit(&f.p); // the previous test's
    memset(&f, 0, sizeof f);
    qp_repl_proto_config_t cfg = {.write = sink_write, .write_ctx = &f.out, .window = window};
    qp_repl_proto_init(&f.p, &cfg);
    return &f;
}

// Feeds a whole string, expecting every byte consumed and the given final event.
static void feed_all(fixture_t *f, const char *in, size_t n, int want_ev) {
    size_t used = 0;
    int ev = qp_repl_proto_feed(&f->p, (const uint8_t *)in, n, &used);
    assert_int_equal(ev, want_ev);
    assert_int_equal(used, n);
}

static void expect_out(fixture_t *f, const char *want, size_t n) {
    if (f->out.len != n || memcmp(f->out.data, want, n) != 0) {
        print_error("output: %zu bytes '%.*s', expected %zu bytes '%.*s'\n", f->out.len,
                    (int)f->out.len, (const char *)f->out.data, n, (int)n, want);
        fail();
    }
    f->out.len = 0;
}

#define FEED(f, lit, ev) feed_all(f, lit, sizeof lit - 1, ev)
#define EXPECT(f, lit) expect_out(f, lit, sizeof lit - 1)

static void expect_code(fixture_t *f, const char *want) {
    size_t n;
    const uint8_t *code = qp_repl_proto_code(&f->p, &n);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(code, want, n);
}

static void test_friendly_line(void **state) {
    (void)state;
    fixture_t *f = make(0);
    assert_int_equal(qp_repl_proto_start(&f->p, 0), 0);
    EXPECT(f, ">>> ");
    FEED(f, "1+1\r", QP_REPL_EV_LINE);
    EXPECT(f, "1+1\r\n");
    expect_code(f, "1+1");
    assert_int_equal(qp_repl_proto_exec_line(&f->p), 0);
    assert_int_equal(f->p.mode, QP_REPL_MODE_EXEC);
    assert_int_equal(f->p.exec_kind, QP_REPL_EXEC_SINGLE);
    assert_int_equal(qp_repl_proto_exec_output_end(&f->p), 0);
    assert_int_equal(qp_repl_proto_exec_done(&f->p), 0);
    EXPECT(f, ">>> ");
    // "\r\n" is one Enter; an empty line gives a new prompt and no event.
    FEED(f, "\r\n", QP_REPL_EV_NONE);
    EXPECT(f, "\r\n>>> ");
}

static void test_feed_stops_at_event(void **state) {
    (void)state;
    fixture_t *f = make(0);
    qp_repl_proto_start(&f->p, 0);
    size_t used;
    const char in[] = "x\rmore";
    assert_int_equal(qp_repl_proto_feed(&f->p, (const uint8_t *)in, 6, &used), QP_REPL_EV_LINE);
    assert_int_equal(used, 2);
    qp_repl_proto_exec_line(&f->p);
    // While code runs, the input belongs to it: nothing is consumed.
    assert_int_equal(qp_repl_proto_feed(&f->p, (const uint8_t *)"more", 4, &used), 0);
    assert_int_equal(used, 0);
}

static void test_continuation_auto_indent(void **state) {
    (void)state;
    fixture_t *f = make(0);
    qp_repl_proto_start(&f->p, 0);
    f->out.len = 0;
    FEED(f, "for i in x:\r", QP_REPL_EV_LINE);
    assert_int_equal(qp_repl_proto_continue(&f->p), 0);
    EXPECT(f, "for i in x:\r\n...     ");
    FEED(f, "if i:\r", QP_REPL_EV_LINE);
    qp_repl_proto_continue(&f->p);
    EXPECT(f, "if i:\r\n...         ");
    FEED(f, "print(i)\r", QP_REPL_EV_LINE);
    qp_repl_proto_continue(&f->p);
    EXPECT(f, "print(i)\r\n...         ");
    // Backspace after an auto-indent removes a whole level.
    FEED(f, "\x7f", QP_REPL_EV_NONE);
    EXPECT(f, "\b\b\b\b\x1b[K");
    FEED(f, "\r", QP_REPL_EV_LINE);
    expect_code(f, "for i in x:\n    if i:\n        print(i)\n    ");
    qp_repl_proto_continue(&f->p);
    EXPECT(f, "\r\n...     ");
    // After two blank lines, no auto-indent.
    FEED(f, "\x7f\r", QP_REPL_EV_LINE);
    f->out.len = 0;
    qp_repl_proto_continue(&f->p);
    EXPECT(f, "... ");
}

static void test_ctrl_c_cancels(void **state) {
    (void)state;
    fixture_t *f = make(0);
    qp_repl_proto_start(&f->p, 0);
    f->out.len = 0;
    FEED(f, "abc\x03", QP_REPL_EV_NONE);
    EXPECT(f, "abc\r\n>>> ");
    FEED(f, "if 1:\r", QP_REPL_EV_LINE);
    qp_repl_proto_continue(&f->p);
    f->out.len = 0;
    FEED(f, "\x03", QP_REPL_EV_NONE);
    EXPECT(f, "\r\n>>> ");
    assert_int_equal(f->p.continuing, 0);
    assert_int_equal(f->p.len, 0);
}

static void test_ctrl_d_ends_block_and_soft_resets(void **state) {
    (void)state;
    fixture_t *f = make(0);
    qp_repl_proto_start(&f->p, 0);
    f->out.len = 0;
    FEED(f, "while 0:\r", QP_REPL_EV_LINE);
    qp_repl_proto_continue(&f->p);
    FEED(f, "\x7f", QP_REPL_EV_NONE);
    FEED(f, "\x04", QP_REPL_EV_EXEC);
    assert_int_equal(f->p.exec_kind, QP_REPL_EXEC_SINGLE);
    qp_repl_proto_exec_done(&f->p);
    f->out.len = 0;
    // Ctrl-D inside a line does nothing; on an empty prompt it is a soft reset.
    FEED(f, "a\x04", QP_REPL_EV_NONE);
    FEED(f, "\x03", QP_REPL_EV_NONE);
    f->out.len = 0;
    FEED(f, "\x04", QP_REPL_EV_SOFT_RESET);
    EXPECT(f, "\r\n");
}

static void test_paste_mode(void **state) {
    (void)state;
    fixture_t *f = make(0);
    qp_repl_proto_start(&f->p, 0);
    f->out.len = 0;
    FEED(f, "\x05", QP_REPL_EV_NONE);
    EXPECT(f, "\r\npaste mode; Ctrl-C to cancel, Ctrl-D to finish\r\n=== ");
    FEED(f, "if 1:\r    print(1)\r", QP_REPL_EV_NONE);
    EXPECT(f, "if 1:\r\n===     print(1)\r\n=== ");
    FEED(f, "\x04", QP_REPL_EV_EXEC);
    EXPECT(f, "\r\n");
    expect_code(f, "if 1:\r    print(1)\r");
    assert_int_equal(f->p.exec_kind, QP_REPL_EXEC_FILE);
    qp_repl_proto_exec_output_end(&f->p);
    qp_repl_proto_exec_done(&f->p);
    EXPECT(f, ">>> ");
    FEED(f, "\x05x\x03", QP_REPL_EV_NONE);
    f->out.len = 0;
    assert_int_equal(f->p.mode, QP_REPL_MODE_FRIENDLY);
}

// The example of MicroPython's docs/reference/repl.rst, byte for byte (window 128).
static void test_raw_and_raw_paste_doc_example(void **state) {
    (void)state;
    fixture_t *f = make(128);
    qp_repl_proto_start(&f->p, 0);
    f->out.len = 0;
    FEED(f, "\x01", QP_REPL_EV_NONE);
    EXPECT(f, "\r\nraw REPL; CTRL-B to exit\r\n>");
    FEED(f, "\x05" "A\x01", QP_REPL_EV_NONE);
    EXPECT(f, "R\x01\x80\x00\x01");
    FEED(f, "print(123)\x04", QP_REPL_EV_EXEC);
    EXPECT(f, "\x04");
    expect_code(f, "print(123)");
    // The user prints "123\r\n" here.
    qp_repl_proto_exec_output_end(&f->p);
    qp_repl_proto_exec_done(&f->p);
    EXPECT(f, "\x04\x04>");
    assert_int_equal(f->p.mode, QP_REPL_MODE_RAW);
}

static void test_raw_mode(void **state) {
    (void)state;
    fixture_t *f = make(0);
    qp_repl_proto_start(&f->p, 1);
    EXPECT(f, "raw REPL; CTRL-B to exit\r\n>");
    // Binary-safe: every byte but the control characters goes into the code.
    FEED(f, "a\r\n\xff" "\x00" "b", QP_REPL_EV_NONE);
    EXPECT(f, "");
    FEED(f, "\x03", QP_REPL_EV_NONE); // clears the code
    FEED(f, "x=1\x04", QP_REPL_EV_EXEC);
    EXPECT(f, "OK");
    expect_code(f, "x=1");
    qp_repl_proto_exec_output_end(&f->p);
    qp_repl_proto_exec_done(&f->p);
    EXPECT(f, "\x04\x04>");
    FEED(f, "\x04", QP_REPL_EV_SOFT_RESET);
    EXPECT(f, "OK\r\n");
    qp_repl_proto_start(&f->p, 1);
    EXPECT(f, "raw REPL; CTRL-B to exit\r\n>");
    FEED(f, "junk\x01", QP_REPL_EV_NONE);
    EXPECT(f, "raw REPL; CTRL-B to exit\r\n>");
    FEED(f, "\x02", QP_REPL_EV_BANNER);
    EXPECT(f, "\r\n");
    qp_repl_proto_prompt(&f->p);
    EXPECT(f, ">>> ");
}

static void test_raw_paste_window(void **state) {
    (void)state;
    fixture_t *f = make(8);
    qp_repl_proto_start(&f->p, 1);
    f->out.len = 0;
    FEED(f, "\x05" "A\x01", QP_REPL_EV_NONE);
    EXPECT(f, "R\x01\x08\x00\x01");
    // A grant ("\x01") each time 8 more bytes have been consumed, whatever the chunking.
    FEED(f, "1234567", QP_REPL_EV_NONE);
    EXPECT(f, "");
    FEED(f, "8", QP_REPL_EV_NONE);
    EXPECT(f, "\x01");
    FEED(f, "abcdefghijklmnopqrs", QP_REPL_EV_NONE); // 19 bytes: two more windows
    EXPECT(f, "\x01\x01");
    FEED(f, "\x04", QP_REPL_EV_EXEC);
    EXPECT(f, "\x04");
    expect_code(f, "12345678abcdefghijklmnopqrs");
}

static void test_raw_paste_interrupt_and_unknown(void **state) {
    (void)state;
    fixture_t *f = make(0);
    qp_repl_proto_start(&f->p, 1);
    f->out.len = 0;
    FEED(f, "\x05" "B\x01", QP_REPL_EV_NONE);
    EXPECT(f, "R\x00>");
    FEED(f, "\x05" "A\x01", QP_REPL_EV_NONE);
    f->out.len = 0;
    FEED(f, "while 1:\x03", QP_REPL_EV_INTERRUPTED);
    EXPECT(f, "\x04");
    assert_int_equal(f->p.mode, QP_REPL_MODE_EXEC);
    qp_repl_proto_exec_output_end(&f->p);
    qp_repl_proto_exec_done(&f->p);
    EXPECT(f, "\x04\x04>");
}

static void test_friendly_mode_switches(void **state) {
    (void)state;
    fixture_t *f = make(0);
    qp_repl_proto_start(&f->p, 0);
    f->out.len = 0;
    FEED(f, "\x02", QP_REPL_EV_BANNER);
    EXPECT(f, "\r\n");
    // Escape sequences (arrow keys) are swallowed.
    FEED(f, "\x1b[A\x1bOBz", QP_REPL_EV_NONE);
    EXPECT(f, "z");
    // A control character with text on the line does not switch modes.
    FEED(f, "\x01\x05", QP_REPL_EV_NONE);
    assert_int_equal(f->p.mode, QP_REPL_MODE_FRIENDLY);
    EXPECT(f, "");
}

static void test_overflow_and_write_error(void **state) {
    (void)state;
    fixture_t *f = make(0);
    f->p.cfg.max_code = 4;
    qp_repl_proto_start(&f->p, 1);
    FEED(f, "123456\x04", QP_REPL_EV_EXEC);
    assert_true(qp_repl_proto_overflowed(&f->p));
    qp_repl_proto_exec_done(&f->p);
    assert_false(qp_repl_proto_overflowed(&f->p));
    f->out.fail = QP_ERR_IO;
    size_t used;
    assert_int_equal(qp_repl_proto_feed(&f->p, (const uint8_t *)"\x04", 1, &used), QP_ERR_IO);
    assert_int_equal(qp_repl_proto_start(&f->p, 0), QP_ERR_IO);
    qp_repl_proto_deinit(&f->p);
    qp_repl_proto_deinit(&f->p); // twice is safe
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_friendly_line),
        cmocka_unit_test(test_feed_stops_at_event),
        cmocka_unit_test(test_continuation_auto_indent),
        cmocka_unit_test(test_ctrl_c_cancels),
        cmocka_unit_test(test_ctrl_d_ends_block_and_soft_resets),
        cmocka_unit_test(test_paste_mode),
        cmocka_unit_test(test_raw_and_raw_paste_doc_example),
        cmocka_unit_test(test_raw_mode),
        cmocka_unit_test(test_raw_paste_window),
        cmocka_unit_test(test_raw_paste_interrupt_and_unknown),
        cmocka_unit_test(test_friendly_mode_switches),
        cmocka_unit_test(test_overflow_and_write_error),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    qp_repl_proto_deinit(&make(0)->p);
    return failed;
}
