// Unit tests for the pseudo-terminal UARTs (src/hal/qp_hal_uart.c), each against a real
// peer: the test opens the slave through the <dir>/uart<N> link, as picocom would, and
// checks bytes both ways, the terminal settings the peer sees, any()/read(), the ring's
// overrun and flow-control behaviour, the write timeout, the callback, and the link's life.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "qp/qp_err.h"
#include "qp/qp_hal_uart.h"

#include "../qp_testdir.h"

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

// Polls until the UART has buffered at least n bytes; bounded so a bug fails, not hangs.
static size_t wait_any(qp_hal_uart_t *u, size_t n) {
    int64_t end = now_ms() + 3000;
    size_t got;
    while ((got = qp_hal_uart_any(u)) < n && now_ms() < end) {
        sleep_ms(2);
    }
    return got;
}

static void link_of(int port, char *buf, size_t len) {
    snprintf(buf, len, "%s/uart%d", tmpdir, port);
}

// The peer: opens the slave through the link, in raw mode like any serial program.
static int open_peer(int port) {
    char path[300];
    link_of(port, path, sizeof path);
    int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK);
    assert_true(fd >= 0);
    return fd;
}

static void peer_write(int fd, const void *buf, size_t len) {
    assert_int_equal(write(fd, buf, len), (ssize_t)len);
}

// Reads exactly len bytes from the peer side, within 3 s.
static void peer_read(int fd, void *buf, size_t len) {
    size_t done = 0;
    int64_t end = now_ms() + 3000;
    while (done < len && now_ms() < end) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        poll(&p, 1, 50);
        ssize_t n = read(fd, (char *)buf + done, len - done);
        if (n > 0) {
            done += (size_t)n;
        }
    }
    assert_int_equal(done, len);
}

static void open_uart(qp_hal_uart_t *u, int port, qp_hal_uart_config_t *cfg) {
    qp_hal_uart_init(u);
    cfg->link_dir = tmpdir;
    assert_int_equal(qp_hal_uart_open(u, port, cfg), 0);
}

// ---- Arguments ------------------------------------------------------------------------

static void test_check_arguments(void **state) {
    (void)state;
    qp_hal_uart_config_t c = QP_HAL_UART_CONFIG_INIT;
    char msg[64];
    assert_int_equal(qp_hal_uart_check(2, &c), QP_HAL_UART_OK);
    assert_int_equal(qp_hal_uart_check(9, &c), QP_HAL_UART_BAD_PORT);
    assert_int_equal(qp_hal_uart_check(-1, &c), QP_HAL_UART_BAD_PORT);
    assert_string_equal(qp_hal_uart_bad_message(QP_HAL_UART_BAD_PORT, 9, msg, sizeof msg),
                        "UART(9) does not exist");

    static const long good_bauds[] = {300,    600,    1200,    2400,    3600,    4800,
                                      7200,   9600,   14400,   19200,   28800,   33600,
                                      38400,  57600,  115200,  230400,  460800,  921600,
                                      1000000, 1842000, 3686400, 4468750};
    for (size_t i = 0; i < sizeof good_bauds / sizeof good_bauds[0]; i++) {
        c.baudrate = good_bauds[i];
        assert_int_equal(qp_hal_uart_check(0, &c), QP_HAL_UART_OK);
    }
    static const long bad_bauds[] = {0, -115200, 110, 1500000, 4000000, 115201};
    for (size_t i = 0; i < sizeof bad_bauds / sizeof bad_bauds[0]; i++) {
        c.baudrate = bad_bauds[i];
        assert_int_equal(qp_hal_uart_check(0, &c), QP_HAL_UART_BAD_BAUD);
    }
    assert_true(qp_hal_uart_baud_is_native(115200));
    assert_true(qp_hal_uart_baud_is_native(1000000));
    assert_false(qp_hal_uart_baud_is_native(4468750));
    assert_false(qp_hal_uart_baud_is_native(14400));
    assert_false(qp_hal_uart_baud_is_native(12345));

    // The firmware checks in argument order: a bad baud rate is reported before bad bits.
    c = (qp_hal_uart_config_t)QP_HAL_UART_CONFIG_INIT;
    c.baudrate = 1;
    c.data_bits = 9;
    assert_int_equal(qp_hal_uart_check(3, &c), QP_HAL_UART_BAD_BAUD);

    static const struct {
        long bits, parity, stop, flow;
        qp_hal_uart_bad_t bad;
        const char *msg;
    } cases[] = {
        {4, 0, 1, 0, QP_HAL_UART_BAD_BITS, "invalid data bits"},
        {9, 0, 1, 0, QP_HAL_UART_BAD_BITS, "invalid data bits"},
        {5, 3, 1, 0, QP_HAL_UART_BAD_PARITY, "invalid parity bits"},
        {8, -1, 1, 0, QP_HAL_UART_BAD_PARITY, "invalid parity bits"},
        {8, 0, 0, 0, QP_HAL_UART_BAD_STOP, "invalid stop bits"},
        {8, 2, 3, 0, QP_HAL_UART_BAD_STOP, "invalid stop bits"},
        {8, 0, 2, 2, QP_HAL_UART_BAD_FLOW, "invalid flow bits"},
        {8, 1, 1, -1, QP_HAL_UART_BAD_FLOW, "invalid flow bits"},
        {7, 2, 2, 1, QP_HAL_UART_OK, "ok"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        c = (qp_hal_uart_config_t)QP_HAL_UART_CONFIG_INIT;
        c.data_bits = cases[i].bits;
        c.parity = cases[i].parity;
        c.stop_bits = cases[i].stop;
        c.flow = cases[i].flow;
        qp_hal_uart_bad_t bad = qp_hal_uart_check(1, &c);
        assert_int_equal(bad, cases[i].bad);
        assert_string_equal(qp_hal_uart_bad_message(bad, 1, msg, sizeof msg), cases[i].msg);
        // open() agrees and leaves nothing behind
        qp_hal_uart_t u;
        qp_hal_uart_init(&u);
        if (bad != QP_HAL_UART_OK) {
            assert_int_equal(qp_hal_uart_open(&u, 1, &c), QP_ERR_INVAL);
            assert_false(qp_hal_uart_is_open(&u));
        }
    }
    qp_hal_uart_t u;
    qp_hal_uart_init(&u);
    c = (qp_hal_uart_config_t)QP_HAL_UART_CONFIG_INIT;
    assert_int_equal(qp_hal_uart_open(&u, 4, &c), QP_ERR_NOENT);
    assert_int_equal(qp_hal_uart_open(&u, -1, &c), QP_ERR_NOENT);
}

static void test_closed_handle(void **state) {
    (void)state;
    qp_hal_uart_t u;
    qp_hal_uart_init(&u);
    char b[4];
    qp_hal_uart_stats_t st;
    assert_false(qp_hal_uart_is_open(&u));
    assert_int_equal(qp_hal_uart_any(&u), 0);
    assert_int_equal(qp_hal_uart_read(&u, b, sizeof b), QP_ERR_BADF);
    assert_int_equal(qp_hal_uart_read_until(&u, b, sizeof b, '\n'), QP_ERR_BADF);
    assert_int_equal(qp_hal_uart_write(&u, "x", 1), QP_ERR_BADF);
    assert_int_equal(qp_hal_uart_set_callback(&u, NULL, NULL), QP_ERR_BADF);
    assert_int_equal(qp_hal_uart_stats(&u, &st), QP_ERR_BADF);
    qp_hal_uart_config_t c = QP_HAL_UART_CONFIG_INIT;
    assert_int_equal(qp_hal_uart_configure(&u, &c), QP_ERR_BADF);
    assert_string_equal(qp_hal_uart_slave_path(&u), "");
    qp_hal_uart_close(&u);
    qp_hal_uart_close(&u);
    qp_hal_uart_close(NULL);
}

// ---- Terminal settings ----------------------------------------------------------------

static void test_termios_applied(void **state) {
    (void)state;
    qp_hal_uart_t u;
    qp_hal_uart_config_t c = {.baudrate = 9600, .data_bits = 7,
                              .parity = QP_HAL_UART_PARITY_ODD, .stop_bits = 2,
                              .flow = QP_HAL_UART_FLOW_RTSCTS};
    open_uart(&u, QP_HAL_UART1, &c);
    int peer = open_peer(QP_HAL_UART1);
    struct termios t;
    assert_int_equal(tcgetattr(peer, &t), 0);
    assert_int_equal(cfgetispeed(&t), B9600);
    assert_int_equal(cfgetospeed(&t), B9600);
    // Linux's pty driver forces CS8 and clears PARENB on every tcsetattr (see the header);
    // PARODD, CSTOPB and CRTSCTS stay as set.
    assert_int_equal(t.c_cflag & CSIZE, CS8);
    assert_int_equal(t.c_cflag & (PARENB | PARODD), PARODD);
    assert_true(t.c_cflag & CSTOPB);
    assert_true(t.c_cflag & CRTSCTS);
    // raw: a wire has no line discipline
    assert_false(t.c_lflag & (ICANON | ECHO | ISIG));
    assert_false(t.c_oflag & OPOST);
    assert_false(t.c_iflag & (ICRNL | IXON));

    // init() on an open UART: same pty, new framing, the peer stays connected
    char slave[64];
    snprintf(slave, sizeof slave, "%s", qp_hal_uart_slave_path(&u));
    c = (qp_hal_uart_config_t)QP_HAL_UART_CONFIG_INIT;
    c.baudrate = 460800;
    c.parity = QP_HAL_UART_PARITY_EVEN;
    assert_int_equal(qp_hal_uart_configure(&u, &c), 0);
    assert_string_equal(qp_hal_uart_slave_path(&u), slave);
    assert_int_equal(tcgetattr(peer, &t), 0);
    assert_int_equal(cfgetospeed(&t), B460800);
    assert_int_equal(t.c_cflag & CSIZE, CS8);
    assert_false(t.c_cflag & PARODD);
    assert_false(t.c_cflag & CSTOPB);
    assert_false(t.c_cflag & CRTSCTS);

    // a rate without a B constant: the nearest standard one below it
    c.baudrate = 4468750;
    assert_int_equal(qp_hal_uart_configure(&u, &c), 0);
    assert_int_equal(tcgetattr(peer, &t), 0);
    assert_int_equal(cfgetospeed(&t), B4000000);
    c.baudrate = 14400;
    assert_int_equal(qp_hal_uart_configure(&u, &c), 0);
    assert_int_equal(tcgetattr(peer, &t), 0);
    assert_int_equal(cfgetospeed(&t), B9600);

    c.stop_bits = 3;
    assert_int_equal(qp_hal_uart_configure(&u, &c), QP_ERR_INVAL);
    close(peer);
    qp_hal_uart_close(&u);
}

// ---- Data -----------------------------------------------------------------------------

static void test_bytes_both_ways(void **state) {
    (void)state;
    qp_hal_uart_t u;
    qp_hal_uart_config_t c = QP_HAL_UART_CONFIG_INIT;
    open_uart(&u, QP_HAL_UART2, &c);
    int peer = open_peer(QP_HAL_UART2);

    // every byte value survives, including CR, LF, ^C and ^D (no line discipline)
    uint8_t all[256], got[256];
    for (int i = 0; i < 256; i++) {
        all[i] = (uint8_t)i;
    }
    assert_int_equal(qp_hal_uart_write(&u, all, sizeof all), 256);
    peer_read(peer, got, sizeof got);
    assert_memory_equal(got, all, sizeof all);

    peer_write(peer, all, sizeof all);
    assert_int_equal(wait_any(&u, 256), 256);
    assert_int_equal(qp_hal_uart_read(&u, got, sizeof got), 256);
    assert_memory_equal(got, all, sizeof all);

    // read(n) takes what is there, up to n, and never waits
    assert_int_equal(qp_hal_uart_read(&u, got, sizeof got), 0);
    peer_write(peer, "Quecpython", 10);
    assert_int_equal(wait_any(&u, 10), 10);
    assert_int_equal(qp_hal_uart_read(&u, got, 4), 4);
    assert_memory_equal(got, "Quec", 4);
    assert_int_equal(qp_hal_uart_any(&u), 6);
    assert_int_equal(qp_hal_uart_read(&u, got, 100), 6);
    assert_memory_equal(got, "python", 6);
    assert_int_equal(qp_hal_uart_any(&u), 0);

    // read_until stops after the delimiter; without one it takes what is there
    peer_write(peer, "ab\ncd\n\nef", 9);
    assert_int_equal(wait_any(&u, 9), 9);
    assert_int_equal(qp_hal_uart_read_until(&u, got, 100, '\n'), 3);
    assert_memory_equal(got, "ab\n", 3);
    assert_int_equal(qp_hal_uart_read_until(&u, got, 2, '\n'), 2);
    assert_memory_equal(got, "cd", 2);
    assert_int_equal(qp_hal_uart_read_until(&u, got, 100, '\n'), 1);
    assert_int_equal(qp_hal_uart_read_until(&u, got, 100, '\n'), 1);
    assert_int_equal(qp_hal_uart_read_until(&u, got, 100, '\n'), 2);
    assert_memory_equal(got, "ef", 2);
    assert_int_equal(qp_hal_uart_read_until(&u, got, 100, '\n'), 0);

    // the peer going away and coming back does not break the UART (no EIO on the master)
    close(peer);
    assert_int_equal(qp_hal_uart_write(&u, "lost?", 5), 5);
    peer = open_peer(QP_HAL_UART2);
    tcflush(peer, TCIFLUSH);
    assert_int_equal(qp_hal_uart_write(&u, "again", 5), 5);
    peer_read(peer, got, 5);
    assert_memory_equal(got, "again", 5);
    peer_write(peer, "back", 4);
    assert_int_equal(wait_any(&u, 4), 4);

    qp_hal_uart_stats_t st;
    assert_int_equal(qp_hal_uart_stats(&u, &st), 0);
    assert_int_equal(st.rx_bytes, 256 + 10 + 9 + 4);
    assert_int_equal(st.tx_bytes, 256 + 5 + 5);
    assert_int_equal(st.rx_overruns, 0);
    close(peer);
    qp_hal_uart_close(&u);
}

static void test_data_bits_mask(void **state) {
    (void)state;
    qp_hal_uart_t u;
    qp_hal_uart_config_t c = QP_HAL_UART_CONFIG_INIT;
    c.data_bits = 7;
    open_uart(&u, QP_HAL_UART0, &c);
    int peer = open_peer(QP_HAL_UART0);
    uint8_t b[2] = {0xff, 0xc1}, got[2];
    assert_int_equal(qp_hal_uart_write(&u, b, 2), 2);
    peer_read(peer, got, 2);
    assert_int_equal(got[0], 0x7f);
    assert_int_equal(got[1], 0x41);
    peer_write(peer, b, 2);
    assert_int_equal(wait_any(&u, 2), 2);
    assert_int_equal(qp_hal_uart_read(&u, got, 2), 2);
    assert_int_equal(got[0], 0x7f);
    assert_int_equal(got[1], 0x41);
    close(peer);
    qp_hal_uart_close(&u);
}

// Waits until the receive thread has taken `n` bytes off the pty (stored or dropped).
static void wait_rx_seen(qp_hal_uart_t *u, uint64_t n) {
    qp_hal_uart_stats_t st = {0};
    int64_t end = now_ms() + 3000;
    do {
        assert_int_equal(qp_hal_uart_stats(u, &st), 0);
        if (st.rx_bytes + st.rx_overruns >= n) {
            break;
        }
        sleep_ms(2);
    } while (now_ms() < end);
    assert_int_equal(st.rx_bytes + st.rx_overruns, n);
}

static void test_ring_overrun_drops_newest(void **state) {
    (void)state;
    qp_hal_uart_t u;
    qp_hal_uart_config_t c = QP_HAL_UART_CONFIG_INIT;
    c.rx_buffer_size = 64;
    open_uart(&u, QP_HAL_UART2, &c);
    int peer = open_peer(QP_HAL_UART2);
    uint8_t data[100], got[100];
    for (int i = 0; i < 100; i++) {
        data[i] = (uint8_t)i;
    }
    peer_write(peer, data, sizeof data);
    wait_rx_seen(&u, 100);
    assert_int_equal(qp_hal_uart_any(&u), 64);
    qp_hal_uart_stats_t st;
    assert_int_equal(qp_hal_uart_stats(&u, &st), 0);
    assert_int_equal(st.rx_overruns, 36);
    // the oldest bytes are kept, as in a FIFO that stops accepting when full
    assert_int_equal(qp_hal_uart_read(&u, got, sizeof got), 64);
    assert_memory_equal(got, data, 64);
    // and the ring works normally once drained, also across its wrap-around point
    for (int round = 0; round < 5; round++) {
        peer_write(peer, data, 50);
        assert_int_equal(wait_any(&u, 50), 50);
        assert_int_equal(qp_hal_uart_read(&u, got, 50), 50);
        assert_memory_equal(got, data, 50);
    }
    // a delimiter found across the ring's wrap-around point (data[i] == i)
    peer_write(peer, data, 50);
    assert_int_equal(wait_any(&u, 50), 50);
    assert_int_equal(qp_hal_uart_read_until(&u, got, 100, 40), 41);
    assert_memory_equal(got, data, 41);
    assert_int_equal(qp_hal_uart_read(&u, got, 100), 9);
    close(peer);
    qp_hal_uart_close(&u);
}

static void test_ring_flow_control_holds_peer(void **state) {
    (void)state;
    qp_hal_uart_t u;
    uint8_t ring[64];
    qp_hal_uart_config_t c = QP_HAL_UART_CONFIG_INIT;
    c.flow = QP_HAL_UART_FLOW_RTSCTS;
    c.rx_buffer = ring; // caller-provided ring
    c.rx_buffer_size = sizeof ring;
    open_uart(&u, QP_HAL_UART2, &c);
    int peer = open_peer(QP_HAL_UART2);
    uint8_t data[1000], got[1000];
    for (int i = 0; i < 1000; i++) {
        data[i] = (uint8_t)(i * 7);
    }
    peer_write(peer, data, sizeof data);
    assert_int_equal(wait_any(&u, 64), 64);
    sleep_ms(20);
    assert_int_equal(qp_hal_uart_any(&u), 64); // full, and the rest waits in the pty
    size_t done = 0;
    int64_t end = now_ms() + 3000;
    while (done < sizeof data && now_ms() < end) {
        ssize_t n = qp_hal_uart_read(&u, got + done, 17);
        assert_true(n >= 0);
        done += (size_t)n;
        if (n == 0) {
            sleep_ms(1);
        }
    }
    assert_int_equal(done, sizeof data);
    assert_memory_equal(got, data, sizeof data);
    qp_hal_uart_stats_t st;
    assert_int_equal(qp_hal_uart_stats(&u, &st), 0);
    assert_int_equal(st.rx_overruns, 0);

    // Held back with a full ring, then flow control is switched off: the receive thread
    // resumes at once and the excess is dropped as overruns, as without flow control.
    peer_write(peer, data, 100);
    assert_int_equal(wait_any(&u, 64), 64);
    sleep_ms(20);
    c.flow = QP_HAL_UART_FLOW_NONE;
    assert_int_equal(qp_hal_uart_configure(&u, &c), 0);
    wait_rx_seen(&u, sizeof data + 100);
    assert_int_equal(qp_hal_uart_any(&u), 64);
    assert_int_equal(qp_hal_uart_stats(&u, &st), 0);
    assert_int_equal(st.rx_overruns, 36);
    close(peer);
    qp_hal_uart_close(&u);
}

static void test_write_without_reader(void **state) {
    (void)state;
    qp_hal_uart_t u;
    qp_hal_uart_config_t c = QP_HAL_UART_CONFIG_INIT;
    c.write_timeout_ms = 50;
    open_uart(&u, QP_HAL_UART3, &c);
    // Nobody reads: more than the pty can hold. The UART "clocks it out" anyway.
    size_t big = 512 * 1024;
    uint8_t *buf = malloc(big);
    assert_non_null(buf);
    memset(buf, 'x', big);
    int64_t t0 = now_ms();
    assert_int_equal(qp_hal_uart_write(&u, buf, big), (ssize_t)big);
    assert_true(now_ms() - t0 < 2000);
    qp_hal_uart_stats_t st;
    assert_int_equal(qp_hal_uart_stats(&u, &st), 0);
    assert_true(st.tx_dropped > 0);
    assert_int_equal(st.tx_bytes, big);
    // A peer arriving later gets at most what fitted after the stale backlog was dropped,
    // and then fresh bytes flow normally.
    int peer = open_peer(QP_HAL_UART3);
    tcflush(peer, TCIFLUSH);
    assert_int_equal(qp_hal_uart_write(&u, "fresh", 5), 5);
    char got[5];
    peer_read(peer, got, 5);
    assert_memory_equal(got, "fresh", 5);
    close(peer);

    // With RTS/CTS the UART does not drop: it reports what went out, then EAGAIN.
    c.flow = QP_HAL_UART_FLOW_RTSCTS;
    assert_int_equal(qp_hal_uart_configure(&u, &c), 0);
    ssize_t n = qp_hal_uart_write(&u, buf, big);
    assert_true(n > 0 && (size_t)n < big);
    assert_int_equal(qp_hal_uart_write(&u, buf, big), QP_ERR_AGAIN);
    free(buf);
    qp_hal_uart_close(&u);
}

// ---- Callback -------------------------------------------------------------------------

static atomic_size_t cb_total;
static atomic_int cb_port;

// Runs on the UART's receive thread, where cmocka's asserts must not be used.
static void on_rx(void *ctx, int port, size_t size) {
    atomic_store(&cb_port, ctx == &cb_total ? port : -2);
    atomic_fetch_add(&cb_total, size);
}

static void test_callback(void **state) {
    (void)state;
    qp_hal_uart_t u;
    qp_hal_uart_config_t c = QP_HAL_UART_CONFIG_INIT;
    open_uart(&u, QP_HAL_UART2, &c);
    int peer = open_peer(QP_HAL_UART2);
    atomic_store(&cb_total, 0);
    atomic_store(&cb_port, -1);
    assert_int_equal(qp_hal_uart_set_callback(&u, on_rx, &cb_total), 0);
    peer_write(peer, "0123456789", 10);
    int64_t end = now_ms() + 3000;
    while (atomic_load(&cb_total) < 10 && now_ms() < end) {
        sleep_ms(2);
    }
    assert_int_equal(atomic_load(&cb_total), 10);
    assert_int_equal(atomic_load(&cb_port), 2);
    assert_int_equal(qp_hal_uart_any(&u), 10);
    // removed: no more calls
    assert_int_equal(qp_hal_uart_set_callback(&u, NULL, NULL), 0);
    peer_write(peer, "abc", 3);
    assert_int_equal(wait_any(&u, 13), 13);
    assert_int_equal(atomic_load(&cb_total), 10);
    close(peer);
    qp_hal_uart_close(&u);
}

// ---- Link and lifetime ----------------------------------------------------------------

static void test_link_lifetime(void **state) {
    (void)state;
    char link[300], target[64];
    link_of(2, link, sizeof link);
    qp_hal_uart_t u, other;
    qp_hal_uart_config_t c = QP_HAL_UART_CONFIG_INIT;
    open_uart(&u, QP_HAL_UART2, &c);
    assert_string_equal(qp_hal_uart_link_path(&u), link);
    ssize_t n = readlink(link, target, sizeof target - 1);
    assert_true(n > 0);
    target[n] = '\0';
    assert_string_equal(target, qp_hal_uart_slave_path(&u));
    assert_memory_equal(target, "/dev/pts/", 9);

    // one wire per port
    qp_hal_uart_init(&other);
    assert_int_equal(qp_hal_uart_open(&other, 2, &c), QP_ERR_BUSY);
    assert_int_equal(qp_hal_uart_open(&u, 2, &c), QP_ERR_BUSY);
    assert_true(qp_hal_uart_is_open(&u));

    qp_hal_uart_close(&u);
    struct stat st;
    assert_int_equal(lstat(link, &st), -1);
    assert_false(qp_hal_uart_is_open(&u));

    // reopen works, on a fresh pty, and the port is free for another handle
    open_uart(&other, QP_HAL_UART2, &c);
    int peer = open_peer(QP_HAL_UART2);
    peer_write(peer, "hi", 2);
    assert_int_equal(wait_any(&other, 2), 2);
    close(peer);
    qp_hal_uart_close(&other);

    // a stale link from a module that died is replaced
    assert_int_equal(symlink("/dev/pts/nonexistent", link), 0);
    open_uart(&u, QP_HAL_UART2, &c);
    n = readlink(link, target, sizeof target - 1);
    assert_true(n > 0);
    target[n] = '\0';
    assert_string_equal(target, qp_hal_uart_slave_path(&u));
    qp_hal_uart_close(&u);

    // a real file in the way is not ours to delete
    FILE *f = fopen(link, "w");
    assert_non_null(f);
    fclose(f);
    qp_hal_uart_init(&u);
    c.link_dir = tmpdir;
    assert_int_equal(qp_hal_uart_open(&u, 2, &c), QP_ERR_EXIST);
    assert_false(qp_hal_uart_is_open(&u));
    unlink(link);
    // ...and the failed open released the port
    open_uart(&u, QP_HAL_UART2, &c);
    qp_hal_uart_close(&u);

    // no link asked for: still a working pty
    c.link_dir = NULL;
    assert_int_equal(qp_hal_uart_open(&u, 2, &c), 0);
    assert_string_equal(qp_hal_uart_link_path(&u), "");
    assert_int_equal(lstat(link, &st), -1);
    qp_hal_uart_close(&u);

    // missing directory: the host's error, and nothing left open
    c.link_dir = "/nonexistent-qp-dir";
    assert_int_equal(qp_hal_uart_open(&u, 2, &c), -ENOENT);
    assert_false(qp_hal_uart_is_open(&u));
}

static void test_device_dir(void **state) {
    (void)state;
    assert_null(qp_hal_uart_device_dir());
    assert_int_equal(qp_hal_uart_set_device_dir("/tmp/dev"), 0);
    assert_string_equal(qp_hal_uart_device_dir(), "/tmp/dev");
    assert_int_equal(qp_hal_uart_set_device_dir(""), 0);
    assert_null(qp_hal_uart_device_dir());
    char *huge = malloc(8192);
    assert_non_null(huge);
    memset(huge, 'a', 8191);
    huge[8191] = '\0';
    assert_int_equal(qp_hal_uart_set_device_dir(huge), QP_ERR_NAMETOOLONG);
    free(huge);
    assert_int_equal(qp_hal_uart_set_device_dir(NULL), 0);
    assert_null(qp_hal_uart_device_dir());
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_arguments),
        cmocka_unit_test(test_closed_handle),
        cmocka_unit_test(test_termios_applied),
        cmocka_unit_test(test_bytes_both_ways),
        cmocka_unit_test(test_data_bits_mask),
        cmocka_unit_test(test_ring_overrun_drops_newest),
        cmocka_unit_test(test_ring_flow_control_holds_peer),
        cmocka_unit_test(test_write_without_reader),
        cmocka_unit_test(test_callback),
        cmocka_unit_test(test_link_lifetime),
        cmocka_unit_test(test_device_dir),
    };
    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
