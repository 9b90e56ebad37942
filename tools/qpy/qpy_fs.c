// qpy_fs.c - `qpy fs ...`: a module's files from the host, on either backend (qpy_fs.h).
//
//   qpy fs ls [PATH]           list a directory of the module (default /usr)
//   qpy fs cat PATH            print a file
//   qpy fs cp [-r] SRC... DST  copy; device paths start with ':' (":/usr/a.py")
//   qpy fs rm [-r] PATH...     remove files (and with -r, directories and what they hold)
//   qpy fs mkdir PATH...       make directories
//   qpy fs df                  space on /usr and /bak
//
// The commands are written once against qpy_fs_ops_t. The local backend at the end of
// this file mounts the device's flash exactly as the module does (qp_storage), so what it
// writes the module reads; the flash is locked while a module runs, and then it refuses
// rather than corrupt a file system in use (use `qpy --port` on a running module). The
// remote backend is in qpy_port.c. Host-side reading and writing use stdio.
#include "qpy_fs.h"

#include "qp/qp_err.h"
#include "qp/qp_runtime.h"
#include "qp/qp_storage.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#define COPY_CHUNK 4096

typedef struct {
    const qpy_fs_ops_t *ops;
    void *ctx;
    int recursive;
    const char *label;    // the file being copied, for the progress bar
    double started;
    int progress_shown;
} fs_session;

static int report(const char *path, int err) {
    if (err != QPY_FS_REPORTED) {
        fprintf(stderr, "qpy: %s: %s\n", path, qp_strerror(err));
    }
    return err;
}

static int host_error(const char *path) {
    fprintf(stderr, "qpy: %s: %s\n", path, strerror(errno));
    return QPY_FS_REPORTED;
}

// A device path without its optional ':' marker.
static const char *device_path(const char *arg) {
    return arg[0] == ':' ? arg + 1 : arg;
}

static int is_device(const char *arg) {
    return arg[0] == ':';
}

static int device_is_dir(fs_session *s, const char *path) {
    qpy_fs_entry_t e;
    return s->ops->stat(s->ctx, path, &e) == 0 && e.is_dir;
}

static int host_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void join(char *out, size_t outlen, const char *dir, const char *name) {
    size_t n = strlen(dir);
    snprintf(out, outlen, "%s%s%s", dir, n && dir[n - 1] == '/' ? "" : "/", name);
}

static const char *base_name(const char *path) {
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/') {
        n--;
    }
    const char *slash = NULL;
    for (size_t i = 0; i < n; i++) {
        if (path[i] == '/') {
            slash = path + i;
        }
    }
    return slash ? slash + 1 : path;
}

static double seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

// The progress bar: on stderr, only when it is a terminal, redrawn in place.
static void progress(void *ctx, uint64_t done, uint64_t total) {
    fs_session *s = ctx;
    if (!isatty(2)) {
        return;
    }
    int width = 30, filled = total ? (int)(done * (uint64_t)width / total) : width;
    double rate = done / (seconds() - s->started + 1e-9) / 1024;
    fprintf(stderr, "\r%-28.28s [%.*s%*s] %3d%% %7.0f KB/s", s->label, filled,
            "##############################", width - filled, "",
            total ? (int)(done * 100 / total) : 100, rate);
    s->progress_shown = 1;
}

static void progress_end(fs_session *s) {
    if (s->progress_shown) {
        fputs("\r\033[K", stderr);
        s->progress_shown = 0;
    }
}

static int print_entry(void *arg, const qpy_fs_entry_t *e) {
    (void)arg;
    if (e->is_dir) {
        printf("%10s  %s/\n", "", e->name);
    } else {
        printf("%10llu  %s\n", (unsigned long long)e->size, e->name);
    }
    return 0;
}

static int cmd_ls(fs_session *s, const char *path) {
    int err = s->ops->list(s->ctx, path, print_entry, NULL);
    return err < 0 ? report(path, err) : 0;
}

static int cmd_cat(fs_session *s, const char *path) {
    int err = s->ops->get(s->ctx, path, stdout, NULL, NULL);
    fflush(stdout);
    return err < 0 ? report(path, err) : 0;
}

// Host file -> device file.
static int put_file(fs_session *s, const char *host, const char *dev) {
    FILE *in = fopen(host, "rb");
    if (!in) {
        return host_error(host);
    }
    struct stat st;
    uint64_t size = fstat(fileno(in), &st) == 0 ? (uint64_t)st.st_size : 0;
    s->label = host;
    s->started = seconds();
    int err = s->ops->put(s->ctx, in, size, dev, progress, s);
    progress_end(s);
    if (err >= 0 && ferror(in)) {
        err = host_error(host);
    }
    fclose(in);
    return err < 0 ? report(dev, err) : 0;
}

// Device file -> host file.
static int get_file(fs_session *s, const char *dev, const char *host) {
    qpy_fs_entry_t e;
    int err = s->ops->stat(s->ctx, dev, &e);
    if (err < 0) {
        return report(dev, err);
    }
    FILE *out = fopen(host, "wb");
    if (!out) {
        return host_error(host);
    }
    s->label = dev;
    s->started = seconds();
    err = s->ops->get(s->ctx, dev, out, progress, s);
    progress_end(s);
    if (fclose(out) != 0 && err >= 0) {
        err = host_error(host);
    }
    if (err < 0) {
        remove(host); // no half-copied file left behind
        return report(dev, err);
    }
    return 0;
}

static int copy_one(fs_session *s, const char *src, const char *dst);

static int put_tree(fs_session *s, const char *host, const char *dev) {
    int err = s->ops->mkdir(s->ctx, dev);
    if (err < 0 && err != QP_ERR_EXIST) {
        return report(dev, err);
    }
    DIR *d = opendir(host);
    if (!d) {
        return host_error(host);
    }
    struct dirent *e;
    err = 0;
    while (err == 0 && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        char h[4096], v[QP_VFS_PATH_MAX + 8];
        join(h, sizeof h, host, e->d_name);
        join(v, sizeof v, dev, e->d_name);
        char marked[QP_VFS_PATH_MAX + 16];
        snprintf(marked, sizeof marked, ":%s", v);
        err = copy_one(s, h, marked);
    }
    closedir(d);
    return err;
}

typedef struct {
    qpy_fs_entry_t *items;
    size_t n, cap;
} entry_list;

static int collect(void *arg, const qpy_fs_entry_t *e) {
    entry_list *l = arg;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        qpy_fs_entry_t *p = realloc(l->items, cap * sizeof *p);
        if (!p) {
            return QP_ERR_NOMEM;
        }
        l->items = p;
        l->cap = cap;
    }
    l->items[l->n++] = *e;
    return 0;
}

static int get_tree(fs_session *s, const char *dev, const char *host) {
    if (mkdir(host, 0755) < 0 && errno != EEXIST) {
        return host_error(host);
    }
    // The listing is taken whole first: a remote backend cannot nest a listing in a copy.
    entry_list l = {0};
    int err = s->ops->list(s->ctx, dev, collect, &l);
    if (err < 0) {
        free(l.items);
        return report(dev, err);
    }
    for (size_t i = 0; i < l.n && err >= 0; i++) {
        char h[4096], v[QP_VFS_PATH_MAX + 8];
        join(h, sizeof h, host, l.items[i].name);
        join(v, sizeof v, dev, l.items[i].name);
        err = l.items[i].is_dir ? get_tree(s, v, h) : get_file(s, v, h);
    }
    free(l.items);
    return err < 0 ? err : 0;
}

// Copies one source to a destination that is already the full target path.
static int copy_one(fs_session *s, const char *src, const char *dst) {
    if (is_device(src) == is_device(dst)) {
        fprintf(stderr, "qpy: cp: one side must be on the device (':/usr/...') and the "
                        "other on the host\n");
        return QP_ERR_INVAL;
    }
    if (!is_device(src)) {
        if (host_is_dir(src)) {
            if (!s->recursive) {
                fprintf(stderr, "qpy: %s is a directory (use cp -r)\n", src);
                return QP_ERR_ISDIR;
            }
            return put_tree(s, src, device_path(dst));
        }
        return put_file(s, src, device_path(dst));
    }
    if (device_is_dir(s, device_path(src))) {
        if (!s->recursive) {
            fprintf(stderr, "qpy: %s is a directory (use cp -r)\n", src);
            return QP_ERR_ISDIR;
        }
        return get_tree(s, device_path(src), dst);
    }
    return get_file(s, device_path(src), dst);
}

static int cmd_cp(fs_session *s, int n, char **paths) {
    const char *dst = paths[n - 1];
    int dst_is_dir = is_device(dst) ? device_is_dir(s, device_path(dst)) : host_is_dir(dst);
    if (n > 2 && !dst_is_dir) {
        fprintf(stderr, "qpy: cp: %s is not a directory\n", dst);
        return QP_ERR_NOTDIR;
    }
    for (int i = 0; i < n - 1; i++) {
        char target[4096];
        if (dst_is_dir) {
            snprintf(target, sizeof target, "%s%s%s", dst,
                     dst[strlen(dst) - 1] == '/' ? "" : "/", base_name(device_path(paths[i])));
        } else {
            snprintf(target, sizeof target, "%s", dst);
        }
        int err = copy_one(s, paths[i], target);
        if (err < 0) {
            return err;
        }
    }
    return 0;
}

static int remove_tree(fs_session *s, const char *path) {
    if (s->recursive && device_is_dir(s, path)) {
        entry_list l = {0};
        int err = s->ops->list(s->ctx, path, collect, &l);
        if (err < 0) {
            free(l.items);
            return report(path, err);
        }
        for (size_t i = 0; i < l.n && err >= 0; i++) {
            char child[QP_VFS_PATH_MAX + 8];
            join(child, sizeof child, path, l.items[i].name);
            err = remove_tree(s, child);
        }
        free(l.items);
        if (err < 0) {
            return err;
        }
    }
    int err = s->ops->remove(s->ctx, path);
    return err < 0 ? report(path, err) : 0;
}

static int cmd_df(fs_session *s) {
    printf("%-6s %-20s %10s %10s %10s\n", "mount", "partition", "size", "used", "free");
    for (int i = 0;; i++) {
        char mount[16], partition[32];
        uint64_t size, avail;
        int err = s->ops->df(s->ctx, i, mount, partition, &size, &avail);
        if (err == QP_ERR_NOENT) {
            return 0;
        }
        if (err < 0) {
            return report(mount, err);
        }
        printf("%-6s %-20s %10llu %10llu %10llu\n", mount, partition,
               (unsigned long long)size, (unsigned long long)(size - avail),
               (unsigned long long)avail);
    }
}

const char qpy_fs_usage[] =
    "Usage: qpy [--device DIR] fs COMMAND ...\n"
    "\n"
    "The files of a device that is not running (a running module locks its flash).\n"
    "\n"
    "  ls [PATH]             list a directory (default /usr)\n"
    "  cat PATH              print a file\n"
    "  cp [-r] SRC... DST    copy between host and device; device paths start with ':'\n"
    "                        (qpy fs cp main.py :/usr/main.py; qpy fs cp :/usr/a.py .)\n"
    "  rm [-r] PATH...       remove files or empty directories (-r: with their contents)\n"
    "  mkdir PATH...         make directories\n"
    "  df                    size and free space of /usr and /bak\n";

int qpy_fs_check_args(int argc, char **argv) {
    if (argc < 2) {
        return 0;
    }
    const char *cmd = argv[1];
    int recursive = argc > 2 && strcmp(argv[2], "-r") == 0;
    int nargs = argc - 2 - recursive;
    return (strcmp(cmd, "ls") == 0 && nargs <= 1 && !recursive)
        || (strcmp(cmd, "cat") == 0 && nargs == 1 && !recursive)
        || (strcmp(cmd, "cp") == 0 && nargs >= 2)
        || (strcmp(cmd, "rm") == 0 && nargs >= 1)
        || (strcmp(cmd, "mkdir") == 0 && nargs >= 1 && !recursive)
        || (strcmp(cmd, "df") == 0 && nargs == 0 && !recursive);
}

int qpy_fs_run(const qpy_fs_ops_t *ops, void *ctx, int argc, char **argv) {
    fs_session s = {.ops = ops, .ctx = ctx};
    const char *cmd = argv[1];
    int first = 2;
    if (first < argc && strcmp(argv[first], "-r") == 0) {
        s.recursive = 1;
        first++;
    }
    int nargs = argc - first;
    char **args = argv + first;
    int err = 0;
    if (strcmp(cmd, "ls") == 0) {
        err = cmd_ls(&s, nargs ? device_path(args[0]) : "/usr");
    } else if (strcmp(cmd, "cat") == 0) {
        err = cmd_cat(&s, device_path(args[0]));
    } else if (strcmp(cmd, "cp") == 0) {
        err = cmd_cp(&s, nargs, args);
    } else if (strcmp(cmd, "rm") == 0) {
        for (int i = 0; i < nargs && err == 0; i++) {
            err = remove_tree(&s, device_path(args[i]));
        }
    } else if (strcmp(cmd, "mkdir") == 0) {
        for (int i = 0; i < nargs && err == 0; i++) {
            err = ops->mkdir(ctx, device_path(args[i]));
            if (err < 0) {
                report(device_path(args[i]), err);
            }
        }
    } else {
        err = cmd_df(&s);
    }
    return err < 0 ? 1 : 0;
}

// ---- The local backend: a device's flash through qp_storage / qp_vfs ------------------

static int local_stat(void *ctx, const char *path, qpy_fs_entry_t *out) {
    qp_storage_t *st = ctx;
    qp_vfs_stat_t vs;
    int err = qp_vfs_stat(&st->vfs, path, &vs);
    if (err < 0) {
        return err;
    }
    snprintf(out->name, sizeof out->name, "%s", path);
    out->is_dir = vs.type == QP_FS_TYPE_DIR;
    out->size = vs.size;
    return 0;
}

static int local_list(void *ctx, const char *path,
                      int (*fn)(void *arg, const qpy_fs_entry_t *e), void *arg) {
    qp_storage_t *st = ctx;
    qp_vfs_dir_t dir;
    int err = qp_vfs_dir_open(&st->vfs, &dir, path);
    if (err < 0) {
        return err;
    }
    qp_fs_info_t info;
    while (err >= 0 && (err = qp_vfs_dir_read(&st->vfs, &dir, &info)) > 0) {
        qpy_fs_entry_t e = {.is_dir = info.type == QP_FS_TYPE_DIR, .size = info.size};
        snprintf(e.name, sizeof e.name, "%s", info.name);
        err = fn(arg, &e);
    }
    qp_vfs_dir_close(&st->vfs, &dir);
    return err < 0 ? err : 0;
}

static int local_get(void *ctx, const char *path, FILE *out, qpy_fs_progress_t prog,
                     void *pctx) {
    qp_storage_t *st = ctx;
    qp_vfs_file_t f = {0};
    int err = qp_vfs_file_open(&st->vfs, &f, path, QP_FS_O_RDONLY, NULL);
    if (err < 0) {
        return err;
    }
    char buf[COPY_CHUNK];
    int n;
    uint64_t done = 0;
    while ((n = qp_vfs_file_read(&st->vfs, &f, buf, sizeof buf)) > 0) {
        if (fwrite(buf, 1, (size_t)n, out) != (size_t)n) {
            n = QP_ERR_IO;
            break;
        }
        done += (uint64_t)n;
        if (prog) {
            prog(pctx, done, done);
        }
    }
    qp_vfs_file_close(&st->vfs, &f);
    return n < 0 ? n : 0;
}

static int local_put(void *ctx, FILE *in, uint64_t size, const char *path,
                     qpy_fs_progress_t prog, void *pctx) {
    qp_storage_t *st = ctx;
    qp_vfs_file_t f = {0};
    int err = qp_vfs_file_open(&st->vfs, &f, path,
                               QP_FS_O_WRONLY | QP_FS_O_CREAT | QP_FS_O_TRUNC, NULL);
    if (err < 0) {
        return err;
    }
    char buf[COPY_CHUNK];
    size_t n;
    uint64_t done = 0;
    while (err >= 0 && (n = fread(buf, 1, sizeof buf, in)) > 0) {
        err = qp_vfs_file_write(&st->vfs, &f, buf, n);
        done += n;
        if (prog && err >= 0) {
            prog(pctx, done, size);
        }
    }
    if (err >= 0 && ferror(in)) {
        err = QP_ERR_IO;
    }
    int cerr = qp_vfs_file_close(&st->vfs, &f);
    if (err >= 0 && cerr < 0) {
        err = cerr;
    }
    if (err < 0) {
        qp_vfs_remove(&st->vfs, path); // no half-written file left behind
    }
    return err < 0 ? err : 0;
}

static int local_remove(void *ctx, const char *path) {
    qp_storage_t *st = ctx;
    return qp_vfs_remove(&st->vfs, path);
}

static int local_mkdir(void *ctx, const char *path) {
    qp_storage_t *st = ctx;
    return qp_vfs_mkdir(&st->vfs, path);
}

static int local_df(void *ctx, int index, char mount[16], char partition[32],
                    uint64_t *size, uint64_t *avail) {
    qp_storage_t *st = ctx;
    const qp_storage_volume_t *volumes[] = {&st->usr, &st->bak};
    if (index < 0 || index >= 2) {
        return QP_ERR_NOENT;
    }
    snprintf(mount, 16, "/%s", volumes[index]->mount_name);
    snprintf(partition, 32, "%s", volumes[index]->partition);
    qp_vfs_statvfs_t sv;
    int err = qp_vfs_statvfs(&st->vfs, mount, &sv);
    if (err < 0) {
        return err;
    }
    *size = (uint64_t)sv.blocks * sv.block_size;
    *avail = (uint64_t)sv.blocks_free * sv.block_size;
    return 0;
}

static const qpy_fs_ops_t local_ops = {
    local_stat, local_list, local_get, local_put, local_remove, local_mkdir, local_df,
};

int qpy_fs_main(const char *device_dir, int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(qpy_fs_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? QP_EXIT_USAGE : 0;
    }
    if (!qpy_fs_check_args(argc, argv)) {
        fprintf(stderr, "qpy: fs: bad command or arguments: '%s'\n%s", argv[1], qpy_fs_usage);
        return QP_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    qp_storage_t st;
    char msg[512];
    int writes = strcmp(cmd, "cp") == 0 || strcmp(cmd, "rm") == 0 || strcmp(cmd, "mkdir") == 0;
    int err = qp_storage_open(&st, device_dir, writes ? 0 : QP_STORAGE_READONLY, NULL, msg,
                              sizeof msg);
    if (err < 0) {
        fprintf(stderr, "qpy: %s\n", msg);
        return QP_EXIT_DEVICE;
    }
    int status = qpy_fs_run(&local_ops, &st, argc, argv);
    qp_storage_close(&st);
    return status;
}
