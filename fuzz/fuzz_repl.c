// fuzz_repl.c - libFuzzer target for the REPL protocol state machine (src/repl,
// qp_repl_proto.h): what a host (mpremote, pyboard.py, a terminal, or line noise) may send
// to the module's serial console.
//
// Input: byte 0 configures the machine (bit 0: start in raw mode; bit 1: a small max_code;
// bit 2: a small raw-paste window; bit 3: the write callback fails after a while; bits 4-7:
// the allocator's budget in KiB, 0 meaning unlimited), byte 1 sets the size of the pieces
// the rest is fed in (1..256 bytes, as a UART delivers them). The target plays the
// runtime's part: it answers every event the way the console does (continue a line that
// ends in ':' and execute others, run code by sending some output, end it, report done;
// print the banner; restart after a soft reset), so every mode and transition is reachable.
//
// Checked besides the sanitizers': the code buffer stays within its capacity and max_code,
// the code returned can be read in full, every negative return is the write callback's
// error, and the machine frees everything at deinit (a counting realloc).
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "qp/qp_err.h"
#include "qp/qp_repl_proto.h"

typedef struct out {
    size_t bytes;
    size_t fail_after; // 0: never fail
} out_t;

static int out_write(void *ctx, const uint8_t *data, size_t len) {
    out_t *o = ctx;
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < len; i++) {
        sink ^= data[i]; // touch every byte: ASan checks the range
    }
    (void)sink;
    if (o->fail_after && o->bytes + len > o->fail_after) {
        return QP_ERR_IO;
    }
    o->bytes += len;
    return 0;
}

typedef struct ralloc {
    fz_alloc_t a;
} ralloc_t;

// realloc through the capped allocator of fuzz_common.c; size 0 frees.
static void *cap_realloc(void *ctx, void *ptr, size_t size) {
    ralloc_t *r = ctx;
    if (size == 0) {
        fz_free(&r->a, ptr);
        return NULL;
    }
    void *n = fz_alloc(&r->a, size);
    if (!n) {
        return NULL;
    }
    if (ptr) {
        size_t old = fz_alloc_size(ptr);
        memcpy(n, ptr, old < size ? old : size);
        fz_free(&r->a, ptr);
    }
    return n;
}

static void check(int rc) {
    if (rc < 0 && rc != QP_ERR_IO) {
        abort();
    }
}

static void check_code(const qp_repl_proto_t *p, size_t max_code) {
    size_t len = 0;
    const uint8_t *code = qp_repl_proto_code(p, &len);
    if (len > p->cap || (max_code && len > max_code)) {
        abort();
    }
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < len; i++) {
        sink ^= code[i];
    }
    (void)sink;
}

// Runs the code the machine handed over: some output, its end, done.
static void run_code(qp_repl_proto_t *p) {
    static const uint8_t output[] = "hello\r\n";
    if (qp_repl_proto_overflowed(p)) {
        p->cfg.write(p->cfg.write_ctx, (const uint8_t *)"MemoryError\r\n", 13);
    } else {
        p->cfg.write(p->cfg.write_ctx, output, sizeof output - 1);
    }
    check(qp_repl_proto_exec_output_end(p));
    check(qp_repl_proto_exec_done(p));
}

// The runtime's answer to an event.
static void answer(qp_repl_proto_t *p, int ev, int raw) {
    size_t len;
    const uint8_t *code = qp_repl_proto_code(p, &len);
    switch (ev) {
    case QP_REPL_EV_LINE: {
        // Continue a line ending in ':' (a block), like the grammar check would.
        size_t n = len;
        while (n > 0 && (code[n - 1] == ' ' || code[n - 1] == '\t')) {
            n--;
        }
        if (n > 0 && code[n - 1] == ':') {
            check(qp_repl_proto_continue(p));
        } else {
            check(qp_repl_proto_exec_line(p));
            run_code(p);
        }
        break;
    }
    case QP_REPL_EV_EXEC:
    case QP_REPL_EV_INTERRUPTED:
        run_code(p);
        break;
    case QP_REPL_EV_SOFT_RESET:
        check(qp_repl_proto_start(p, raw));
        break;
    case QP_REPL_EV_BANNER:
        check(qp_repl_proto_prompt(p));
        break;
    default:
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) {
        return 0;
    }
    uint8_t conf = data[0];
    size_t piece = (size_t)data[1] + 1;
    out_t o = {0, (conf & 8) ? 200 : 0};
    ralloc_t r;
    memset(&r, 0, sizeof r);
    r.a.cap = (size_t)(conf >> 4) * 1024;
    qp_repl_proto_config_t cfg = {0};
    cfg.write = out_write;
    cfg.write_ctx = &o;
    cfg.window = (conf & 4) ? 8 : 0;
    cfg.max_code = (conf & 2) ? 100 : 0;
    cfg.realloc_fn = cap_realloc;
    cfg.alloc_ctx = &r;
    qp_repl_proto_t p;
    qp_repl_proto_init(&p, &cfg);
    int raw = conf & 1;
    check(qp_repl_proto_start(&p, raw));
    const uint8_t *in = data + 2;
    size_t left = size - 2;
    // Each call consumes at least one byte or ends an event; bound the loop anyway.
    for (size_t rounds = 0; left > 0; rounds++) {
        if (rounds > 4 * size + 16) {
            abort(); // no progress: the machine is stuck
        }
        size_t n = left < piece ? left : piece;
        size_t consumed = 0;
        int ev = qp_repl_proto_feed(&p, in, n, &consumed);
        check(ev);
        if (consumed > n) {
            abort();
        }
        in += consumed;
        left -= consumed;
        check_code(&p, cfg.max_code);
        if (ev < 0) {
            o.fail_after = 0; // the link recovers; go on
            continue;
        }
        answer(&p, ev, raw);
    }
    qp_repl_proto_deinit(&p);
    if (r.a.live != 0) {
        abort();
    }
    return 0;
}
