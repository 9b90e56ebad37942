// qp_repl_proto.h - the module side of MicroPython's REPL protocol on a serial port, as a
// byte-level state machine: friendly mode (line editing with echo), paste mode (Ctrl-E),
// raw mode (Ctrl-A ... Ctrl-D, "OK", Ctrl-B back) and raw-paste mode ("\x05A\x01", with
// its flow-control window). What a real MicroPython board sends is reproduced byte for
// byte, with "\r\n" line endings, so mpremote, pyboard.py and rshell work unchanged
// (docs/DESIGN.md "qpy serve", MicroPython docs/reference/repl.rst).
//
// The machine only parses input and produces protocol output; it never runs code. Its
// user (the runtime's console REPL) feeds it received bytes; when a statement or a block
// of code is complete the machine returns an event and the user compiles and runs the
// code, sending the code's own output in between, then tells the machine the outcome
// (qp_repl_proto_exec_output_end(), qp_repl_proto_exec_done()). Deciding whether a
// friendly-mode line needs a continuation ("... ") is Python's grammar, so that too is
// left to the user (qp_repl_proto_continue()).
//
// Portable C11: no I/O, no threads, no Python; memory through the optional allocator.
// One machine per console; not thread-safe (one thread feeds it and takes its events).
#ifndef QP_REPL_PROTO_H
#define QP_REPL_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define QP_REPL_CHAR_CTRL_A 0x01 // raw mode
#define QP_REPL_CHAR_CTRL_B 0x02 // friendly mode
#define QP_REPL_CHAR_CTRL_C 0x03 // cancel / interrupt
#define QP_REPL_CHAR_CTRL_D 0x04 // end of code / soft reset
#define QP_REPL_CHAR_CTRL_E 0x05 // paste mode / raw-paste request

// Raw-paste window-size increment when the config leaves it 0. MicroPython boards use
// half their 256-byte stdin buffer (128); the virtual module reads into a large ring, so a
// bigger window lets a host stream code at pseudo-terminal speed.
#define QP_REPL_PROTO_WINDOW_DEFAULT 16384

typedef enum qp_repl_mode {
    QP_REPL_MODE_FRIENDLY = 0, // ">>> " prompt, echo, line editing
    QP_REPL_MODE_PASTE,        // "=== " lines, compiled as a file on Ctrl-D
    QP_REPL_MODE_RAW,          // no echo; code until Ctrl-D
    QP_REPL_MODE_RAW_PASTE,    // raw with flow control, until Ctrl-D
    QP_REPL_MODE_EXEC,         // code is running: the user owns the input until done
} qp_repl_mode_t;

typedef enum qp_repl_event {
    QP_REPL_EV_NONE = 0,    // everything fed was consumed; feed more
    QP_REPL_EV_LINE,        // friendly: Enter ended a line; call continue() or execute
    QP_REPL_EV_EXEC,        // complete code in the buffer: run it (see exec_kind)
    QP_REPL_EV_SOFT_RESET,  // Ctrl-D on an empty prompt: soft reset, then start()
    QP_REPL_EV_BANNER,      // Ctrl-B: print the banner, then call prompt()
    QP_REPL_EV_INTERRUPTED, // raw-paste cancelled by Ctrl-C: raise KeyboardInterrupt as
                            // the code's outcome (output_end, traceback, exec_done)
} qp_repl_event_t;

typedef enum qp_repl_exec_kind {
    QP_REPL_EXEC_SINGLE = 0, // a friendly-mode statement: compile in 'single' mode
    QP_REPL_EXEC_FILE,       // paste, raw or raw-paste code: compile as a file
} qp_repl_exec_kind_t;

// Output sink for echo and protocol bytes; returns 0 or a negative errno (which the
// machine passes back from the function that was writing).
typedef int (*qp_repl_write_t)(void *ctx, const uint8_t *data, size_t len);

typedef struct qp_repl_proto_config {
    qp_repl_write_t write;   // required
    void *write_ctx;
    uint16_t window;         // raw-paste window-size increment; 0: QP_REPL_PROTO_WINDOW_DEFAULT
    size_t max_code;         // largest code accepted (bytes); 0: no limit but memory
    // Allocator for the code buffer; NULL: realloc/free.
    void *(*realloc_fn)(void *ctx, void *ptr, size_t size);
    void *alloc_ctx;
} qp_repl_proto_config_t;

typedef struct qp_repl_proto {
    qp_repl_proto_config_t cfg;
    qp_repl_mode_t mode;
    qp_repl_mode_t exec_from;  // mode the running code came from (raw or friendly)
    qp_repl_exec_kind_t exec_kind;
    uint8_t *buf;              // the code being received (not NUL-terminated)
    size_t len, cap;
    size_t line_start;         // friendly: where the current line starts in buf
    int continuing;            // friendly: on a "... " line
    int seen_cr;               // friendly: last byte was '\r' (a following '\n' is eaten)
    int esc;                   // friendly: inside an escape sequence (0, 1: ESC, 2: CSI)
    uint16_t window_remain;    // raw-paste: bytes left before we grant another window
    int overflow;              // code exceeded max_code or memory: rejected at its end
} qp_repl_proto_t;

// Prepares a machine in friendly mode (no output). Never fails.
void qp_repl_proto_init(qp_repl_proto_t *p, const qp_repl_proto_config_t *cfg);
// Frees the code buffer. Accepts an initialised or zeroed machine.
void qp_repl_proto_deinit(qp_repl_proto_t *p);

// Starts (or restarts after a soft reset) in friendly mode, printing ">>> " (print the
// banner first), or in raw mode when `raw`, printing "raw REPL; CTRL-B to exit\r\n>".
int qp_repl_proto_start(qp_repl_proto_t *p, int raw);

// Feeds received bytes. Consumes bytes up to and including the one that completes an
// event (*consumed says how many), so bytes after an event wait for the next call — after
// an EXEC they may belong to the running code. Returns the event (>= 0), or a negative
// errno from the write callback.
int qp_repl_proto_feed(qp_repl_proto_t *p, const uint8_t *in, size_t len, size_t *consumed);

// The code received so far (valid until the next call that changes the machine).
const uint8_t *qp_repl_proto_code(const qp_repl_proto_t *p, size_t *len);

// After QP_REPL_EV_LINE: the statement goes on. Prints "... " and MicroPython's auto-indent
// (the previous line's indentation, one level more after a ':'), which the new line
// starts with.
int qp_repl_proto_continue(qp_repl_proto_t *p);
// After QP_REPL_EV_LINE: the statement is complete; the machine switches to EXEC with
// kind SINGLE (no output). The user runs the code, then calls exec_done().
int qp_repl_proto_exec_line(qp_repl_proto_t *p);

// The running code's output has ended: in raw modes prints the "\x04" that separates the
// output from the error text. No output in friendly mode.
int qp_repl_proto_exec_output_end(qp_repl_proto_t *p);
// The code has finished and any traceback was printed: raw modes print "\x04>", friendly
// mode prints ">>> ". The machine returns to the mode the code came from.
int qp_repl_proto_exec_done(qp_repl_proto_t *p);

// After QP_REPL_EV_BANNER (banner printed): prints ">>> " in friendly mode.
int qp_repl_proto_prompt(qp_repl_proto_t *p);

// True when the code was rejected for size (QP_REPL_EV_EXEC with a truncated buffer):
// the user reports MemoryError instead of running it.
int qp_repl_proto_overflowed(const qp_repl_proto_t *p);

#endif
