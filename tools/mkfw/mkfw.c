// mkfw.c - the `mkfw` program: makes and inspects firmware images (system.img,
// docs/SPEC-image.md) on the host.
//
//   mkfw create -o OUT.img --model M --version V --section NAME=FILE|DIR ... [options]
//   mkfw info IMG
//   mkfw extract IMG DIR
//
// Only the public API (qp_image.h) is used: the program reads files, walks directories
// into app archives, formats messages and leaves every format decision to the library, so
// what mkfw makes is exactly what the device-side code parses. Output is reproducible:
// nothing depends on time, file order on disk or the host.
//
// Exit status: 0 done, 1 bad or corrupt input (missing file, corrupt image, I/O error),
// 2 usage error.
#include "qp/qp_err.h"
#include "qp/qp_image.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef QP_VERSION
#define QP_VERSION "0"
#endif

#define EXIT_BAD 1
#define EXIT_USAGE 2

// Inputs at least this large get progress output on a terminal (or with -v).
#define PROGRESS_MIN (1u << 20)

static int verbose;

static const char main_usage[] =
    "Usage: mkfw [-v] COMMAND [ARGS]\n"
    "\n"
    "Makes and inspects OpenQPY firmware images (system.img, docs/SPEC-image.md).\n"
    "\n"
    "Commands:\n"
    "  create    make an image from section files ('mkfw create --help')\n"
    "  info      describe and check an image ('mkfw info --help')\n"
    "  extract   write an image's sections, uncompressed, to a directory\n"
    "\n"
    "Options:\n"
    "  -v, --verbose   progress and details on stderr\n"
    "  -h, --help      show this help\n"
    "  --version       show the version\n"
    "\n"
    "Exit status: 0 done, 1 bad or corrupt input, 2 usage error.\n";

static const char create_usage[] =
    "Usage: mkfw create -o OUT.img --model MODEL --version VERSION\n"
    "                   --section NAME=PATH [--section NAME=PATH ...] [options]\n"
    "\n"
    "Makes a firmware image. Sections are stored in the order given. PATH is a file, or a\n"
    "directory packed into an app archive: its regular files, recursively, sorted by path,\n"
    "hidden files and directories skipped (SPEC-image section 5).\n"
    "\n"
    "Options:\n"
    "  -o, --output FILE     the image to write (required)\n"
    "  --model MODEL         target module: EC600S or EC100Y (required)\n"
    "  --version VERSION     firmware version, 1..63 printable ASCII characters (required)\n"
    "  --section NAME=PATH   add a section; NAME is 1..15 characters of a-z, 0-9, _\n"
    "  --codec lzma|lzop     section codec (default lzma; lzop is the old scheme)\n"
    "  --level N             1..9 (default 9); lzop: 1 = lzo1x_1, 2..9 = lzo1x_999\n"
    "  --dict SIZE           LZMA dictionary, 4K..64M (default 64K, the FOTA RAM budget)\n"
    "  --bcj none|arm|armthumb\n"
    "                        branch filter before LZMA (default armthumb)\n"
    "  --restart SIZE|none   LZMA restart interval, 64K..64M, a power of two (default\n"
    "                        256K): where a FOTA update can resume decoding old sections\n"
    "  -v, --verbose         progress and a summary on stderr\n"
    "  -h, --help            show this help\n";

static const char info_usage[] =
    "Usage: mkfw info IMG\n"
    "\n"
    "Prints an image's format version, model, firmware version and sections (codec,\n"
    "settings, sizes, ratio, memory to recompress and decompress, SHA-256), after checking\n"
    "the header, the whole-image hash and every section's compressed hash.\n"
    "\n"
    "Options:\n"
    "  --full         also decompress every section and check its size and hash\n"
    "  -h, --help     show this help\n";

static const char extract_usage[] =
    "Usage: mkfw extract IMG DIR\n"
    "\n"
    "Writes each section's uncompressed data to DIR/NAME.bin, checking sizes and hashes,\n"
    "and unpacks app archives into DIR/NAME/. DIR is created if needed.\n"
    "\n"
    "Options:\n"
    "  -h, --help     show this help\n";

static void msg(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("mkfw: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static int usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("mkfw: ", stderr);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'mkfw %s%s--help' for more information.\n", cmd ? cmd : "",
            cmd ? " " : "");
    va_end(ap);
    return EXIT_USAGE;
}

static int is_help(const char *a) {
    return strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0;
}

// --- progress -------------------------------------------------------------------------

typedef struct progress {
    const char *label;
    int tty;
    int last;   // last percentage shown, -1 none
} progress_t;

static void progress_cb(void *ctx, uint64_t done, uint64_t total) {
    progress_t *p = ctx;
    if (total < PROGRESS_MIN || !(p->tty || verbose)) {
        return;
    }
    int pct = (int)(done * 100 / total);
    if (pct / 10 == p->last / 10 && pct != 100) {
        return;
    }
    if (pct == p->last) {
        return;
    }
    p->last = pct;
    if (p->tty) {
        fprintf(stderr, "\rmkfw: %s: %3d%%%s", p->label, pct, pct == 100 ? "\n" : "");
    } else {
        fprintf(stderr, "mkfw: %s: %d%%\n", p->label, pct);
    }
}

// --- files ----------------------------------------------------------------------------

static int read_file(const char *path, uint8_t **data, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        return -errno;
    }
    size_t cap = 65536, n = 0;
    uint8_t *buf = malloc(cap);
    int err = 0;
    while (buf) {
        if (n == cap) {
            uint8_t *p = cap > QP_IMAGE_SECTION_MAX ? NULL : realloc(buf, cap * 2);
            if (!p) {
                err = cap > QP_IMAGE_SECTION_MAX ? QP_ERR_FBIG : QP_ERR_NOMEM;
                break;
            }
            buf = p;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                err = -errno ? -errno : QP_ERR_IO;
            }
            break;
        }
    }
    if (!buf) {
        err = QP_ERR_NOMEM;
    }
    fclose(f);
    if (err < 0) {
        free(buf);
        return err;
    }
    *data = buf;
    *len = n;
    return 0;
}

static int file_read_cb(void *ctx, uint64_t off, void *buf, size_t len) {
    FILE *f = ctx;
    if (fseeko(f, (off_t)off, SEEK_SET) != 0) {
        return QP_ERR_IO;
    }
    if (fread(buf, 1, len, f) != len) {
        return ferror(f) ? QP_ERR_IO : QP_ERR_CORRUPT;
    }
    return 0;
}

static int file_write_cb(void *ctx, const void *buf, size_t len) {
    return fwrite(buf, 1, len, ctx) == len ? 0 : QP_ERR_IO;
}

// --- directory -> app archive ----------------------------------------------------------

typedef struct file_list {
    char **paths;   // relative to the root, '/'-separated
    size_t n, cap;
} file_list_t;

static int list_add(file_list_t *l, const char *path) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        char **p = realloc(l->paths, cap * sizeof *p);
        if (!p) {
            return QP_ERR_NOMEM;
        }
        l->paths = p;
        l->cap = cap;
    }
    l->paths[l->n] = strdup(path);
    return l->paths[l->n++] ? 0 : QP_ERR_NOMEM;
}

static void list_free(file_list_t *l) {
    for (size_t i = 0; i < l->n; i++) {
        free(l->paths[i]);
    }
    free(l->paths);
}

static int cmp_path(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

// Collects the regular files under root/rel (hidden names skipped).
static int walk(const char *root, const char *rel, file_list_t *out) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s%s%s", root, *rel ? "/" : "", rel);
    DIR *d = opendir(dir);
    if (!d) {
        msg("%s: cannot read directory: %s", dir, qp_strerror(-errno));
        return EXIT_BAD;
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        char sub[4096], full[8192];
        if (snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", e->d_name) >=
                (int)sizeof sub ||
            snprintf(full, sizeof full, "%s/%s", root, sub) >= (int)sizeof full) {
            msg("%s/%s: path too long", dir, e->d_name);
            rc = EXIT_BAD;
            break;
        }
        struct stat st;
        if (stat(full, &st) != 0) {
            msg("%s: %s", full, qp_strerror(-errno));
            rc = EXIT_BAD;
        } else if (S_ISDIR(st.st_mode)) {
            rc = walk(root, sub, out);
        } else if (S_ISREG(st.st_mode)) {
            if (!qp_image_archive_path_valid(sub, strlen(sub))) {
                msg("%s: name not allowed in an app archive (A-Z a-z 0-9 _ . - only, "
                    "paths up to %u bytes)",
                    full, QP_IMAGE_ARCHIVE_PATH_MAX);
                rc = EXIT_BAD;
            } else if (list_add(out, sub) < 0) {
                msg("out of memory");
                rc = EXIT_BAD;
            }
        }
    }
    closedir(d);
    return rc;
}

static int pack_dir(const char *root, uint8_t **data, size_t *len) {
    file_list_t l = {0};
    int rc = walk(root, "", &l);
    qp_image_archive_entry_t *e = NULL;
    uint8_t **bufs = NULL;
    if (rc == 0) {
        qsort(l.paths, l.n, sizeof *l.paths, cmp_path);
        e = calloc(l.n ? l.n : 1, sizeof *e);
        bufs = calloc(l.n ? l.n : 1, sizeof *bufs);
        if (!e || !bufs) {
            msg("out of memory");
            rc = EXIT_BAD;
        }
    }
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        char full[4096];
        size_t n = 0;
        snprintf(full, sizeof full, "%s/%s", root, l.paths[i]);
        int err = read_file(full, &bufs[i], &n);
        if (err < 0 || n > UINT32_MAX) {
            msg("%s: cannot read: %s", full, qp_strerror(err < 0 ? err : QP_ERR_FBIG));
            rc = EXIT_BAD;
            break;
        }
        e[i].path = l.paths[i];
        e[i].path_len = (uint32_t)strlen(l.paths[i]);
        e[i].data = bufs[i];
        e[i].size = (uint32_t)n;
    }
    size_t total = 0;
    if (rc == 0 && qp_image_archive_build(e, (uint32_t)l.n, NULL, 0, &total) < 0) {
        msg("%s: too large for an app archive", root);
        rc = EXIT_BAD;
    }
    if (rc == 0) {
        *data = malloc(total);
        if (!*data || qp_image_archive_build(e, (uint32_t)l.n, *data, total, len) < 0) {
            msg("out of memory");
            free(*data);
            rc = EXIT_BAD;
        }
    }
    for (size_t i = 0; bufs && i < l.n; i++) {
        free(bufs[i]);
    }
    free(bufs);
    free(e);
    list_free(&l);
    return rc;
}

// --- create ---------------------------------------------------------------------------

typedef struct section_arg {
    char name[QP_IMAGE_NAME_MAX + 1];
    const char *path;
    const char *spec;
} section_arg_t;

// "64K", "1M", "65536" -> bytes; 0 on a malformed value.
static uint32_t parse_size(const char *s) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s) {
        return 0;
    }
    if (*end == 'K' || *end == 'k') {
        v <<= 10;
        end++;
    } else if (*end == 'M' || *end == 'm') {
        v <<= 20;
        end++;
    }
    if (*end || v > UINT32_MAX) {
        return 0;
    }
    return (uint32_t)v;
}

// Option value of argv[*i]: "--opt=value" or "--opt value".
static const char *opt_value(int argc, char **argv, int *i, const char *name) {
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) == 0 && argv[*i][n] == '=') {
        return argv[*i] + n + 1;
    }
    if (strcmp(argv[*i], name) == 0 && *i + 1 < argc) {
        return argv[++*i];
    }
    return NULL;
}

static int opt_is(const char *arg, const char *name) {
    size_t n = strlen(name);
    return strncmp(arg, name, n) == 0 && (arg[n] == 0 || arg[n] == '=');
}

static void print_summary(const qp_image_section_t *s) {
    msg("%s: %llu -> %llu bytes (%s)", s->name, (unsigned long long)s->usize,
        (unsigned long long)s->csize, qp_image_codec_name(s->params.codec));
}

static int cmd_create(int argc, char **argv) {
    const char *out = NULL, *model = NULL, *version = NULL;
    section_arg_t secs[QP_IMAGE_MAX_SECTIONS];
    int nsec = 0;
    qp_image_section_opts_t opts = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (is_help(a)) {
            fputs(create_usage, stdout);
            return 0;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            verbose = 1;
        } else if (strcmp(a, "-o") == 0 || opt_is(a, "--output")) {
            if (!(v = opt_value(argc, argv, &i, a[1] == 'o' ? "-o" : "--output"))) {
                return usage_error("create", "option '%s' needs a value", a);
            }
            out = v;
        } else if (opt_is(a, "--model")) {
            if (!(model = opt_value(argc, argv, &i, "--model"))) {
                return usage_error("create", "option '%s' needs a value", a);
            }
        } else if (opt_is(a, "--version")) {
            if (!(version = opt_value(argc, argv, &i, "--version"))) {
                return usage_error("create", "option '%s' needs a value", a);
            }
        } else if (opt_is(a, "--section")) {
            if (!(v = opt_value(argc, argv, &i, "--section"))) {
                return usage_error("create", "option '%s' needs a value", a);
            }
            const char *eq = strchr(v, '=');
            if (!eq || eq == v || !eq[1]) {
                return usage_error("create", "--section '%s': expected NAME=PATH", v);
            }
            size_t n = (size_t)(eq - v);
            char name[64];
            snprintf(name, sizeof name, "%.*s", (int)(n < 63 ? n : 63), v);
            if (n > QP_IMAGE_NAME_MAX || !qp_image_name_valid(name)) {
                return usage_error("create",
                                   "--section '%s': invalid section name '%s' (1..15 "
                                   "characters of a-z, 0-9, _)",
                                   v, name);
            }
            for (int k = 0; k < nsec; k++) {
                if (strcmp(secs[k].name, name) == 0) {
                    return usage_error("create", "--section '%s': duplicate section name '%s'",
                                       v, name);
                }
            }
            if (nsec == (int)QP_IMAGE_MAX_SECTIONS) {
                return usage_error("create", "--section '%s': at most %u sections", v,
                                   QP_IMAGE_MAX_SECTIONS);
            }
            strcpy(secs[nsec].name, name);
            secs[nsec].path = eq + 1;
            secs[nsec].spec = v;
            nsec++;
        } else if (opt_is(a, "--codec")) {
            if (!(v = opt_value(argc, argv, &i, "--codec"))) {
                return usage_error("create", "option '%s' needs a value", a);
            }
            if (strcmp(v, "lzma") == 0) {
                opts.codec = QP_IMAGE_CODEC_LZMA;
            } else if (strcmp(v, "lzop") == 0 || strcmp(v, "lzo") == 0) {
                opts.codec = QP_IMAGE_CODEC_LZO;
            } else {
                return usage_error("create", "unknown codec '%s' (lzma or lzop)", v);
            }
        } else if (opt_is(a, "--level")) {
            if (!(v = opt_value(argc, argv, &i, "--level"))) {
                return usage_error("create", "option '%s' needs a value", a);
            }
            if (strlen(v) != 1 || v[0] < '1' || v[0] > '9') {
                return usage_error("create", "--level '%s': expected 1..9", v);
            }
            opts.level = (uint8_t)(v[0] - '0');
        } else if (opt_is(a, "--dict")) {
            if (!(v = opt_value(argc, argv, &i, "--dict"))) {
                return usage_error("create", "option '%s' needs a value", a);
            }
            opts.dict_size = parse_size(v);
            if (opts.dict_size < QP_IMAGE_DICT_MIN || opts.dict_size > QP_IMAGE_DICT_MAX) {
                return usage_error("create", "--dict '%s': expected 4K..64M", v);
            }
        } else if (opt_is(a, "--restart")) {
            if (!(v = opt_value(argc, argv, &i, "--restart"))) {
                return usage_error("create", "option '%s' needs a value", a);
            }
            opts.restart = strcmp(v, "none") == 0 ? QP_IMAGE_RESTART_NONE : parse_size(v);
            if (opts.restart != QP_IMAGE_RESTART_NONE &&
                (opts.restart < QP_IMAGE_RESTART_MIN || opts.restart > QP_IMAGE_RESTART_MAX ||
                 (opts.restart & (opts.restart - 1u)))) {
                return usage_error("create",
                                   "--restart '%s': expected a power of two 64K..64M, or none",
                                   v);
            }
        } else if (opt_is(a, "--bcj")) {
            if (!(v = opt_value(argc, argv, &i, "--bcj"))) {
                return usage_error("create", "option '%s' needs a value", a);
            }
            if (strcmp(v, "none") == 0) {
                opts.bcj = QP_IMAGE_BCJ_NONE;
            } else if (strcmp(v, "arm") == 0) {
                opts.bcj = QP_IMAGE_BCJ_ARM;
            } else if (strcmp(v, "armthumb") == 0) {
                opts.bcj = QP_IMAGE_BCJ_ARMTHUMB;
            } else {
                return usage_error("create", "unknown filter '%s' (none, arm or armthumb)", v);
            }
        } else if (a[0] == '-') {
            return usage_error("create", "unknown option '%s'", a);
        } else {
            return usage_error("create", "unexpected argument '%s'", a);
        }
    }
    if (!out) {
        return usage_error("create", "no output: use -o OUT.img");
    }
    if (!model) {
        return usage_error("create", "no model: use --model EC600S or EC100Y");
    }
    if (!version) {
        return usage_error("create", "no firmware version: use --version V");
    }
    if (nsec == 0) {
        return usage_error("create", "no sections: use --section NAME=FILE");
    }
    if (!qp_image_model_valid(model)) {
        return usage_error("create", "unknown model '%s' (supported: %s)", model,
                           QP_IMAGE_MODELS);
    }
    size_t vlen = strlen(version);
    qp_image_builder_t b;
    progress_t prog = {NULL, isatty(STDERR_FILENO), -1};
    qp_image_config_t cfg = {0};
    cfg.progress = progress_cb;
    cfg.progress_ctx = &prog;
    if (vlen == 0 || vlen > QP_IMAGE_VERSION_STR_MAX ||
        qp_image_builder_open(&b, &cfg, model, version) < 0) {
        return usage_error("create",
                           "invalid firmware version '%s' (1..63 printable ASCII characters)",
                           version);
    }
    int rc = 0;
    for (int i = 0; i < nsec && rc == 0; i++) {
        struct stat st;
        uint8_t *data = NULL;
        size_t len = 0;
        qp_image_section_opts_t o = opts;
        if (stat(secs[i].path, &st) != 0) {
            msg("%s: cannot read section '%s': %s", secs[i].path, secs[i].name,
                qp_strerror(-errno));
            rc = EXIT_BAD;
            break;
        }
        if (S_ISDIR(st.st_mode)) {
            rc = pack_dir(secs[i].path, &data, &len);
            o.content = QP_IMAGE_CONTENT_ARCHIVE;
        } else {
            int err = read_file(secs[i].path, &data, &len);
            if (err < 0) {
                msg("%s: cannot read section '%s': %s", secs[i].path, secs[i].name,
                    qp_strerror(err));
                rc = EXIT_BAD;
            }
        }
        if (rc != 0) {
            break;
        }
        prog.label = secs[i].name;
        prog.last = -1;
        int err = qp_image_builder_add(&b, secs[i].name, data, len, &o);
        free(data);
        if (err < 0) {
            msg("%s: section '%s': %s", secs[i].path, secs[i].name,
                err == QP_ERR_FBIG ? "too large (at most 1 GiB)" : qp_strerror(err));
            rc = EXIT_BAD;
            break;
        }
        if (verbose) {
            print_summary(qp_image_builder_section(&b, (uint32_t)i));
        }
    }
    if (rc == 0) {
        // Write beside the target and rename, so a failed run never leaves a partial
        // image under the requested name.
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp", out);
        FILE *f = fopen(tmp, "wb");
        int err = f ? qp_image_builder_write(&b, file_write_cb, f) : -errno;
        if (f && fclose(f) != 0 && err == 0) {
            err = QP_ERR_IO;
        }
        if (err == 0 && rename(tmp, out) != 0) {
            err = -errno;
        }
        if (err < 0) {
            msg("%s: cannot write: %s", out, qp_strerror(err));
            if (f) {
                remove(tmp);
            }
            rc = EXIT_BAD;
        } else if (verbose) {
            uint64_t size = 0;
            qp_image_builder_size(&b, &size);
            msg("wrote %s: %llu bytes, %d section%s", out, (unsigned long long)size, nsec,
                nsec == 1 ? "" : "s");
        }
    }
    qp_image_builder_close(&b);
    return rc;
}

// --- reading images -------------------------------------------------------------------

static void report_image_error(const char *path, const qp_image_info_t *info, int err,
                               const qp_image_diag_t *d) {
    const char *kind = err == QP_ERR_NOTSUP ? "unsupported image" : "corrupt image";
    if (err != QP_ERR_CORRUPT && err != QP_ERR_NOTSUP) {
        msg("%s: %s: %s", path, d->what ? d->what : "error", qp_strerror(err));
    } else if (d->section >= 0 && info && (uint32_t)d->section < info->section_count) {
        msg("%s: %s: section '%s' (index %d), offset 0x%llx: %s", path, kind,
            info->sections[d->section].name, d->section, (unsigned long long)d->offset,
            d->what);
    } else if (d->section >= 0) {
        msg("%s: %s: section table entry %d, offset 0x%llx: %s", path, kind, d->section,
            (unsigned long long)d->offset, d->what);
    } else {
        msg("%s: %s: offset 0x%llx: %s", path, kind, (unsigned long long)d->offset, d->what);
    }
}

// Opens `path` and reads its header; the image must fill the file exactly.
static int open_image(const char *path, FILE **fp, qp_image_info_t *info) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        msg("%s: cannot open: %s", path, qp_strerror(-errno));
        return EXIT_BAD;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        msg("%s: not a regular file", path);
        fclose(f);
        return EXIT_BAD;
    }
    qp_image_diag_t d = {0};
    int err = qp_image_read_header(info, file_read_cb, f, (uint64_t)st.st_size, NULL, &d);
    if (err < 0) {
        // A failed table check names an entry, not yet a parsed section.
        report_image_error(path, NULL, err, &d);
        fclose(f);
        return EXIT_BAD;
    }
    if (info->image_size != (uint64_t)st.st_size) {
        msg("%s: corrupt image: %llu bytes after the end of the image", path,
            (unsigned long long)((uint64_t)st.st_size - info->image_size));
        fclose(f);
        return EXIT_BAD;
    }
    *fp = f;
    return 0;
}

static int verify_image(const char *path, FILE *f, const qp_image_info_t *info, int full) {
    progress_t prog = {"verify", isatty(STDERR_FILENO), -1};
    qp_image_config_t cfg = {0};
    cfg.progress = progress_cb;
    cfg.progress_ctx = &prog;
    qp_image_diag_t d = {0};
    int err = qp_image_verify(info, file_read_cb, f, full, &cfg, &d);
    if (err < 0) {
        report_image_error(path, info, err, &d);
        return EXIT_BAD;
    }
    return 0;
}

static void print_hex(const uint8_t *h, size_t n) {
    for (size_t i = 0; i < n; i++) {
        printf("%02x", h[i]);
    }
    printf("\n");
}

static void print_size(uint32_t v) {
    if (v % (1u << 20) == 0) {
        printf("%uM", v >> 20);
    } else if (v % 1024 == 0) {
        printf("%uK", v >> 10);
    } else {
        printf("%u", v);
    }
}

static void print_section(const qp_image_section_t *s) {
    const qp_image_params_t *p = &s->params;
    printf("section %s\n", s->name);
    printf("  content:     %s\n", s->content == QP_IMAGE_CONTENT_ARCHIVE ? "app archive" : "raw");
    printf("  codec:       %s, level %u, ", qp_image_codec_name(p->codec), p->level);
    if (p->codec == QP_IMAGE_CODEC_LZO) {
        printf("%s, block ", p->lzo_algo == QP_IMAGE_LZO_1X_1 ? "lzo1x_1" : "lzo1x_999");
        print_size(p->lzo_block);
        printf("\n");
    } else {
        printf("bcj %s, dict ", qp_image_bcj_name(p->bcj));
        print_size(p->dict_size);
        printf(", lc %u lp %u pb %u, %s, %s, nice %u, depth %u", p->lc, p->lp, p->pb,
               p->mode == QP_IMAGE_MODE_FAST ? "fast" : "normal", qp_image_mf_name(p->mf),
               p->nice_len, p->depth);
        if (p->restart) {
            printf(", restart ");
            print_size(p->restart);
        }
        printf("\n");
    }
    unsigned long long ratio = s->usize ? s->csize * 10000 / s->usize : 0;
    printf("  size:        %llu -> %llu bytes (%llu.%02llu%%)\n", (unsigned long long)s->usize,
           (unsigned long long)s->csize, ratio / 100, ratio % 100);
    uint64_t enc = 0, dec = 0;
    qp_image_memusage(p, &enc, &dec);
    printf("  memory:      recompress %llu, decompress %llu bytes\n", (unsigned long long)enc,
           (unsigned long long)dec);
    printf("  sha256:      ");
    print_hex(s->usha256, 32);
    printf("  compressed:  ");
    print_hex(s->csha256, 32);
}

static int cmd_info(int argc, char **argv) {
    const char *path = NULL;
    int full = 0;
    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i])) {
            fputs(info_usage, stdout);
            return 0;
        } else if (strcmp(argv[i], "--full") == 0) {
            full = 1;
        } else if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0) {
            verbose = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return usage_error("info", "unknown option '%s'", argv[i]);
        } else if (path) {
            return usage_error("info", "'info' takes one image");
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        return usage_error("info", "'info' needs an image");
    }
    FILE *f;
    qp_image_info_t info;
    int rc = open_image(path, &f, &info);
    if (rc != 0) {
        return rc;
    }
    rc = verify_image(path, f, &info, full);
    fclose(f);
    if (rc != 0) {
        return rc;
    }
    printf("image:       %s\n", path);
    printf("format:      %u.%u\n", info.version_major, info.version_minor);
    printf("model:       %s\n", info.model);
    printf("version:     %s\n", info.version);
    printf("size:        %llu bytes, %u section%s\n", (unsigned long long)info.image_size,
           info.section_count, info.section_count == 1 ? "" : "s");
    printf("sha256:      ");
    print_hex(info.image_sha256, 32);
    for (uint32_t i = 0; i < info.section_count; i++) {
        print_section(&info.sections[i]);
    }
    return 0;
}

// --- extract --------------------------------------------------------------------------

static int make_dirs(const char *path) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
                return -errno;
            }
            *p = '/';
        }
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
        return -errno;
    }
    return 0;
}

static int write_whole(const char *path, const uint8_t *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) {
        return -errno;
    }
    int err = len && fwrite(data, 1, len, f) != len ? QP_ERR_IO : 0;
    if (fclose(f) != 0 && err == 0) {
        err = QP_ERR_IO;
    }
    return err;
}

// Unpacks the archive just extracted to `bin` into dir/name/.
static int unpack_archive(const char *dir, const char *name, const char *bin) {
    uint8_t *data = NULL;
    size_t len = 0;
    int err = read_file(bin, &data, &len);
    if (err < 0) {
        msg("%s: cannot read: %s", bin, qp_strerror(err));
        return EXIT_BAD;
    }
    if (qp_image_archive_check(data, len, NULL) < 0) {
        msg("section '%s': corrupt app archive", name);
        free(data);
        return EXIT_BAD;
    }
    size_t pos = 0;
    qp_image_archive_entry_t e;
    int rc = 0;
    while (rc == 0 && qp_image_archive_next(data, len, &pos, &e) == 1) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s/%.*s", dir, name, (int)e.path_len, e.path);
        char *slash = strrchr(path, '/');
        *slash = 0;
        err = make_dirs(path);
        *slash = '/';
        if (err == 0) {
            err = write_whole(path, e.data, e.size);
        }
        if (err < 0) {
            msg("%s: cannot write: %s", path, qp_strerror(err));
            rc = EXIT_BAD;
        }
    }
    free(data);
    return rc;
}

static int cmd_extract(int argc, char **argv) {
    const char *args[2];
    int n = 0;
    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i])) {
            fputs(extract_usage, stdout);
            return 0;
        } else if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0) {
            verbose = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return usage_error("extract", "unknown option '%s'", argv[i]);
        } else if (n == 2) {
            return usage_error("extract", "'extract' takes an image and a directory");
        } else {
            args[n++] = argv[i];
        }
    }
    if (n != 2) {
        return usage_error("extract", "'extract' takes an image and a directory");
    }
    FILE *f;
    qp_image_info_t info;
    int rc = open_image(args[0], &f, &info);
    if (rc != 0) {
        return rc;
    }
    rc = verify_image(args[0], f, &info, 0);
    int err = rc == 0 ? make_dirs(args[1]) : 0;
    if (err < 0) {
        msg("%s: cannot create directory: %s", args[1], qp_strerror(err));
        rc = EXIT_BAD;
    }
    for (uint32_t i = 0; rc == 0 && i < info.section_count; i++) {
        const qp_image_section_t *s = &info.sections[i];
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.bin", args[1], s->name);
        FILE *o = fopen(path, "wb");
        if (!o) {
            msg("%s: cannot write: %s", path, qp_strerror(-errno));
            rc = EXIT_BAD;
            break;
        }
        qp_image_diag_t d = {0};
        err = qp_image_extract(&info, i, file_read_cb, f, file_write_cb, o, 0, NULL, &d);
        if (fclose(o) != 0 && err == 0) {
            err = QP_ERR_IO;
        }
        if (err < 0) {
            remove(path);
            if (err == QP_ERR_IO && (!d.what || strcmp(d.what, "write error") == 0)) {
                msg("%s: cannot write: %s", path, qp_strerror(err));
            } else {
                report_image_error(args[0], &info, err, &d);
            }
            rc = EXIT_BAD;
        } else if (s->content == QP_IMAGE_CONTENT_ARCHIVE) {
            rc = unpack_archive(args[1], s->name, path);
        }
        if (rc == 0 && verbose) {
            msg("%s: %llu bytes", path, (unsigned long long)s->usize);
        }
    }
    fclose(f);
    return rc;
}

int main(int argc, char **argv) {
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (is_help(argv[i])) {
            fputs(main_usage, stdout);
            return 0;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("mkfw %s (image format %d.%d)\n", QP_VERSION, QP_IMAGE_VERSION_MAJOR,
                   QP_IMAGE_VERSION_MINOR);
            return 0;
        } else if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0) {
            verbose = 1;
        } else {
            return usage_error(NULL, "unknown option '%s'", argv[i]);
        }
    }
    if (i == argc) {
        return usage_error(NULL, "no command (create, info or extract)");
    }
    const char *cmd = argv[i];
    if (strcmp(cmd, "create") == 0) {
        return cmd_create(argc - i, argv + i);
    } else if (strcmp(cmd, "info") == 0) {
        return cmd_info(argc - i, argv + i);
    } else if (strcmp(cmd, "extract") == 0) {
        return cmd_extract(argc - i, argv + i);
    }
    return usage_error(NULL, "unknown command '%s'", cmd);
}
