// qp_hal_uart.h - the module's UARTs (machine.UART), backed by host pseudo-terminals.
//
// The EC600S has four UARTs: UART0 (debug port), UART1 (BT port), UART2 (main port) and
// UART3 (USB CDC port). The Linux backend (src/hal/qp_hal_uart.c) makes each open UART a
// pseudo-terminal: the module holds the master side, and the slave side (/dev/pts/N) is
// the other end of the wire, linked as `<device dir>/uart<N>` so picocom, minicom,
// pyserial or a test can be the peer. Framing (baud rate, data bits, parity, stop bits,
// flow control) is applied to the terminal settings, where the peer can read it back,
// with one limit of the host: Linux's pty driver (drivers/tty/pty.c, pty_set_termios)
// forces CS8 and clears PARENB on every tcsetattr, so a peer always reads back 8 data bits
// and no parity (PARODD, CSTOPB, CRTSCTS and the speed are kept). The HAL therefore
// applies the data width itself: with fewer than 8 data bits only the low bits of each
// byte cross the wire, both ways, as on a real UART. Parity has no effect on the bytes.
//
// Behaviour a user of the module can observe, and why:
// - Receive: a thread per open UART drains the pseudo-terminal into a ring buffer of
//   `rx_buffer_size` bytes, like the UART driver's interrupt handler fills its FIFO.
//   any() and read() only look at the ring, so read() never blocks. When the ring is
//   full, flow control decides: with QP_HAL_UART_FLOW_NONE new bytes are dropped and
//   counted as overruns (a real UART loses bytes that arrive while its FIFO is full);
//   with QP_HAL_UART_FLOW_RTSCTS the thread stops reading, so the peer's writes block
//   once the pseudo-terminal's own buffer fills (RTS deasserted), and nothing is lost.
// - Transmit: write() hands the bytes to the pseudo-terminal. A real UART clocks bytes
//   out whether anyone listens or not, but a pseudo-terminal's buffer is finite, so when
//   the peer is not reading, write() waits up to `write_timeout_ms` for room. Then, with
//   QP_HAL_UART_FLOW_NONE, it discards the backlog nobody read (a late peer does not get
//   stale bytes, as it would not on a wire), writes what fits, drops the rest, counts it
//   in tx_dropped and still reports every byte as sent; with QP_HAL_UART_FLOW_RTSCTS it
//   returns the count actually written (CTS held off), or QP_ERR_AGAIN if none.
// - Throughput is not limited to the baud rate: the bytes cross the pseudo-terminal as
//   fast as the host moves them.
//
// Thread-safety: open/close/configure of one handle must not race with each other; read,
// any, write, set_callback and stats may be called from any thread while it is open.
#ifndef QP_HAL_UART_H
#define QP_HAL_UART_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define QP_HAL_UART0 0          // debug port
#define QP_HAL_UART1 1          // BT port
#define QP_HAL_UART2 2          // main port
#define QP_HAL_UART3 3          // USB CDC port
#define QP_HAL_UART_COUNT 4

#define QP_HAL_UART_PARITY_NONE 0
#define QP_HAL_UART_PARITY_EVEN 1
#define QP_HAL_UART_PARITY_ODD 2

#define QP_HAL_UART_FLOW_NONE 0
#define QP_HAL_UART_FLOW_RTSCTS 1

#define QP_HAL_UART_RX_BUFFER_DEFAULT 4096    // bytes, as the firmware's driver FIFO
#define QP_HAL_UART_WRITE_TIMEOUT_DEFAULT 200 // ms to wait for a peer to make room

// Called from the UART's receive thread each time bytes were stored in the ring: `size`
// is the number of bytes this arrival added (so the sizes of successive calls add up to
// what read() will return). It must not block and must not call qp_hal_uart_close() on
// the same UART; the Python binding only queues an event for its dispatcher thread.
typedef void (*qp_hal_uart_rx_cb_t)(void *ctx, int port, size_t size);

// The framing fields have no "zero means default": 0 is a valid parity and flow setting
// but an invalid baud rate and data width (the firmware rejects UART(2, 0, ...)), so start
// from QP_HAL_UART_CONFIG_INIT. The remaining fields are zero-means-default knobs.
typedef struct qp_hal_uart_config {
    long baudrate;   // 300, 600, 1200, 2400, 3600, 4800, 7200, 9600, 14400, 19200, 28800,
                     // 33600, 38400, 57600, 115200, 230400, 460800, 921600, 1000000,
                     // 1842000, 3686400, 4468750 (the firmware's list)
    long data_bits;  // 5..8
    long parity;     // QP_HAL_UART_PARITY_*
    long stop_bits;  // 1 or 2
    long flow;       // QP_HAL_UART_FLOW_*
    // Directory where `uart<N>` is linked to the slave path; NULL: no link. Copied at open.
    const char *link_dir;
    // Receive ring: `rx_buffer` (caller-owned, must stay valid while open) or NULL to
    // allocate one of `rx_buffer_size` bytes (0: QP_HAL_UART_RX_BUFFER_DEFAULT).
    size_t rx_buffer_size;
    uint8_t *rx_buffer;
    unsigned write_timeout_ms; // 0: QP_HAL_UART_WRITE_TIMEOUT_DEFAULT
    qp_hal_uart_rx_cb_t on_rx; // may be NULL; see qp_hal_uart_set_callback()
    void *on_rx_ctx;
} qp_hal_uart_config_t;

#define QP_HAL_UART_CONFIG_INIT                                                         \
    { .baudrate = 115200, .data_bits = 8, .parity = QP_HAL_UART_PARITY_NONE,          \
      .stop_bits = 1, .flow = QP_HAL_UART_FLOW_NONE }

// Which argument a configuration gets wrong, in the order the firmware checks them.
typedef enum qp_hal_uart_bad {
    QP_HAL_UART_OK = 0,
    QP_HAL_UART_BAD_PORT,    // "UART(%d) does not exist"
    QP_HAL_UART_BAD_BAUD,    // "invalid baudrate"
    QP_HAL_UART_BAD_BITS,    // "invalid data bits"
    QP_HAL_UART_BAD_PARITY,  // "invalid parity bits"
    QP_HAL_UART_BAD_STOP,    // "invalid stop bits"
    QP_HAL_UART_BAD_FLOW,    // "invalid flow bits"
} qp_hal_uart_bad_t;

typedef struct qp_hal_uart_stats {
    uint64_t rx_bytes;      // stored in the ring
    uint64_t rx_overruns;   // dropped because the ring was full (flow control off)
    uint64_t tx_bytes;      // accepted by the pseudo-terminal
    uint64_t tx_dropped;    // discarded because nobody read them in time
} qp_hal_uart_stats_t;

// An open UART. Allocated by the caller (zeroed or qp_hal_uart_init()), opaque: use the
// functions below. The handle must not move while open (the receive thread points to it).
typedef struct qp_hal_uart {
    int port;
    int opened;
    int master_fd;
    int slave_fd;
    int wake_fd;              // eventfd: wakes the receive thread (close, ring drained)
    pthread_t rx_thread;
    pthread_mutex_t lock;     // guards the ring, stats, cfg and stopping
    pthread_mutex_t cb_lock;  // held while the callback runs (set_callback waits on it)
    pthread_mutex_t tx_lock;  // one write() at a time, so each write's bytes stay together
    int stopping;
    qp_hal_uart_config_t cfg; // as applied (link_dir points to link_path below)
    uint8_t *ring;
    int ring_owned;
    size_t ring_size, ring_head, ring_count;
    qp_hal_uart_stats_t stats;
    char slave_path[64];
    char link_path[4096];
} qp_hal_uart_t;

// ---- Arguments ------------------------------------------------------------------------

// Checks a port number and configuration without opening anything.
// Returns QP_HAL_UART_OK or the first bad argument (port first, then as in the enum).
qp_hal_uart_bad_t qp_hal_uart_check(long port, const qp_hal_uart_config_t *cfg);

// The firmware's ValueError text for a bad argument, e.g. "invalid baudrate", written to
// buf (the port message includes the number: "UART(9) does not exist"). Returns buf.
const char *qp_hal_uart_bad_message(qp_hal_uart_bad_t bad, long port, char *buf,
                                    size_t buflen);

// True when the host has a termios speed constant (Bxxx) for the rate. Rates without one
// (3600, 7200, 14400, 28800, 33600, 1842000, 3686400, 4468750) are set on the terminal as
// the nearest standard rate below them (a pseudo-terminal ignores the speed; only a peer
// reading it back sees the difference). The handle keeps and reports the requested rate.
int qp_hal_uart_baud_is_native(long baudrate);

// ---- Lifetime -------------------------------------------------------------------------

// Makes a handle safe for qp_hal_uart_close() and qp_hal_uart_is_open(). Never fails.
void qp_hal_uart_init(qp_hal_uart_t *uart);

// Opens UART `port`: creates the pseudo-terminal, puts it in raw mode with the framing of
// `cfg`, links `<cfg->link_dir>/uart<port>` to its slave (replacing a stale link left by a
// module that died), and starts the receive thread. `cfg` is copied.
// @retval QP_ERR_NOENT  port does not exist (QP_HAL_UART_BAD_PORT)
// @retval QP_ERR_INVAL  bad framing (qp_hal_uart_check() says which)
// @retval QP_ERR_BUSY   this handle or another one already has the port open
// @retval QP_ERR_EXIST  the link path exists and is not a symbolic link
// @retval QP_ERR_NAMETOOLONG link_dir too long
// @retval QP_ERR_NOMEM  ring allocation failed
// @retval QP_ERR_IO (or another negative errno) the host refused a pty, link or thread
int qp_hal_uart_open(qp_hal_uart_t *uart, int port, const qp_hal_uart_config_t *cfg);

// Applies new framing to an open UART (machine.UART.init()); the pseudo-terminal and
// its link stay, so a connected peer keeps its connection. Buffer, link and callback
// fields of `cfg` are ignored.
// @retval QP_ERR_INVAL bad framing   @retval QP_ERR_BADF not open
int qp_hal_uart_configure(qp_hal_uart_t *uart, const qp_hal_uart_config_t *cfg);

// Stops the receive thread, closes the pseudo-terminal and removes the link (if it still
// points to this UART). Buffered bytes are lost. Accepts a never-opened or closed handle.
// Must not be called from the UART's own callback.
void qp_hal_uart_close(qp_hal_uart_t *uart);

int qp_hal_uart_is_open(const qp_hal_uart_t *uart);

// ---- Data -----------------------------------------------------------------------------

// Bytes waiting in the receive ring (machine.UART.any()). 0 when not open.
size_t qp_hal_uart_any(qp_hal_uart_t *uart);

// Copies up to `len` buffered bytes to buf and removes them from the ring. Never blocks.
// Returns the count (0 when nothing is buffered).  @retval QP_ERR_BADF not open
ssize_t qp_hal_uart_read(qp_hal_uart_t *uart, void *buf, size_t len);

// As qp_hal_uart_read(), but stops after the first `delim` byte (included), for
// readline(). Without a delim in the ring it takes what is there, up to len, as the
// firmware's unbuffered readline returns a partial line rather than wait.
ssize_t qp_hal_uart_read_until(qp_hal_uart_t *uart, void *buf, size_t len, uint8_t delim);

// Sends `len` bytes; blocks at most write_timeout_ms when the peer does not read (see the
// file comment for what happens then). Returns the count taken (len, unless flow control
// held bytes back).  @retval QP_ERR_AGAIN flow control held back every byte
// @retval QP_ERR_BADF not open   @retval QP_ERR_IO the host write failed
ssize_t qp_hal_uart_write(qp_hal_uart_t *uart, const void *buf, size_t len);

// Replaces the receive callback (NULL removes it). Once it returns, the old callback is
// not running and will not be called again.  @retval QP_ERR_BADF not open
int qp_hal_uart_set_callback(qp_hal_uart_t *uart, qp_hal_uart_rx_cb_t fn, void *ctx);

// ---- Introspection --------------------------------------------------------------------

// The slave side (/dev/pts/N) a peer opens; "" when not open.
const char *qp_hal_uart_slave_path(const qp_hal_uart_t *uart);
// The link `<dir>/uart<N>`; "" when not open or no link was asked for.
const char *qp_hal_uart_link_path(const qp_hal_uart_t *uart);

// Counters since open. @retval QP_ERR_BADF not open
int qp_hal_uart_stats(qp_hal_uart_t *uart, qp_hal_uart_stats_t *out);

// ---- Device directory -----------------------------------------------------------------

// Where the runtime keeps the device (set at boot, before any script runs). The machine
// binding passes it as link_dir. NULL or "" clears it. The string is copied.
// @retval QP_ERR_NAMETOOLONG longer than PATH_MAX
int qp_hal_uart_set_device_dir(const char *dir);
// The device directory, or NULL when none was set.
const char *qp_hal_uart_device_dir(void);

#endif
