// qp_hal_uart.c - Linux backend of the module's UARTs: one pseudo-terminal per open UART.
//
// The module holds the pty master; the slave (/dev/pts/N) is the far end of the wire and is
// linked as <device>/uart<N> for a peer. We keep our own descriptor on the slave for the
// whole time the UART is open: without it the master reads EIO whenever no peer has the
// slave open (before the peer comes, after it leaves), and the terminal settings we apply
// would be reset when the last slave descriptor closes. The receive thread drains the
// master into a ring buffer; the contract (overrun, write timeout) is in qp_hal_uart.h.
//
// Relies on: posix_openpt/grantpt/unlockpt/ptsname_r, termios, eventfd, pthreads.
#include "qp/qp_err.h"
#include "qp/qp_hal_uart.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

// ---- Arguments ------------------------------------------------------------------------

// The firmware's rates, each with the termios constant the terminal is set to. Rates the
// host has no constant for use the nearest standard rate below them (see the header).
static const struct {
    long rate;
    speed_t speed;
    int native;
} baud_table[] = {
    {300, B300, 1},         {600, B600, 1},         {1200, B1200, 1},
    {2400, B2400, 1},       {3600, B2400, 0},       {4800, B4800, 1},
    {7200, B4800, 0},       {9600, B9600, 1},       {14400, B9600, 0},
    {19200, B19200, 1},     {28800, B19200, 0},     {33600, B19200, 0},
    {38400, B38400, 1},     {57600, B57600, 1},     {115200, B115200, 1},
    {230400, B230400, 1},   {460800, B460800, 1},   {921600, B921600, 1},
    {1000000, B1000000, 1}, {1842000, B1500000, 0}, {3686400, B3500000, 0},
    {4468750, B4000000, 0},
};
#define BAUD_COUNT (sizeof baud_table / sizeof baud_table[0])

static int baud_index(long rate) {
    for (size_t i = 0; i < BAUD_COUNT; i++) {
        if (baud_table[i].rate == rate) {
            return (int)i;
        }
    }
    return -1;
}

int qp_hal_uart_baud_is_native(long baudrate) {
    int i = baud_index(baudrate);
    return i >= 0 && baud_table[i].native;
}

static qp_hal_uart_bad_t check_framing(const qp_hal_uart_config_t *cfg) {
    if (baud_index(cfg->baudrate) < 0) {
        return QP_HAL_UART_BAD_BAUD;
    }
    if (cfg->data_bits < 5 || cfg->data_bits > 8) {
        return QP_HAL_UART_BAD_BITS;
    }
    if (cfg->parity < QP_HAL_UART_PARITY_NONE || cfg->parity > QP_HAL_UART_PARITY_ODD) {
        return QP_HAL_UART_BAD_PARITY;
    }
    if (cfg->stop_bits != 1 && cfg->stop_bits != 2) {
        return QP_HAL_UART_BAD_STOP;
    }
    if (cfg->flow != QP_HAL_UART_FLOW_NONE && cfg->flow != QP_HAL_UART_FLOW_RTSCTS) {
        return QP_HAL_UART_BAD_FLOW;
    }
    return QP_HAL_UART_OK;
}

qp_hal_uart_bad_t qp_hal_uart_check(long port, const qp_hal_uart_config_t *cfg) {
    if (port < 0 || port >= QP_HAL_UART_COUNT) {
        return QP_HAL_UART_BAD_PORT;
    }
    return check_framing(cfg);
}

const char *qp_hal_uart_bad_message(qp_hal_uart_bad_t bad, long port, char *buf,
                                    size_t buflen) {
    static const char *const text[] = {
        [QP_HAL_UART_OK] = "ok",
        [QP_HAL_UART_BAD_BAUD] = "invalid baudrate",
        [QP_HAL_UART_BAD_BITS] = "invalid data bits",
        [QP_HAL_UART_BAD_PARITY] = "invalid parity bits",
        [QP_HAL_UART_BAD_STOP] = "invalid stop bits",
        [QP_HAL_UART_BAD_FLOW] = "invalid flow bits",
    };
    if (bad == QP_HAL_UART_BAD_PORT) {
        snprintf(buf, buflen, "UART(%ld) does not exist", port);
    } else if ((unsigned)bad < sizeof text / sizeof text[0] && text[bad]) {
        snprintf(buf, buflen, "%s", text[bad]);
    } else {
        snprintf(buf, buflen, "invalid argument");
    }
    return buf;
}

// ---- Ports in use ---------------------------------------------------------------------

// One handle per port at a time, as there is one wire per UART.
static pthread_mutex_t owners_lock = PTHREAD_MUTEX_INITIALIZER;
static qp_hal_uart_t *owners[QP_HAL_UART_COUNT];

static int claim_port(qp_hal_uart_t *uart, int port) {
    int err = 0;
    pthread_mutex_lock(&owners_lock);
    if (owners[port]) {
        err = QP_ERR_BUSY;
    } else {
        owners[port] = uart;
    }
    pthread_mutex_unlock(&owners_lock);
    return err;
}

static void release_port(qp_hal_uart_t *uart, int port) {
    pthread_mutex_lock(&owners_lock);
    if (owners[port] == uart) {
        owners[port] = NULL;
    }
    pthread_mutex_unlock(&owners_lock);
}

// ---- Device directory -----------------------------------------------------------------

static char device_dir[PATH_MAX];

int qp_hal_uart_set_device_dir(const char *dir) {
    if (!dir) {
        device_dir[0] = '\0';
        return 0;
    }
    if (strlen(dir) >= sizeof device_dir) {
        return QP_ERR_NAMETOOLONG;
    }
    strcpy(device_dir, dir);
    return 0;
}

const char *qp_hal_uart_device_dir(void) {
    return device_dir[0] ? device_dir : NULL;
}

// ---- Terminal settings ----------------------------------------------------------------

static int apply_termios(int fd, const qp_hal_uart_config_t *cfg) {
    struct termios t;
    if (tcgetattr(fd, &t) < 0) {
        return -errno;
    }
    // Raw: no line editing, echo, signals or CR/LF translation; a wire carries bytes.
    cfmakeraw(&t);
    speed_t speed = baud_table[baud_index(cfg->baudrate)].speed;
    cfsetispeed(&t, speed);
    cfsetospeed(&t, speed);
    static const tcflag_t sizes[] = {CS5, CS6, CS7, CS8};
    t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB | PARODD | CSTOPB | CRTSCTS);
    t.c_cflag |= sizes[cfg->data_bits - 5] | CREAD | CLOCAL;
    if (cfg->parity == QP_HAL_UART_PARITY_EVEN) {
        t.c_cflag |= PARENB;
    } else if (cfg->parity == QP_HAL_UART_PARITY_ODD) {
        t.c_cflag |= PARENB | PARODD;
    }
    if (cfg->stop_bits == 2) {
        t.c_cflag |= CSTOPB;
    }
    if (cfg->flow == QP_HAL_UART_FLOW_RTSCTS) {
        t.c_cflag |= CRTSCTS;
    }
    // read() on the slave returns as soon as one byte is there.
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    if (tcsetattr(fd, TCSANOW, &t) < 0) {
        return -errno;
    }
    return 0;
}

// A UART with fewer than 8 data bits carries only the low bits of each byte; the pty
// carries whole bytes, so the HAL masks them itself.
static uint8_t data_mask(long data_bits) {
    return (uint8_t)((1u << data_bits) - 1u);
}

// ---- Receive thread -------------------------------------------------------------------

static void wake(qp_hal_uart_t *uart) {
    uint64_t one = 1;
    // Cannot fail short of a full counter, which only means a wake-up is pending anyway.
    ssize_t n = write(uart->wake_fd, &one, sizeof one);
    (void)n;
}

// Stores up to n bytes; returns how many fit. Caller holds uart->lock.
static size_t ring_put(qp_hal_uart_t *uart, const uint8_t *src, size_t n) {
    size_t room = uart->ring_size - uart->ring_count;
    if (n > room) {
        n = room;
    }
    size_t tail = (uart->ring_head + uart->ring_count) % uart->ring_size;
    size_t first = uart->ring_size - tail < n ? uart->ring_size - tail : n;
    memcpy(uart->ring + tail, src, first);
    memcpy(uart->ring, src + first, n - first);
    uart->ring_count += n;
    return n;
}

static void *rx_main(void *arg) {
    qp_hal_uart_t *uart = arg;
    uint8_t chunk[1024];
    for (;;) {
        pthread_mutex_lock(&uart->lock);
        int stopping = uart->stopping;
        size_t room = uart->ring_size - uart->ring_count;
        int flow = uart->cfg.flow == QP_HAL_UART_FLOW_RTSCTS;
        int hold = room == 0 && flow;
        pthread_mutex_unlock(&uart->lock);
        if (stopping) {
            break;
        }
        // With flow control and a full ring we leave the bytes in the pty (RTS off) and
        // sleep until read() makes room and wakes us.
        struct pollfd fds[2] = {
            {.fd = uart->wake_fd, .events = POLLIN},
            {.fd = uart->master_fd, .events = hold ? 0 : POLLIN},
        };
        if (poll(fds, 2, -1) < 0) {
            continue; // EINTR; anything else cannot happen with valid descriptors
        }
        if (fds[0].revents & POLLIN) {
            uint64_t count;
            ssize_t n = read(uart->wake_fd, &count, sizeof count);
            (void)n;
            continue; // re-check stopping and room
        }
        if (!(fds[1].revents & (POLLIN | POLLERR | POLLHUP))) {
            continue;
        }
        size_t want = sizeof chunk;
        if (flow && room < want) {
            want = room;
        }
        ssize_t n = read(uart->master_fd, chunk, want);
        if (n <= 0) {
            // EAGAIN: raced with nothing; EIO cannot happen while we hold the slave, but
            // if the host ever reports it, back off rather than spin.
            if (n < 0 && errno != EAGAIN && errno != EINTR) {
                struct timespec pause = {0, 10 * 1000 * 1000};
                nanosleep(&pause, NULL);
            }
            continue;
        }
        pthread_mutex_lock(&uart->lock);
        uint8_t mask = data_mask(uart->cfg.data_bits);
        if (mask != 0xff) {
            for (ssize_t i = 0; i < n; i++) {
                chunk[i] &= mask;
            }
        }
        size_t stored = ring_put(uart, chunk, (size_t)n);
        uart->stats.rx_bytes += stored;
        uart->stats.rx_overruns += (size_t)n - stored;
        pthread_mutex_unlock(&uart->lock);
        if (stored) {
            // cb_lock, not lock, is held while the callback runs, so a callback may call
            // read()/any(); set_callback() waits on cb_lock for a running callback.
            pthread_mutex_lock(&uart->cb_lock);
            if (uart->cfg.on_rx) {
                uart->cfg.on_rx(uart->cfg.on_rx_ctx, uart->port, stored);
            }
            pthread_mutex_unlock(&uart->cb_lock);
        }
    }
    return NULL;
}

// ---- Lifetime -------------------------------------------------------------------------

void qp_hal_uart_init(qp_hal_uart_t *uart) {
    memset(uart, 0, sizeof *uart);
    uart->master_fd = uart->slave_fd = uart->wake_fd = -1;
}

static int open_pty(qp_hal_uart_t *uart) {
    uart->master_fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (uart->master_fd < 0) {
        return -errno;
    }
    if (grantpt(uart->master_fd) < 0 || unlockpt(uart->master_fd) < 0 ||
        ptsname_r(uart->master_fd, uart->slave_path, sizeof uart->slave_path) != 0) {
        return errno ? -errno : QP_ERR_IO;
    }
    int flags = fcntl(uart->master_fd, F_GETFL);
    if (flags < 0 || fcntl(uart->master_fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        return -errno;
    }
    uart->slave_fd = open(uart->slave_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (uart->slave_fd < 0) {
        return -errno;
    }
    return 0;
}

static int make_link(qp_hal_uart_t *uart, const char *dir) {
    int n = snprintf(uart->link_path, sizeof uart->link_path, "%s/uart%d", dir, uart->port);
    if (n < 0 || (size_t)n >= sizeof uart->link_path) {
        uart->link_path[0] = '\0';
        return QP_ERR_NAMETOOLONG;
    }
    struct stat st;
    if (lstat(uart->link_path, &st) == 0) {
        if (!S_ISLNK(st.st_mode)) {
            uart->link_path[0] = '\0';
            return QP_ERR_EXIST;
        }
        // A link left by a module that did not close its UART: its pty is gone.
        unlink(uart->link_path);
    }
    if (symlink(uart->slave_path, uart->link_path) < 0) {
        int err = -errno;
        uart->link_path[0] = '\0';
        return err;
    }
    return 0;
}

static void remove_link(qp_hal_uart_t *uart) {
    if (!uart->link_path[0]) {
        return;
    }
    // Another module on the same device may have taken the name since; leave its link.
    char target[sizeof uart->slave_path];
    ssize_t n = readlink(uart->link_path, target, sizeof target - 1);
    if (n >= 0) {
        target[n] = '\0';
        if (strcmp(target, uart->slave_path) == 0) {
            unlink(uart->link_path);
        }
    }
    uart->link_path[0] = '\0';
}

static void release(qp_hal_uart_t *uart) {
    remove_link(uart);
    if (uart->master_fd >= 0) {
        close(uart->master_fd);
    }
    if (uart->slave_fd >= 0) {
        close(uart->slave_fd);
    }
    if (uart->wake_fd >= 0) {
        close(uart->wake_fd);
    }
    if (uart->ring_owned) {
        free(uart->ring);
    }
    int port = uart->port;
    qp_hal_uart_init(uart);
    release_port(uart, port);
}

int qp_hal_uart_open(qp_hal_uart_t *uart, int port, const qp_hal_uart_config_t *cfg) {
    if (port < 0 || port >= QP_HAL_UART_COUNT) {
        return QP_ERR_NOENT;
    }
    if (check_framing(cfg) != QP_HAL_UART_OK) {
        return QP_ERR_INVAL;
    }
    if (uart->opened) {
        return QP_ERR_BUSY;
    }
    int err = claim_port(uart, port);
    if (err < 0) {
        return err;
    }
    qp_hal_uart_init(uart);
    uart->port = port;
    uart->cfg = *cfg;
    uart->cfg.link_dir = NULL;
    if (!uart->cfg.rx_buffer_size) {
        uart->cfg.rx_buffer_size = QP_HAL_UART_RX_BUFFER_DEFAULT;
    }
    if (!uart->cfg.write_timeout_ms) {
        uart->cfg.write_timeout_ms = QP_HAL_UART_WRITE_TIMEOUT_DEFAULT;
    }
    uart->ring_size = uart->cfg.rx_buffer_size;
    if (cfg->rx_buffer) {
        uart->ring = cfg->rx_buffer;
    } else {
        uart->ring = malloc(uart->ring_size);
        if (!uart->ring) {
            err = QP_ERR_NOMEM;
            goto cleanup;
        }
        uart->ring_owned = 1;
    }
    uart->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (uart->wake_fd < 0) {
        err = -errno;
        goto cleanup;
    }
    err = open_pty(uart);
    if (err < 0) {
        goto cleanup;
    }
    err = apply_termios(uart->slave_fd, &uart->cfg);
    if (err < 0) {
        goto cleanup;
    }
    if (cfg->link_dir && cfg->link_dir[0]) {
        err = make_link(uart, cfg->link_dir);
        if (err < 0) {
            goto cleanup;
        }
        uart->cfg.link_dir = uart->link_path;
    }
    pthread_mutex_init(&uart->lock, NULL);
    pthread_mutex_init(&uart->cb_lock, NULL);
    pthread_mutex_init(&uart->tx_lock, NULL);
    // The receive thread takes no signals: Ctrl-C belongs to the interpreter's thread.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    err = -pthread_create(&uart->rx_thread, NULL, rx_main, uart);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err < 0) {
        pthread_mutex_destroy(&uart->lock);
        pthread_mutex_destroy(&uart->cb_lock);
        pthread_mutex_destroy(&uart->tx_lock);
        goto cleanup;
    }
    uart->opened = 1;
    return 0;

cleanup:
    release(uart);
    return err;
}

int qp_hal_uart_configure(qp_hal_uart_t *uart, const qp_hal_uart_config_t *cfg) {
    if (check_framing(cfg) != QP_HAL_UART_OK) {
        return QP_ERR_INVAL;
    }
    if (!uart->opened) {
        return QP_ERR_BADF;
    }
    pthread_mutex_lock(&uart->tx_lock);
    pthread_mutex_lock(&uart->lock);
    int err = apply_termios(uart->slave_fd, cfg);
    if (err == 0) {
        uart->cfg.baudrate = cfg->baudrate;
        uart->cfg.data_bits = cfg->data_bits;
        uart->cfg.parity = cfg->parity;
        uart->cfg.stop_bits = cfg->stop_bits;
        uart->cfg.flow = cfg->flow;
    }
    pthread_mutex_unlock(&uart->lock);
    pthread_mutex_unlock(&uart->tx_lock);
    // Switching flow control off may release a receive thread holding back.
    wake(uart);
    return err;
}

void qp_hal_uart_close(qp_hal_uart_t *uart) {
    if (!uart || !uart->opened) {
        return;
    }
    pthread_mutex_lock(&uart->lock);
    uart->stopping = 1;
    pthread_mutex_unlock(&uart->lock);
    wake(uart);
    pthread_join(uart->rx_thread, NULL);
    pthread_mutex_destroy(&uart->lock);
    pthread_mutex_destroy(&uart->cb_lock);
    pthread_mutex_destroy(&uart->tx_lock);
    release(uart);
}

int qp_hal_uart_is_open(const qp_hal_uart_t *uart) {
    return uart && uart->opened;
}

// ---- Data -----------------------------------------------------------------------------

size_t qp_hal_uart_any(qp_hal_uart_t *uart) {
    if (!uart->opened) {
        return 0;
    }
    pthread_mutex_lock(&uart->lock);
    size_t n = uart->ring_count;
    pthread_mutex_unlock(&uart->lock);
    return n;
}

// Takes up to len bytes from the ring, stopping after the first `delim` (negative: none).
static ssize_t take(qp_hal_uart_t *uart, void *buf, size_t len, int delim) {
    if (!uart->opened) {
        return QP_ERR_BADF;
    }
    pthread_mutex_lock(&uart->lock);
    int was_full = uart->ring_count == uart->ring_size;
    size_t n = len < uart->ring_count ? len : uart->ring_count;
    if (delim >= 0) {
        for (size_t i = 0; i < n; i++) {
            if (uart->ring[(uart->ring_head + i) % uart->ring_size] == (uint8_t)delim) {
                n = i + 1;
                break;
            }
        }
    }
    size_t first = uart->ring_size - uart->ring_head;
    if (first > n) {
        first = n;
    }
    memcpy(buf, uart->ring + uart->ring_head, first);
    memcpy((uint8_t *)buf + first, uart->ring, n - first);
    uart->ring_head = (uart->ring_head + n) % uart->ring_size;
    uart->ring_count -= n;
    int hold = uart->cfg.flow == QP_HAL_UART_FLOW_RTSCTS;
    pthread_mutex_unlock(&uart->lock);
    if (was_full && n && hold) {
        wake(uart); // the receive thread was holding the peer off; there is room again
    }
    return (ssize_t)n;
}

ssize_t qp_hal_uart_read(qp_hal_uart_t *uart, void *buf, size_t len) {
    return take(uart, buf, len, -1);
}

ssize_t qp_hal_uart_read_until(qp_hal_uart_t *uart, void *buf, size_t len, uint8_t delim) {
    return take(uart, buf, len, delim);
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// Writes as much of buf as the pty takes within the deadline. Returns the count written
// or a negative errno other than EAGAIN. Caller holds tx_lock.
static ssize_t write_until(qp_hal_uart_t *uart, const uint8_t *buf, size_t len,
                           int64_t deadline) {
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(uart->master_fd, buf + done, len - done);
        if (n > 0) {
            done += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && errno != EAGAIN) {
            return -errno;
        }
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            break;
        }
        struct pollfd p = {.fd = uart->master_fd, .events = POLLOUT};
        poll(&p, 1, (int)left);
    }
    return (ssize_t)done;
}

// Sends one chunk (already masked to the data width) under the policy in the header.
static ssize_t send_chunk(qp_hal_uart_t *uart, const uint8_t *buf, size_t len, int flow,
                          int64_t deadline) {
    ssize_t n = write_until(uart, buf, len, deadline);
    if (n < 0 || (size_t)n == len || flow == QP_HAL_UART_FLOW_RTSCTS) {
        return n;
    }
    // Nobody read the backlog in time: drop it as a wire would have, then send what fits
    // now (without waiting again) and drop the rest.
    tcflush(uart->slave_fd, TCIFLUSH);
    ssize_t more = write_until(uart, buf + n, len - (size_t)n, 0);
    if (more < 0) {
        return more;
    }
    pthread_mutex_lock(&uart->lock);
    uart->stats.tx_dropped += len - (size_t)n - (size_t)more;
    pthread_mutex_unlock(&uart->lock);
    return (ssize_t)len;
}

ssize_t qp_hal_uart_write(qp_hal_uart_t *uart, const void *buf, size_t len) {
    if (!uart->opened) {
        return QP_ERR_BADF;
    }
    pthread_mutex_lock(&uart->tx_lock);
    pthread_mutex_lock(&uart->lock);
    int flow = (int)uart->cfg.flow;
    uint8_t mask = data_mask(uart->cfg.data_bits);
    int64_t deadline = now_ms() + uart->cfg.write_timeout_ms;
    pthread_mutex_unlock(&uart->lock);

    const uint8_t *src = buf;
    size_t done = 0;
    ssize_t result = 0;
    while (done < len) {
        const uint8_t *chunk = src + done;
        size_t n = len - done;
        uint8_t masked[256];
        if (mask != 0xff) {
            if (n > sizeof masked) {
                n = sizeof masked;
            }
            for (size_t i = 0; i < n; i++) {
                masked[i] = chunk[i] & mask;
            }
            chunk = masked;
        }
        result = send_chunk(uart, chunk, n, flow, deadline);
        if (result < 0) {
            break;
        }
        done += (size_t)result;
        if ((size_t)result < n) {
            break; // flow control held the rest back
        }
    }
    if (done) {
        pthread_mutex_lock(&uart->lock);
        uart->stats.tx_bytes += done;
        pthread_mutex_unlock(&uart->lock);
    }
    pthread_mutex_unlock(&uart->tx_lock);
    if (result < 0 && done == 0) {
        return result;
    }
    if (done == 0 && len > 0) {
        return QP_ERR_AGAIN;
    }
    return (ssize_t)done;
}

int qp_hal_uart_set_callback(qp_hal_uart_t *uart, qp_hal_uart_rx_cb_t fn, void *ctx) {
    if (!uart->opened) {
        return QP_ERR_BADF;
    }
    pthread_mutex_lock(&uart->cb_lock);
    uart->cfg.on_rx = fn;
    uart->cfg.on_rx_ctx = ctx;
    pthread_mutex_unlock(&uart->cb_lock);
    return 0;
}

// ---- Introspection --------------------------------------------------------------------

const char *qp_hal_uart_slave_path(const qp_hal_uart_t *uart) {
    return uart->opened ? uart->slave_path : "";
}

const char *qp_hal_uart_link_path(const qp_hal_uart_t *uart) {
    return uart->opened ? uart->link_path : "";
}

int qp_hal_uart_stats(qp_hal_uart_t *uart, qp_hal_uart_stats_t *out) {
    if (!uart->opened) {
        return QP_ERR_BADF;
    }
    pthread_mutex_lock(&uart->lock);
    *out = uart->stats;
    pthread_mutex_unlock(&uart->lock);
    return 0;
}
