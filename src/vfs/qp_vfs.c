// qp_vfs.c - mount table, current directory and path resolution over qp_fs (qp_vfs.h).
//
// A resolved path "/usr/a/b" splits into the mount "usr" and the path "/a/b" inside that
// file system; "/usr" itself is the file system's root "/". Paths never leave a mount
// through "..": resolution is lexical and happens before the split, so "/usr/.." is "/".
#include "qp/qp_vfs.h"
#include "qp/qp_err.h"

#include <string.h>

void qp_vfs_init(qp_vfs_t *vfs) {
    memset(vfs, 0, sizeof *vfs);
    strcpy(vfs->cwd, "/");
}

static qp_vfs_mount_t *find_mount(qp_vfs_t *vfs, const char *name, size_t len) {
    for (unsigned i = 0; i < QP_VFS_MOUNT_MAX; i++) {
        qp_vfs_mount_t *m = &vfs->mounts[i];
        if (m->name[0] && strlen(m->name) == len && memcmp(m->name, name, len) == 0) {
            return m;
        }
    }
    return NULL;
}

int qp_vfs_mount(qp_vfs_t *vfs, const char *name, qp_fs_t *fs, unsigned flags) {
    size_t len = strlen(name);
    if (len == 0 || len > QP_VFS_MOUNT_NAME_MAX || strchr(name, '/') || !fs) {
        return QP_ERR_INVAL;
    }
    if (find_mount(vfs, name, len)) {
        return QP_ERR_EXIST;
    }
    for (unsigned i = 0; i < QP_VFS_MOUNT_MAX; i++) {
        qp_vfs_mount_t *m = &vfs->mounts[i];
        if (!m->name[0]) {
            memcpy(m->name, name, len + 1);
            m->fs = fs;
            m->flags = flags;
            return 0;
        }
    }
    return QP_ERR_NOSPC;
}

int qp_vfs_umount(qp_vfs_t *vfs, const char *name) {
    qp_vfs_mount_t *m = find_mount(vfs, name, strlen(name));
    if (!m) {
        return QP_ERR_NOENT;
    }
    if (m->fs->files || m->fs->dirs) {
        return QP_ERR_BUSY;
    }
    size_t len = strlen(name);
    if (strncmp(vfs->cwd + 1, name, len) == 0
        && (vfs->cwd[1 + len] == '\0' || vfs->cwd[1 + len] == '/')) {
        strcpy(vfs->cwd, "/");
    }
    memset(m, 0, sizeof *m);
    return 0;
}

int qp_vfs_resolve(const qp_vfs_t *vfs, const char *path, char *out, size_t outlen) {
    if (outlen > QP_VFS_PATH_MAX) {
        outlen = QP_VFS_PATH_MAX;
    }
    // Build in a scratch buffer: "<cwd>/<path>" or "<path>", then fold components.
    char joined[2 * QP_VFS_PATH_MAX];
    size_t plen = strlen(path);
    if (path[0] == '/') {
        if (plen >= sizeof joined) {
            return QP_ERR_NAMETOOLONG;
        }
        memcpy(joined, path, plen + 1);
    } else {
        size_t clen = strlen(vfs->cwd);
        if (clen + 1 + plen >= sizeof joined) {
            return QP_ERR_NAMETOOLONG;
        }
        memcpy(joined, vfs->cwd, clen);
        joined[clen] = '/';
        memcpy(joined + clen + 1, path, plen + 1);
    }
    size_t n = 0; // length of the result so far, always starting with '/'
    out[n++] = '/';
    const char *p = joined;
    while (*p) {
        while (*p == '/') {
            p++;
        }
        const char *start = p;
        while (*p && *p != '/') {
            p++;
        }
        size_t len = (size_t)(p - start);
        if (len == 0 || (len == 1 && start[0] == '.')) {
            continue;
        }
        if (len == 2 && start[0] == '.' && start[1] == '.') {
            // Drop the last component; ".." at the root stays at the root.
            while (n > 1 && out[n - 1] != '/') {
                n--;
            }
            if (n > 1) {
                n--;
            }
            continue;
        }
        if (n > 1) {
            if (n + 1 >= outlen) {
                return QP_ERR_NAMETOOLONG;
            }
            out[n++] = '/';
        }
        if (n + len >= outlen) {
            return QP_ERR_NAMETOOLONG;
        }
        memcpy(out + n, start, len);
        n += len;
    }
    out[n] = '\0';
    return 0;
}

// Resolves `path` and splits it into its mount and the path inside it (written to
// `inner`, QP_VFS_PATH_MAX bytes). *mount is NULL for "/" itself.
// @retval QP_ERR_NOENT a path below "/" that is under no mount
static int locate(qp_vfs_t *vfs, const char *path, qp_vfs_mount_t **mount, char *inner) {
    char abs[QP_VFS_PATH_MAX];
    int err = qp_vfs_resolve(vfs, path, abs, sizeof abs);
    if (err < 0) {
        return err;
    }
    if (strcmp(abs, "/") == 0) {
        *mount = NULL;
        strcpy(inner, "/");
        return 0;
    }
    const char *name = abs + 1;
    const char *slash = strchr(name, '/');
    size_t len = slash ? (size_t)(slash - name) : strlen(name);
    *mount = find_mount(vfs, name, len);
    if (!*mount) {
        return QP_ERR_NOENT;
    }
    strcpy(inner, slash ? slash : "/");
    return 0;
}

// As locate(), for operations that change the tree: "/" and the mount points themselves
// cannot be changed (EPERM), nor a read-only mount (EROFS).
static int locate_for_write(qp_vfs_t *vfs, const char *path, qp_vfs_mount_t **mount,
                            char *inner) {
    int err = locate(vfs, path, mount, inner);
    if (err == QP_ERR_NOENT) {
        return QP_ERR_PERM; // a new entry in "/" (MicroPython: no root file system)
    }
    if (err < 0) {
        return err;
    }
    if (!*mount || strcmp(inner, "/") == 0) {
        return QP_ERR_PERM;
    }
    if ((*mount)->flags & QP_VFS_MOUNT_READONLY) {
        return QP_ERR_ROFS;
    }
    return 0;
}

int qp_vfs_stat(qp_vfs_t *vfs, const char *path, qp_vfs_stat_t *st) {
    qp_vfs_mount_t *m;
    char inner[QP_VFS_PATH_MAX];
    int err = locate(vfs, path, &m, inner);
    if (err < 0) {
        return err;
    }
    if (!m) {
        st->type = QP_FS_TYPE_DIR;
        st->size = 0;
        return 0;
    }
    qp_fs_info_t info;
    err = qp_fs_stat(m->fs, inner, &info);
    if (err < 0) {
        return err;
    }
    st->type = info.type;
    st->size = info.type == QP_FS_TYPE_REG ? info.size : 0;
    return 0;
}

int qp_vfs_chdir(qp_vfs_t *vfs, const char *path) {
    char abs[QP_VFS_PATH_MAX];
    int err = qp_vfs_resolve(vfs, path, abs, sizeof abs);
    qp_vfs_stat_t st;
    if (err == 0) {
        err = qp_vfs_stat(vfs, abs, &st);
    }
    if (err == 0 && st.type != QP_FS_TYPE_DIR) {
        err = QP_ERR_NOENT;
    }
    if (err < 0) {
        return err;
    }
    strcpy(vfs->cwd, abs);
    return 0;
}

const char *qp_vfs_getcwd(const qp_vfs_t *vfs) {
    return vfs->cwd;
}

int qp_vfs_statvfs(qp_vfs_t *vfs, const char *path, qp_vfs_statvfs_t *st) {
    qp_vfs_mount_t *m;
    char inner[QP_VFS_PATH_MAX];
    int err = locate(vfs, path, &m, inner);
    if (err < 0) {
        return err;
    }
    if (!m) {
        memset(st, 0, sizeof *st); // "/" is no file system of its own
        return 0;
    }
    qp_fs_fsinfo_t info;
    err = qp_fs_fsinfo(m->fs, &info);
    if (err < 0) {
        return err;
    }
    st->block_size = info.block_size;
    st->blocks = info.block_count;
    st->blocks_free = info.block_count > info.blocks_used ? info.block_count - info.blocks_used
                                                           : 0;
    st->name_max = info.name_max;
    return 0;
}

int qp_vfs_mkdir(qp_vfs_t *vfs, const char *path) {
    qp_vfs_mount_t *m;
    char inner[QP_VFS_PATH_MAX];
    int err = locate_for_write(vfs, path, &m, inner);
    if (err == QP_ERR_PERM && locate(vfs, path, &m, inner) == 0) {
        return QP_ERR_EXIST; // "/" or a mount point: it is there already
    }
    return err < 0 ? err : qp_fs_mkdir(m->fs, inner);
}

int qp_vfs_remove(qp_vfs_t *vfs, const char *path) {
    qp_vfs_mount_t *m;
    char inner[QP_VFS_PATH_MAX];
    int err = locate_for_write(vfs, path, &m, inner);
    return err < 0 ? err : qp_fs_remove(m->fs, inner);
}

int qp_vfs_rmdir(qp_vfs_t *vfs, const char *path) {
    qp_vfs_stat_t st;
    int err = qp_vfs_stat(vfs, path, &st);
    if (err < 0) {
        return err;
    }
    if (st.type != QP_FS_TYPE_DIR) {
        return QP_ERR_NOTDIR;
    }
    return qp_vfs_remove(vfs, path);
}

int qp_vfs_rename(qp_vfs_t *vfs, const char *oldpath, const char *newpath) {
    qp_vfs_mount_t *from, *to;
    char old_inner[QP_VFS_PATH_MAX], new_inner[QP_VFS_PATH_MAX];
    int err = locate_for_write(vfs, oldpath, &from, old_inner);
    if (err < 0) {
        return err;
    }
    err = locate_for_write(vfs, newpath, &to, new_inner);
    if (err < 0) {
        return err;
    }
    if (from != to) {
        return QP_ERR_PERM; // MicroPython cannot rename across file systems either
    }
    return qp_fs_rename(from->fs, old_inner, new_inner);
}

int qp_vfs_dir_open(qp_vfs_t *vfs, qp_vfs_dir_t *dir, const char *path) {
    char inner[QP_VFS_PATH_MAX];
    memset(dir, 0, sizeof *dir);
    int err = locate(vfs, path, &dir->mount, inner);
    if (err < 0) {
        return err;
    }
    if (!dir->mount) {
        return 0;
    }
    return qp_fs_dir_open(dir->mount->fs, &dir->dir, inner);
}

int qp_vfs_dir_read(qp_vfs_t *vfs, qp_vfs_dir_t *dir, qp_fs_info_t *info) {
    if (dir->mount) {
        return qp_fs_dir_read(dir->mount->fs, &dir->dir, info);
    }
    while (dir->next_mount < QP_VFS_MOUNT_MAX) {
        const qp_vfs_mount_t *m = &vfs->mounts[dir->next_mount++];
        if (m->name[0]) {
            memset(info, 0, sizeof *info);
            info->type = QP_FS_TYPE_DIR;
            strcpy(info->name, m->name);
            return 1;
        }
    }
    return 0;
}

int qp_vfs_dir_close(qp_vfs_t *vfs, qp_vfs_dir_t *dir) {
    (void)vfs;
    int err = dir->mount ? qp_fs_dir_close(dir->mount->fs, &dir->dir) : 0;
    memset(dir, 0, sizeof *dir);
    return err;
}

int qp_vfs_file_cache_size(qp_vfs_t *vfs, const char *path) {
    qp_vfs_mount_t *m;
    char inner[QP_VFS_PATH_MAX];
    int err = locate(vfs, path, &m, inner);
    if (err < 0) {
        return err;
    }
    return m ? (int)m->fs->cache_size : QP_ERR_ISDIR;
}

int qp_vfs_file_open(qp_vfs_t *vfs, qp_vfs_file_t *file, const char *path, int flags,
                     const struct qp_fs_file_config *cfg) {
    char inner[QP_VFS_PATH_MAX];
    int writing = (flags & 3) != QP_FS_O_RDONLY
               || (flags & (QP_FS_O_CREAT | QP_FS_O_TRUNC | QP_FS_O_APPEND));
    int err = writing ? locate_for_write(vfs, path, &file->mount, inner)
                      : locate(vfs, path, &file->mount, inner);
    if (err == QP_ERR_PERM && locate(vfs, path, &file->mount, inner) == 0) {
        return QP_ERR_ISDIR; // "/" or a mount point
    }
    if (err < 0) {
        return err;
    }
    if (!file->mount) {
        return QP_ERR_ISDIR; // "/"
    }
    err = qp_fs_file_opencfg(file->mount->fs, &file->file, inner, flags, cfg);
    if (err < 0) {
        file->mount = NULL;
    }
    return err;
}

int qp_vfs_file_close(qp_vfs_t *vfs, qp_vfs_file_t *file) {
    (void)vfs;
    if (!file->mount) {
        return 0;
    }
    int err = qp_fs_file_close(file->mount->fs, &file->file);
    file->mount = NULL;
    return err;
}

int qp_vfs_file_read(qp_vfs_t *vfs, qp_vfs_file_t *file, void *buf, size_t size) {
    (void)vfs;
    return file->mount ? qp_fs_file_read(file->mount->fs, &file->file, buf, size)
                       : QP_ERR_BADF;
}

int qp_vfs_file_write(qp_vfs_t *vfs, qp_vfs_file_t *file, const void *buf, size_t size) {
    (void)vfs;
    return file->mount ? qp_fs_file_write(file->mount->fs, &file->file, buf, size)
                       : QP_ERR_BADF;
}

int32_t qp_vfs_file_seek(qp_vfs_t *vfs, qp_vfs_file_t *file, int32_t off, int whence) {
    (void)vfs;
    return file->mount ? qp_fs_file_seek(file->mount->fs, &file->file, off, whence)
                       : QP_ERR_BADF;
}

int32_t qp_vfs_file_tell(qp_vfs_t *vfs, qp_vfs_file_t *file) {
    (void)vfs;
    return file->mount ? qp_fs_file_tell(file->mount->fs, &file->file) : QP_ERR_BADF;
}

int32_t qp_vfs_file_size(qp_vfs_t *vfs, qp_vfs_file_t *file) {
    (void)vfs;
    return file->mount ? qp_fs_file_size(file->mount->fs, &file->file) : QP_ERR_BADF;
}

int qp_vfs_file_sync(qp_vfs_t *vfs, qp_vfs_file_t *file) {
    (void)vfs;
    return file->mount ? qp_fs_file_sync(file->mount->fs, &file->file) : QP_ERR_BADF;
}

int qp_vfs_file_truncate(qp_vfs_t *vfs, qp_vfs_file_t *file, uint32_t size) {
    (void)vfs;
    return file->mount ? qp_fs_file_truncate(file->mount->fs, &file->file, size)
                       : QP_ERR_BADF;
}
