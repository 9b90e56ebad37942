// qpy_link.c - host side of the raw REPL over a serial port (contract in qpy_link.h).
//
// The protocol is MicroPython's (docs/reference/repl.rst; docs/DESIGN.md "qpy serve"):
// "\r\x03\x03" stops whatever runs, "\r\x01" enters the raw REPL, "\x04" on its empty
// prompt soft-resets, "\x05A\x01" asks for raw-paste mode, in which code is sent no
// faster than the windows the module grants ("\x01"), then "\x04"; the answer is the
// output, "\x04", the error text, "\x04", ">".
//
// Relies on: termios, poll, flock.
#include "qpy_link.h"

#include "qp/qp_err.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static const char raw_prompt[] = "raw REPL; CTRL-B to exit\r\n>";

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int timeout_of(const qpy_link_t *link) {
    return link->timeout_ms ? link->timeout_ms : QPY_LINK_TIMEOUT_DEFAULT;
}

static void set_raw(int fd) {
    struct termios t;
    if (tcgetattr(fd, &t) == 0) {
        cfmakeraw(&t);
        t.c_cflag |= CREAD | CLOCAL;
        t.c_cc[VMIN] = 0;
        t.c_cc[VTIME] = 0;
        cfsetispeed(&t, B115200);
        cfsetospeed(&t, B115200);
        tcsetattr(fd, TCSANOW, &t);
    }
}

void qpy_link_adopt(qpy_link_t *link, int fd) {
    memset(link, 0, sizeof *link);
    link->fd = fd;
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0) {
        fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    }
    set_raw(fd);
}

int qpy_link_open(qpy_link_t *link, const char *path) {
    int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    if (!isatty(fd)) {
        close(fd);
        return -ENOTTY;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        close(fd);
        return QP_ERR_BUSY;
    }
    qpy_link_adopt(link, fd);
    snprintf(link->path, sizeof link->path, "%s", path);
    return 0;
}

void qpy_link_close(qpy_link_t *link) {
    if (link->fd > 0) {
        close(link->fd);
    }
    link->fd = -1;
}

int qpy_link_write(qpy_link_t *link, const void *data, size_t len) {
    const uint8_t *p = data;
    int64_t deadline = now_ms() + timeout_of(link);
    while (len) {
        ssize_t n = write(link->fd, p, len);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            deadline = now_ms() + timeout_of(link);
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            return QP_ERR_IO;
        }
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            return -ETIMEDOUT;
        }
        struct pollfd pfd = {.fd = link->fd, .events = POLLOUT};
        poll(&pfd, 1, (int)left);
    }
    return 0;
}

// Reads more bytes into the buffer, waiting at most `wait` ms (-1: forever).
// Returns the count, 0 on timeout, QP_ERR_IO when the port is gone.
static int fill(qpy_link_t *link, int wait) {
    if (link->start == link->end) {
        link->start = link->end = 0;
    } else if (link->end == sizeof link->buf) {
        memmove(link->buf, link->buf + link->start, link->end - link->start);
        link->end -= link->start;
        link->start = 0;
    }
    struct pollfd pfd = {.fd = link->fd, .events = POLLIN};
    int r = poll(&pfd, 1, wait);
    if (r < 0) {
        return errno == EINTR ? 0 : QP_ERR_IO;
    }
    if (r == 0) {
        return 0;
    }
    ssize_t n = read(link->fd, link->buf + link->end, sizeof link->buf - link->end);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        return 0;
    }
    if (n <= 0) {
        return QP_ERR_IO; // EIO or hang-up: the other end closed (server gone, unplugged)
    }
    link->end += (size_t)n;
    return (int)n;
}

int qpy_link_read_until(qpy_link_t *link, const char *marker, size_t mlen,
                        qpy_link_sink_t sink, void *ctx, int forever) {
    int64_t deadline = now_ms() + timeout_of(link);
    for (;;) {
        // Look for the marker; hand over everything that cannot be its beginning.
        size_t have = link->end - link->start;
        const uint8_t *b = link->buf + link->start;
        size_t i = 0;
        for (; i + mlen <= have; i++) {
            if (b[i] == (uint8_t)marker[0] && memcmp(b + i, marker, mlen) == 0) {
                break;
            }
        }
        if (i + mlen <= have) {
            int err = sink && i ? sink(ctx, b, i) : 0;
            link->start += i + mlen;
            return err;
        }
        size_t safe = have >= mlen ? have - (mlen - 1) : 0;
        if (safe && sink) {
            int err = sink(ctx, b, safe);
            if (err < 0) {
                return err;
            }
        }
        link->start += safe; // handed over, or (without a sink) skipped
        if (forever && link->interrupt && *link->interrupt) {
            *link->interrupt = 0;
            int err = qpy_link_write(link, "\x03", 1);
            if (err < 0) {
                return err;
            }
        }
        int left = forever ? 100 : (int)(deadline - now_ms());
        if (left <= 0) {
            return -ETIMEDOUT;
        }
        int n = fill(link, left);
        if (n < 0) {
            return n;
        }
        if (n > 0) {
            deadline = now_ms() + timeout_of(link);
        }
    }
}

// Discards what arrives until the port has been quiet for `quiet` ms.
static int drain(qpy_link_t *link, int quiet) {
    for (;;) {
        link->start = link->end = 0;
        int n = fill(link, quiet);
        if (n <= 0) {
            link->start = link->end = 0;
            return n;
        }
    }
}

int qpy_link_enter_raw(qpy_link_t *link, int soft_reset) {
    // Ctrl-C twice stops a running program (and whatever main.py does); a real module may
    // still be printing, so wait for quiet before asking for the raw REPL.
    int err = qpy_link_write(link, "\r\x03\x03", 3);
    if (err == 0) {
        err = drain(link, 50);
    }
    if (err == 0) {
        err = qpy_link_write(link, "\r\x01", 2);
    }
    if (err == 0) {
        err = qpy_link_read_until(link, raw_prompt, sizeof raw_prompt - 1, NULL, NULL, 0);
    }
    if (err == 0 && soft_reset) {
        err = qpy_link_write(link, "\x04", 1);
        if (err == 0) {
            err = qpy_link_read_until(link, "soft reboot\r\n", 13, NULL, NULL, 0);
        }
        if (err == 0) {
            err = qpy_link_read_until(link, raw_prompt, sizeof raw_prompt - 1, NULL, NULL, 0);
        }
    }
    link->raw = err == 0;
    return err;
}

int qpy_link_leave_raw(qpy_link_t *link) {
    link->raw = 0;
    return qpy_link_write(link, "\r\x02", 2);
}

// Reads exactly n bytes.
static int read_exact(qpy_link_t *link, uint8_t *out, size_t n) {
    int64_t deadline = now_ms() + timeout_of(link);
    while (link->end - link->start < n) {
        int left = (int)(deadline - now_ms());
        if (left <= 0) {
            return -ETIMEDOUT;
        }
        int r = fill(link, left);
        if (r < 0) {
            return r;
        }
    }
    memcpy(out, link->buf + link->start, n);
    link->start += n;
    return 0;
}

// Sends code in raw-paste mode, within the module's windows.
static int paste(qpy_link_t *link, const uint8_t *code, size_t len) {
    uint8_t w[2];
    int err = read_exact(link, w, 2);
    if (err < 0) {
        return err;
    }
    size_t inc = (size_t)w[0] | (size_t)w[1] << 8, remain = inc, sent = 0;
    if (inc == 0) {
        return QP_ERR_CORRUPT;
    }
    while (sent < len) {
        // Take the grants that have arrived; wait for one when the window is used up.
        while (remain == 0 || link->end > link->start) {
            if (link->end == link->start) {
                int n = fill(link, timeout_of(link));
                if (n < 0) {
                    return n;
                }
                if (n == 0) {
                    return -ETIMEDOUT;
                }
            }
            uint8_t c = link->buf[link->start++];
            if (c == 0x01) {
                remain += inc;
            } else if (c == 0x04) {
                // The module ended the reception (it cannot take more): acknowledge.
                return qpy_link_write(link, "\x04", 1);
            }
        }
        size_t n = len - sent < remain ? len - sent : remain;
        err = qpy_link_write(link, code + sent, n);
        if (err < 0) {
            return err;
        }
        sent += n;
        remain -= n;
    }
    err = qpy_link_write(link, "\x04", 1);
    // The module acknowledges the end of the code with "\x04" once it has all of it.
    return err < 0 ? err : qpy_link_read_until(link, "\x04", 1, NULL, NULL, 0);
}

typedef struct {
    qpy_link_sink_t sink;
    void *ctx;
    size_t count;
} counting_t;

static int count_sink(void *ctx, const uint8_t *data, size_t len) {
    counting_t *c = ctx;
    c->count += len;
    return c->sink ? c->sink(c->ctx, data, len) : 0;
}

int qpy_link_exec(qpy_link_t *link, const void *code, size_t len, qpy_link_sink_t out,
                  void *out_ctx, qpy_link_sink_t err_sink, void *err_ctx, int follow_forever) {
    int err = qpy_link_write(link, "\x05" "A\x01", 3);
    uint8_t answer[2];
    if (err == 0) {
        err = read_exact(link, answer, 2);
    }
    if (err < 0) {
        return err;
    }
    if (answer[0] == 'R' && answer[1] == 0x01) {
        err = paste(link, code, len);
    } else {
        // No raw-paste: "R\x00" then the prompt, or an old firmware's raw banner again.
        err = qpy_link_read_until(link, ">", 1, NULL, NULL, 0);
        if (err == 0) {
            err = qpy_link_write(link, code, len);
        }
        if (err == 0) {
            err = qpy_link_write(link, "\x04", 1);
        }
        if (err == 0) {
            err = qpy_link_read_until(link, "OK", 2, NULL, NULL, 0);
        }
    }
    if (err < 0) {
        return err;
    }
    err = qpy_link_read_until(link, "\x04", 1, out, out_ctx, follow_forever);
    counting_t c = {err_sink, err_ctx, 0};
    if (err == 0) {
        err = qpy_link_read_until(link, "\x04", 1, count_sink, &c, 0);
    }
    if (err == 0) {
        err = qpy_link_read_until(link, ">", 1, NULL, NULL, 0);
    }
    return err < 0 ? err : c.count > 0;
}
