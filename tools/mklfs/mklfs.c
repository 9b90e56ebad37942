// mklfs.c - the host's `mklfs`: littlefs images for the module's customer_fs (/usr) and
// customer_backup_fs (/bak) partitions, from a folder, as QPYcom's exes/aboot/mklfs does
// (littlefs v1, what the EC600S and EC100Y firmware mounts; v2 with --lfs-version 2, which
// the newer boot falls back to); also lists and unpacks images of either version (detected),
// makes a matching /usr + /bak pair with checksum.json and backup_restore.json, and packs
// production bundles for `qpy flash`.
//
//   mklfs -c DIR [-b 4096] [-r 4096] [-p 4096] [-s 5242880] -i customer_fs.bin
//   mklfs -l IMAGE                   mklfs -u DIR -i IMAGE
//   mklfs --pair -c DIR              mklfs --bundle OUT --firmware F --customer-fs F ...
//
// The image is built in memory over the FS library (qp_fs via qp_fsimage) and written out
// only when complete, so a failure never leaves a half image behind. Output is a function
// of the folder's contents alone: entries are added in byte order of their names (or the
// order an --order file gives), and no times are stored (v1 has none; v2 images get no
// mtime attribute), so the same folder gives a byte-identical image. Uses public headers
// only.
#include "mklfs.h"

#include "qp/qp_bundle.h"
#include "qp/qp_err.h"
#include "qp/qp_flash.h"
#include "qp/qp_fs.h"
#include "qp/qp_fsimage.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage_text[] =
    "Usage: mklfs -c DIR [-b BLOCK] [-r READ] [-p PROG] [-s SIZE] [-i IMAGE] [options]\n"
    "       mklfs -l IMAGE [-b BLOCK]\n"
    "       mklfs -u DIR -i IMAGE [-b BLOCK]\n"
    "       mklfs --pair -c DIR [-i IMAGE] [--backup-image IMAGE] [options]\n"
    "       mklfs --bundle OUT [--firmware FILE] [--customer-fs FILE] [--backup-fs FILE]\n"
    "\n"
    "Makes littlefs images for the module's file systems, as QPYcom's mklfs.\n"
    "\n"
    "  -c DIR          pack the files under DIR (they appear under /usr on the module)\n"
    "  -i IMAGE        the image to write (-c) or read (-u); default customer_fs.bin,\n"
    "                  or customer_backup_fs.bin with --backup\n"
    "  -l IMAGE        list the files in an image\n"
    "  -u DIR          unpack the image named by -i into DIR\n"
    "  --partition NAME  with -l or -u: the image is a device's flash.img; read its\n"
    "                  partition NAME (customer_fs, customer_backup_fs)\n"
    "  -b BLOCK        block size in bytes (default 4096)\n"
    "  -r READ         read size (default: the block size)\n"
    "  -p PROG         program size (default: the block size)\n"
    "  -s SIZE         image size in bytes, a multiple of BLOCK (default 5242880, the\n"
    "                  EC600S's customer_fs; 204800 with --backup)\n"
    "  -n NAME_MAX     refuse names longer than this (default 255)\n"
    "  --lfs-version N with -c: littlefs 1 (default: what the EC600S and EC100Y\n"
    "                  firmware mounts) or 2 (littlefs v2.1); -l and -u read either\n"
    "  --backup        defaults for customer_backup_fs (/bak): 204800 bytes\n"
    "  --param FILE    a factory parameter file, JSON or key=value lines, placed at the\n"
    "                  image root as NAME.json before the folder's files (repeatable)\n"
    "  --order FILE    paths (one a line, as in the image: /a.py, /lib/x.py) to add\n"
    "                  first, in this order; everything else follows in byte order\n"
    "  --pair          with -c: also write the backup image: /bak/usr/... holding the\n"
    "                  folder's files, /bak/checksum.json and /bak/backup_restore.json\n"
    "                  (restore enabled); checksum.json goes into both images\n"
    "  --backup-image IMAGE  the pair's backup image (default customer_backup_fs.bin)\n"
    "  --bundle OUT    write a production bundle (docs/SPEC-bundle.md) of the images\n"
    "                  given by --firmware, --customer-fs, --backup-fs (each checked)\n"
    "  -v, --verbose   say what is added, and show progress\n"
    "  -h, --help      show this help\n"
    "  --version       show the version\n"
    "\n"
    "Symbolic links and special files (devices, FIFOs, sockets) are refused: the module's\n"
    "file system has none, and leaving one out silently would ship an incomplete image.\n"
    "\n"
    "Exit status: 0 done, 1 the folder cannot be packed (too big, name too long, special\n"
    "file, unreadable file), 2 usage error, 3 a bad input image, 4 the output cannot be\n"
    "written.\n";

// ---- messages ----

static void say(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("mklfs: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static int usage_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("mklfs: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\nTry 'mklfs --help' for more information.\n", stderr);
    va_end(ap);
    return MKLFS_EXIT_USAGE;
}

// ---- options ----

typedef struct {
    const char *pack_dir, *image, *list, *unpack_dir, *order_file;
    const char *backup_image, *bundle, *firmware, *customer_fs, *backup_fs, *partition;
    const char *params[MKLFS_MAX_PARAMS];
    int nparams;
    uint32_t block, read, prog, size, name_max;
    uint32_t disk_version; // -c: QP_FS_DISK_VERSION_*; 0 until --lfs-version
    int backup, pair, verbose;
} options_t;

// "v1.1", "v2.1": how listings and messages name an on-disk version.
static const char *version_name(uint32_t disk_version, char buf[16]) {
    snprintf(buf, 16, "v%u.%u", (unsigned)(disk_version >> 16),
             (unsigned)(disk_version & 0xffff));
    return buf;
}

static int parse_u32(const char *s, uint32_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *end || v > UINT32_MAX || s[0] == '-') {
        return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

// ---- the folder, read into memory in the order it goes into the image ----

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int order_rank(const mklfs_tree_t *t, const char *image_path) {
    for (int i = 0; i < t->norder; i++) {
        if (strcmp(t->order[i], image_path) == 0) {
            return i;
        }
    }
    return -1;
}

static int add_node(mklfs_tree_t *t, const mklfs_node_t *n) {
    if (t->count == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        mklfs_node_t *nodes = realloc(t->nodes, cap * sizeof *nodes);
        if (!nodes) {
            say("out of memory");
            return MKLFS_EXIT_INPUT;
        }
        t->nodes = nodes;
        t->cap = cap;
    }
    t->nodes[t->count++] = *n;
    return 0;
}

static void join(char *out, size_t outlen, const char *a, const char *b) {
    size_t n = strlen(a);
    snprintf(out, outlen, "%s%s%s", a, n && a[n - 1] == '/' ? "" : "/", b);
}

// Walks `host_dir` (image directory `image_dir`) depth first, children in byte order with
// the --order paths first. Refuses what the module's file system cannot hold.
static int walk(mklfs_tree_t *t, const char *host_dir, const char *image_dir,
                uint32_t name_max) {
    DIR *d = opendir(host_dir);
    if (!d) {
        say("%s: cannot read folder: %s", host_dir, strerror(errno));
        return MKLFS_EXIT_INPUT;
    }
    char **names = NULL;
    size_t count = 0, cap = 0;
    struct dirent *e;
    int status = 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        if (count == cap) {
            cap = cap ? cap * 2 : 32;
            char **more = realloc(names, cap * sizeof *names);
            if (!more) {
                status = MKLFS_EXIT_INPUT;
                break;
            }
            names = more;
        }
        if (!(names[count] = strdup(e->d_name))) {
            status = MKLFS_EXIT_INPUT;
            break;
        }
        count++;
    }
    closedir(d);
    if (status) {
        say("out of memory");
        goto done;
    }
    if (count > 1) {
        qsort(names, count, sizeof *names, cmp_names);
    }
    // Stable partition: the --order paths of this folder first, in their order.
    for (int rank = t->norder - 1; rank >= 0 && t->norder; rank--) {
        for (size_t i = 0; i < count; i++) {
            char path[MKLFS_PATH_MAX];
            join(path, sizeof path, image_dir, names[i]);
            if (order_rank(t, path) == rank) {
                char *hit = names[i];
                memmove(names + 1, names, i * sizeof *names);
                names[0] = hit;
                break;
            }
        }
    }
    for (size_t i = 0; i < count && !status; i++) {
        mklfs_node_t n;
        memset(&n, 0, sizeof n);
        join(n.host, sizeof n.host, host_dir, names[i]);
        join(n.path, sizeof n.path, image_dir, names[i]);
        if (strlen(names[i]) > name_max) {
            say("%s: name is %zu bytes, longer than the file system's limit of %" PRIu32
                " (name_max)", n.host, strlen(names[i]), name_max);
            status = MKLFS_EXIT_INPUT;
            break;
        }
        struct stat st;
        if (lstat(n.host, &st) != 0) {
            say("%s: %s", n.host, strerror(errno));
            status = MKLFS_EXIT_INPUT;
        } else if (S_ISLNK(st.st_mode)) {
            say("%s: is a symbolic link; refused (littlefs has none: copy the file it "
                "points to into the folder)", n.host);
            status = MKLFS_EXIT_INPUT;
        } else if (S_ISDIR(st.st_mode)) {
            n.is_dir = 1;
            status = add_node(t, &n);
            if (!status) {
                status = walk(t, n.host, n.path, name_max);
            }
        } else if (S_ISREG(st.st_mode)) {
            if (st.st_size > QP_FS_FILE_MAX) {
                say("%s: %lld bytes, larger than any littlefs file", n.host,
                    (long long)st.st_size);
                status = MKLFS_EXIT_INPUT;
            } else {
                n.size = (uint64_t)st.st_size;
                t->file_bytes += n.size;
                t->nfiles++;
                status = add_node(t, &n);
            }
        } else {
            say("%s: is a special file (device, FIFO or socket); refused", n.host);
            status = MKLFS_EXIT_INPUT;
        }
    }
done:
    for (size_t i = 0; i < count; i++) {
        free(names[i]);
    }
    free(names);
    return status;
}

static int read_whole(const char *path, uint8_t **data, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        return -errno;
    }
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    int err = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            uint8_t *more = realloc(buf, cap);
            if (!more) {
                err = QP_ERR_NOMEM;
                break;
            }
            buf = more;
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
    fclose(f);
    if (err < 0) {
        free(buf);
        return err;
    }
    *data = buf;
    *len = n;
    return 0;
}

// A whole file as a NUL-terminated string (*text owned by the caller); says what failed.
static int read_text(const char *path, char **text, size_t *len) {
    uint8_t *data = NULL;
    int err = read_whole(path, &data, len);
    if (err < 0) {
        say("%s: cannot read: %s", path, strerror(-err));
        return MKLFS_EXIT_INPUT;
    }
    char *t = realloc(data, *len + 1);
    if (!t) {
        free(data);
        say("out of memory");
        return MKLFS_EXIT_INPUT;
    }
    t[*len] = '\0';
    *text = t;
    return 0;
}

// ---- building an image in memory ----

static int write_file(qp_fs_t *fs, const char *path, const void *data, size_t len) {
    qp_fs_file_t f;
    memset(&f, 0, sizeof f);
    int err = qp_fs_file_open(fs, &f, path, QP_FS_O_WRONLY | QP_FS_O_CREAT | QP_FS_O_TRUNC);
    if (err < 0) {
        return err;
    }
    const uint8_t *p = data;
    while (len > 0 && err >= 0) {
        size_t chunk = len < (1u << 20) ? len : (1u << 20);
        err = qp_fs_file_write(fs, &f, p, chunk);
        p += chunk;
        len -= chunk;
    }
    int cerr = qp_fs_file_close(fs, &f);
    return err < 0 ? err : cerr;
}

static void progress(const mklfs_build_t *b, uint64_t files_done, uint64_t bytes_done) {
    if (!b->show_progress) {
        return;
    }
    unsigned pct = b->total_bytes ? (unsigned)(bytes_done * 100 / b->total_bytes) : 100;
    fprintf(stderr, "\rmklfs: %s: %" PRIu64 "/%" PRIu64 " files, %u%%", b->label,
            files_done, b->total_files, pct);
    if (files_done == b->total_files) {
        fputc('\n', stderr);
    }
}

// Adds the extra files (parameters, checksum lists) and the folder's tree under `prefix`.
static int fill(qp_fs_t *fs, const mklfs_build_t *b, char *failed, size_t failedlen) {
    int err = 0;
    uint64_t files_done = 0, bytes_done = 0;
    for (int i = 0; i < b->nextra && err >= 0; i++) {
        snprintf(failed, failedlen, "%s", b->extra[i].path);
        err = write_file(fs, b->extra[i].path, b->extra[i].data, b->extra[i].len);
    }
    if (err >= 0 && b->prefix[0]) {
        // "/usr" in the backup image: one level, made here.
        snprintf(failed, failedlen, "%s", b->prefix);
        err = qp_fs_mkdir(fs, b->prefix);
    }
    for (size_t i = 0; b->tree && i < b->tree->count && err >= 0; i++) {
        const mklfs_node_t *n = &b->tree->nodes[i];
        char path[MKLFS_PATH_MAX + 16];
        snprintf(path, sizeof path, "%s%s", b->prefix, n->path);
        snprintf(failed, failedlen, "%s", n->host);
        if (n->is_dir) {
            err = qp_fs_mkdir(fs, path);
            continue;
        }
        uint8_t *data = NULL;
        size_t len = 0;
        err = read_whole(n->host, &data, &len);
        if (err < 0) {
            return MKLFS_ERR_HOST(err);
        }
        err = write_file(fs, path, data, len);
        free(data);
        if (b->verbose && err >= 0) {
            fprintf(stderr, "mklfs: %s: added %s (%zu bytes)\n", b->label, path, len);
        }
        files_done++;
        bytes_done += len;
        progress(b, files_done, bytes_done);
    }
    return err;
}

// Builds the image into `img_data` (geo->size bytes). On success *used is the number of
// blocks in use.
static int build_into(uint8_t *img_data, const qp_fsimage_geometry_t *geo,
                      const mklfs_build_t *b, uint32_t *used, char *failed,
                      size_t failedlen) {
    qp_fsimage_t img;
    int err = qp_fsimage_init(&img, img_data, geo);
    if (err < 0) {
        return err;
    }
    // Erased flash: what QPYcom's images and a fresh partition hold where nothing is.
    memset(img_data, 0xff, geo->size);
    img.cfg.name_max = b->name_max;
    qp_fs_t fs;
    memset(&fs, 0, sizeof fs);
    err = qp_fs_format(&fs, &img.cfg);
    if (err == 0) {
        err = qp_fs_mount(&fs, &img.cfg);
    }
    if (err == 0) {
        err = fill(&fs, b, failed, failedlen);
        int n = err >= 0 ? qp_fs_size(&fs) : 0;
        if (n < 0) {
            err = n;
        }
        *used = (uint32_t)n;
        qp_fs_unmount(&fs);
    }
    return err;
}

static int write_output(const char *path, const void *data, size_t len) {
    char tmp[MKLFS_PATH_MAX + 16];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        say("%s: cannot write: %s", path, strerror(errno));
        return MKLFS_EXIT_OUTPUT;
    }
    size_t wrote = fwrite(data, 1, len, f);
    int bad = wrote != len || fflush(f) != 0;
    int e = errno;
    if (fclose(f) != 0) {
        bad = 1;
        e = errno;
    }
    if (bad || rename(tmp, path) != 0) {
        say("%s: cannot write: %s", path, strerror(bad ? e : errno));
        unlink(tmp);
        return MKLFS_EXIT_OUTPUT;
    }
    return 0;
}

// Makes one image file. When it does not fit, builds it again in ever larger memory to
// say how much is missing.
static int make_image(const options_t *o, const mklfs_build_t *b, const char *out,
                      uint32_t size) {
    qp_fsimage_geometry_t geo = {.size = size, .block_size = o->block,
                                 .read_size = o->read, .prog_size = o->prog,
                                 .disk_version = o->disk_version};
    uint8_t *data = malloc(size);
    if (!data) {
        say("out of memory for a %" PRIu32 "-byte image", size);
        return MKLFS_EXIT_INPUT;
    }
    char failed[MKLFS_PATH_MAX + 8] = "";
    uint32_t used = 0;
    int err = build_into(data, &geo, b, &used, failed, sizeof failed);
    int status = 0;
    if (err == QP_ERR_NOSPC) {
        free(data);
        data = NULL;
        // Enough for the data plus littlefs's per-file and per-directory blocks, doubled
        // until it fits or passes 1 GiB.
        uint64_t bigger = (uint64_t)size * 2 + b->total_bytes * 2
                        + (uint64_t)(b->tree ? b->tree->count : 0) * 4 * o->block;
        uint32_t need = 0;
        for (; bigger <= (1ull << 30); bigger *= 2) {
            geo.size = (uint32_t)(bigger / o->block * o->block);
            uint8_t *big = malloc(geo.size);
            if (!big) {
                break;
            }
            mklfs_build_t quiet = *b;
            quiet.verbose = 0;
            quiet.show_progress = 0;
            int e = build_into(big, &geo, &quiet, &need, failed, sizeof failed);
            free(big);
            if (e != QP_ERR_NOSPC) {
                if (e < 0) {
                    need = 0;
                }
                break;
            }
            need = 0;
        }
        uint32_t have = size / o->block;
        if (need > have) {
            uint64_t over = (uint64_t)(need - have) * o->block;
            say("%s: the files need %" PRIu32 " blocks of %" PRIu32 " bytes (%" PRIu64
                " bytes) but the image has %" PRIu32 " (%" PRIu32 " bytes): %" PRIu64
                " bytes (%" PRIu32 " blocks) too many; %s",
                out, need, o->block, (uint64_t)need * o->block, have, size, over,
                need - have, b->prefix[0] ? "the backup partition cannot grow: protect fewer files"
                                          : "use a larger -s or fewer files");
        } else {
            say("%s: the files do not fit in %" PRIu32 " bytes", out, size);
        }
        return MKLFS_EXIT_INPUT;
    }
    if (err <= MKLFS_ERR_HOST_BASE) {
        say("%s: cannot read: %s", failed, strerror(-(err - MKLFS_ERR_HOST_BASE)));
        status = MKLFS_EXIT_INPUT;
    } else if (err == QP_ERR_NAMETOOLONG) {
        say("%s: name longer than the file system's limit", failed);
        status = MKLFS_EXIT_INPUT;
    } else if (err < 0) {
        say("%s: %s: %s", out, failed, qp_strerror(err));
        status = MKLFS_EXIT_INPUT;
    } else {
        status = write_output(out, data, size);
        if (!status && b->verbose) {
            char vname[16];
            say("%s: %" PRIu64 " files, %" PRIu64 " bytes; %" PRIu32 " of %" PRIu32
                " blocks used; littlefs %s", out, b->total_files, b->total_bytes, used,
                size / o->block,
                version_name(o->disk_version ? o->disk_version : QP_FS_DISK_VERSION_LFS1,
                             vname));
        }
    }
    free(data);
    return status;
}

// ---- factory parameters, checksum.json ----

static void json_string(mklfs_buf_t *s, const char *str) {
    mklfs_buf_printf(s, "\"");
    for (const unsigned char *p = (const unsigned char *)str; *p; p++) {
        if (*p == '"' || *p == '\\') {
            mklfs_buf_printf(s, "\\%c", *p);
        } else if (*p < 0x20) {
            mklfs_buf_printf(s, "\\u%04x", *p);
        } else {
            mklfs_buf_printf(s, "%c", *p);
        }
    }
    mklfs_buf_printf(s, "\"");
}

static int load_param(const char *path, mklfs_extra_t *x) {
    char *text = NULL;
    size_t len = 0;
    int status = read_text(path, &text, &len);
    if (status) {
        return status;
    }
    // Named after the file, with .json in place of its extension: apn_cfg.txt and
    // apn_cfg.json both become /apn_cfg.json.
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    char stem[256];
    snprintf(stem, sizeof stem, "%s", base);
    char *dot = strrchr(stem, '.');
    if (dot && dot != stem) {
        *dot = '\0';
    }
    snprintf(x->path, sizeof x->path, "/%s.json", stem);
    if (mklfs_json_valid(text, len)) {
        x->data = (uint8_t *)text; // as written: the user's JSON, byte for byte
        x->len = len;
        return 0;
    }
    // key=value lines; '#' starts a comment line. Integers stay numbers.
    mklfs_buf_t s = {0};
    mklfs_buf_printf(&s, "{");
    int first = 1, line_no = 0;
    char *save = NULL;
    const char *looks_json = strpbrk(text, "{[");
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        line_no++;
        char *k = mklfs_trim(line);
        if (!*k || *k == '#') {
            continue;
        }
        char *eq = strchr(k, '=');
        if (!eq || looks_json == text) {
            say("%s:%d: not JSON, and not a key=value line", path, line_no);
            status = MKLFS_EXIT_INPUT;
            break;
        }
        *eq = '\0';
        char *key = mklfs_trim(k), *value = mklfs_trim(eq + 1);
        mklfs_buf_printf(&s, first ? "" : ", ");
        first = 0;
        json_string(&s, key);
        mklfs_buf_printf(&s, ": ");
        if (mklfs_is_integer(value)) {
            mklfs_buf_printf(&s, "%s", value);
        } else {
            json_string(&s, value);
        }
    }
    mklfs_buf_printf(&s, "}");
    free(text);
    if (status || !s.data) {
        free(s.data);
        return status ? status : MKLFS_EXIT_INPUT;
    }
    x->data = (uint8_t *)s.data;
    x->len = s.len;
    return 0;
}

// The seed's checksum.json: [{"name": "/usr/a.py", "sha256": "<hex>"}, ...] in the order
// the files are in the image, every file of the folder protected.
static int make_checksums(const mklfs_tree_t *t, mklfs_extra_t *x) {
    mklfs_buf_t s = {0};
    mklfs_buf_printf(&s, "[");
    int first = 1;
    for (size_t i = 0; i < t->count; i++) {
        const mklfs_node_t *n = &t->nodes[i];
        if (n->is_dir) {
            continue;
        }
        uint8_t *data = NULL;
        size_t len = 0;
        int err = read_whole(n->host, &data, &len);
        if (err < 0) {
            say("%s: cannot read: %s", n->host, strerror(-err));
            free(s.data);
            return MKLFS_EXIT_INPUT;
        }
        char hex[65];
        mklfs_sha256_hex(data, len, hex);
        free(data);
        char name[MKLFS_PATH_MAX + 8];
        snprintf(name, sizeof name, "/usr%s", n->path);
        mklfs_buf_printf(&s, "%s{\"name\": ", first ? "" : ", ");
        json_string(&s, name);
        mklfs_buf_printf(&s, ", \"sha256\": \"%s\"}", hex);
        first = 0;
    }
    mklfs_buf_printf(&s, "]");
    if (!s.data) {
        say("out of memory");
        return MKLFS_EXIT_INPUT;
    }
    snprintf(x->path, sizeof x->path, "/checksum.json");
    x->data = (uint8_t *)s.data;
    x->len = s.len;
    return 0;
}

static int load_order(const char *path, mklfs_tree_t *t) {
    char *text = NULL;
    size_t len = 0;
    int status = read_text(path, &text, &len);
    if (status) {
        return status;
    }
    t->order_text = text;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *p = mklfs_trim(line);
        if (!*p || *p == '#') {
            continue;
        }
        if (*p != '/' || t->norder == MKLFS_MAX_ORDER) {
            say("%s: '%s': paths start with '/' (at most %d of them)", path, p,
                MKLFS_MAX_ORDER);
            return MKLFS_EXIT_INPUT;
        }
        t->order[t->norder++] = p;
    }
    return 0;
}

// ---- -c: pack ----

static int cmd_pack(const options_t *o) {
    mklfs_tree_t tree;
    memset(&tree, 0, sizeof tree);
    mklfs_extra_t extra[MKLFS_MAX_PARAMS + 2];
    memset(extra, 0, sizeof extra);
    int nextra = 0;
    int status = 0;
    struct stat st;
    if (stat(o->pack_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        say("%s: cannot read folder: %s", o->pack_dir,
            errno && stat(o->pack_dir, &st) != 0 ? strerror(errno) : "not a directory");
        return MKLFS_EXIT_INPUT;
    }
    if (o->order_file) {
        status = load_order(o->order_file, &tree);
    }
    if (!status) {
        status = walk(&tree, o->pack_dir, "", o->name_max);
    }
    for (int i = 0; i < o->nparams && !status; i++) {
        status = load_param(o->params[i], &extra[nextra]);
        if (!status) {
            nextra++;
        }
    }
    mklfs_extra_t checksums;
    memset(&checksums, 0, sizeof checksums);
    if (!status && o->pair) {
        status = make_checksums(&tree, &checksums);
        if (!status) {
            extra[nextra++] = checksums;
            if (checksums.len > MKLFS_FIRMWARE_CHECKSUM_MAX) {
                say("warning: checksum.json is %zu bytes; the EC600S firmware reads only "
                    "the first %d, so a real module would fail to restore (protect fewer "
                    "files)", checksums.len, MKLFS_FIRMWARE_CHECKSUM_MAX);
            }
        }
    }
    int tty = isatty(STDERR_FILENO);
    mklfs_build_t b = {.tree = &tree, .extra = extra, .nextra = nextra,
                       .name_max = o->name_max, .verbose = o->verbose,
                       .total_files = tree.nfiles, .total_bytes = tree.file_bytes};
    // Progress: a line that redraws itself, on a terminal only (for big folders, or with
    // -v); elsewhere -v logs each file added instead.
    b.show_progress = tty && (o->verbose || tree.nfiles > 100 || tree.file_bytes > (8u << 20));
    if (!status) {
        b.label = o->image;
        status = make_image(o, &b, o->image, o->size);
    }
    if (!status && o->pair) {
        // The backup: the factory copies under /usr, the same checksum list, and the flag
        // that enables the restore at boot (platform-facts: backup_restore.py).
        static const char enable[] = "{\"enable\": 1}";
        mklfs_extra_t bak[2];
        memset(bak, 0, sizeof bak);
        bak[0] = checksums;
        snprintf(bak[1].path, sizeof bak[1].path, "/backup_restore.json");
        bak[1].data = (uint8_t *)enable;
        bak[1].len = sizeof enable - 1;
        mklfs_build_t bb = b;
        bb.extra = bak;
        bb.nextra = 2;
        snprintf(bb.prefix, sizeof bb.prefix, "/usr");
        bb.label = o->backup_image;
        status = make_image(o, &bb, o->backup_image, QP_FSIMAGE_CUSTOMER_BACKUP_FS_SIZE);
    }
    for (int i = 0; i < nextra; i++) {
        free(extra[i].data);
    }
    free(tree.nodes);
    free(tree.order_text);
    return status;
}

// ---- -l and -u: read an image ----

typedef struct {
    uint8_t *data;
    size_t len;
    qp_fsimage_t img;
    qp_fs_t fs;
} mounted_t;

// Reads partition `name` out of a device's flash.img (docs/SPEC-partitions.md), so that
// what a module wrote can be listed or unpacked like any image.
static int read_partition(const char *path, const char *name, uint8_t **data, size_t *len) {
    qp_flash_t flash;
    qp_flash_init(&flash);
    qp_flash_ptable_t table;
    qp_flash_part_t part;
    int err = qp_flash_file_open(&flash, path, &(qp_flash_config_t){.flags = QP_FLASH_F_RDONLY});
    if (err == 0) {
        err = qp_flash_ptable_read(&flash, &table);
    }
    if (err == 0) {
        err = qp_flash_part_open(&part, &flash, &table, name);
    }
    if (err == 0 && !(*data = malloc(part.size))) {
        err = QP_ERR_NOMEM;
    }
    if (err == 0) {
        err = qp_flash_part_read(&part, 0, *data, part.size);
        if (err < 0) {
            free(*data);
        }
    }
    qp_flash_close(&flash);
    if (err < 0) {
        say("%s: cannot read partition %s: %s", path, name,
            err == QP_ERR_BUSY ? "in use by a running module" : qp_strerror(err));
        return err;
    }
    *len = part.size;
    return 0;
}

static int open_image(const char *path, const char *partition, uint32_t block,
                      mounted_t *m) {
    memset(m, 0, sizeof *m);
    int err;
    if (partition) {
        if (read_partition(path, partition, &m->data, &m->len) < 0) {
            return MKLFS_EXIT_BADIMAGE;
        }
    } else if ((err = read_whole(path, &m->data, &m->len)) < 0) {
        say("%s: cannot read: %s", path, strerror(-err));
        return MKLFS_EXIT_BADIMAGE;
    }
    const char *why = NULL;
    err = qp_fsimage_check(m->data, m->len, block, &why);
    if (err == 0) {
        err = qp_fsimage_init(&m->img, m->data,
                              &(qp_fsimage_geometry_t){.size = (uint32_t)m->len,
                                                       .block_size = block});
    }
    if (err == 0) {
        err = qp_fs_mount(&m->fs, &m->img.cfg); // disk_version 0: v1 or v2, detected
    }
    if (err < 0) {
        say("%s: not a littlefs image with %" PRIu32 "-byte blocks: %s", path, block,
            why ? why : qp_strerror(err));
        free(m->data);
        m->data = NULL;
        return MKLFS_EXIT_BADIMAGE;
    }
    return 0;
}

static void close_image(mounted_t *m) {
    qp_fs_unmount(&m->fs);
    free(m->data);
}

typedef struct {
    const char *unpack_dir; // NULL: list
    uint64_t files, dirs, bytes;
} visit_t;

static int unpack_file(qp_fs_t *fs, const char *path, const char *host) {
    qp_fs_file_t f;
    memset(&f, 0, sizeof f);
    int err = qp_fs_file_open(fs, &f, path, QP_FS_O_RDONLY);
    if (err < 0) {
        say("%s: %s", path, qp_strerror(err));
        return MKLFS_EXIT_BADIMAGE;
    }
    FILE *out = fopen(host, "wb");
    if (!out) {
        say("%s: cannot write: %s", host, strerror(errno));
        qp_fs_file_close(fs, &f);
        return MKLFS_EXIT_OUTPUT;
    }
    uint8_t buf[4096];
    int n, status = 0;
    while ((n = qp_fs_file_read(fs, &f, buf, sizeof buf)) > 0) {
        if (fwrite(buf, 1, (size_t)n, out) != (size_t)n) {
            status = MKLFS_EXIT_OUTPUT;
            break;
        }
    }
    if (n < 0) {
        say("%s: %s", path, qp_strerror(n));
        status = MKLFS_EXIT_BADIMAGE;
    }
    if (fclose(out) != 0 && !status) {
        status = MKLFS_EXIT_OUTPUT;
    }
    if (status == MKLFS_EXIT_OUTPUT) {
        say("%s: cannot write: %s", host, strerror(errno));
    }
    qp_fs_file_close(fs, &f);
    return status;
}

static int visit(qp_fs_t *fs, const char *dir, visit_t *v, int depth) {
    if (depth > 64) {
        say("%s: directories nested too deep", dir);
        return MKLFS_EXIT_BADIMAGE;
    }
    qp_fs_dir_t d;
    memset(&d, 0, sizeof d);
    int err = qp_fs_dir_open(fs, &d, dir);
    if (err < 0) {
        say("%s: %s", dir, qp_strerror(err));
        return MKLFS_EXIT_BADIMAGE;
    }
    qp_fs_info_t info;
    int status = 0;
    while (!status && (err = qp_fs_dir_read(fs, &d, &info)) > 0) {
        char path[MKLFS_PATH_MAX];
        join(path, sizeof path, dir, info.name);
        char host[MKLFS_PATH_MAX * 2];
        if (v->unpack_dir) {
            snprintf(host, sizeof host, "%s%s", v->unpack_dir, path);
        }
        if (info.type == QP_FS_TYPE_DIR) {
            v->dirs++;
            if (!v->unpack_dir) {
                printf("%10s  %s/\n", "", path);
            } else if (mkdir(host, 0777) != 0 && errno != EEXIST) {
                say("%s: cannot make folder: %s", host, strerror(errno));
                status = MKLFS_EXIT_OUTPUT;
                break;
            }
            status = visit(fs, path, v, depth + 1);
        } else {
            v->files++;
            v->bytes += info.size;
            if (!v->unpack_dir) {
                printf("%10" PRIu32 "  %s\n", info.size, path);
            } else {
                status = unpack_file(fs, path, host);
            }
        }
    }
    if (err < 0 && !status) {
        say("%s: %s", dir, qp_strerror(err));
        status = MKLFS_EXIT_BADIMAGE;
    }
    qp_fs_dir_close(fs, &d);
    return status;
}

static int cmd_read(const options_t *o, const char *image, const char *unpack_dir) {
    mounted_t m;
    int status = open_image(image, o->partition, o->block, &m);
    if (status) {
        return status;
    }
    if (unpack_dir && mkdir(unpack_dir, 0777) != 0 && errno != EEXIST) {
        say("%s: cannot make folder: %s", unpack_dir, strerror(errno));
        close_image(&m);
        return MKLFS_EXIT_OUTPUT;
    }
    visit_t v = {.unpack_dir = unpack_dir};
    status = visit(&m.fs, "/", &v, 0);
    char vname[16];
    version_name(m.fs.disk_version, vname);
    if (!status && !unpack_dir) {
        int used = qp_fs_size(&m.fs);
        printf("%" PRIu64 " files, %" PRIu64 " folders, %" PRIu64 " bytes; %d of %" PRIu32
               " blocks of %" PRIu32 " bytes used; littlefs %s\n", v.files, v.dirs, v.bytes,
               used, m.img.cfg.block_count, m.img.cfg.block_size, vname);
    } else if (!status && o->verbose) {
        say("%s: unpacked %" PRIu64 " files, %" PRIu64 " folders into %s (littlefs %s)",
            image, v.files, v.dirs, unpack_dir, vname);
    }
    close_image(&m);
    return status;
}

// ---- --bundle ----

static int cmd_bundle(const options_t *o) {
    struct {
        const char *partition, *file;
    } parts[] = {
        {"firmware", o->firmware},
        {"customer_fs", o->customer_fs},
        {"customer_backup_fs", o->backup_fs},
    };
    qp_bundle_info_t info;
    memset(&info, 0, sizeof info);
    uint8_t *data[3] = {NULL, NULL, NULL};
    int status = 0;
    for (int i = 0; i < 3 && !status; i++) {
        if (!parts[i].file) {
            continue;
        }
        size_t len = 0;
        int err = read_whole(parts[i].file, &data[i], &len);
        if (err < 0) {
            say("%s: cannot read: %s", parts[i].file, strerror(-err));
            status = MKLFS_EXIT_INPUT;
            break;
        }
        const char *why = NULL;
        if (qp_bundle_check_part(parts[i].partition, data[i], len, &why) < 0) {
            say("%s: not a %s image: %s", parts[i].file, parts[i].partition, why);
            status = MKLFS_EXIT_BADIMAGE;
            break;
        }
        qp_bundle_entry_t *e = &info.entries[info.count++];
        snprintf(e->partition, sizeof e->partition, "%s", parts[i].partition);
        e->size = (uint32_t)len;
        e->crc32 = qp_bundle_crc32(0, data[i], len);
    }
    uint64_t total = 0;
    uint8_t *out = NULL;
    if (!status && info.count == 0) {
        status = usage_error("--bundle needs at least one of --firmware, --customer-fs, "
                             "--backup-fs");
    }
    if (!status && (qp_bundle_layout(&info, &total) < 0 || !(out = calloc(1, total)))) {
        say("%s: cannot make the bundle (%" PRIu64 " bytes)", o->bundle, total);
        status = MKLFS_EXIT_OUTPUT;
    }
    if (!status) {
        qp_bundle_encode(&info, out, total);
        for (uint32_t i = 0, k = 0; i < 3; i++) {
            if (data[i]) {
                memcpy(out + info.entries[k].offset, data[i], info.entries[k].size);
                k++;
            }
        }
        status = write_output(o->bundle, out, total);
        if (!status && o->verbose) {
            for (uint32_t i = 0; i < info.count; i++) {
                say("%s: %s, %" PRIu32 " bytes at %" PRIu32, o->bundle,
                    info.entries[i].partition, info.entries[i].size, info.entries[i].offset);
            }
        }
    }
    free(out);
    for (int i = 0; i < 3; i++) {
        free(data[i]);
    }
    return status;
}

// ---- main ----

int main(int argc, char **argv) {
    enum { OPT_BACKUP = 256, OPT_PARAM, OPT_ORDER, OPT_PAIR, OPT_BACKUP_IMAGE, OPT_BUNDLE,
           OPT_FIRMWARE, OPT_CUSTOMER_FS, OPT_BACKUP_FS, OPT_VERSION, OPT_PARTITION,
           OPT_LFS_VERSION };
    static const struct option long_options[] = {
        {"backup", no_argument, NULL, OPT_BACKUP},
        {"param", required_argument, NULL, OPT_PARAM},
        {"order", required_argument, NULL, OPT_ORDER},
        {"pair", no_argument, NULL, OPT_PAIR},
        {"backup-image", required_argument, NULL, OPT_BACKUP_IMAGE},
        {"bundle", required_argument, NULL, OPT_BUNDLE},
        {"firmware", required_argument, NULL, OPT_FIRMWARE},
        {"customer-fs", required_argument, NULL, OPT_CUSTOMER_FS},
        {"backup-fs", required_argument, NULL, OPT_BACKUP_FS},
        {"partition", required_argument, NULL, OPT_PARTITION},
        {"lfs-version", required_argument, NULL, OPT_LFS_VERSION},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    options_t o;
    memset(&o, 0, sizeof o);
    o.name_max = QP_FS_NAME_MAX;
    int size_set = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":c:i:l:u:b:r:p:s:n:vh", long_options, NULL)) != -1) {
        uint32_t *num = NULL;
        switch (c) {
        case 'c': o.pack_dir = optarg; break;
        case 'i': o.image = optarg; break;
        case 'l': o.list = optarg; break;
        case 'u': o.unpack_dir = optarg; break;
        case 'b': num = &o.block; break;
        case 'r': num = &o.read; break;
        case 'p': num = &o.prog; break;
        case 's': num = &o.size; size_set = 1; break;
        case 'n': num = &o.name_max; break;
        case 'v': o.verbose = 1; break;
        case 'h': fputs(usage_text, stdout); return 0;
        case OPT_VERSION: printf("mklfs (OpenQPY) %s\n", QP_VERSION); return 0;
        case OPT_BACKUP: o.backup = 1; break;
        case OPT_PARAM:
            if (o.nparams == MKLFS_MAX_PARAMS) {
                return usage_error("at most %d --param files", MKLFS_MAX_PARAMS);
            }
            o.params[o.nparams++] = optarg;
            break;
        case OPT_ORDER: o.order_file = optarg; break;
        case OPT_PAIR: o.pair = 1; break;
        case OPT_BACKUP_IMAGE: o.backup_image = optarg; break;
        case OPT_BUNDLE: o.bundle = optarg; break;
        case OPT_FIRMWARE: o.firmware = optarg; break;
        case OPT_CUSTOMER_FS: o.customer_fs = optarg; break;
        case OPT_BACKUP_FS: o.backup_fs = optarg; break;
        case OPT_PARTITION: o.partition = optarg; break;
        case OPT_LFS_VERSION:
            if (strcmp(optarg, "1") == 0) {
                o.disk_version = QP_FS_DISK_VERSION_LFS1;
            } else if (strcmp(optarg, "2") == 0) {
                o.disk_version = QP_FS_DISK_VERSION_LFS2;
            } else {
                return usage_error("--lfs-version '%s': give 1 (littlefs v1, what the "
                                   "EC600S and EC100Y mount) or 2 (littlefs v2)", optarg);
            }
            break;
        case ':': return usage_error("option '%s' needs a value", argv[optind - 1]);
        default: return usage_error("unknown option '%s'", argv[optind - 1]);
        }
        if (num && parse_u32(optarg, num) < 0) {
            return usage_error("option -%c: '%s' is not a number of bytes", c, optarg);
        }
    }
    if (optind < argc) {
        return usage_error("unexpected argument '%s'", argv[optind]);
    }
    int modes = !!o.pack_dir + !!o.list + !!o.unpack_dir + !!o.bundle;
    if (modes != 1) {
        return usage_error("%s", modes ? "give only one of -c, -l, -u, --bundle"
                                       : "nothing to do: give -c DIR, -l IMAGE, -u DIR or "
                                         "--bundle OUT");
    }
    if (o.disk_version && !o.pack_dir) {
        return usage_error("%s", "--lfs-version goes with -c (-l and -u detect the version)");
    }
    if (o.bundle) {
        return cmd_bundle(&o);
    }
    if (!o.block) {
        o.block = QP_FSIMAGE_BLOCK_SIZE;
    }
    if (!o.read) {
        o.read = o.block;
    }
    if (!o.prog) {
        o.prog = o.block;
    }
    if (o.name_max == 0 || o.name_max > QP_FS_NAME_MAX) {
        return usage_error("-n: name_max must be 1..%d", QP_FS_NAME_MAX);
    }
    if (o.block < 104 || o.block % o.prog || o.prog % o.read) {
        return usage_error("-b %" PRIu32 " -p %" PRIu32 " -r %" PRIu32 ": the block size "
                           "must be at least 104 and a multiple of the program size, "
                           "itself a multiple of the read size", o.block, o.prog, o.read);
    }
    if (o.partition && !o.list && !o.unpack_dir) {
        return usage_error("%s", "--partition goes with -l or -u");
    }
    if (o.list) {
        return cmd_read(&o, o.list, NULL);
    }
    if (o.unpack_dir) {
        if (!o.image) {
            return usage_error("%s", "-u DIR needs the image to unpack: -i IMAGE");
        }
        return cmd_read(&o, o.image, o.unpack_dir);
    }
    if (o.pair && o.backup) {
        return usage_error("%s", "--pair makes both images: leave out --backup");
    }
    if (!size_set) {
        o.size = o.backup ? QP_FSIMAGE_CUSTOMER_BACKUP_FS_SIZE : QP_FSIMAGE_CUSTOMER_FS_SIZE;
    }
    if (o.size == 0 || o.size % o.block) {
        uint64_t next = ((uint64_t)o.size / o.block + 1) * o.block;
        return usage_error("-s %" PRIu32 ": the image size must be a non-zero multiple of "
                           "the block size %" PRIu32 " (%" PRIu64 " is the next one up)",
                           o.size, o.block, next);
    }
    if (o.size / o.block < 4) {
        return usage_error("-s %" PRIu32 ": littlefs needs at least 4 blocks", o.size);
    }
    if (!o.image) {
        o.image = o.backup ? "customer_backup_fs.bin" : "customer_fs.bin";
    }
    if (!o.backup_image) {
        o.backup_image = "customer_backup_fs.bin";
    }
    // With --pair, -s sizes the /usr image; the backup keeps its partition's size.
    return cmd_pack(&o);
}
