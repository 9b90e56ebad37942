// qpy_port.c - `qpy --port PORT COMMAND`: a running module over a serial port, QPYcom's
// job on Linux. PORT is a `qpy serve` pseudo-terminal or a real module's /dev/ttyUSB*;
// `auto` is the module served from --device (or the default device).
//
//   fs ls|cat|cp|rm|mkdir|df ...   the same commands as offline (qpy_fs.c), remote backend
//   run SCRIPT                     download and run; output streamed; status from outcome
//   exec CODE                      run a line of code
//   repl                           a terminal on the REPL (Ctrl-] leaves)
//   reset [--soft]                 restart the module (or soft-reset it)
//
// Everything goes through the raw REPL (qpy_link.c). File bytes cross as base64 in
// chunks of code run by raw-paste, each file checked with CRC-32 computed on both sides
// (ubinascii.crc32 on the module, so a real module works too). A helper prelude with
// short names (_qs, _ql, ...) is defined in the module's __main__ once per command.
#include "qpy_fs.h"
#include "qpy_link.h"
#include "qpy_port.h"
#include "qpy_serve.h"

#include "qp/qp_err.h"
#include "qp/qp_runtime.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define PUT_CHUNK (48 * 1024) // file bytes per raw-paste exec
#define B64_LINE 3072         // file bytes per line of base64

static const char prelude[] =
    "import uos as _o, ubinascii as _b\n"
    "def _p(h):\n return _b.unhexlify(h).decode()\n"
    "def _qs(p):\n s=_o.stat(p)\n print(1 if s[0]&0x4000 else 0, s[6])\n"
    "def _ql(p):\n for n in _o.listdir(p):\n  s=_o.stat(p.rstrip('/')+'/'+n)\n"
    "  print(1 if s[0]&0x4000 else 0, s[6], _b.hexlify(n.encode()).decode())\n"
    "def _qg(p):\n c=0\n f=open(p,'rb')\n try:\n  while 1:\n   d=f.read(%d)\n"
    "   if not d: break\n   c=_b.crc32(d,c)\n   print(_b.b2a_base64(d).decode(),end='')\n"
    " finally:\n  f.close()\n print('#%%d' %% (c&0xffffffff))\n"
    "def _qc(p):\n c=0\n f=open(p,'rb')\n while 1:\n  d=f.read(8192)\n  if not d: break\n"
    "  c=_b.crc32(d,c)\n f.close()\n print('#%%d' %% (c&0xffffffff))\n"
    "def _qr(p):\n if _o.stat(p)[0]&0x4000: _o.rmdir(p)\n else: _o.remove(p)\n"
    "def _qd():\n for m in ('/usr','/bak'):\n  s=_o.statvfs(m)\n  print(m,s[0]*s[2],s[0]*s[3])\n";

// ---- Small helpers: a growing buffer, CRC-32, base64, hex -------------------------------

typedef struct {
    char *data;
    size_t len, cap;
} buf_t;

static int buf_add(buf_t *b, const void *p, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        char *d = realloc(b->data, cap);
        if (!d) {
            return QP_ERR_NOMEM;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

static int buf_sink(void *ctx, const uint8_t *data, size_t len) {
    return buf_add(ctx, data, len);
}

static uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t n) {
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++) {
            crc = crc >> 1 ^ (0xEDB88320u & (0u - (crc & 1)));
        }
    }
    return ~crc;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t b64_encode(const uint8_t *in, size_t n, char *out) {
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0)
                   | (i + 2 < n ? in[i + 2] : 0);
        out[o++] = b64[v >> 18 & 63];
        out[o++] = b64[v >> 12 & 63];
        out[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? b64[v & 63] : '=';
    }
    return o;
}

// Decodes base64 text (whitespace ignored). Returns the byte count, or -1 on bad input.
static long b64_decode(const char *in, size_t n, uint8_t *out) {
    uint32_t v = 0;
    int bits = 0;
    long o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        const char *p = c ? strchr(b64, c) : NULL;
        if (c == '=' || c == '\r' || c == '\n' || c == ' ') {
            continue;
        }
        if (!p) {
            return -1;
        }
        v = v << 6 | (uint32_t)(p - b64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(v >> bits);
        }
    }
    return o;
}

// A path as Python code that rebuilds it on the module, safe for any bytes: _p('hex').
static void py_path(buf_t *b, const char *path) {
    buf_add(b, "_p('", 4);
    for (const char *c = path; *c; c++) {
        char hx[3];
        snprintf(hx, sizeof hx, "%02x", (unsigned char)*c);
        buf_add(b, hx, 2);
    }
    buf_add(b, "')", 2);
}

// ---- The session: a link in the raw REPL with the prelude defined ---------------------

typedef struct {
    qpy_link_t link;
    const char *port;
    int prelude_sent;
} port_session;

static int link_failed(port_session *s, int err) {
    if (err == -ETIMEDOUT) {
        fprintf(stderr, "qpy: %s: the module does not answer (no reply within %g s)\n",
                s->port, (s->link.timeout_ms ? s->link.timeout_ms : QPY_LINK_TIMEOUT_DEFAULT)
                             / 1000.0);
    } else if (err == QP_ERR_IO) {
        fprintf(stderr, "qpy: %s: the connection to the module was lost\n", s->port);
    } else {
        fprintf(stderr, "qpy: %s: %s\n", s->port, qp_strerror(err));
    }
    return QPY_FS_REPORTED;
}

// The errno of an OSError in a traceback ("OSError: [Errno 2] ENOENT"), or 0.
static int traceback_errno(const char *text) {
    const char *p = strstr(text, "[Errno ");
    return p ? -atoi(p + 7) : 0;
}

// Runs code; its output in *out. Returns 0, a negative errno from an OSError it raised,
// or QPY_FS_REPORTED (link failure or another exception, already printed).
static int remote(port_session *s, const char *code, size_t len, buf_t *out) {
    buf_t err = {0};
    int r = qpy_link_exec(&s->link, code, len, out ? buf_sink : NULL, out, buf_sink, &err, 0);
    if (r < 0) {
        free(err.data);
        return link_failed(s, r);
    }
    if (r > 0) {
        int e = traceback_errno(err.data);
        if (!e) {
            fprintf(stderr, "qpy: the module raised:\n%s", err.data);
            e = QPY_FS_REPORTED;
        }
        free(err.data);
        return e;
    }
    free(err.data);
    return 0;
}

static int remote_call(port_session *s, const char *fn, const char *path, buf_t *out) {
    buf_t code = {0};
    buf_add(&code, fn, strlen(fn));
    buf_add(&code, "(", 1);
    py_path(&code, path);
    buf_add(&code, ")\n", 2);
    int err = code.data ? remote(s, code.data, code.len, out) : QP_ERR_NOMEM;
    free(code.data);
    return err;
}

static int ensure_prelude(port_session *s) {
    if (s->prelude_sent) {
        return 0;
    }
    char code[sizeof prelude + 16];
    int n = snprintf(code, sizeof code, prelude, B64_LINE);
    int err = remote(s, code, (size_t)n, NULL);
    s->prelude_sent = err == 0;
    return err;
}

// ---- The remote backend of qpy_fs ------------------------------------------------------

static int r_stat(void *ctx, const char *path, qpy_fs_entry_t *e) {
    port_session *s = ctx;
    buf_t out = {0};
    int err = remote_call(s, "_qs", path, &out);
    unsigned long long size = 0;
    if (err == 0 && sscanf(out.data ? out.data : "", "%d %llu", &e->is_dir, &size) != 2) {
        err = QP_ERR_CORRUPT;
    }
    e->size = size;
    snprintf(e->name, sizeof e->name, "%s", path);
    free(out.data);
    return err;
}

static int r_list(void *ctx, const char *path, int (*fn)(void *, const qpy_fs_entry_t *),
                  void *arg) {
    port_session *s = ctx;
    buf_t out = {0};
    int err = remote_call(s, "_ql", path, &out);
    char *line = out.data, *next;
    for (; err == 0 && line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) {
            *next++ = '\0';
        } else {
            next = line + strlen(line);
        }
        qpy_fs_entry_t e = {0};
        unsigned long long size;
        char hex[2 * sizeof e.name];
        if (sscanf(line, "%d %llu %511s", &e.is_dir, &size, hex) != 3) {
            continue;
        }
        e.size = size;
        size_t n = strlen(hex) / 2;
        for (size_t i = 0; i < n && i < sizeof e.name - 1; i++) {
            unsigned v;
            sscanf(hex + 2 * i, "%2x", &v);
            e.name[i] = (char)v;
        }
        err = fn(arg, &e);
    }
    free(out.data);
    return err;
}

typedef struct {
    FILE *out;
    buf_t line;
    uint32_t crc;
    uint64_t done, total;
    long module_crc; // -1 until the "#crc" line
    int bad;
    qpy_fs_progress_t progress;
    void *pctx;
} get_state;

static int get_line(get_state *g, char *text, size_t n) {
    while (n && (text[n - 1] == '\r' || text[n - 1] == '\n')) {
        text[--n] = '\0';
    }
    if (n && text[0] == '#') {
        g->module_crc = strtol(text + 1, NULL, 10);
        return 0;
    }
    uint8_t bytes[B64_LINE + 8];
    if (n > (B64_LINE / 3 + 1) * 4) {
        g->bad = 1;
        return 0;
    }
    long k = b64_decode(text, n, bytes);
    if (k < 0) {
        g->bad = 1;
        return 0;
    }
    g->crc = crc32_update(g->crc, bytes, (size_t)k);
    g->done += (uint64_t)k;
    if (fwrite(bytes, 1, (size_t)k, g->out) != (size_t)k) {
        return QP_ERR_IO;
    }
    if (g->progress) {
        g->progress(g->pctx, g->done, g->total);
    }
    return 0;
}

static int get_sink(void *ctx, const uint8_t *data, size_t len) {
    get_state *g = ctx;
    for (size_t i = 0; i < len; i++) {
        int err = buf_add(&g->line, data + i, 1);
        if (err < 0) {
            return err;
        }
        if (data[i] == '\n') {
            err = get_line(g, g->line.data, g->line.len);
            g->line.len = 0;
            if (err < 0) {
                return err;
            }
        }
    }
    return 0;
}

static int r_get(void *ctx, const char *path, FILE *out, qpy_fs_progress_t progress,
                 void *pctx) {
    port_session *s = ctx;
    qpy_fs_entry_t e;
    int err = r_stat(ctx, path, &e);
    if (err < 0) {
        return err;
    }
    get_state g = {.out = out, .module_crc = -1, .total = e.size, .progress = progress,
                   .pctx = pctx};
    buf_t code = {0};
    buf_add(&code, "_qg(", 4);
    py_path(&code, path);
    buf_add(&code, ")\n", 2);
    buf_t errtext = {0};
    int r = qpy_link_exec(&s->link, code.data, code.len, get_sink, &g, buf_sink, &errtext, 0);
    free(code.data);
    free(g.line.data);
    if (r < 0) {
        err = r == QP_ERR_IO && ferror(out) ? QP_ERR_IO : link_failed(s, r);
    } else if (r > 0) {
        err = traceback_errno(errtext.data);
        if (!err) {
            fprintf(stderr, "qpy: the module raised:\n%s", errtext.data);
            err = QPY_FS_REPORTED;
        }
    } else if (g.bad || g.module_crc < 0 || (uint32_t)g.module_crc != g.crc) {
        fprintf(stderr, "qpy: %s: checksum mismatch after the copy (CRC-32 %08lx on the "
                        "module, %08x received)\n", path, (unsigned long)g.module_crc, g.crc);
        err = QPY_FS_REPORTED;
    }
    free(errtext.data);
    return err;
}

static int r_put(void *ctx, FILE *in, uint64_t size, const char *path,
                 qpy_fs_progress_t progress, void *pctx) {
    port_session *s = ctx;
    buf_t code = {0};
    buf_add(&code, "_qf=open(", 9);
    py_path(&code, path);
    buf_add(&code, ",'wb')\n_qw=lambda t:_qf.write(_b.a2b_base64(t))\n", 48);
    int err = remote(s, code.data, code.len, NULL);
    uint32_t crc = 0;
    uint64_t done = 0;
    static uint8_t chunk[PUT_CHUNK];
    static char text[PUT_CHUNK / 3 * 4 + PUT_CHUNK / B64_LINE * 16 + 64];
    while (err == 0) {
        size_t n = fread(chunk, 1, sizeof chunk, in);
        if (n == 0) {
            break;
        }
        crc = crc32_update(crc, chunk, n);
        size_t t = 0;
        for (size_t i = 0; i < n; i += B64_LINE) {
            size_t k = n - i < B64_LINE ? n - i : B64_LINE;
            memcpy(text + t, "_qw('", 5);
            t += 5;
            t += b64_encode(chunk + i, k, text + t);
            memcpy(text + t, "')\n", 3);
            t += 3;
        }
        err = remote(s, text, t, NULL);
        done += n;
        if (err == 0 && progress) {
            progress(pctx, done, size);
        }
    }
    if (err == QPY_FS_REPORTED && s->link.fd < 0) {
        free(code.data);
        return err;
    }
    // Close in every case; on failure remove the partial file (ENOSPC leaves nothing).
    code.len = 0;
    buf_add(&code, "_qf.close()\n", 12);
    if (err == 0) {
        buf_add(&code, "_qc(", 4);
        py_path(&code, path);
        buf_add(&code, ")\n", 2);
        buf_t out = {0};
        err = remote(s, code.data, code.len, &out);
        if (err == 0 && (!out.data || out.data[0] != '#'
                         || (uint32_t)strtoul(out.data + 1, NULL, 10) != crc)) {
            fprintf(stderr, "qpy: %s: checksum mismatch after the copy\n", path);
            err = QPY_FS_REPORTED;
        }
        free(out.data);
    }
    if (err < 0) {
        code.len = 0;
        buf_add(&code, "try:\n _qf.close()\nexcept Exception:\n pass\n_o.remove(", 52);
        py_path(&code, path);
        buf_add(&code, ")\n", 2);
        if (s->link.fd >= 0) {
            remote(s, code.data, code.len, NULL);
        }
    }
    free(code.data);
    return err;
}

static int r_remove(void *ctx, const char *path) {
    return remote_call(ctx, "_qr", path, NULL);
}

static int r_mkdir(void *ctx, const char *path) {
    return remote_call(ctx, "_o.mkdir", path, NULL);
}

static int r_df(void *ctx, int index, char mount[16], char partition[32], uint64_t *size,
                uint64_t *avail) {
    port_session *s = ctx;
    static buf_t out; // both volumes come in one call, asked for at index 0
    if (index == 0) {
        out.len = 0;
        int err = remote(s, "_qd()\n", 6, &out);
        if (err < 0) {
            snprintf(mount, 16, "/usr");
            return err;
        }
    }
    char *line = out.data;
    for (int i = 0; line && i < index; i++) {
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;
    }
    unsigned long long sz, fr;
    if (!line || sscanf(line, "%15s %llu %llu", mount, &sz, &fr) != 3) {
        free(out.data);
        out = (buf_t){0};
        return QP_ERR_NOENT;
    }
    snprintf(partition, 32, "%s",
             strcmp(mount, "/usr") == 0 ? "customer_fs" : "customer_backup_fs");
    *size = sz;
    *avail = fr;
    return 0;
}

static const qpy_fs_ops_t remote_ops = {r_stat, r_list, r_get, r_put, r_remove, r_mkdir, r_df};

// ---- run, exec, repl, reset --------------------------------------------------------------

// Module output to a host stream with "\r\n" back to "\n".
typedef struct {
    FILE *f;
    int cr; // a '\r' held back
} text_out;

static int text_sink(void *ctx, const uint8_t *data, size_t len) {
    text_out *t = ctx;
    for (size_t i = 0; i < len; i++) {
        if (t->cr && data[i] != '\n') {
            fputc('\r', t->f);
        }
        t->cr = data[i] == '\r';
        if (!t->cr) {
            fputc(data[i], t->f);
        }
    }
    fflush(t->f);
    return 0;
}

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig) {
    (void)sig;
    interrupted = 1;
}

static int run_code(port_session *s, const char *code, size_t len) {
    int err = qpy_link_enter_raw(&s->link, 1);
    if (err < 0) {
        return link_failed(s, err), 1;
    }
    text_out out = {stdout, 0}, errs = {stderr, 0};
    int r = qpy_link_exec(&s->link, code, len, text_sink, &out, text_sink, &errs, 1);
    if (r < 0) {
        return link_failed(s, r), 1;
    }
    qpy_link_leave_raw(&s->link);
    return r > 0 ? QP_EXIT_SCRIPT : 0;
}

static int cmd_run(port_session *s, const char *script) {
    FILE *f = fopen(script, "rb");
    if (!f) {
        int e = errno;
        fprintf(stderr, "qpy: can't open file '%s': [Errno %d] %s\n", script, e, strerror(e));
        return QP_EXIT_USAGE;
    }
    buf_t code = {0};
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        buf_add(&code, chunk, n);
    }
    fclose(f);
    int status = run_code(s, code.data ? code.data : "", code.len);
    free(code.data);
    return status;
}

static int cmd_repl(port_session *s) {
    struct termios saved, t;
    int tty = isatty(0) && tcgetattr(0, &saved) == 0;
    if (tty) {
        t = saved;
        cfmakeraw(&t);
        tcsetattr(0, TCSANOW, &t);
        fprintf(stderr, "Connected to %s. Ctrl-] to leave.\r\n", s->port);
    }
    int status = 0, quiet_ms = -1; // after stdin ends, wait for the module to go quiet
    for (;;) {
        struct pollfd fds[2] = {{.fd = s->link.fd, .events = POLLIN},
                                {.fd = 0, .events = quiet_ms < 0 ? POLLIN : 0}};
        int r = poll(fds, 2, quiet_ms < 0 ? -1 : quiet_ms);
        if (r == 0) {
            break;
        }
        if (fds[0].revents) {
            uint8_t buf[4096];
            ssize_t n = read(s->link.fd, buf, sizeof buf);
            if (n <= 0 && !(n < 0 && errno == EAGAIN)) {
                link_failed(s, QP_ERR_IO);
                status = 1;
                break;
            }
            if (n > 0 && write(1, buf, (size_t)n) < 0) {
                break;
            }
        }
        if (fds[1].revents) {
            uint8_t buf[4096];
            ssize_t n = read(0, buf, sizeof buf);
            if (n <= 0) {
                quiet_ms = 300;
                continue;
            }
            void *leave = memchr(buf, 0x1d, (size_t)n); // Ctrl-]
            size_t send = leave ? (size_t)((uint8_t *)leave - buf) : (size_t)n;
            if (qpy_link_write(&s->link, buf, send) < 0) {
                link_failed(s, QP_ERR_IO);
                status = 1;
                break;
            }
            if (leave) {
                break;
            }
        }
    }
    if (tty) {
        tcsetattr(0, TCSANOW, &saved);
        fputs("\n", stderr);
    }
    return status;
}

static int cmd_reset(port_session *s, int soft) {
    int err = qpy_link_enter_raw(&s->link, soft);
    if (err == 0 && !soft) {
        // A restart does not answer the code that asks for it: wait for the new boot's
        // friendly prompt instead.
        static const char code[] = "import misc\nmisc.Power.powerRestart()\n\x04";
        err = qpy_link_write(&s->link, code, sizeof code - 1);
        if (err == 0) {
            err = qpy_link_read_until(&s->link, "OK", 2, NULL, NULL, 0);
        }
        if (err == 0) {
            err = qpy_link_read_until(&s->link, ">>> ", 4, NULL, NULL, 0);
        }
        return err < 0 ? (link_failed(s, err), 1) : 0;
    }
    if (err == 0) {
        err = qpy_link_leave_raw(&s->link);
    }
    return err < 0 ? (link_failed(s, err), 1) : 0;
}

static const char port_usage[] =
    "Usage: qpy [--device DIR] --port PORT|auto COMMAND ...\n"
    "\n"
    "A running module over a serial port (qpy serve's pty, or a module's /dev/ttyUSB*);\n"
    "'auto' is the module served from --device (default: the default device).\n"
    "\n"
    "  fs ls|cat|cp|rm|mkdir|df ...  files, as 'qpy fs' (cp: progress and CRC check)\n"
    "  run SCRIPT.py                 download and run; exit status 1 if it raised\n"
    "  exec CODE                     run code (one or more lines)\n"
    "  repl                          a terminal on the module's REPL (Ctrl-] leaves)\n"
    "  reset [--soft]                restart the module (--soft: soft reset)\n";

int qpy_port_main(const char *port, const char *device, int argc, char **argv, int verbose) {
    const char *cmd = argc > 0 ? argv[0] : "repl";
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        fputs(port_usage, stdout);
        return 0;
    }
    int ok = (strcmp(cmd, "fs") == 0 && qpy_fs_check_args(argc, argv))
          || (strcmp(cmd, "run") == 0 && argc == 2) || (strcmp(cmd, "exec") == 0 && argc == 2)
          || (strcmp(cmd, "repl") == 0 && argc <= 1)
          || (strcmp(cmd, "reset") == 0
              && (argc == 1 || (argc == 2 && strcmp(argv[1], "--soft") == 0)));
    if (!ok) {
        fprintf(stderr, "qpy: --port: bad command or arguments: '%s'\n%s", cmd, port_usage);
        return QP_EXIT_USAGE;
    }
    char found[PATH_MAX];
    if (strcmp(port, "auto") == 0) {
        if (!device || qpy_serve_find(device, found, sizeof found) < 0) {
            fprintf(stderr, "qpy: --port auto: no module is being served from %s "
                            "(start one with: qpy --device %s serve)\n",
                    device ? device : "the default device", device ? device : "DIR");
            return QP_EXIT_DEVICE;
        }
        port = found;
    }
    port_session s = {.port = port};
    int err = qpy_link_open(&s.link, port);
    if (err < 0) {
        fprintf(stderr, "qpy: %s: %s\n", port,
                err == QP_ERR_BUSY ? "port busy (another program has it open)"
                : err == QP_ERR_NOENT ? "no such port" : strerror(-err));
        return QP_EXIT_DEVICE;
    }
    // QPY_TIMEOUT_MS: how long to wait for a silent module (tests shorten it).
    const char *t = getenv("QPY_TIMEOUT_MS");
    if (t && atoi(t) > 0) {
        s.link.timeout_ms = atoi(t);
    }
    if (verbose) {
        fprintf(stderr, "qpy: connected to %s\n", port);
    }
    signal(SIGPIPE, SIG_IGN);
    int status;
    if (strcmp(cmd, "fs") == 0) {
        err = qpy_link_enter_raw(&s.link, 0);
        if (err == 0) {
            err = ensure_prelude(&s);
        } else {
            link_failed(&s, err);
        }
        status = err < 0 ? 1 : qpy_fs_run(&remote_ops, &s, argc, argv);
        if (s.link.fd >= 0 && s.link.raw) {
            qpy_link_leave_raw(&s.link);
        }
    } else if (strcmp(cmd, "run") == 0) {
        // Ctrl-C goes to the module (KeyboardInterrupt in the script), as in a terminal.
        struct sigaction sa = {.sa_handler = on_sigint};
        sigaction(SIGINT, &sa, NULL);
        s.link.interrupt = &interrupted;
        status = cmd_run(&s, argv[1]);
    } else if (strcmp(cmd, "exec") == 0) {
        status = run_code(&s, argv[1], strlen(argv[1]));
    } else if (strcmp(cmd, "repl") == 0) {
        status = cmd_repl(&s);
    } else {
        status = cmd_reset(&s, argc == 2);
    }
    qpy_link_close(&s.link);
    return status;
}
