// qp_repl_proto.c - MicroPython's REPL protocol, module side, as a byte-level state machine
// (contract in include/qp/qp_repl_proto.h, protocol in docs/DESIGN.md "qpy serve").
//
// The byte sequences are those a MicroPython board sends (shared/runtime/pyexec.c and
// shared/readline/readline.c describe the behaviour; this is an independent
// implementation): control characters act only at an empty friendly prompt, except
// Ctrl-C which always cancels; raw mode answers Ctrl-D with "OK"; raw-paste grants its
// first two windows at once (the window size, then "\x01") and one more each time a
// window's worth of bytes has been consumed.
//
// Relies on nothing but the C library (realloc unless an allocator is configured).
#include "qp/qp_repl_proto.h"

#include "qp/qp_err.h"

#include <stdlib.h>
#include <string.h>

static const char raw_banner[] = "raw REPL; CTRL-B to exit\r\n>";
static const char paste_banner[] = "\r\npaste mode; Ctrl-C to cancel, Ctrl-D to finish\r\n=== ";

static int out(qp_repl_proto_t *p, const void *data, size_t len) {
    if (len == 0) {
        return 0;
    }
    int err = p->cfg.write(p->cfg.write_ctx, data, len);
    return err < 0 ? err : 0;
}

static int outs(qp_repl_proto_t *p, const char *s) {
    return out(p, s, strlen(s));
}

static void *default_realloc(void *ctx, void *ptr, size_t size) {
    (void)ctx;
    return realloc(ptr, size);
}

void qp_repl_proto_init(qp_repl_proto_t *p, const qp_repl_proto_config_t *cfg) {
    memset(p, 0, sizeof *p);
    p->cfg = *cfg;
    if (!p->cfg.window) {
        p->cfg.window = QP_REPL_PROTO_WINDOW_DEFAULT;
    }
    if (!p->cfg.realloc_fn) {
        p->cfg.realloc_fn = default_realloc;
    }
}

void qp_repl_proto_deinit(qp_repl_proto_t *p) {
    if (p->buf && p->cfg.realloc_fn) {
        p->cfg.realloc_fn(p->cfg.alloc_ctx, p->buf, 0);
    }
    p->buf = NULL;
    p->len = p->cap = 0;
}

static void reset_code(qp_repl_proto_t *p) {
    p->len = 0;
    p->line_start = 0;
    p->continuing = 0;
    p->overflow = 0;
    p->esc = 0;
}

// Appends bytes to the code. When the code grows past max_code or memory, the bytes are
// dropped and the code is rejected when it ends (as MicroPython's MemoryError), rather
// than cut off at an arbitrary point and run.
static void add(qp_repl_proto_t *p, const uint8_t *data, size_t n) {
    if (p->overflow) {
        return;
    }
    if (p->cfg.max_code && p->len + n > p->cfg.max_code) {
        p->overflow = 1;
        return;
    }
    if (p->len + n > p->cap) {
        size_t cap = p->cap ? p->cap : 256;
        while (cap < p->len + n) {
            cap *= 2;
        }
        // realloc(ptr, 0) means free for our allocator contract, so cap is never 0 here.
        uint8_t *nb = p->cfg.realloc_fn(p->cfg.alloc_ctx, p->buf, cap);
        if (!nb) {
            p->overflow = 1;
            return;
        }
        p->buf = nb;
        p->cap = cap;
    }
    memcpy(p->buf + p->len, data, n);
    p->len += n;
}

int qp_repl_proto_start(qp_repl_proto_t *p, int raw) {
    reset_code(p);
    p->seen_cr = 0;
    if (raw) {
        p->mode = QP_REPL_MODE_RAW;
        return outs(p, raw_banner);
    }
    p->mode = QP_REPL_MODE_FRIENDLY;
    return outs(p, ">>> ");
}

int qp_repl_proto_prompt(qp_repl_proto_t *p) {
    return p->mode == QP_REPL_MODE_FRIENDLY ? outs(p, ">>> ") : 0;
}

const uint8_t *qp_repl_proto_code(const qp_repl_proto_t *p, size_t *len) {
    *len = p->len;
    return p->buf ? p->buf : (const uint8_t *)"";
}

int qp_repl_proto_overflowed(const qp_repl_proto_t *p) {
    return p->overflow;
}

static int begin_exec(qp_repl_proto_t *p, qp_repl_exec_kind_t kind) {
    p->exec_from = p->mode == QP_REPL_MODE_FRIENDLY || p->mode == QP_REPL_MODE_PASTE
                       ? QP_REPL_MODE_FRIENDLY
                       : QP_REPL_MODE_RAW;
    p->exec_kind = kind;
    p->mode = QP_REPL_MODE_EXEC;
    return QP_REPL_EV_EXEC;
}

int qp_repl_proto_exec_line(qp_repl_proto_t *p) {
    begin_exec(p, QP_REPL_EXEC_SINGLE);
    return 0;
}

int qp_repl_proto_exec_output_end(qp_repl_proto_t *p) {
    return p->exec_from == QP_REPL_MODE_RAW ? out(p, "\x04", 1) : 0;
}

int qp_repl_proto_exec_done(qp_repl_proto_t *p) {
    qp_repl_mode_t back = p->exec_from;
    reset_code(p);
    p->mode = back;
    return back == QP_REPL_MODE_RAW ? out(p, "\x04>", 2) : outs(p, ">>> ");
}

int qp_repl_proto_continue(qp_repl_proto_t *p) {
    // The previous line's indentation in whole levels, one more after a ':'; nothing when
    // the last two lines were blank (MicroPython's readline stops indenting then).
    const uint8_t *line = p->buf + p->line_start;
    size_t n = p->len - p->line_start, spaces = 0;
    while (spaces < n && line[spaces] == ' ') {
        spaces++;
    }
    size_t levels = spaces / 4;
    if (n > 0 && line[n - 1] == ':') {
        levels++;
    }
    if (spaces == n && p->line_start > 0) {
        // This line is blank; if the one before was blank too, no indent.
        size_t k = p->line_start - 1; // the '\n' before this line
        int blank = 1;
        while (k > 0 && p->buf[k - 1] != '\n') {
            if (p->buf[k - 1] != ' ') {
                blank = 0;
                break;
            }
            k--;
        }
        if (blank) {
            levels = 0;
        }
    }
    add(p, (const uint8_t *)"\n", 1);
    p->line_start = p->len;
    p->continuing = 1;
    int err = outs(p, "... ");
    for (size_t i = 0; i < levels && err == 0; i++) {
        add(p, (const uint8_t *)"    ", 4);
        err = outs(p, "    ");
    }
    return err;
}

// Friendly mode, one byte. Returns an event, or a negative errno.
static int friendly_byte(qp_repl_proto_t *p, uint8_t c) {
    int nl = c == '\r' || c == '\n';
    if (nl && p->seen_cr && p->seen_cr != c) {
        p->seen_cr = 0; // the second half of "\r\n" (or "\n\r"): one Enter, not two
        return QP_REPL_EV_NONE;
    }
    p->seen_cr = nl ? c : 0;
    if (p->esc == 1) {
        p->esc = c == '[' || c == 'O' ? 2 : 0;
        return QP_REPL_EV_NONE;
    }
    if (p->esc == 2) {
        // Cursor and editing keys are not supported: the sequence is swallowed whole.
        if (c >= 0x40 && c <= 0x7e) {
            p->esc = 0;
        }
        return QP_REPL_EV_NONE;
    }
    int empty = p->len == p->line_start;
    if (c >= QP_REPL_CHAR_CTRL_A && c <= QP_REPL_CHAR_CTRL_E && empty && !p->continuing) {
        int err;
        switch (c) {
        case QP_REPL_CHAR_CTRL_A:
            reset_code(p);
            p->mode = QP_REPL_MODE_RAW;
            err = outs(p, "\r\n");
            return err < 0 ? err : outs(p, raw_banner);
        case QP_REPL_CHAR_CTRL_B:
            reset_code(p);
            err = outs(p, "\r\n");
            return err < 0 ? err : QP_REPL_EV_BANNER;
        case QP_REPL_CHAR_CTRL_C:
            err = outs(p, "\r\n>>> ");
            return err < 0 ? err : QP_REPL_EV_NONE;
        case QP_REPL_CHAR_CTRL_D:
            reset_code(p);
            err = outs(p, "\r\n");
            return err < 0 ? err : QP_REPL_EV_SOFT_RESET;
        default: // Ctrl-E
            reset_code(p);
            p->mode = QP_REPL_MODE_PASTE;
            return outs(p, paste_banner);
        }
    }
    if (c == QP_REPL_CHAR_CTRL_C) {
        reset_code(p);
        int err = outs(p, "\r\n>>> ");
        return err < 0 ? err : QP_REPL_EV_NONE;
    }
    if (c == QP_REPL_CHAR_CTRL_D && empty && p->continuing) {
        // Ctrl-D on an empty continuation line ends the compound statement.
        return begin_exec(p, QP_REPL_EXEC_SINGLE);
    }
    if (nl) {
        int err = outs(p, "\r\n");
        if (err < 0) {
            return err;
        }
        if (p->len == 0) {
            return outs(p, ">>> "); // an empty line: just a new prompt
        }
        return QP_REPL_EV_LINE;
    }
    if (c == 27) {
        p->esc = 1;
        return QP_REPL_EV_NONE;
    }
    if (c == 8 || c == 127) {
        if (empty) {
            return QP_REPL_EV_NONE;
        }
        // After an auto-indent (only spaces so far), a backspace takes a whole level.
        size_t n = p->len - p->line_start, del = 1;
        int all_spaces = 1;
        for (size_t i = p->line_start; i < p->len; i++) {
            all_spaces &= p->buf[i] == ' ';
        }
        if (all_spaces && n >= 4) {
            del = 4;
        }
        p->len -= del;
        int err = out(p, "\b\b\b\b", del);
        return err < 0 ? err : outs(p, "\x1b[K");
    }
    if (c < 32 && c != '\t') {
        return QP_REPL_EV_NONE; // other control characters do nothing at the prompt
    }
    add(p, &c, 1);
    return out(p, &c, 1);
}

static int paste_byte(qp_repl_proto_t *p, uint8_t c) {
    if (c == QP_REPL_CHAR_CTRL_C) {
        reset_code(p);
        p->mode = QP_REPL_MODE_FRIENDLY;
        return outs(p, "\r\n>>> ");
    }
    if (c == QP_REPL_CHAR_CTRL_D) {
        int err = outs(p, "\r\n");
        return err < 0 ? err : begin_exec(p, QP_REPL_EXEC_FILE);
    }
    add(p, &c, 1);
    return c == '\r' ? outs(p, "\r\n=== ") : out(p, &c, 1);
}

static int raw_byte(qp_repl_proto_t *p, uint8_t c) {
    int err;
    switch (c) {
    case QP_REPL_CHAR_CTRL_A:
        // "\x05A" then Ctrl-A asks for raw-paste; any other Ctrl-A resets the raw REPL.
        if (p->len == 2 && p->buf[0] == QP_REPL_CHAR_CTRL_E) {
            if (p->buf[1] != 'A') {
                reset_code(p);
                return out(p, "R\x00>", 3);
            }
            reset_code(p);
            uint8_t reply[5] = {'R', 1, (uint8_t)(p->cfg.window & 0xff),
                                (uint8_t)(p->cfg.window >> 8), 1};
            p->mode = QP_REPL_MODE_RAW_PASTE;
            p->window_remain = p->cfg.window;
            return out(p, reply, sizeof reply);
        }
        reset_code(p);
        return outs(p, raw_banner);
    case QP_REPL_CHAR_CTRL_B:
        reset_code(p);
        p->mode = QP_REPL_MODE_FRIENDLY;
        err = outs(p, "\r\n");
        return err < 0 ? err : QP_REPL_EV_BANNER;
    case QP_REPL_CHAR_CTRL_C:
        reset_code(p);
        return QP_REPL_EV_NONE;
    case QP_REPL_CHAR_CTRL_D:
        err = outs(p, "OK");
        if (err < 0) {
            return err;
        }
        if (p->len == 0) {
            err = outs(p, "\r\n");
            return err < 0 ? err : QP_REPL_EV_SOFT_RESET;
        }
        return begin_exec(p, QP_REPL_EXEC_FILE);
    default:
        add(p, &c, 1);
        return QP_REPL_EV_NONE;
    }
}

static int raw_paste_byte(qp_repl_proto_t *p, uint8_t c) {
    if (c == QP_REPL_CHAR_CTRL_C || c == QP_REPL_CHAR_CTRL_D) {
        int err = out(p, "\x04", 1); // end of data acknowledged
        if (err < 0) {
            return err;
        }
        p->mode = QP_REPL_MODE_RAW;
        if (c == QP_REPL_CHAR_CTRL_C) {
            begin_exec(p, QP_REPL_EXEC_FILE);
            return QP_REPL_EV_INTERRUPTED;
        }
        return begin_exec(p, QP_REPL_EXEC_FILE);
    }
    add(p, &c, 1);
    if (--p->window_remain == 0) {
        p->window_remain = p->cfg.window;
        return out(p, "\x01", 1);
    }
    return QP_REPL_EV_NONE;
}

int qp_repl_proto_feed(qp_repl_proto_t *p, const uint8_t *in, size_t len, size_t *consumed) {
    size_t i = 0;
    int ev = QP_REPL_EV_NONE;
    while (i < len && ev == QP_REPL_EV_NONE) {
        if (p->mode == QP_REPL_MODE_EXEC) {
            break; // the running code owns the input
        }
        if (p->mode == QP_REPL_MODE_RAW_PASTE) {
            // The bulk of a transfer: take a run of plain bytes at once, up to the end of
            // the window, instead of one call per byte.
            size_t run = 0;
            while (i + run < len && run < p->window_remain && in[i + run] != QP_REPL_CHAR_CTRL_C
                   && in[i + run] != QP_REPL_CHAR_CTRL_D) {
                run++;
            }
            if (run > 1) {
                add(p, in + i, run - 1);
                p->window_remain = (uint16_t)(p->window_remain - (run - 1));
                i += run - 1;
            }
        }
        uint8_t c = in[i++];
        switch (p->mode) {
        case QP_REPL_MODE_FRIENDLY: ev = friendly_byte(p, c); break;
        case QP_REPL_MODE_PASTE: ev = paste_byte(p, c); break;
        case QP_REPL_MODE_RAW: ev = raw_byte(p, c); break;
        case QP_REPL_MODE_RAW_PASTE: ev = raw_paste_byte(p, c); break;
        default: break;
        }
    }
    *consumed = i;
    return ev;
}
