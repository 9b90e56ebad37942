// qp_hal_console.c - Linux backend of the module's REPL port: a pseudo-terminal made once
// by `qpy serve` and inherited across restarts (contract in qp_hal_console.h).
//
// A receive thread drains the master into a ring, taking the interrupt character out of
// the stream while code runs; the REPL reads the ring in place (peek/consume), so a
// protocol parser can stop in the middle of a chunk and leave the rest for the code it is
// about to run. The master is non-blocking; writes wait with poll() for a bounded time.
//
// Relies on: posix_openpt/grantpt/unlockpt/ptsname_r, termios, eventfd, poll, pthreads.
#include "qp/qp_hal_console.h"

#include "qp/qp_err.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

int qp_hal_console_make_pty(int *master_fd, int *slave_fd, char *path, size_t pathlen) {
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0) {
        return -errno;
    }
    int err = 0;
    if (grantpt(m) < 0 || unlockpt(m) < 0) {
        err = -errno;
    } else if ((err = -ptsname_r(m, path, pathlen)) != 0) {
        err = err == -ERANGE ? QP_ERR_NAMETOOLONG : err;
    }
    int s = err ? -1 : open(path, O_RDWR | O_NOCTTY);
    if (!err && s < 0) {
        err = -errno;
    }
    struct termios t;
    if (!err && tcgetattr(s, &t) == 0) {
        // Raw and without echo: an echoing slave would feed the module's own output back
        // to it as input before any host tool has set the terminal up.
        cfmakeraw(&t);
        t.c_cflag |= CREAD | CLOCAL;
        t.c_cc[VMIN] = 1;
        t.c_cc[VTIME] = 0;
        cfsetispeed(&t, B115200);
        cfsetospeed(&t, B115200);
        if (tcsetattr(s, TCSANOW, &t) < 0) {
            err = -errno;
        }
    }
    if (err) {
        if (s >= 0) {
            close(s);
        }
        close(m);
        return err;
    }
    *master_fd = m;
    *slave_fd = s;
    return 0;
}

static void wake(qp_hal_console_t *con) {
    uint64_t one = 1;
    ssize_t n = write(con->wake_fd, &one, sizeof one);
    (void)n; // only fails with a full counter, i.e. a wake-up already pending
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// Stores received bytes, taking the interrupt character out while it is enabled.
// Caller holds con->lock; the ring has room for n bytes.
static void store(qp_hal_console_t *con, const uint8_t *src, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (con->intr_char >= 0 && src[i] == (uint8_t)con->intr_char) {
            con->intr_pending++;
            pthread_kill(con->intr_thread, SIGINT);
            continue;
        }
        con->ring[(con->ring_head + con->ring_count) % con->ring_size] = src[i];
        con->ring_count++;
    }
}

static void *rx_main(void *arg) {
    qp_hal_console_t *con = arg;
    uint8_t chunk[4096];
    for (;;) {
        pthread_mutex_lock(&con->lock);
        int stopping = con->stopping;
        size_t room = con->ring_size - con->ring_count;
        pthread_mutex_unlock(&con->lock);
        if (stopping) {
            break;
        }
        // A full ring stops reading: the host's writes then block on the pty (flow control).
        struct pollfd fds[2] = {
            {.fd = con->wake_fd, .events = POLLIN},
            {.fd = con->master_fd, .events = room ? POLLIN : 0},
        };
        if (poll(fds, 2, -1) < 0) {
            continue; // EINTR
        }
        if (fds[0].revents & POLLIN) {
            uint64_t count;
            ssize_t n = read(con->wake_fd, &count, sizeof count);
            (void)n;
        }
        if (!room || !(fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            continue;
        }
        ssize_t n = read(con->master_fd, chunk, room < sizeof chunk ? room : sizeof chunk);
        if (n <= 0) {
            // EAGAIN, or EIO while no slave is open (cannot last: we hold one). Avoid
            // spinning on a persistent error.
            if (n < 0 && errno != EAGAIN && errno != EINTR) {
                struct timespec pause = {0, 10 * 1000 * 1000};
                nanosleep(&pause, NULL);
            }
            continue;
        }
        pthread_mutex_lock(&con->lock);
        store(con, chunk, (size_t)n);
        pthread_cond_broadcast(&con->readable);
        pthread_mutex_unlock(&con->lock);
    }
    return NULL;
}

int qp_hal_console_open(qp_hal_console_t *con, int master_fd, int slave_fd, size_t ring_size) {
    memset(con, 0, sizeof *con);
    con->master_fd = master_fd;
    con->slave_fd = slave_fd;
    con->wake_fd = -1;
    con->intr_char = -1;
    con->write_timeout_ms = QP_HAL_CONSOLE_WRITE_TIMEOUT_DEFAULT;
    con->ring_size = ring_size ? ring_size : QP_HAL_CONSOLE_RING_DEFAULT;
    con->ring = malloc(con->ring_size);
    if (!con->ring) {
        return QP_ERR_NOMEM;
    }
    int err = 0;
    int flags = fcntl(master_fd, F_GETFL);
    if (flags < 0 || fcntl(master_fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        err = -errno;
        goto fail;
    }
    con->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (con->wake_fd < 0) {
        err = -errno;
        goto fail;
    }
    pthread_mutex_init(&con->lock, NULL);
    pthread_mutex_init(&con->tx_lock, NULL);
    pthread_cond_init(&con->readable, NULL);
    // The receive thread must not take SIGINT meant for the interpreter's main thread.
    sigset_t block, old;
    sigfillset(&block);
    pthread_sigmask(SIG_SETMASK, &block, &old);
    err = -pthread_create(&con->rx_thread, NULL, rx_main, con);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err) {
        pthread_mutex_destroy(&con->lock);
        pthread_mutex_destroy(&con->tx_lock);
        pthread_cond_destroy(&con->readable);
        goto fail;
    }
    con->opened = 1;
    return 0;

fail:
    if (con->wake_fd >= 0) {
        close(con->wake_fd);
    }
    free(con->ring);
    con->ring = NULL;
    return err;
}

void qp_hal_console_close(qp_hal_console_t *con) {
    if (!con->opened) {
        return;
    }
    pthread_mutex_lock(&con->lock);
    con->stopping = 1;
    pthread_cond_broadcast(&con->readable);
    pthread_mutex_unlock(&con->lock);
    wake(con);
    pthread_join(con->rx_thread, NULL);
    close(con->wake_fd);
    pthread_mutex_destroy(&con->lock);
    pthread_mutex_destroy(&con->tx_lock);
    pthread_cond_destroy(&con->readable);
    free(con->ring);
    con->ring = NULL;
    con->opened = 0;
}

ssize_t qp_hal_console_peek(qp_hal_console_t *con, const uint8_t **data, size_t *len,
                            int timeout_ms) {
    if (!con->opened) {
        return QP_ERR_BADF;
    }
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    if (timeout_ms > 0) {
        deadline.tv_sec += timeout_ms / 1000;
        deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
    }
    pthread_mutex_lock(&con->lock);
    while (con->ring_count == 0 && !con->stopping && timeout_ms != 0) {
        if (timeout_ms < 0) {
            pthread_cond_wait(&con->readable, &con->lock);
        } else if (pthread_cond_timedwait(&con->readable, &con->lock, &deadline) != 0) {
            break;
        }
    }
    // Only the receive thread appends, and only behind the tail, so the run stays valid
    // after the lock is released until it is consumed.
    size_t n = con->ring_count;
    if (n > con->ring_size - con->ring_head) {
        n = con->ring_size - con->ring_head;
    }
    *data = con->ring + con->ring_head;
    *len = n;
    pthread_mutex_unlock(&con->lock);
    return (ssize_t)n;
}

void qp_hal_console_consume(qp_hal_console_t *con, size_t n) {
    pthread_mutex_lock(&con->lock);
    if (n > con->ring_count) {
        n = con->ring_count;
    }
    int was_full = con->ring_count == con->ring_size;
    con->ring_head = (con->ring_head + n) % con->ring_size;
    con->ring_count -= n;
    pthread_mutex_unlock(&con->lock);
    if (was_full && n) {
        wake(con); // the receive thread stopped reading; there is room again
    }
}

// Writes all of buf, waiting for the host; after write_timeout_ms without progress the
// backlog nobody reads is dropped, as a USB port without a host would.
static ssize_t write_all(qp_hal_console_t *con, const uint8_t *buf, size_t len) {
    size_t done = 0;
    int64_t deadline = now_ms() + con->write_timeout_ms;
    while (done < len) {
        ssize_t n = write(con->master_fd, buf + done, len - done);
        if (n > 0) {
            done += (size_t)n;
            deadline = now_ms() + con->write_timeout_ms;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            return QP_ERR_IO;
        }
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            tcflush(con->slave_fd, TCIFLUSH);
            deadline = now_ms() + con->write_timeout_ms;
            continue;
        }
        struct pollfd p = {.fd = con->master_fd, .events = POLLOUT};
        poll(&p, 1, (int)left);
    }
    return (ssize_t)len;
}

ssize_t qp_hal_console_write(qp_hal_console_t *con, const void *buf, size_t len) {
    if (!con->opened) {
        return QP_ERR_BADF;
    }
    pthread_mutex_lock(&con->tx_lock);
    ssize_t n = write_all(con, buf, len);
    pthread_mutex_unlock(&con->tx_lock);
    return n;
}

ssize_t qp_hal_console_write_cooked(qp_hal_console_t *con, const void *buf, size_t len) {
    if (!con->opened) {
        return QP_ERR_BADF;
    }
    const uint8_t *src = buf;
    uint8_t out[8192];
    size_t o = 0;
    ssize_t err = 0;
    pthread_mutex_lock(&con->tx_lock);
    for (size_t i = 0; i < len && err >= 0; i++) {
        if (src[i] == '\n') {
            out[o++] = '\r';
        }
        out[o++] = src[i];
        if (o >= sizeof out - 2) {
            err = write_all(con, out, o);
            o = 0;
        }
    }
    if (err >= 0 && o) {
        err = write_all(con, out, o);
    }
    pthread_mutex_unlock(&con->tx_lock);
    return err < 0 ? err : (ssize_t)len;
}

void qp_hal_console_set_interrupt(qp_hal_console_t *con, int ch) {
    pthread_mutex_lock(&con->lock);
    con->intr_char = ch;
    con->intr_thread = pthread_self();
    pthread_mutex_unlock(&con->lock);
}

unsigned qp_hal_console_take_interrupt(qp_hal_console_t *con) {
    pthread_mutex_lock(&con->lock);
    unsigned n = con->intr_pending;
    con->intr_pending = 0;
    pthread_mutex_unlock(&con->lock);
    return n;
}
