// qpy_link.h - the host side of MicroPython's raw REPL over a serial port (qpy_link.c):
// what pyboard.py and mpremote do, in C, for `qpy --port PORT ...`.
//
// A link is an open serial port (a pseudo-terminal of `qpy serve`, or a real module's
// /dev/ttyUSB*) in raw termios mode, with a read buffer. Every wait has a deadline: a
// module that stops answering gives QP_ERR_TIMEDOUT-style failures (-ETIMEDOUT), a port
// that goes away (server killed, cable pulled) gives QP_ERR_IO, never a hang.
//
// Not thread-safe: one thread per link.
#ifndef QPY_LINK_H
#define QPY_LINK_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#define QPY_LINK_TIMEOUT_DEFAULT 10000 // ms without a byte from the module

// Receives bytes as they arrive (a command's output); returns 0 or a negative errno.
typedef int (*qpy_link_sink_t)(void *ctx, const uint8_t *data, size_t len);

typedef struct qpy_link {
    int fd;
    int timeout_ms;     // for each wait; 0: QPY_LINK_TIMEOUT_DEFAULT
    int raw;            // in the raw REPL
    uint8_t buf[65536]; // received, not yet used
    size_t start, end;
    char path[256];
    // When set (by a SIGINT handler) while a command's output is followed, the link sends
    // Ctrl-C to the module: Ctrl-C in `qpy --port run` interrupts the script.
    volatile sig_atomic_t *interrupt;
} qpy_link_t;

// Opens and locks (flock, as pyserial's exclusive mode) a serial port.
// @retval QP_ERR_NOENT no such port   @retval QP_ERR_BUSY another program has it
// @retval negative errno otherwise
int qpy_link_open(qpy_link_t *link, const char *path);
// Adopts an open descriptor (tests: one end of a pty pair). Sets raw mode if a tty.
void qpy_link_adopt(qpy_link_t *link, int fd);
void qpy_link_close(qpy_link_t *link);

// Writes all bytes. @retval QP_ERR_IO port gone  @retval -ETIMEDOUT module not reading
int qpy_link_write(qpy_link_t *link, const void *data, size_t len);
// Reads until `marker` has arrived; bytes before it go to sink (may be NULL). With
// forever set, waits without a deadline (a script's output can pause for long).
int qpy_link_read_until(qpy_link_t *link, const char *marker, size_t mlen,
                        qpy_link_sink_t sink, void *ctx, int forever);

// Interrupts whatever runs and enters the raw REPL; with soft_reset, also soft-resets
// the module (fresh __main__, main.py not run).  @retval -ETIMEDOUT no REPL answered
int qpy_link_enter_raw(qpy_link_t *link, int soft_reset);
// Back to the friendly REPL (Ctrl-B).
int qpy_link_leave_raw(qpy_link_t *link);

// Runs code in the raw REPL (raw-paste with flow control when the module offers it,
// else plain raw mode): output goes to out, the error text (a traceback) to err. Returns
// 1 when the code raised (error text not empty), 0 when it finished, or a negative errno
// for the link. With follow_forever, waits for the outcome without a deadline.
int qpy_link_exec(qpy_link_t *link, const void *code, size_t len, qpy_link_sink_t out,
                  void *out_ctx, qpy_link_sink_t err, void *err_ctx, int follow_forever);

#endif
