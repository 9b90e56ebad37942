// test_link.c - unit tests of the host side of the raw REPL (tools/qpy/qpy_link.c) on a
// pseudo-terminal pair: the link holds the slave, as it would a module's port, and a
// thread plays the module on the master with the module's own protocol machine
// (src/repl/qp_repl_proto.c), "running" code by echoing it back. Covers entering the raw
// REPL with a soft reset, raw-paste under a small flow-control window, error text, a
// module that does not answer (timeout) and a port that goes away.
#include "qp/qp_err.h"
#include "qp/qp_repl_proto.h"
#include "qpy_link.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

typedef struct {
    int master;
    int silent;          // never answer
    volatile int stop;
    qp_repl_proto_t proto;
    uint8_t *last_code;  // the last code "run"
    size_t last_len;
    pthread_t thread;
} fake_module;

static int master_write(void *ctx, const uint8_t *data, size_t len) {
    fake_module *m = ctx;
    while (len) {
        ssize_t n = write(m->master, data, len);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                struct pollfd p = {.fd = m->master, .events = POLLOUT};
                poll(&p, 1, 100);
                continue;
            }
            return QP_ERR_IO;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

static void run_code(fake_module *m) {
    size_t n;
    const uint8_t *code = qp_repl_proto_code(&m->proto, &n);
    free(m->last_code);
    m->last_code = malloc(n + 1);
    memcpy(m->last_code, code, n);
    m->last_len = n;
    // Output: how many bytes arrived; error text when the code starts with "raise".
    char out[64];
    int k = snprintf(out, sizeof out, "got %zu\r\n", n);
    master_write(m, (const uint8_t *)out, (size_t)k);
    qp_repl_proto_exec_output_end(&m->proto);
    if (n >= 5 && memcmp(code, "raise", 5) == 0) {
        master_write(m, (const uint8_t *)"Traceback\r\nValueError\r\n", 23);
    }
    qp_repl_proto_exec_done(&m->proto);
}

static void *module_main(void *arg) {
    fake_module *m = arg;
    uint8_t buf[4096];
    size_t have = 0;
    while (!m->stop) {
        struct pollfd p = {.fd = m->master, .events = POLLIN};
        if (poll(&p, 1, 20) <= 0) {
            continue;
        }
        ssize_t n = read(m->master, buf + have, sizeof buf - have);
        if (n <= 0 || m->silent) {
            continue;
        }
        have += (size_t)n;
        size_t off = 0;
        while (off < have) {
            size_t used;
            int ev = qp_repl_proto_feed(&m->proto, buf + off, have - off, &used);
            off += used;
            if (ev == QP_REPL_EV_EXEC) {
                run_code(m);
            } else if (ev == QP_REPL_EV_SOFT_RESET) {
                master_write(m, (const uint8_t *)"MPY: soft reboot\r\n", 18);
                qp_repl_proto_start(&m->proto, m->proto.mode == QP_REPL_MODE_RAW);
            } else if (ev == QP_REPL_EV_LINE) {
                qp_repl_proto_exec_line(&m->proto);
                qp_repl_proto_exec_done(&m->proto);
            } else if (ev == QP_REPL_EV_BANNER) {
                qp_repl_proto_prompt(&m->proto);
            }
        }
        have = 0;
    }
    return NULL;
}

typedef struct {
    fake_module m;
    qpy_link_t link;
} fixture_t;

static int setup(void **state) {
    fixture_t *f = calloc(1, sizeof *f);
    f->m.master = posix_openpt(O_RDWR | O_NOCTTY);
    assert_true(f->m.master >= 0);
    assert_int_equal(grantpt(f->m.master), 0);
    assert_int_equal(unlockpt(f->m.master), 0);
    int slave = open(ptsname(f->m.master), O_RDWR | O_NOCTTY);
    assert_true(slave >= 0);
    qpy_link_adopt(&f->link, slave);
    f->link.timeout_ms = 2000;
    qp_repl_proto_config_t cfg = {.write = master_write, .write_ctx = &f->m, .window = 64};
    qp_repl_proto_init(&f->m.proto, &cfg);
    qp_repl_proto_start(&f->m.proto, 0);
    assert_int_equal(pthread_create(&f->m.thread, NULL, module_main, &f->m), 0);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture_t *f = *state;
    f->m.stop = 1;
    pthread_join(f->m.thread, NULL);
    qpy_link_close(&f->link);
    if (f->m.master >= 0) {
        close(f->m.master);
    }
    qp_repl_proto_deinit(&f->m.proto);
    free(f->m.last_code);
    free(f);
    return 0;
}

typedef struct {
    char data[256];
    size_t len;
} text_t;

static int text_sink(void *ctx, const uint8_t *data, size_t len) {
    text_t *t = ctx;
    assert_true(t->len + len < sizeof t->data);
    memcpy(t->data + t->len, data, len);
    t->len += len;
    return 0;
}

static void test_exec_raw_paste_small_window(void **state) {
    fixture_t *f = *state;
    assert_int_equal(qpy_link_enter_raw(&f->link, 1), 0);
    assert_true(f->link.raw);
    // 100 KB through a 64-byte window: about 1600 grants, every byte in order, binary.
    size_t n = 100 * 1024;
    uint8_t *code = malloc(n);
    for (size_t i = 0; i < n; i++) {
        code[i] = (uint8_t)(i % 251);
        if (code[i] == 3 || code[i] == 4) {
            code[i] = 'x'; // Ctrl-C and Ctrl-D are the protocol's, never code
        }
    }
    text_t out = {0}, err = {0};
    assert_int_equal(qpy_link_exec(&f->link, code, n, text_sink, &out, text_sink, &err, 0), 0);
    assert_string_equal(out.data, "got 102400\r\n");
    assert_int_equal(err.len, 0);
    assert_int_equal(f->m.last_len, n);
    assert_memory_equal(f->m.last_code, code, n);
    free(code);
    assert_int_equal(qpy_link_leave_raw(&f->link), 0);
}

static void test_exec_error_text(void **state) {
    fixture_t *f = *state;
    assert_int_equal(qpy_link_enter_raw(&f->link, 0), 0);
    text_t out = {0}, err = {0};
    assert_int_equal(qpy_link_exec(&f->link, "raise X", 7, text_sink, &out, text_sink, &err, 0),
                     1);
    assert_string_equal(out.data, "got 7\r\n");
    assert_string_equal(err.data, "Traceback\r\nValueError\r\n");
}

static void test_module_silent_times_out(void **state) {
    fixture_t *f = *state;
    f->m.silent = 1;
    f->link.timeout_ms = 200;
    assert_int_equal(qpy_link_enter_raw(&f->link, 0), -ETIMEDOUT);
    assert_false(f->link.raw);
}

static void test_port_gone(void **state) {
    fixture_t *f = *state;
    assert_int_equal(qpy_link_enter_raw(&f->link, 0), 0);
    f->m.stop = 1;
    pthread_join(f->m.thread, NULL);
    close(f->m.master); // the module's end closes: a killed server, a pulled cable
    f->m.master = -1;
    pthread_create(&f->m.thread, NULL, module_main, &f->m); // exits at once (stop set)
    text_t out = {0};
    int r = qpy_link_exec(&f->link, "1", 1, text_sink, &out, NULL, NULL, 0);
    assert_int_equal(r, QP_ERR_IO);
}

static void test_read_until_split_marker(void **state) {
    fixture_t *f = *state;
    f->m.silent = 1;
    // Write a marker in two pieces straight into the pty: the link must join them.
    text_t before = {0};
    assert_int_equal(qpy_link_read_until(&f->link, ">>> ", 4, NULL, NULL, 0), 0);
    master_write(&f->m, (const uint8_t *)"abc\x04", 4);
    master_write(&f->m, (const uint8_t *)"de", 2);
    assert_int_equal(qpy_link_read_until(&f->link, "\x04" "de", 3, text_sink, &before, 0), 0);
    assert_string_equal(before.data, "abc");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_exec_raw_paste_small_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exec_error_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_module_silent_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_port_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_until_split_marker, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
