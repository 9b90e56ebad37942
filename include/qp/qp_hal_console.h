// qp_hal_console.h - the module's REPL port (the USB CDC port, UART3 on the EC600S) as a
// host pseudo-terminal, for `qpy serve`.
//
// Unlike machine.UART's pseudo-terminals (qp_hal_uart.h), the console's pty is made once
// by the program and outlives the interpreter: its descriptors are inherited across the
// re-execution that a module restart is (misc.Power.powerRestart()), so the path a host
// tool has open stays valid through reboots. The console therefore adopts descriptors it
// does not own and never closes them.
//
// Behaviour, and why:
// - Receive: a thread drains the master into a ring. When the ring is full the thread
//   stops reading, so the host's writes block (USB CDC has flow control: nothing is lost).
// - Interrupt character: while enabled (code is running), a received Ctrl-C is taken out
//   of the stream and SIGINT is sent to the thread that enabled it, as MicroPython's
//   mp_hal_set_interrupt_char makes the UART interrupt raise KeyboardInterrupt. A real
//   signal (not only a flag) is needed so a blocking sleep in the script wakes up.
// - Transmit: bytes go to the master; when no host reads them for `write_timeout_ms`, the
//   backlog is discarded (a USB port without a host drops output) and the write goes on.
//
// Thread-safety: read/peek/consume from one thread; write and the interrupt calls from any.
#ifndef QP_HAL_CONSOLE_H
#define QP_HAL_CONSOLE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define QP_HAL_CONSOLE_RING_DEFAULT (256 * 1024)
#define QP_HAL_CONSOLE_WRITE_TIMEOUT_DEFAULT 1000 // ms

typedef struct qp_hal_console {
    int master_fd, slave_fd;
    int wake_fd;                  // eventfd: wakes the receive thread
    int opened;
    pthread_t rx_thread;
    pthread_mutex_t lock;         // ring, counters, interrupt settings
    pthread_cond_t readable;      // signalled when bytes arrive or the port closes
    pthread_mutex_t tx_lock;      // one write at a time
    uint8_t *ring;
    size_t ring_size, ring_head, ring_count;
    int stopping;
    int intr_char;                // -1: disabled
    pthread_t intr_thread;
    unsigned intr_pending;        // interrupts sent and not yet taken
    unsigned write_timeout_ms;
} qp_hal_console_t;

// Makes a pseudo-terminal for a console: master and slave descriptors (not close-on-exec,
// so they survive the restart's exec), the slave in raw mode without echo (the host's
// tool sees exactly the module's bytes), and the slave's path in `path`.
// @retval QP_ERR_NAMETOOLONG path buffer too small  @retval negative errno from the host
int qp_hal_console_make_pty(int *master_fd, int *slave_fd, char *path, size_t pathlen);

// Starts serving an existing pty (descriptors from qp_hal_console_make_pty, possibly
// inherited). ring_size 0: QP_HAL_CONSOLE_RING_DEFAULT.
// @retval QP_ERR_NOMEM  @retval negative errno when the thread or eventfd cannot be made
int qp_hal_console_open(qp_hal_console_t *con, int master_fd, int slave_fd, size_t ring_size);

// Stops the receive thread and frees the ring. The descriptors stay open (the caller's).
// Accepts a zeroed or closed handle.
void qp_hal_console_close(qp_hal_console_t *con);

// Waits up to timeout_ms (-1: forever) for received bytes, then points *data at the oldest
// contiguous run of them (*len bytes) without removing them. Returns *len (0 on timeout).
ssize_t qp_hal_console_peek(qp_hal_console_t *con, const uint8_t **data, size_t *len,
                            int timeout_ms);
// Removes n bytes (at most what the last peek returned).
void qp_hal_console_consume(qp_hal_console_t *con, size_t n);

// Sends bytes as they are. Returns len. @retval QP_ERR_IO the host write failed
ssize_t qp_hal_console_write(qp_hal_console_t *con, const void *buf, size_t len);
// Sends text with each "\n" as "\r\n", as MicroPython's stdout does on a serial port.
ssize_t qp_hal_console_write_cooked(qp_hal_console_t *con, const void *buf, size_t len);

// Enables the interrupt character `ch` (SIGINT to the calling thread), or disables it
// with ch = -1.
void qp_hal_console_set_interrupt(qp_hal_console_t *con, int ch);
// Interrupts delivered since the last call (and resets the count).
unsigned qp_hal_console_take_interrupt(qp_hal_console_t *con);

#endif
