// qpy_fs.c - `qpy fs ...`: the files of a device that is not running, from the host.
//
//   qpy fs ls [PATH]           list a directory of the module (default /usr)
//   qpy fs cat PATH            print a file
//   qpy fs cp [-r] SRC... DST  copy; device paths start with ':' (":/usr/a.py")
//   qpy fs rm [-r] PATH...     remove files (and with -r, directories and what they hold)
//   qpy fs mkdir PATH...       make directories
//   qpy fs df                  space on /usr and /bak
//
// It mounts the device's flash exactly as the module does (qp_storage), so what it writes
// the module reads. The flash is locked while a module runs: then it refuses, rather than
// corrupting a file system in use. Host-side reading and writing use stdio.
#include "qpy_fs.h"

#include "qp/qp_err.h"
#include "qp/qp_runtime.h"
#include "qp/qp_storage.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>

#define COPY_CHUNK 4096

typedef struct {
    qp_storage_t st;
    qp_vfs_t *vfs;
    int recursive;
} fs_session;

static int report(const char *path, int err) {
    fprintf(stderr, "qpy: %s: %s\n", path, qp_strerror(err));
    return err;
}

// A device path without its optional ':' marker.
static const char *device_path(const char *arg) {
    return arg[0] == ':' ? arg + 1 : arg;
}

static int is_device(const char *arg) {
    return arg[0] == ':';
}

static int device_is_dir(fs_session *s, const char *path) {
    qp_vfs_stat_t st;
    return qp_vfs_stat(s->vfs, path, &st) == 0 && st.type == QP_FS_TYPE_DIR;
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

static int cmd_ls(fs_session *s, const char *path) {
    qp_vfs_dir_t dir;
    int err = qp_vfs_dir_open(s->vfs, &dir, path);
    if (err < 0) {
        return report(path, err);
    }
    qp_fs_info_t info;
    while ((err = qp_vfs_dir_read(s->vfs, &dir, &info)) > 0) {
        if (info.type == QP_FS_TYPE_DIR) {
            printf("%10s  %s/\n", "", info.name);
        } else {
            printf("%10u  %s\n", (unsigned)info.size, info.name);
        }
    }
    qp_vfs_dir_close(s->vfs, &dir);
    return err < 0 ? report(path, err) : 0;
}

static int cmd_cat(fs_session *s, const char *path) {
    qp_vfs_file_t f = {0};
    int err = qp_vfs_file_open(s->vfs, &f, path, QP_FS_O_RDONLY, NULL);
    if (err < 0) {
        return report(path, err);
    }
    char buf[COPY_CHUNK];
    int n;
    while ((n = qp_vfs_file_read(s->vfs, &f, buf, sizeof buf)) > 0) {
        fwrite(buf, 1, (size_t)n, stdout);
    }
    qp_vfs_file_close(s->vfs, &f);
    return n < 0 ? report(path, n) : 0;
}

// Host file -> device file.
static int put_file(fs_session *s, const char *host, const char *dev) {
    FILE *in = fopen(host, "rb");
    if (!in) {
        fprintf(stderr, "qpy: %s: %s\n", host, strerror(errno));
        return QP_ERR_IO;
    }
    qp_vfs_file_t f = {0};
    int err = qp_vfs_file_open(s->vfs, &f, dev,
                               QP_FS_O_WRONLY | QP_FS_O_CREAT | QP_FS_O_TRUNC, NULL);
    if (err < 0) {
        fclose(in);
        return report(dev, err);
    }
    char buf[COPY_CHUNK];
    size_t n;
    while (err >= 0 && (n = fread(buf, 1, sizeof buf, in)) > 0) {
        err = qp_vfs_file_write(s->vfs, &f, buf, n);
    }
    if (err >= 0 && ferror(in)) {
        fprintf(stderr, "qpy: %s: %s\n", host, strerror(errno));
        err = QP_ERR_IO;
    }
    fclose(in);
    int cerr = qp_vfs_file_close(s->vfs, &f);
    if (err >= 0 && cerr < 0) {
        err = cerr;
    }
    if (err < 0) {
        qp_vfs_remove(s->vfs, dev); // no half-written file left behind
        return err == QP_ERR_IO ? err : report(dev, err);
    }
    return 0;
}

// Device file -> host file.
static int get_file(fs_session *s, const char *dev, const char *host) {
    qp_vfs_file_t f = {0};
    int err = qp_vfs_file_open(s->vfs, &f, dev, QP_FS_O_RDONLY, NULL);
    if (err < 0) {
        return report(dev, err);
    }
    FILE *out = fopen(host, "wb");
    if (!out) {
        fprintf(stderr, "qpy: %s: %s\n", host, strerror(errno));
        qp_vfs_file_close(s->vfs, &f);
        return QP_ERR_IO;
    }
    char buf[COPY_CHUNK];
    int n;
    while ((n = qp_vfs_file_read(s->vfs, &f, buf, sizeof buf)) > 0) {
        if (fwrite(buf, 1, (size_t)n, out) != (size_t)n) {
            n = QP_ERR_IO;
            break;
        }
    }
    qp_vfs_file_close(s->vfs, &f);
    if (fclose(out) != 0 && n >= 0) {
        n = QP_ERR_IO;
    }
    if (n < 0) {
        remove(host);
        return report(n == QP_ERR_IO ? host : dev, n);
    }
    return 0;
}

static int copy_one(fs_session *s, const char *src, const char *dst);

static int put_tree(fs_session *s, const char *host, const char *dev) {
    int err = qp_vfs_mkdir(s->vfs, dev);
    if (err < 0 && err != QP_ERR_EXIST) {
        return report(dev, err);
    }
    DIR *d = opendir(host);
    if (!d) {
        fprintf(stderr, "qpy: %s: %s\n", host, strerror(errno));
        return QP_ERR_IO;
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

static int get_tree(fs_session *s, const char *dev, const char *host) {
    if (mkdir(host, 0755) < 0 && errno != EEXIST) {
        fprintf(stderr, "qpy: %s: %s\n", host, strerror(errno));
        return QP_ERR_IO;
    }
    qp_vfs_dir_t dir;
    int err = qp_vfs_dir_open(s->vfs, &dir, dev);
    if (err < 0) {
        return report(dev, err);
    }
    qp_fs_info_t info;
    while (err >= 0 && (err = qp_vfs_dir_read(s->vfs, &dir, &info)) > 0) {
        char h[4096], v[QP_VFS_PATH_MAX + 8];
        join(h, sizeof h, host, info.name);
        join(v, sizeof v, dev, info.name);
        err = info.type == QP_FS_TYPE_DIR ? get_tree(s, v, h) : get_file(s, v, h);
    }
    qp_vfs_dir_close(s->vfs, &dir);
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
        qp_vfs_dir_t dir;
        qp_fs_info_t info;
        // Remove entries one at a time, reopening the listing, since removal changes it.
        for (;;) {
            int err = qp_vfs_dir_open(s->vfs, &dir, path);
            if (err < 0) {
                return report(path, err);
            }
            err = qp_vfs_dir_read(s->vfs, &dir, &info);
            qp_vfs_dir_close(s->vfs, &dir);
            if (err < 0) {
                return report(path, err);
            }
            if (err == 0) {
                break;
            }
            char child[QP_VFS_PATH_MAX + 8];
            join(child, sizeof child, path, info.name);
            if ((err = remove_tree(s, child)) < 0) {
                return err;
            }
        }
    }
    int err = qp_vfs_remove(s->vfs, path);
    return err < 0 ? report(path, err) : 0;
}

static int cmd_df(fs_session *s) {
    printf("%-6s %-20s %10s %10s %10s\n", "mount", "partition", "size", "used", "free");
    const qp_storage_volume_t *volumes[] = {&s->st.usr, &s->st.bak};
    for (int i = 0; i < 2; i++) {
        char path[16];
        snprintf(path, sizeof path, "/%s", volumes[i]->mount_name);
        qp_vfs_statvfs_t sv;
        int err = qp_vfs_statvfs(s->vfs, path, &sv);
        if (err < 0) {
            return report(path, err);
        }
        unsigned long long size = (unsigned long long)sv.blocks * sv.block_size;
        unsigned long long avail = (unsigned long long)sv.blocks_free * sv.block_size;
        printf("%-6s %-20s %10llu %10llu %10llu\n", path, volumes[i]->partition, size,
               size - avail, avail);
    }
    return 0;
}

static const char fs_usage[] =
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

int qpy_fs_main(const char *device_dir, int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(fs_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? QP_EXIT_USAGE : 0;
    }
    const char *cmd = argv[1];
    int recursive = 0, first = 2;
    if (first < argc && strcmp(argv[first], "-r") == 0) {
        recursive = 1;
        first++;
    }
    int nargs = argc - first;
    char **args = argv + first;
    int ok_args = (strcmp(cmd, "ls") == 0 && nargs <= 1 && !recursive)
               || (strcmp(cmd, "cat") == 0 && nargs == 1 && !recursive)
               || (strcmp(cmd, "cp") == 0 && nargs >= 2)
               || (strcmp(cmd, "rm") == 0 && nargs >= 1)
               || (strcmp(cmd, "mkdir") == 0 && nargs >= 1 && !recursive)
               || (strcmp(cmd, "df") == 0 && nargs == 0 && !recursive);
    if (!ok_args) {
        fprintf(stderr, "qpy: fs: bad command or arguments: '%s'\n%s", cmd, fs_usage);
        return QP_EXIT_USAGE;
    }

    fs_session s;
    char msg[512];
    int writes = strcmp(cmd, "cp") == 0 || strcmp(cmd, "rm") == 0 || strcmp(cmd, "mkdir") == 0;
    int err = qp_storage_open(&s.st, device_dir, writes ? 0 : QP_STORAGE_READONLY, msg,
                              sizeof msg);
    if (err < 0) {
        fprintf(stderr, "qpy: %s\n", msg);
        return QP_EXIT_DEVICE;
    }
    s.vfs = &s.st.vfs;
    s.recursive = recursive;
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
            err = qp_vfs_mkdir(s.vfs, device_path(args[i]));
            if (err < 0) {
                report(device_path(args[i]), err);
            }
        }
    } else {
        err = cmd_df(&s);
    }
    qp_storage_close(&s.st);
    return err < 0 ? 1 : 0;
}
